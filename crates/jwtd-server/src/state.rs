//! What every request can reach: the store, the token engine, the password pool, the login
//! throttles, the metrics and the validated configuration.

use std::sync::Arc;

use jwtd_store::Store;
use jwtd_token::TokenEngine;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::password::Passwords;
use crate::throttle::LoginThrottle;

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    engine: TokenEngine,
    passwords: Passwords,
    config: Config,
    throttle: LoginThrottle,
    metrics: Metrics,
}

impl AppState {
    /// Assembles the state.
    pub fn new(
        store: Arc<dyn Store>,
        engine: TokenEngine,
        passwords: Passwords,
        config: Config,
        throttle: LoginThrottle,
    ) -> AppState {
        let metrics = Metrics::new(passwords.queue_gauge(), passwords.wait_histogram());
        AppState(Arc::new(Inner {
            store,
            engine,
            passwords,
            config,
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

    /// The validated configuration the server was started with.
    pub fn config(&self) -> &Config {
        &self.0.config
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
