//! jwtd's HTTP API, drop-in compatible with djangorestframework-simplejwt, as a library.
//!
//! [`serve`] takes bound listeners and a shutdown future, so the binary, the tests and any
//! embedding program start the same server the same way.

pub mod auth;
pub mod body;
pub mod client;
pub mod config;
pub mod error;
pub mod handlers;
pub mod metrics;
pub mod password;
pub mod router;
pub mod server;
pub mod state;
pub mod throttle;
pub mod tokens;

use std::sync::Arc;

use jwtd_store::Store;
use jwtd_token::TokenEngine;

pub use config::Config;
pub use password::Passwords;
pub use server::{Listeners, Tls, serve};
pub use state::AppState;

/// Builds the state for `config` from a ready store and loaded keys.
pub fn app_state(
    config: &Config,
    store: Arc<dyn Store>,
    keys: jwtd_token::Keys,
) -> Result<AppState, password::HashError> {
    let engine = TokenEngine::new(keys, config.tokens.policy.clone());
    let throttling = &config.throttling;
    let passwords = Passwords::new(throttling.password_hash_concurrency)?;
    let throttle = throttle::LoginThrottle::new(
        throttling.login_rate_per_address,
        throttling.login_rate_per_username,
    );
    Ok(AppState::new(
        store,
        engine,
        passwords,
        config.clone(),
        throttle,
    ))
}
