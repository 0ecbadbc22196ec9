//! jwtd's HTTP API, drop-in compatible with djangorestframework-simplejwt, as a library.
//!
//! [`serve`] takes bound listeners and a shutdown future, so the binary, the tests and any
//! embedding program start the same server the same way.

pub mod auth;
pub mod body;
pub mod client;
pub mod config;
pub mod cookies;
pub mod error;
pub mod handlers;
pub mod managed_keys;
pub mod metrics;
pub mod openapi;
pub mod password;
pub mod router;
pub mod server;
pub mod sessions;
pub mod state;
pub mod throttle;
pub mod tokens;

use std::sync::Arc;

use jwtd_store::Store;

pub use config::Config;
pub use password::Passwords;
pub use server::{Listeners, Tls, serve};
pub use state::AppState;

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The hashing pool could not start.
    #[error(transparent)]
    Hashing(#[from] password::HashError),
    /// `token_claims` names something the store cannot read or a claim jwtd sets itself.
    #[error("{0}")]
    TokenClaims(String),
    /// The authentication settings do not make a verifier.
    #[error("authentication settings: {0}")]
    Verifier(#[from] jwtd_verify::BuildError),
}

/// Builds the state for `config` from a ready store and loaded keys.
pub fn app_state(
    config: &Config,
    store: Arc<dyn Store>,
    keys: impl Into<jwtd_token::KeySet>,
) -> Result<AppState, StateError> {
    check_token_claims(config, store.as_ref())?;
    let auth = &config.auth;
    let verifier = jwtd_verify::Verifier::builder()
        .policy(config.tokens.policy.clone())
        .key_set(keys)
        .token_types(auth.auth_token_types.iter().copied())
        .header_name(auth.auth_header_name.clone())
        .header_types(auth.auth_header_types.iter().cloned())
        .build_static()?;
    let throttling = &config.throttling;
    let passwords = Passwords::with_hashers(
        throttling.password_hash_concurrency,
        config.users.hashers.clone(),
    )?;
    let throttle = throttle::LoginThrottle::new(
        throttling.login_rate_per_address,
        throttling.login_rate_per_username,
    );
    Ok(AppState::new(
        store,
        verifier,
        passwords,
        config.clone(),
        throttle,
    ))
}

/// `token_claims` must name fields the store has, and no claim jwtd sets itself (they would
/// replace the token's type, times, id or user).
fn check_token_claims(config: &Config, store: &dyn Store) -> Result<(), StateError> {
    let fields = &config.users.token_claims;
    let names = &config.tokens.policy.claims;
    let reserved = [
        names.token_type.as_str(),
        names.jti.as_str(),
        names.user_id.as_str(),
        names.refresh_exp.as_str(),
        "exp",
        "iat",
        "nbf",
        "aud",
        "iss",
    ];
    let revoke = config.users.revoke_token_claim.as_deref();
    if let Some(claim) = revoke.filter(|claim| reserved.contains(claim)) {
        return Err(StateError::TokenClaims(format!(
            "revoke_token_claim: {claim:?} is a claim jwtd sets itself"
        )));
    }
    if let Some(field) = fields
        .iter()
        .find(|field| reserved.contains(&field.as_str()) || Some(field.as_str()) == revoke)
    {
        return Err(StateError::TokenClaims(format!(
            "token_claims: {field:?} is a claim jwtd sets itself"
        )));
    }
    store
        .check_claim_fields(fields)
        .map_err(|e| StateError::TokenClaims(e.to_string()))
}
