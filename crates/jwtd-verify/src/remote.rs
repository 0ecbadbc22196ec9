//! A JWKS URL as the key source: fetch, cache, refresh, and what happens when the issuer is
//! slow, down, or rotating.
//!
//! - Every fetch runs under one async mutex: a background refresh and the requests that met an
//!   unknown `kid` never fetch twice at once. A request that waited for the mutex finds the
//!   snapshot generation moved and verifies again without fetching (single flight).
//! - Unknown-kid fetches are at most one per `unknown_kid_interval`, so a flood of tokens with
//!   random kids costs the issuer one request per interval, not one per token.
//! - The cache lives for the response's `max-age`, clamped to `[min_refresh, max_refresh]`, and
//!   is refreshed at 80 % of it, before it goes stale.
//! - A failed fetch (network, status, size, JSON, no usable key) keeps the last good set and
//!   retries after 1 s, doubling up to `max_refresh` (stale on error).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::http::header;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::jwks::{self, Algorithms, JwksError};
use crate::verifier::Inner;

/// The cache lifetime when the response says nothing (`Cache-Control` without `max-age`):
/// PyJWKClient's default.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// The first retry delay after a failed fetch.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Why a JWKS fetch gave no key set. The last good set stays in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Connecting, sending, a timeout, or reading the body failed.
    #[error("request failed: {}", chain(.0))]
    Http(#[source] reqwest::Error),
    /// The JWKS URL answered another status than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body is larger than the limit.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not JSON.
    #[error("response is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The JSON is not a JWKS with a usable key.
    #[error(transparent)]
    Jwks(#[from] JwksError),
}

/// An error and its causes on one line (reqwest keeps the useful part in `source`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Cache and fetch settings for a JWKS URL.
#[derive(Clone, Debug)]
pub(crate) struct RemoteSettings {
    pub(crate) min_refresh: Duration,
    pub(crate) max_refresh: Duration,
    pub(crate) unknown_kid_interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_size: usize,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            min_refresh: Duration::from_secs(30),
            max_refresh: Duration::from_secs(3600),
            unknown_kid_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            max_size: 1024 * 1024,
        }
    }
}

/// What only the fetch mutex's holder reads and writes.
#[derive(Default)]
struct FetchState {
    /// When the last unknown-kid fetch started.
    last_on_demand: Option<Instant>,
    /// The delay before the next retry; zero while fetches succeed.
    backoff: Duration,
}

pub(crate) struct Remote {
    url: reqwest::Url,
    client: reqwest::Client,
    settings: RemoteSettings,
    allowed: Algorithms,
    fetching: tokio::sync::Mutex<FetchState>,
    /// When the background task fetches next; moved by every fetch.
    next_refresh: Mutex<Instant>,
    /// Wakes the background task when `next_refresh` moved.
    wake: Arc<Notify>,
    fetches: AtomicU64,
}

impl Remote {
    pub(crate) fn new(
        url: reqwest::Url,
        client: reqwest::Client,
        settings: RemoteSettings,
        allowed: Algorithms,
    ) -> Remote {
        Remote {
            url,
            client,
            settings,
            allowed,
            fetching: tokio::sync::Mutex::new(FetchState::default()),
            next_refresh: Mutex::new(Instant::now()),
            wake: Arc::new(Notify::new()),
            fetches: AtomicU64::new(0),
        }
    }

    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn next_refresh(&self) -> Instant {
        *self.next_refresh.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn schedule(&self, at: Instant) {
        *self.next_refresh.lock().unwrap_or_else(|e| e.into_inner()) = at;
        self.wake.notify_one();
    }

    /// One GET of the JWKS, parsed into a key set, with the response's cache lifetime.
    async fn fetch(&self) -> Result<(jwtd_token::KeySet, Option<Duration>), FetchError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let mut response = self
            .client
            .get(self.url.clone())
            .header(header::ACCEPT, "application/jwk-set+json, application/json")
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(FetchError::Http)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let max_age = response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(jwks::max_age);
        let limit = self.settings.max_size;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(FetchError::TooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::Http)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        let document: serde_json::Value =
            serde_json::from_slice(&body).map_err(FetchError::Json)?;
        let set = jwks::entries(&document, self.allowed, self.url.as_str())
            .and_then(jwks::verifying_set)?;
        Ok((set, max_age))
    }
}

impl Inner {
    fn remote(&self) -> &Remote {
        // Only called on verifiers built from a URL (`may_refetch`, the refresh task).
        self.remote.as_ref().expect("a JWKS verifier has a remote")
    }

    /// Fetches once (the caller holds the fetch mutex), installs the set on success, and
    /// schedules the next fetch: at 80 % of the cache lifetime, or after the back-off.
    async fn fetch_and_install(&self, state: &mut FetchState) -> Result<(), FetchError> {
        let remote = self.remote();
        let settings = &remote.settings;
        match remote.fetch().await {
            Ok((set, max_age)) => {
                let generation = self.replace_keys(set);
                state.backoff = Duration::ZERO;
                let lifetime = max_age
                    .unwrap_or(DEFAULT_MAX_AGE)
                    .clamp(settings.min_refresh, settings.max_refresh);
                remote.schedule(Instant::now() + lifetime.mul_f64(0.8));
                tracing::debug!(url = %remote.url, generation, ?lifetime, "JWKS fetched");
                Ok(())
            }
            Err(e) => {
                state.backoff = if state.backoff.is_zero() {
                    FIRST_BACKOFF.min(settings.min_refresh)
                } else {
                    (state.backoff * 2).min(settings.max_refresh)
                };
                remote.schedule(Instant::now() + state.backoff);
                tracing::warn!(
                    url = %remote.url,
                    error = %e,
                    retry_in = ?state.backoff,
                    "JWKS fetch failed; the last good keys stay in force"
                );
                Err(e)
            }
        }
    }

    /// The fetch `build` waits for.
    pub(crate) async fn first_fetch(&self) -> Result<(), FetchError> {
        let mut state = self.remote().fetching.lock().await;
        self.fetch_and_install(&mut state).await
    }

    /// After a token met an unknown `kid` (or no keys) in set `generation`: fetch unless a
    /// fetch since then already replaced the set, or one started less than
    /// `unknown_kid_interval` ago. Concurrent callers wait on the same fetch.
    pub(crate) async fn refetch_for(&self, generation: u64) {
        let remote = self.remote();
        let mut state = remote.fetching.lock().await;
        if self.keys.load().generation != generation {
            return;
        }
        let interval = remote.settings.unknown_kid_interval;
        if state
            .last_on_demand
            .is_some_and(|at| at.elapsed() < interval)
        {
            return;
        }
        state.last_on_demand = Some(Instant::now());
        // A failure is logged there; the caller verifies against what is in force.
        let _ = self.fetch_and_install(&mut state).await;
    }

    /// The background task's turn: fetch unless another fetch moved the schedule.
    async fn scheduled_refresh(&self) {
        let remote = self.remote();
        let mut state = remote.fetching.lock().await;
        if Instant::now() < remote.next_refresh() {
            return;
        }
        let _ = self.fetch_and_install(&mut state).await;
    }

    /// Starts the refresh task. It holds the verifier only while fetching, so dropping the
    /// last [`Verifier`](crate::Verifier) ends it (`Inner`'s `Drop` aborts it).
    pub(crate) fn spawn_refresher(self: &Arc<Inner>) {
        let weak = Arc::downgrade(self);
        let wake = Arc::clone(&self.remote().wake);
        let task = tokio::spawn(refresh_loop(weak, wake));
        // Set once, right after the `Arc` is made; nobody else sets it.
        let _ = self.refresher.set(task.abort_handle());
    }
}

async fn refresh_loop(weak: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let Some(deadline) = weak.upgrade().map(|inner| inner.remote().next_refresh()) else {
            return;
        };
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = wake.notified() => continue,
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        inner.scheduled_refresh().await;
    }
}
