//! jwtd's HTTP API, drop-in compatible with djangorestframework-simplejwt, as a library.
//!
//! [`serve`] takes a bound listener and a shutdown future, so the binary, the tests and any
//! embedding program start the same server the same way.

pub mod auth;
pub mod body;
pub mod config;
pub mod error;
pub mod handlers;
pub mod password;
pub mod router;
pub mod state;
pub mod tokens;

use std::future::Future;
use std::sync::Arc;

use jwtd_store::Store;
use jwtd_token::TokenEngine;
use tokio::net::TcpListener;

pub use config::Config;
pub use password::Passwords;
pub use state::{AppState, Settings};

/// Builds the state for `config` from a ready store and loaded keys.
pub fn app_state(
    config: &Config,
    store: Arc<dyn Store>,
    keys: jwtd_token::Keys,
) -> Result<AppState, password::HashError> {
    let engine = TokenEngine::new(keys, config.policy.clone());
    let passwords = Passwords::new(config.password_hash_concurrency)?;
    Ok(AppState::new(
        store,
        engine,
        passwords,
        Settings::from_config(config),
    ))
}

/// Serves the API on `listener` until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
