//! A resource server trusting jwtd's tokens: `GET /whoami` answers the caller's user id.
//!
//! ```sh
//! JWKS_URL=http://127.0.0.1:8000/.well-known/jwks.json LISTEN=127.0.0.1:8001 \
//!     cargo run --example resource_server -p jwtd-verify
//! curl -H "Authorization: Bearer $ACCESS" http://127.0.0.1:8001/whoami
//! ```
//!
//! Optional: `JWT_ISSUER` and `JWT_AUDIENCE` (checked when set), `RUST_LOG`.

use std::env;

use axum::{Json, Router, routing::get};
use jwtd_verify::{Verified, Verifier};
use serde_json::{Value, json};

async fn whoami(caller: Verified) -> Json<Value> {
    Json(json!({ "user_id": caller.user_id() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let mut verifier = Verifier::builder().jwks_url(env::var("JWKS_URL")?);
    if let Ok(issuer) = env::var("JWT_ISSUER") {
        verifier = verifier.issuer(issuer);
    }
    if let Ok(audience) = env::var("JWT_AUDIENCE") {
        verifier = verifier.audience(audience);
    }
    let verifier = verifier.build().await?;

    let app = Router::new()
        .route("/whoami", get(whoami))
        .with_state(verifier);
    let listen = env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8001".to_owned());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
