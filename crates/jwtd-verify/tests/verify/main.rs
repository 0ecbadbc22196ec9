//! jwtd-verify against a real JWKS server on 127.0.0.1:0: the checks and their answers, the
//! JWKS cache (rotation, single flight, stale on error, max-age), the axum extractor and layer,
//! and the example resource server.

mod cache;
mod checks;
mod example;
mod helpers;
mod http;
