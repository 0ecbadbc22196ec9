//! Every route, in one place.
//!
//! Each path is served with and without its trailing slash (B16: no redirect that turns a POST
//! into a GET). Token views answer `Allow: POST, OPTIONS` and `Cache-Control: no-store`;
//! protected views `Allow: GET, HEAD, OPTIONS`; every 401 carries `WWW-Authenticate`.

use std::convert::Infallible;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::body::MAX_BODY_BYTES;
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

/// The application router.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for view in TOKEN_VIEWS {
        router = both_slashes(router, view.path, token_route(view));
    }
    router = both_slashes(router, "/hello/", protected_route(get(handlers::hello)));
    router = both_slashes(router, "/api/me/", protected_route(get(handlers::me)));
    router = both_slashes(
        router,
        "/ping/",
        get(handlers::ping).layer::<_, Infallible>(SetResponseHeaderLayer::overriding(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        )),
    );
    router
        .route("/healthz", get(handlers::healthz))
        .fallback(handlers::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            www_authenticate,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
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
        ))
        .with_state(state)
}
