//! Every route, in one place.
//!
//! Each path is served with and without its trailing slash (B16: no redirect that turns a POST
//! into a GET). Token views answer `Allow: POST, OPTIONS` and `Cache-Control: no-store`;
//! protected views `Allow: GET, HEAD, OPTIONS`; every 401 carries `WWW-Authenticate`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use axum::{BoxError, Router};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::util::option_layer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::client::ClientAddr;
use crate::error::ApiError;
use crate::handlers::{self, options_metadata};
use crate::state::AppState;

struct TokenView {
    path: &'static str,
    name: &'static str,
    description: &'static str,
    fields: &'static [(&'static str, &'static str, bool)],
}

/// simplejwt's views, with their DRF metadata (name, docstring, serializer fields).
const TOKEN_VIEWS: &[TokenView] = &[
    TokenView {
        path: "/api/token/",
        name: "Token Obtain Pair",
        description: "Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.",
        fields: &[
            ("username", "Username", false),
            ("password", "Password", false),
        ],
    },
    TokenView {
        path: "/api/token/refresh/",
        name: "Token Refresh",
        description: "Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.",
        fields: &[("refresh", "Refresh", false), ("access", "Access", true)],
    },
    TokenView {
        path: "/api/token/verify/",
        name: "Token Verify",
        description: "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
        fields: &[("token", "Token", false)],
    },
    TokenView {
        path: "/api/token/blacklist/",
        name: "Token Blacklist",
        description: "Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.",
        fields: &[("refresh", "Refresh", false)],
    },
    TokenView {
        path: "/api/token/sliding/",
        name: "Token Obtain Sliding",
        description: "Takes a set of user credentials and returns a sliding JSON web token to\nprove the authentication of those credentials.",
        fields: &[
            ("username", "Username", false),
            ("password", "Password", false),
            ("token", "Token", true),
        ],
    },
    TokenView {
        path: "/api/token/sliding/refresh/",
        name: "Token Refresh Sliding",
        description: "Takes a sliding JSON web token and returns a new, refreshed version if the\ntoken's refresh period has not expired.",
        fields: &[("token", "Token", false)],
    },
];

fn token_route(view: &'static TokenView) -> MethodRouter<AppState> {
    let handler = match view.path {
        "/api/token/" => post(handlers::obtain_pair),
        "/api/token/refresh/" => post(handlers::refresh),
        "/api/token/verify/" => post(handlers::verify),
        "/api/token/blacklist/" => post(handlers::blacklist),
        "/api/token/sliding/" => post(handlers::obtain_sliding),
        _ => post(handlers::refresh_sliding),
    };
    handler
        .options(move || async move { options_metadata(view.name, view.description, view.fields) })
        .fallback(handlers::token_method_not_allowed)
        .layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::ALLOW,
            HeaderValue::from_static("POST, OPTIONS"),
        ))
        .layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

fn protected_route(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route
        .fallback(handlers::protected_method_not_allowed)
        .layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        ))
}

/// Adds a route under `path` and under `path` without its trailing slash.
fn both_slashes(
    router: Router<AppState>,
    path: &str,
    route: MethodRouter<AppState>,
) -> Router<AppState> {
    let bare = path.trim_end_matches('/');
    router.route(path, route.clone()).route(bare, route)
}

/// Every 401 names the scheme to use, as DRF's `authenticate_header` does.
async fn www_authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        let scheme = &state.settings().auth_header_types[0];
        if let Ok(value) = HeaderValue::from_str(&format!("{scheme} realm=\"api\"")) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// The application router: the API under the server's limits, plus health and metrics.
pub fn router(state: AppState) -> Router {
    let settings = state.settings().clone();
    let limits = settings.limits;
    let mut api = Router::new();
    for view in TOKEN_VIEWS {
        api = both_slashes(api, view.path, token_route(view));
    }
    api = both_slashes(api, "/hello/", protected_route(get(handlers::hello)));
    api = both_slashes(api, "/api/me/", protected_route(get(handlers::me)));
    api = both_slashes(
        api,
        "/api/auth/check/",
        any(handlers::auth_check).layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        )),
    );
    api = both_slashes(
        api,
        "/ping/",
        get(handlers::ping).layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        )),
    );
    let shed_metrics = state.metrics().clone();
    // Inner to outer: body limit, WWW-Authenticate, request timeout, concurrency cap.
    let api = api
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            www_authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |_: BoxError| {
                    let metrics = shed_metrics.clone();
                    async move {
                        metrics.shed();
                        ApiError::Overloaded
                    }
                }))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent_requests,
                )),
        );

    // Health and metrics stay outside the cap and the timeout: an overloaded server still
    // answers its orchestrator.
    let mut router = api
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz));
    if settings.metrics_on_main_listener {
        router = router.route("/metrics", get(handlers::metrics));
    }
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
fn with_common_layers(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let settings = state.settings();
    let hsts = settings
        .hsts
        .as_deref()
        .and_then(|value| HeaderValue::from_str(value).ok());
    let trusted = settings.trusted_proxies.clone();
    // Outer to inner.
    let layers = ServiceBuilder::new()
        .layer(middleware::from_fn(drop_unusable_request_id))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::from_fn(move |request, next| {
            crate::client::attach_client_addr(trusted.clone(), request, next)
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(access_log)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(option_layer(cors_layer(settings)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &Response| hsts.clone(),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    router.layer(layers)
}

/// `request_timeout`: a request still running after it is answered 503 and dropped.
async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.settings().limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics().timed_out();
            ApiError::Timeout.into_response()
        }
    }
}

/// Counts every request, its latency and, from the error it carries, why it was refused.
async fn observe(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().clone();
    let started = Instant::now();
    let _in_flight = state.metrics().request_started();
    let response = next.run(request).await;
    if let Some(error) = response.extensions().get::<Arc<ApiError>>() {
        state.metrics().api_error(error);
    }
    state
        .metrics()
        .request_finished(route, &method, response.status(), started.elapsed());
    response
}

const REQUEST_ID: &str = "x-request-id";

/// A request id from the client is kept only if it is short and plain (it goes into every log
/// line of the request); otherwise a fresh one is generated.
async fn drop_unusable_request_id(mut request: Request, next: Next) -> Response {
    let usable = request.headers().get(REQUEST_ID).is_none_or(|id| {
        let id = id.as_bytes();
        !id.is_empty()
            && id.len() <= 128
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !usable {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
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
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let path = request.uri().path();
    let path = path.get(..path.len().min(256)).unwrap_or(path);
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %path,
        client = %client,
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

fn cors_layer(settings: &crate::state::Settings) -> Option<CorsLayer> {
    let cors = &settings.cors;
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
            .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                settings.auth_header_name.clone(),
                request_id.clone(),
            ])
            .expose_headers([request_id, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
            .allow_credentials(cors.allow_credentials)
            .max_age(Duration::from_secs(600)),
    )
}
