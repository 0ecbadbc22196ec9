//! What every request can reach: the store, the token engine, the password pool and settings.

use std::sync::Arc;

use jwtd_store::Store;
use jwtd_token::{TokenEngine, TokenType};

use crate::config::{Config, CorsOptions, Limits, TrustedProxies};
use crate::metrics::Metrics;
use crate::password::Passwords;
use crate::throttle::LoginThrottle;

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
    /// Server limits.
    pub limits: Limits,
    /// CORS.
    pub cors: CorsOptions,
    /// `Strict-Transport-Security` value, when serving TLS.
    pub hsts: Option<String>,
    /// Whether `/metrics` is served on the main listener.
    pub metrics_on_main_listener: bool,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
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
            limits: config.limits,
            cors: config.cors.clone(),
            hsts: (config.tls.is_some() && config.hsts_max_age > 0)
                .then(|| format!("max-age={}", config.hsts_max_age)),
            metrics_on_main_listener: config.metrics_listen.is_none(),
            trusted_proxies: config.trusted_proxies.clone(),
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
    throttle: LoginThrottle,
    metrics: Metrics,
}

impl AppState {
    /// Assembles the state.
    pub fn new(
        store: Arc<dyn Store>,
        engine: TokenEngine,
        passwords: Passwords,
        settings: Settings,
        throttle: LoginThrottle,
    ) -> AppState {
        let metrics = Metrics::new(passwords.queue_gauge(), passwords.wait_histogram());
        AppState(Arc::new(Inner {
            store,
            engine,
            passwords,
            settings,
            throttle,
            metrics,
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

    /// The login throttles.
    pub fn throttle(&self) -> &LoginThrottle {
        &self.0.throttle
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }
}

/// The current time in Unix seconds; read once per request and passed down.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
