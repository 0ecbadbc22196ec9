//! Verifies jwtd's (and simplejwt's) tokens in Rust resource servers, with simplejwt's answers.
//!
//! A [`Verifier`] holds the keys: static ones (an HMAC secret, a PEM, a JWK, a JWKS document, a
//! [`KeySet`](jwtd_token::KeySet)) or a JWKS URL it keeps fresh: fetched at start, cached per
//! `Cache-Control: max-age` (clamped), refreshed in the background before it goes stale,
//! refetched at once when a token names an unknown `kid` (one fetch shared by concurrent
//! requests, at most one per interval), and kept when the issuer is down (stale on error).
//!
//! Checks are jwtd-token's: the key's own algorithm (allow-list, never `none`, never HMAC from a
//! JWKS), the signature, `exp`/`nbf`/`iat` with leeway, `iss`, `aud`, the token type (access by
//! default) and a user id. A refusal is a [`VerifyError`] that says which check failed and
//! answers with simplejwt's status, body and `WWW-Authenticate`.
//!
//! For axum: the [`Verified`] and [`Claims`] extractors, and [`VerifyLayer`] for whole routers.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use jwtd_verify::{Verified, Verifier};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .jwks_url("https://auth.example.com/.well-known/jwks.json")
//!     .issuer("https://auth.example.com")
//!     .build()
//!     .await?;
//!
//! async fn whoami(caller: Verified) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "user_id": caller.user_id() }))
//! }
//!
//! let app = Router::new().route("/whoami", get(whoami)).with_state(verifier);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

mod builder;
mod classify;
mod error;
mod extract;
mod header;
mod jwks;
mod layer;
mod remote;
mod verifier;

pub use builder::{BuildError, VerifierBuilder};
pub use error::{ErrorKind, VerifyError};
pub use extract::Claims;
pub use jwks::JwksError;
pub use layer::{ResponseFuture, VerifyLayer, VerifyService};
pub use remote::FetchError;
pub use verifier::{Verified, Verifier, now};
