//! Every route, in one place.
//!
//! Each path is served with and without its trailing slash (B16: no redirect that turns a POST
//! into a GET). Token views answer `Allow: POST, OPTIONS` and `Cache-Control: no-store`;
//! protected views `Allow: GET, HEAD, OPTIONS`; every 401 carries `WWW-Authenticate`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, delete, get, post};
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower::util::option_layer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::client::{ClientAddr, TrustedProxies, attach_client_addr};
use crate::config::Config;
use crate::error::{ApiError, Challenge};
use crate::handlers::{self, options_metadata};
use crate::state::AppState;

/// A simplejwt view's DRF metadata (name, docstring, serializer fields), answered to `OPTIONS`.
struct TokenView {
    name: &'static str,
    description: &'static str,
    fields: &'static [(&'static str, &'static str, bool)],
}

const OBTAIN_PAIR: TokenView = TokenView {
    name: "Token Obtain Pair",
    description: "Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.",
    fields: &[
        ("username", "Username", false),
        ("password", "Password", false),
    ],
};

const REFRESH: TokenView = TokenView {
    name: "Token Refresh",
    description: "Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.",
    fields: &[("refresh", "Refresh", false), ("access", "Access", true)],
};

const VERIFY: TokenView = TokenView {
    name: "Token Verify",
    description: "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
    fields: &[("token", "Token", false)],
};

const BLACKLIST: TokenView = TokenView {
    name: "Token Blacklist",
    description: "Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.",
    fields: &[("refresh", "Refresh", false)],
};

const OBTAIN_SLIDING: TokenView = TokenView {
    name: "Token Obtain Sliding",
    description: "Takes a set of user credentials and returns a sliding JSON web token to\nprove the authentication of those credentials.",
    fields: &[
        ("username", "Username", false),
        ("password", "Password", false),
        ("token", "Token", true),
    ],
};

const REFRESH_SLIDING: TokenView = TokenView {
    name: "Token Refresh Sliding",
    description: "Takes a sliding JSON web token and returns a new, refreshed version if the\ntoken's refresh period has not expired.",
    fields: &[("token", "Token", false)],
};

/// A token endpoint: `handler` for POST, DRF's metadata for OPTIONS, 405 for the rest, and
/// `Allow: POST, OPTIONS` and `Cache-Control: no-store` on every answer.
fn token_view(handler: MethodRouter<AppState>, view: &'static TokenView) -> MethodRouter<AppState> {
    handler
        .options(move || async move { options_metadata(view.name, view.description, view.fields) })
        .fallback(handlers::token_method_not_allowed)
        .layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::ALLOW,
            HeaderValue::from_static("POST, OPTIONS"),
        ))
        .layer::<_, Infallible>(no_store())
}

fn no_store() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// A view for authenticated callers: other methods are refused after authentication, as DRF
/// does, and every answer says `Allow: GET, HEAD, OPTIONS`.
fn protected_route(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route
        .fallback(handlers::protected_method_not_allowed)
        .layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        ))
}

/// An endpoint about the caller's own account (sessions, password): `no-store`, and other
/// methods refused after authentication, as DRF does, with `Allow: <allow>, OPTIONS`.
fn account_route(route: MethodRouter<AppState>, allow: &'static str) -> MethodRouter<AppState> {
    route
        .fallback(handlers::protected_method_not_allowed)
        .layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::ALLOW,
            HeaderValue::from_static(allow),
        ))
        .layer::<_, Infallible>(no_store())
}

/// Adds a route under `path` and under its twin: `path` without its trailing slash, or with
/// one when it has none (`/api/openapi.json`).
fn both_slashes(
    router: Router<AppState>,
    path: &str,
    route: MethodRouter<AppState>,
) -> Router<AppState> {
    let twin = match path.strip_suffix('/') {
        Some(bare) => bare.to_owned(),
        None => format!("{path}/"),
    };
    router.route(path, route.clone()).route(&twin, route)
}

/// The API's limits in one middleware (one layer is cheaper per request than a stack of them):
/// at most `max_concurrent_requests` in flight, the rest answered 503 at once; each answered
/// within `request_timeout` or 503; every 401 names the scheme to use, as DRF's
/// `authenticate_header` does.
#[derive(Clone)]
struct ApiLimits {
    state: AppState,
    permits: Arc<Semaphore>,
    challenge: Challenge,
}

async fn api_limits(State(limits): State<ApiLimits>, request: Request, next: Next) -> Response {
    let ApiLimits {
        state,
        permits,
        challenge,
    } = limits;
    let Ok(_permit) = permits.try_acquire() else {
        state.metrics().shed();
        return ApiError::Overloaded.into_response();
    };
    let timeout = state.config().server.limits.request_timeout;
    let mut response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics().timed_out();
            return ApiError::Timeout.into_response();
        }
    };
    challenge.answer(&mut response);
    response
}

/// The API's routes, served under the server's limits, each path with and without its trailing
/// slash. Every route [`router`] serves is in this table or in [`public_routes`], and
/// [`route_paths`] reads both, so a route added here without its `#[utoipa::path]` in
/// [`crate::openapi::ApiDoc`] fails the `openapi` API test.
fn api_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        (
            "/api/token/",
            token_view(post(handlers::obtain_pair), &OBTAIN_PAIR),
        ),
        (
            "/api/token/refresh/",
            token_view(post(handlers::refresh), &REFRESH),
        ),
        (
            "/api/token/verify/",
            token_view(post(handlers::verify), &VERIFY),
        ),
        (
            "/api/token/blacklist/",
            token_view(post(handlers::blacklist), &BLACKLIST),
        ),
        (
            "/api/token/sliding/",
            token_view(post(handlers::obtain_sliding), &OBTAIN_SLIDING),
        ),
        (
            "/api/token/sliding/refresh/",
            token_view(post(handlers::refresh_sliding), &REFRESH_SLIDING),
        ),
        (
            "/api/token/revoke/",
            post(handlers::revoke)
                .fallback(handlers::token_method_not_allowed)
                .layer::<_, Infallible>(no_store()),
        ),
        (
            "/api/token/introspect/",
            post(handlers::introspect)
                .fallback(handlers::token_method_not_allowed)
                .layer::<_, Infallible>(no_store()),
        ),
        (
            "/api/sessions/",
            account_route(get(handlers::sessions), "GET, HEAD, OPTIONS"),
        ),
        (
            "/api/sessions/logout-all/",
            account_route(post(handlers::logout_all), "POST, OPTIONS"),
        ),
        (
            "/api/sessions/{id}/",
            account_route(delete(handlers::end_session), "DELETE, OPTIONS"),
        ),
        (
            "/api/password/change/",
            account_route(post(handlers::change_password), "POST, OPTIONS"),
        ),
        ("/hello/", protected_route(get(handlers::hello))),
        ("/api/me/", protected_route(get(handlers::me))),
        (
            "/api/auth/check/",
            any(handlers::auth_check).layer::<_, Infallible>(no_store()),
        ),
        (
            "/ping/",
            get(handlers::ping).layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            )),
        ),
        ("/api/openapi.json", get(crate::openapi::openapi_json)),
    ]
}

/// Health, keys and metrics: outside the cap and the timeout (an overloaded server still
/// answers its orchestrator, and resource servers can still fetch the keys), each at exactly
/// its path. `/metrics` only when `metrics` (it may have a listener of its own).
fn public_routes(metrics: bool) -> Vec<(&'static str, MethodRouter<AppState>)> {
    let mut routes = vec![
        ("/healthz", get(handlers::healthz)),
        ("/readyz", get(handlers::readyz)),
        ("/.well-known/jwks.json", get(handlers::jwks)),
        (
            "/.well-known/openid-configuration",
            get(handlers::openid_configuration),
        ),
    ];
    if metrics {
        routes.push(("/metrics", get(handlers::metrics)));
    }
    routes
}

/// Every path [`router`] can serve, as its route tables write it (a path served with and
/// without its trailing slash is listed once, in the table's form; `/metrics` is listed even
/// when it has a listener of its own). `/api/openapi.json` documents exactly these.
pub fn route_paths() -> Vec<&'static str> {
    api_routes()
        .into_iter()
        .chain(public_routes(true))
        .map(|(path, _)| path)
        .collect()
}

/// The application router: the API under the server's limits, plus health, keys and metrics.
/// Each API path is served with and without its trailing slash.
pub fn router(state: AppState) -> Router {
    let server = &state.config().server;
    let limits = server.limits;
    let api = api_routes()
        .into_iter()
        .fold(Router::new(), |api, (path, route)| {
            both_slashes(api, path, route)
        });
    let limits_state = ApiLimits {
        state: state.clone(),
        permits: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
        challenge: Challenge::new(&state.config().auth.auth_header_types[0]),
    };
    let api = api
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(limits_state, api_limits));

    // Health, metrics and the public keys stay outside the cap and the timeout.
    let router = public_routes(server.metrics_on_main_listener())
        .into_iter()
        .fold(api, |router, (path, route)| router.route(path, route));
    with_common_layers(router, &state).with_state(state)
}

/// The router for a separate `metrics_listen` address.
pub fn metrics_router(state: AppState) -> Router {
    let router = Router::new()
        .route("/metrics", get(handlers::metrics))
        .route("/healthz", get(handlers::healthz))
        .fallback(handlers::not_found);
    with_common_layers(router, &state).with_state(state)
}

/// Request ids, client address, access log, metrics, CORS and security headers.
///
/// axum's `Router::layer` gives every route its own copy of these layers and clones that copy
/// for each request, and each `from_fn` middleware clones (and boxes) everything inside it once
/// more; so jwtd's own per-request work is one middleware, [`front_door`], not several.
fn with_common_layers(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let config = state.config();
    let front = FrontDoor {
        state: state.clone(),
        trusted: Arc::new(config.server.trusted_proxies.clone()),
        hsts: config
            .server
            .hsts()
            .and_then(|value| HeaderValue::from_str(&value).ok()),
    };
    // Outer to inner.
    let layers = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(front, front_door))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(access_log)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(option_layer(cors_layer(config)));
    router.layer(layers)
}

#[derive(Clone)]
struct FrontDoor {
    state: AppState,
    trusted: Arc<TrustedProxies>,
    hsts: Option<HeaderValue>,
}

/// What every request goes through first: an unusable client request id is dropped (a fresh
/// one is made), the client address is worked out, the request is counted and timed, and the
/// response gets the security headers its handler did not set.
async fn front_door(State(front): State<FrontDoor>, mut request: Request, next: Next) -> Response {
    drop_unusable_request_id(request.headers_mut());
    attach_client_addr(&front.trusted, &mut request);
    let metrics = front.state.metrics();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let _in_flight = metrics.request_started();
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions().get::<Arc<ApiError>>() {
        metrics.api_error(error);
    }
    metrics.request_finished(route, &method, response.status(), started.elapsed());
    let headers = response.headers_mut();
    if let Some(hsts) = &front.hsts {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert_with(|| hsts.clone());
    }
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    response
}

/// Set on every response unless the handler set them.
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

const REQUEST_ID: &str = "x-request-id";

/// A request id from the client is kept only if it is short and plain (it goes into every log
/// line of the request); otherwise a fresh one is generated.
fn drop_unusable_request_id(headers: &mut axum::http::HeaderMap) {
    let usable = headers.get(REQUEST_ID).is_none_or(|id| {
        let id = id.as_bytes();
        !id.is_empty()
            && id.len() <= 128
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !usable {
        headers.remove(REQUEST_ID);
    }
}

/// The span every log line of a request carries. The query string is left out: no endpoint
/// takes one, and a token pasted there must not reach the logs.
fn request_span(request: &Request) -> Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let client = request
        .extensions()
        .get::<ClientAddr>()
        .map(|c| tracing::field::display(c.0));
    let path = request.uri().path();
    let path = path.get(..path.len().min(256)).unwrap_or(path);
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %path,
        client,
    )
}

/// One access-log line per request.
fn access_log(response: &Response, latency: Duration, _span: &Span) {
    tracing::info!(
        target: "jwtd::access",
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "served"
    );
}

fn cors_layer(config: &Config) -> Option<CorsLayer> {
    let cors = &config.server.cors;
    if cors.allowed_origins.is_empty() {
        return None;
    }
    let origins = if cors.allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            cors.allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    let request_id = axum::http::HeaderName::from_static(REQUEST_ID);
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                config.auth.auth_header_name.clone(),
                request_id.clone(),
                axum::http::HeaderName::from_static(crate::config::browser::CSRF_HEADER),
            ])
            .expose_headers([request_id, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
            .allow_credentials(cors.allow_credentials)
            .max_age(Duration::from_secs(600)),
    )
}
