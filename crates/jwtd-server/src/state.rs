//! What every request can reach: the store, the token engine, the password pool, the login
//! throttles, the metrics and the validated configuration.

use std::sync::Arc;

use jwtd_store::Store;
use jwtd_token::{KeySet, TokenEngine};
use jwtd_verify::Verifier;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::password::Passwords;
use crate::throttle::LoginThrottle;

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    /// Every protected view's and forward-auth's checks (jwtd-verify, as resource servers run
    /// them), and the engine tokens are signed with: one key set, swapped whole on reload.
    verifier: Verifier,
    /// Told when a request met a `kid` the set does not hold (managed keys re-read the set).
    unknown_kid: Arc<tokio::sync::Notify>,
    passwords: Passwords,
    config: Config,
    throttle: LoginThrottle,
    metrics: Metrics,
}

impl AppState {
    /// Assembles the state.
    pub fn new(
        store: Arc<dyn Store>,
        verifier: Verifier,
        passwords: Passwords,
        config: Config,
        throttle: LoginThrottle,
    ) -> AppState {
        let metrics = Metrics::new(passwords.queue_gauge(), passwords.wait_histogram());
        AppState(Arc::new(Inner {
            store,
            verifier,
            unknown_kid: Arc::new(tokio::sync::Notify::new()),
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

    /// The token engine in force (an `Arc`, so it may be held across awaits while a reload
    /// swaps in another).
    pub fn engine(&self) -> Arc<TokenEngine> {
        // The verifier is built from a key set and only ever given key sets (it has no JWKS
        // URL), so it always holds an engine.
        self.0
            .verifier
            .engine()
            .expect("a static verifier always holds an engine")
    }

    /// The verifier of callers' access tokens, on the engine in force.
    pub fn verifier(&self) -> &Verifier {
        &self.0.verifier
    }

    /// Notified when a token names a `kid` the key set does not hold.
    pub fn unknown_kid_hint(&self) -> Arc<tokio::sync::Notify> {
        self.0.unknown_kid.clone()
    }

    /// Says a token named an unknown `kid`, when `error` is that: another instance may have
    /// rotated (managed keys re-read the set, rate limited).
    pub fn note_token_error(&self, error: jwtd_token::TokenError) {
        if error == jwtd_token::TokenError::UnknownKey {
            self.note_unknown_kid();
        }
    }

    /// Says a token named an unknown `kid`.
    pub fn note_unknown_kid(&self) {
        self.0.unknown_kid.notify_one();
    }

    /// Whether this is the last handle on the state (the server has stopped).
    pub fn is_last_reference(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }

    /// Puts `keys` in force for new requests, under the running policy. Requests in flight
    /// finish with the engine they hold.
    pub fn replace_keys(&self, keys: KeySet) {
        self.0.verifier.replace_keys(keys);
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
