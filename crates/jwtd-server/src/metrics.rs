//! Prometheus metrics, every name prefixed `jwtd_`, served as OpenMetrics text on `/metrics`.
//!
//! One registry per server (not a process-global one), so tests that run several servers in one
//! process each read their own counters.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Method, StatusCode};
use jwtd_token::TokenError;
use jwtd_verify::ErrorKind;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::{ApiError, AuthError};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: RouteLabel,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: RouteLabel,
}

/// The route pattern a request matched (`/api/token/`), or `unmatched`. Holds axum's
/// [`MatchedPath`] (a shared string) so that counting a request allocates nothing.
#[derive(Clone, Debug)]
struct RouteLabel(Option<MatchedPath>);

impl RouteLabel {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for RouteLabel {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RouteLabel {}

impl Hash for RouteLabel {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

/// The method as a label: the standard ones by name, anything else as `other`, so that a client
/// sending made-up methods cannot grow the registry without bound.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, name)| name)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    token_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~26 s.
    Histogram::new(exponential_buckets(0.000_1, 2.0, 19))
}

/// How a login attempt ended.
#[derive(Clone, Copy, Debug)]
pub enum LoginOutcome {
    /// Credentials accepted.
    Succeeded,
    /// Unknown user, wrong password or inactive user.
    Failed,
    /// Refused by login throttling before the password was checked.
    Throttled,
}

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    in_flight: Gauge,
    shed: Counter,
    timeouts: Counter,
    issued: Family<TypeLabels, Counter>,
    refreshed: Counter,
    reuse_detected: Counter,
    verified: Counter,
    rejected: Family<ReasonLabels, Counter>,
    logins: Family<OutcomeLabels, Counter>,
    store_errors: Family<KindLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A fresh registry; `hash_queue` and `hash_wait` come from the password pool.
    pub fn new(hash_queue: Gauge, hash_wait: Histogram) -> Metrics {
        let mut registry = Registry::with_prefix("jwtd");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let in_flight = Gauge::default();
        let shed = Counter::default();
        let timeouts = Counter::default();
        let issued = Family::<TypeLabels, Counter>::default();
        let refreshed = Counter::default();
        let reuse_detected = Counter::default();
        let verified = Counter::default();
        let rejected = Family::<ReasonLabels, Counter>::default();
        let logins = Family::<OutcomeLabels, Counter>::default();
        let store_errors = Family::<KindLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response head, by route",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "Requests being served now",
            in_flight.clone(),
        );
        registry.register(
            "http_requests_shed",
            "Requests refused with 503 because max_concurrent_requests were in flight",
            shed.clone(),
        );
        registry.register(
            "http_request_timeouts",
            "Requests answered 503 after request_timeout",
            timeouts.clone(),
        );
        registry.register(
            "tokens_issued",
            "Tokens signed, by token type",
            issued.clone(),
        );
        registry.register(
            "tokens_refreshed",
            "Successful refreshes (pair and sliding)",
            refreshed.clone(),
        );
        registry.register(
            "refresh_token_reuse_detected",
            "Sessions revoked because a rotated refresh token was presented again",
            reuse_detected.clone(),
        );
        registry.register(
            "tokens_verified",
            "Tokens accepted by /api/token/verify/, protected endpoints and /api/auth/check",
            verified.clone(),
        );
        registry.register(
            "tokens_rejected",
            "Tokens refused, by reason",
            rejected.clone(),
        );
        registry.register(
            "logins",
            "Login attempts, by outcome (succeeded, failed, throttled)",
            logins.clone(),
        );
        registry.register(
            "store_errors",
            "Store calls that failed, by kind (unavailable, internal)",
            store_errors.clone(),
        );
        registry.register(
            "password_hash_queue_length",
            "Password hashes waiting for a hashing thread",
            hash_queue,
        );
        registry.register(
            "password_hash_wait_seconds",
            "Time a password hash waited for a hashing thread",
            hash_wait,
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            latency,
            in_flight,
            shed,
            timeouts,
            issued,
            refreshed,
            reuse_detected,
            verified,
            rejected,
            logins,
            store_errors,
        }))
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.0.registry);
        text
    }

    /// A request started; the returned guard ends it.
    pub fn request_started(&self) -> InFlight {
        self.0.in_flight.inc();
        InFlight(self.0.in_flight.clone())
    }

    /// A request was answered; `route` is the pattern it matched, if any.
    pub fn request_finished(
        &self,
        route: Option<MatchedPath>,
        method: &Method,
        status: StatusCode,
        latency: Duration,
    ) {
        let route = RouteLabel(route);
        self.0
            .latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(latency.as_secs_f64());
        self.0
            .requests
            .get_or_create(&RequestLabels {
                route,
                method: method_label(method),
                status: status.as_u16(),
            })
            .inc();
    }

    /// A request was shed by the concurrency cap.
    pub fn shed(&self) {
        self.0.shed.inc();
    }

    /// A request ran out of time.
    pub fn timed_out(&self) {
        self.0.timeouts.inc();
    }

    /// A token of `token_type` was signed.
    pub fn issued(&self, token_type: &'static str) {
        self.0
            .issued
            .get_or_create(&TypeLabels { token_type })
            .inc();
    }

    /// A refresh succeeded.
    pub fn refreshed(&self) {
        self.0.refreshed.inc();
    }

    /// A session was revoked for the reuse of a rotated refresh token.
    pub fn session_reuse(&self) {
        self.0.reuse_detected.inc();
    }

    /// A token was accepted.
    pub fn verified(&self) {
        self.0.verified.inc();
    }

    /// A login attempt ended.
    pub fn login(&self, outcome: LoginOutcome) {
        let outcome = match outcome {
            LoginOutcome::Succeeded => "succeeded",
            LoginOutcome::Failed => "failed",
            LoginOutcome::Throttled => "throttled",
        };
        self.0
            .logins
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts what an error response means: a refused token, a failed login, a store error.
    pub fn api_error(&self, error: &ApiError) {
        let reason = match error {
            ApiError::Token(e) => Some(token_reason(e)),
            ApiError::NoUserId => Some("no_user_id"),
            ApiError::NoActiveAccountForToken => Some("user_inactive"),
            ApiError::Auth(AuthError::Refused(refusal)) => refusal_reason(refusal.kind()),
            ApiError::Auth(AuthError::NoUserId) => Some("no_user_id"),
            ApiError::Auth(AuthError::UserNotFound) => Some("user_not_found"),
            ApiError::Auth(AuthError::UserInactive) => Some("user_inactive"),
            _ => None,
        };
        if let Some(reason) = reason {
            self.0
                .rejected
                .get_or_create(&ReasonLabels { reason })
                .inc();
        }
        match error {
            ApiError::BadCredentials => self.login(LoginOutcome::Failed),
            ApiError::Throttled(_) => self.login(LoginOutcome::Throttled),
            ApiError::Unavailable(_) => self.store_error("unavailable"),
            ApiError::Internal(_) => self.store_error("internal"),
            _ => {}
        }
    }

    fn store_error(&self, kind: &'static str) {
        self.0
            .store_errors
            .get_or_create(&KindLabels { kind })
            .inc();
    }
}

/// The `reason` of a token refused by jwtd-verify, in the labels `token_reason` gives; `None`
/// for a request without a token (not a rejection of one).
fn refusal_reason(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::NotProvided | ErrorKind::BadHeader => return None,
        ErrorKind::Expired => "expired",
        ErrorKind::TokenType => "wrong_type",
        ErrorKind::NoExpiry | ErrorKind::NoTokenId | ErrorKind::NoTokenType => "missing_claim",
        ErrorKind::NoUserId => "no_user_id",
        _ => "invalid",
    })
}

fn token_reason(error: &TokenError) -> &'static str {
    match error {
        TokenError::Invalid => "invalid",
        TokenError::Expired | TokenError::RefreshExpExpired => "expired",
        TokenError::Blacklisted => "blacklisted",
        TokenError::WrongType => "wrong_type",
        TokenError::NoType | TokenError::NoId | TokenError::NoExp | TokenError::NoRefreshExp => {
            "missing_claim"
        }
        TokenError::Signing => "signing",
        _ => "other",
    }
}

/// Decrements the in-flight gauge when dropped (also when the request is cancelled).
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
