//! What every request can reach: the store, the token engine, the password pool and settings.

use std::sync::Arc;

use jwtd_store::Store;
use jwtd_token::{TokenEngine, TokenType};

use crate::config::Config;
use crate::password::Passwords;

/// Behaviour switches read per request (simplejwt's settings that are not about tokens).
#[derive(Clone, Debug)]
pub struct Settings {
    /// `ROTATE_REFRESH_TOKENS`.
    pub rotate_refresh_tokens: bool,
    /// `BLACKLIST_AFTER_ROTATION`.
    pub blacklist_after_rotation: bool,
    /// `UPDATE_LAST_LOGIN`.
    pub update_last_login: bool,
    /// `CHECK_USER_IS_ACTIVE`.
    pub check_user_is_active: bool,
    /// Accepted `Authorization` schemes.
    pub auth_header_types: Vec<String>,
    /// The header carrying the token.
    pub auth_header_name: axum::http::HeaderName,
    /// Token types accepted on protected endpoints.
    pub auth_token_types: Vec<TokenType>,
}

impl Settings {
    /// The request-time settings of `config`.
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            rotate_refresh_tokens: config.rotate_refresh_tokens,
            blacklist_after_rotation: config.blacklist_after_rotation,
            update_last_login: config.update_last_login,
            check_user_is_active: config.check_user_is_active,
            auth_header_types: config.auth_header_types.clone(),
            auth_header_name: config.auth_header_name.clone(),
            auth_token_types: config.auth_token_types.clone(),
        }
    }
}

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    engine: TokenEngine,
    passwords: Passwords,
    settings: Settings,
}

impl AppState {
    /// Assembles the state.
    pub fn new(
        store: Arc<dyn Store>,
        engine: TokenEngine,
        passwords: Passwords,
        settings: Settings,
    ) -> AppState {
        AppState(Arc::new(Inner {
            store,
            engine,
            passwords,
            settings,
        }))
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }

    /// The token engine.
    pub fn engine(&self) -> &TokenEngine {
        &self.0.engine
    }

    /// The password pool.
    pub fn passwords(&self) -> &Passwords {
        &self.0.passwords
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }
}

/// The current time in Unix seconds; read once per request and passed down.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
