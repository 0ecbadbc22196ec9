//! HTTP handlers: extract, call one service function, shape the response. No SQL, no crypto.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use crate::auth::{AuthUser, Caller, authenticate_header};
use crate::body::Fields;
use crate::client::ClientAddr;
use crate::cookies;
use crate::error::ApiError;
use crate::openapi as doc;
use crate::state::{AppState, now};
use crate::tokens;

/// The client's address, as the client-address middleware attributed it.
fn client_ip(client: Option<Extension<ClientAddr>>) -> Option<std::net::IpAddr> {
    client.map(|Extension(ClientAddr(ip))| ip)
}

/// Where the request comes from, for its session: the attributed client address and the
/// `User-Agent`.
pub(crate) fn origin(client: Option<Extension<ClientAddr>>, headers: &HeaderMap) -> tokens::Origin {
    tokens::Origin {
        ip: client_ip(client),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    }
}

#[utoipa::path(
    post,
    path = "/api/token/",
    tag = "tokens",
    operation_id = "token_obtain_pair",
    summary = "Obtain a token pair (log in)",
    description = "simplejwt's `TokenObtainPairView`: credentials in, a refresh and an access \
        token out, and a new session. In cookie mode (`refresh_cookie = true`) the body has the \
        access token only; the refresh token is set in an httpOnly cookie, beside a readable \
        `csrftoken` cookie for `X-CSRFToken`. Counted by the login throttles.",
    request_body(description = "The credentials; the login field is `username_field`.", content(
        (doc::Credentials = "application/json", example = json!({"username": "alice", "password": "correct horse battery staple"})),
        (doc::Credentials = "application/x-www-form-urlencoded"),
        (doc::Credentials = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Logged in.", body = doc::ObtainPairResponse,
            headers(("Set-Cookie" = String, description = "Cookie mode only: `refresh=<token>; HttpOnly; Secure; SameSite=Strict; Path=/api/token/; Max-Age=<refresh lifetime>` and `csrftoken=<secret>; Secure; SameSite=Strict; Path=/`.")),
            examples(
                ("pair" = (value = json!({"refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...", "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))),
                ("cookie_mode" = (value = json!({"access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))),
            )
        ),
        (status = 400, response = doc::LoginInvalid),
        (status = 401, response = doc::BadCredentials),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 429, response = doc::Throttled),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/token/`.
pub async fn obtain_pair(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    uri: Uri,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, ApiError> {
    if state.config().browser.refresh_cookie.is_some() {
        cookies::check_origin(&state, &headers, uri.authority().map(|a| a.as_str()))?;
    }
    let login_field = state.config().users.username_field.as_str();
    let [username, password] = fields.strings([login_field, "password"])?;
    let origin = origin(client, &headers);
    let now = now();
    let pair = tokens::login_pair(&state, &username, password, &origin, now).await?;
    Ok(pair_response(&state, &pair, now))
}

/// A fresh pair's answer: simplejwt's `{"refresh","access"}`; in cookie mode `{"access"}`, the
/// refresh token only in its httpOnly cookie, and a new CSRF secret in a readable one for the
/// page to send back in `X-CSRFToken`.
fn pair_response(state: &AppState, pair: &jwtd_token::Pair, now: i64) -> Response {
    let Some(cookie) = &state.config().browser.refresh_cookie else {
        return Json(json!({ "refresh": pair.refresh.token, "access": pair.access.token }))
            .into_response();
    };
    let max_age = pair.refresh.expires_at - now;
    let mut response = Json(json!({ "access": pair.access.token })).into_response();
    let set = response.headers_mut();
    set.append(
        header::SET_COOKIE,
        cookies::refresh_cookie(cookie, &pair.refresh.token, max_age),
    );
    set.append(
        header::SET_COOKIE,
        cookies::csrf_cookie(cookie, &cookies::new_csrf_token(), max_age),
    );
    response
}

/// Where a refresh or blacklist request's refresh token comes from.
enum Presented {
    /// The body's `refresh` field: simplejwt's way, unchanged in cookie mode (the body wins
    /// over a cookie).
    Body(String),
    /// The refresh cookie, after the CSRF check.
    Cookie(String),
}

/// The refresh token of a refresh or blacklist request: the body's, or in cookie mode and when
/// the body has none, the cookie's, which must pass the CSRF check.
fn presented_refresh(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<Presented, ApiError> {
    if let Some(cookie) = &state.config().browser.refresh_cookie
        && !fields.has("refresh")
        && let Some(token) = cookies::request_cookie(headers, &cookie.name)
    {
        cookies::check_csrf(state, headers, uri.authority().map(|a| a.as_str()))?;
        return Ok(Presented::Cookie(token));
    }
    let [token] = fields.strings(["refresh"])?;
    Ok(Presented::Body(token))
}

#[utoipa::path(
    post,
    path = "/api/token/refresh/",
    tag = "tokens",
    operation_id = "token_refresh",
    summary = "Refresh: a new access token for a refresh token",
    description = "simplejwt's `TokenRefreshView`. With `rotate_refresh_tokens` the answer also \
        has the refresh token's successor (and the presented one is blacklisted with \
        `blacklist_after_rotation`). In cookie mode a request whose body has no `refresh` uses \
        the refresh cookie instead, must pass the CSRF check, and gets a rotated successor as a \
        new cookie rather than in the body; a body `refresh` always wins.",
    request_body(description = "The refresh token; optional in cookie mode (the cookie is used).", content(
        (doc::RefreshRequest = "application/json", example = json!({"refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."})),
        (doc::RefreshRequest = "application/x-www-form-urlencoded"),
        (doc::RefreshRequest = "multipart/form-data"),
    )),
    security((), ("refresh_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "A new access token (and with rotation, the successor).",
            body = doc::RefreshResponse,
            headers(("Set-Cookie" = String, description = "Cookie mode, refreshed from the cookie with rotation: the successor in the refresh cookie.")),
            examples(
                ("access" = (value = json!({"access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))),
                ("rotated" = (value = json!({"access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...", "refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))),
            )
        ),
        (status = 400, description = "DRF's field errors, or a body its parser could not read.",
            body = doc::ValidationError,
            examples(
                ("missing" = (value = json!({"refresh": ["This field is required."]}))),
                ("blank" = (value = json!({"refresh": ["This field may not be blank."]}))),
                ("not_an_object" = (value = json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}))),
                ("parse_error" = (value = json!({"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}))),
            )
        ),
        (status = 401, description = "The refresh token was refused (invalid, expired, blacklisted, reused, of an ended session), or its user is gone, inactive or changed their password.",
            body = doc::AuthenticationFailed,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"`")),
            examples(
                ("blacklisted" = (value = json!({"detail": "Token is blacklisted", "code": "token_not_valid"}))),
                ("expired" = (value = json!({"detail": "Token is expired", "code": "token_not_valid"}))),
                ("invalid" = (value = json!({"detail": "Token is invalid", "code": "token_not_valid"}))),
                ("no_active_account" = (value = json!({"detail": "No active account found for the given token."}))),
                ("password_changed" = (value = json!({"detail": "The user's password has been changed."}))),
            )
        ),
        (status = 403, response = doc::CsrfFailed),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/token/refresh/`.
pub async fn refresh(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    uri: Uri,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, ApiError> {
    let presented = presented_refresh(&state, &uri, &headers, &fields)?;
    let token = match &presented {
        Presented::Body(token) | Presented::Cookie(token) => token,
    };
    let origin = origin(client, &headers);
    let now = now();
    let refreshed = tokens::refresh_from(&state, token, &origin, now).await?;
    let mut body = Map::new();
    body.insert("access".to_owned(), Value::String(refreshed.access.token));
    let (Presented::Cookie(_), Some(cookie)) = (&presented, &state.config().browser.refresh_cookie)
    else {
        if let Some(refresh) = refreshed.refresh {
            body.insert("refresh".to_owned(), Value::String(refresh.token));
        }
        return Ok(Json(Value::Object(body)).into_response());
    };
    // Refreshed from the cookie: a rotated successor replaces it, and the CSRF cookie (the
    // same secret) is renewed with it, so that it never expires before the refresh cookie.
    let mut response = Json(Value::Object(body)).into_response();
    if let Some(refresh) = refreshed.refresh {
        let max_age = refresh.expires_at - now;
        let set = response.headers_mut();
        set.append(
            header::SET_COOKIE,
            cookies::refresh_cookie(cookie, &refresh.token, max_age),
        );
        if let Some(secret) = cookies::request_cookie(&headers, crate::config::browser::CSRF_COOKIE)
        {
            set.append(
                header::SET_COOKIE,
                cookies::csrf_cookie(cookie, &secret, max_age),
            );
        }
    }
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/api/token/verify/",
    tag = "tokens",
    operation_id = "token_verify",
    summary = "Verify a token",
    description = "simplejwt's `TokenVerifyView`: `{}` when the token's signature and times are \
        valid and it is not blacklisted or revoked; says nothing about its fitness for a use.",
    request_body(content(
        (doc::TokenRequest = "application/json", example = json!({"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."})),
        (doc::TokenRequest = "application/x-www-form-urlencoded"),
        (doc::TokenRequest = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The token is valid.", body = doc::Empty),
        (status = 400, description = "DRF's field errors, or a body its parser could not read.",
            body = doc::ValidationError,
            examples(
                ("missing" = (value = json!({"token": ["This field is required."]}))),
                ("blank" = (value = json!({"token": ["This field may not be blank."]}))),
                ("not_an_object" = (value = json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}))),
                ("parse_error" = (value = json!({"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}))),
            )
        ),
        (status = 401, response = doc::TokenNotValid),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/token/verify/`.
pub async fn verify(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let [token] = fields.strings(["token"])?;
    tokens::verify(&state, &token, now()).await?;
    Ok(Json(json!({})))
}

#[utoipa::path(
    post,
    path = "/api/token/blacklist/",
    tag = "tokens",
    operation_id = "token_blacklist",
    summary = "Blacklist a refresh token (log out)",
    description = "simplejwt's `TokenBlacklistView`: the refresh token can no longer be used. In \
        cookie mode a request whose body has no `refresh` blacklists the refresh cookie's token \
        (after the CSRF check) and clears the cookie.",
    request_body(description = "The refresh token; optional in cookie mode (the cookie is used).", content(
        (doc::RefreshRequest = "application/json", example = json!({"refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."})),
        (doc::RefreshRequest = "application/x-www-form-urlencoded"),
        (doc::RefreshRequest = "multipart/form-data"),
    )),
    security((), ("refresh_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Blacklisted.", body = doc::Empty,
            headers(("Set-Cookie" = String, description = "Cookie mode, from the cookie: the refresh cookie cleared (`Max-Age=0`)."))
        ),
        (status = 400, description = "DRF's field errors, or a body its parser could not read.",
            body = doc::ValidationError,
            examples(
                ("missing" = (value = json!({"refresh": ["This field is required."]}))),
                ("blank" = (value = json!({"refresh": ["This field may not be blank."]}))),
                ("not_an_object" = (value = json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}))),
                ("parse_error" = (value = json!({"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}))),
            )
        ),
        (status = 401, response = doc::TokenNotValid),
        (status = 403, response = doc::CsrfFailed),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/token/blacklist/`.
pub async fn blacklist(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, ApiError> {
    let presented = presented_refresh(&state, &uri, &headers, &fields)?;
    let (Presented::Body(token) | Presented::Cookie(token)) = &presented;
    tokens::blacklist(&state, token, now()).await?;
    let mut response = Json(json!({})).into_response();
    // A logout from the cookie also removes it.
    if let (Presented::Cookie(_), Some(cookie)) =
        (&presented, &state.config().browser.refresh_cookie)
    {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::clear_refresh_cookie(cookie));
    }
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/api/token/sliding/",
    tag = "tokens",
    operation_id = "token_obtain_sliding",
    summary = "Obtain a sliding token (log in)",
    description = "simplejwt's `TokenObtainSlidingView`: credentials in, one sliding token out, \
        renewable with `POST /api/token/sliding/refresh/` until its `refresh_exp`. Counted by \
        the login throttles.",
    request_body(description = "The credentials; the login field is `username_field`.", content(
        (doc::Credentials = "application/json", example = json!({"username": "alice", "password": "correct horse battery staple"})),
        (doc::Credentials = "application/x-www-form-urlencoded"),
        (doc::Credentials = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Logged in.", body = doc::SlidingToken),
        (status = 400, response = doc::LoginInvalid),
        (status = 401, response = doc::BadCredentials),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 429, response = doc::Throttled),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/token/sliding/`.
pub async fn obtain_sliding(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let login_field = state.config().users.username_field.as_str();
    let [username, password] = fields.strings([login_field, "password"])?;
    let token =
        tokens::obtain_sliding(&state, &username, password, client_ip(client), now()).await?;
    Ok(Json(json!({ "token": token.token })))
}

#[utoipa::path(
    post,
    path = "/api/token/sliding/refresh/",
    tag = "tokens",
    operation_id = "token_refresh_sliding",
    summary = "Renew a sliding token",
    description = "simplejwt's `TokenRefreshSlidingView`: a new sliding token with a fresh \
        `exp`, while the token's `refresh_exp` has not passed.",
    request_body(content(
        (doc::TokenRequest = "application/json", example = json!({"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."})),
        (doc::TokenRequest = "application/x-www-form-urlencoded"),
        (doc::TokenRequest = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Renewed.", body = doc::SlidingToken),
        (status = 400, description = "DRF's field errors, or a body its parser could not read.",
            body = doc::ValidationError,
            examples(
                ("missing" = (value = json!({"token": ["This field is required."]}))),
                ("blank" = (value = json!({"token": ["This field may not be blank."]}))),
                ("not_an_object" = (value = json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}))),
                ("parse_error" = (value = json!({"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}))),
            )
        ),
        (status = 401, response = doc::TokenNotValid),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/token/sliding/refresh/`.
pub async fn refresh_sliding(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let [token] = fields.strings(["token"])?;
    let renewed = tokens::refresh_sliding(&state, &token, now()).await?;
    Ok(Json(json!({ "token": renewed.token })))
}

#[utoipa::path(
    get,
    path = "/hello/",
    tag = "demo",
    operation_id = "hello",
    summary = "Greet the caller",
    description = "The reference site's protected demo view. Other methods are refused after \
        authentication, as DRF does.",
    security(("access_token" = [])),
    responses(
        (status = 200, description = "The greeting.", body = doc::Greeting),
        (status = 401, response = doc::NotAuthenticated),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `GET /hello/`.
pub async fn hello(AuthUser(user): AuthUser) -> Json<Value> {
    Json(json!({ "message": format!("Hello, {}!", user.username) }))
}

#[utoipa::path(
    get,
    path = "/api/me/",
    tag = "account",
    operation_id = "me",
    summary = "Who the caller is",
    security(("access_token" = [])),
    responses(
        (status = 200, description = "The caller's id and username.", body = doc::Me),
        (status = 401, response = doc::NotAuthenticated),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `GET /api/me/`.
pub async fn me(AuthUser(user): AuthUser) -> Json<Value> {
    Json(json!({ "id": user.id, "username": user.username }))
}

#[utoipa::path(
    get,
    path = "/ping/",
    tag = "demo",
    operation_id = "ping",
    summary = "Ping (no authentication)",
    description = "The reference site's unauthenticated demo view.",
    responses(
        (status = 200, description = "Pong.", body = doc::Pong),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `GET /ping/`: the reference site's unauthenticated demo view.
pub async fn ping() -> Json<Value> {
    Json(json!({ "ping": "pong" }))
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "healthz",
    summary = "Liveness",
    description = "The process is up and serving. Outside the concurrency cap and the request \
        timeout; also served on `metrics_listen` when that is set.",
    responses(
        (status = 200, description = "Up.", body = doc::Health),
    ),
)]
/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    operation_id = "jwks",
    summary = "The public keys (JWKS)",
    description = "The public keys that verify this server's tokens (RFC 7517): the active key, \
        `next` keys published ahead and retired keys still inside their window, each with its \
        RFC 7638 thumbprint as `kid`. HMAC secrets are never published (`{\"keys\":[]}`).",
    responses(
        (status = 200, description = "The key set.", body = doc::Jwks,
            headers(("Cache-Control" = String, description = "`public, max-age=<jwks_max_age>`"))
        ),
    ),
)]
/// `GET /.well-known/jwks.json`: the public keys that verify jwtd's tokens (RFC 7517), for
/// resource servers that verify tokens themselves: the active key, `next` keys published ahead
/// and retired keys still inside their window. HMAC secrets are never published.
///
/// `max-age` is `jwks_max_age`: a `next` key published at least that long before it signs is in
/// every cache before the first token it signs (README, "Keys and rotation").
pub async fn jwks(State(state): State<AppState>) -> Response {
    let response = Json(state.engine().jwks(crate::state::now())).into_response();
    cached_for_jwks_max_age(&state, response)
}

/// `Cache-Control: public, max-age=<jwks_max_age>`, on the JWKS and the discovery document.
fn cached_for_jwks_max_age(state: &AppState, mut response: Response) -> Response {
    let max_age = state.config().keys.jwks_max_age;
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "keys",
    operation_id = "openid_configuration",
    summary = "OpenID Connect discovery metadata",
    description = "For API gateways and Kubernetes-style verifiers (OpenID Connect Discovery \
        1.0), when `issuer` and `public_url` are both set; every URL is built from `public_url`.",
    responses(
        (status = 200, description = "The discovery document.", body = doc::OpenIdConfiguration,
            headers(("Cache-Control" = String, description = "`public, max-age=<jwks_max_age>`"))
        ),
        (status = 404, response = doc::NotFound),
    ),
)]
/// `GET /.well-known/openid-configuration`: the discovery document API gateways and
/// Kubernetes-style verifiers read (OpenID Connect Discovery 1.0), when `issuer` is set. Every
/// URL is built from `public_url`, never from the request's `Host` header, which a client
/// chooses. 404 without an issuer or a public URL.
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    let config = state.config();
    let (Some(issuer), Some(base)) = (
        config.tokens.policy.issuer.as_deref(),
        config.keys.public_url.as_deref(),
    ) else {
        return crate::error::ApiError::NotFound.into_response();
    };
    let engine = state.engine();
    let mut algorithms: Vec<&str> = Vec::new();
    for entry in engine.keys().entries() {
        let alg = entry.keys().algorithm().as_str();
        if entry.keys().public_jwk().is_some() && !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    let response = Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "token_endpoint": format!("{base}/api/token/"),
        "id_token_signing_alg_values_supported": algorithms,
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "grant_types_supported": ["password", "refresh_token"],
        "claims_supported": [config.tokens.policy.claims.user_id, "exp", "iat", "jti"],
    }))
    .into_response();
    cached_for_jwks_max_age(&state, response)
}

/// How long `/readyz` waits for the store before calling it unavailable.
const READY_STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    operation_id = "readyz",
    summary = "Readiness",
    description = "The store answers (within 2 s) and the keys are loaded. Outside the \
        concurrency cap and the request timeout.",
    responses(
        (status = 200, description = "Ready.", body = doc::Ready),
        (status = 503, description = "The store does not answer.", body = doc::NotReady),
    ),
)]
/// `GET /readyz`: the store answers and the keys are loaded, so requests can be served.
/// The keys are loaded before the server starts (a server without keys never listens), so
/// only the store can make this fail.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = match tokio::time::timeout(READY_STORE_TIMEOUT, state.store().ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            READY_STORE_TIMEOUT.as_secs()
        )),
    };
    match store {
        Ok(()) => Json(json!({ "status": "ok", "checks": { "store": "ok", "keys": "ok" } }))
            .into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready: store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "detail": "Service temporarily unavailable.",
                    "status": "unavailable",
                    "checks": { "store": "unavailable", "keys": "ok" },
                })),
            )
                .into_response()
        }
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "OpenMetrics text, every name `jwtd_*`. Served here unless `metrics_listen` \
        puts it on a separate address.",
    responses(
        (status = 200, description = "The metrics.", body = String,
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
            example = json!("# TYPE jwtd_http_requests counter\n...\n# EOF\n")
        ),
    ),
)]
/// `GET /metrics`: Prometheus / OpenMetrics text.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/api/auth/check/",
    tag = "forward-auth",
    operation_id = "auth_check",
    summary = "Forward-auth check (any method)",
    description = "For nginx `auth_request`, Traefik ForwardAuth and Caddy `forward_auth`. \
        Answers every method alike (GET is documented); a valid access token gets 200 naming \
        the user in headers, anything else the 401 a protected endpoint would give.",
    security(("access_token" = [])),
    responses(
        (status = 200, description = "Authenticated.", body = doc::Empty,
            headers(
                ("X-Auth-User-Id" = String, description = "The user id claim's value."),
                ("X-Auth-Username" = String, description = "The username (UTF-8 bytes)."),
            )
        ),
        (status = 401, response = doc::NotAuthenticated),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `/api/auth/check` (any method): forward-auth for nginx `auth_request`, Traefik ForwardAuth
/// and Caddy `forward_auth`. A valid access token answers 200 naming the user in headers;
/// anything else gets the 401 a protected endpoint would give.
pub async fn auth_check(AuthUser(user): AuthUser) -> Response {
    let mut response = Json(json!({})).into_response();
    let headers = response.headers_mut();
    // The user id claim's value (the id, or Django mode's `user_id_field`) and the username are
    // sent as their UTF-8 bytes; only a control character (which no header may hold) leaves a
    // header out.
    if let Ok(id) = HeaderValue::from_bytes(user.id_claim().as_bytes()) {
        headers.insert("x-auth-user-id", id);
    }
    if let Ok(name) = HeaderValue::from_bytes(user.username.as_bytes()) {
        headers.insert("x-auth-username", name);
    }
    response
}

/// Any other method on a token endpoint.
pub async fn token_method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method)
}

/// Any other method on a protected endpoint: DRF authenticates before it checks the method.
pub async fn protected_method_not_allowed(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let header = headers
        .get(&state.config().auth.auth_header_name)
        .map(|v| v.as_bytes());
    authenticate_header(&state, header, now()).await?;
    Err(ApiError::MethodNotAllowed(method))
}

/// Unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// DRF's `OPTIONS` metadata for a token view.
pub fn options_metadata(
    name: &str,
    description: &str,
    post_fields: &[(&str, &str, bool)],
) -> Response {
    let mut fields = Map::new();
    for (field, label, read_only) in post_fields {
        fields.insert(
            (*field).to_owned(),
            json!({ "type": "string", "required": !read_only, "read_only": read_only, "label": label }),
        );
    }
    Json(json!({
        "name": name,
        "description": description,
        "renders": ["application/json"],
        "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
        "actions": { "POST": fields },
    }))
    .into_response()
}

#[utoipa::path(
    get,
    path = "/api/sessions/",
    tag = "sessions",
    operation_id = "sessions_list",
    summary = "The caller's live sessions",
    description = "Newest first; `current` marks the session of the access token making the \
        request. Empty in Django mode, which keeps no sessions.",
    security(("access_token" = [])),
    responses(
        (status = 200, description = "The sessions.", body = Vec<doc::Session>),
        (status = 401, response = doc::NotAuthenticated),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `GET /api/sessions/`: the caller's live sessions, newest first.
pub async fn sessions(
    State(state): State<AppState>,
    Caller { user, jti }: Caller,
) -> Result<Json<Value>, ApiError> {
    let sessions = state.store().sessions(user.id, now()).await?;
    let current = match &jti {
        Some(jti) => state.store().session_of_access(jti, user.id).await?,
        None => None,
    };
    let listed: Vec<Value> = sessions
        .iter()
        .map(|session| {
            crate::sessions::session_json(session, current.as_deref() == Some(&session.id))
        })
        .collect();
    Ok(Json(Value::Array(listed)))
}

#[utoipa::path(
    delete,
    path = "/api/sessions/{id}/",
    tag = "sessions",
    operation_id = "session_end",
    summary = "End one of the caller's sessions",
    description = "Blacklists the session's refresh tokens and deny-lists its access tokens. \
        Another user's session id answers 404, as an unknown one does.",
    params(("id" = String, Path, description = "A session id, as `GET /api/sessions/` lists it.")),
    security(("access_token" = [])),
    responses(
        (status = 204, description = "Ended."),
        (status = 401, response = doc::NotAuthenticated),
        (status = 404, response = doc::NotFound),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `DELETE /api/sessions/{id}/`: ends one of the caller's sessions; 404 for any id that is not
/// a live session of theirs (another user's included, so ids cannot be probed).
pub async fn end_session(
    State(state): State<AppState>,
    Caller { user, .. }: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store().end_session(&id, Some(user.id), now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(
    post,
    path = "/api/sessions/logout-all/",
    tag = "sessions",
    operation_id = "sessions_logout_all",
    summary = "Log out everywhere",
    description = "Ends every session of the caller and refuses every access token issued so \
        far, this one included.",
    security(("access_token" = [])),
    responses(
        (status = 204, description = "Logged out everywhere."),
        (status = 401, response = doc::NotAuthenticated),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/sessions/logout-all/`: ends every session of the caller and refuses every access
/// token issued so far.
pub async fn logout_all(
    State(state): State<AppState>,
    Caller { user, .. }: Caller,
) -> Result<StatusCode, ApiError> {
    let ended = state.store().end_all_sessions(user.id, now()).await?;
    tracing::info!(user_id = user.id, sessions = ended, "logged out everywhere");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/password/change/",
    tag = "account",
    operation_id = "password_change",
    summary = "Change the caller's password",
    description = "Checks the old password (counted by the login throttles), stores the new \
        one, revokes every session and access token of the caller and starts a fresh session. \
        404 in Django mode, where Django owns the passwords.",
    request_body(content(
        (doc::PasswordChangeRequest = "application/json", example = json!({"old_password": "correct horse battery staple", "new_password": "a longer, better passphrase"})),
        (doc::PasswordChangeRequest = "application/x-www-form-urlencoded"),
        (doc::PasswordChangeRequest = "multipart/form-data"),
    )),
    security(("access_token" = [])),
    responses(
        (status = 200, description = "Changed: a new session's tokens.", body = doc::TokenPair),
        (status = 400, description = "A wrong old password, a new password Django's validators refuse, a missing field or an unreadable body.",
            body = doc::ValidationError,
            examples(
                ("wrong_old_password" = (value = json!({"old_password": ["Your old password was entered incorrectly. Please enter it again."]}))),
                ("too_short" = (value = json!({"new_password": ["This password is too short. It must contain at least 8 characters."]}))),
                ("missing" = (value = json!({"old_password": ["This field is required."], "new_password": ["This field is required."]}))),
                ("parse_error" = (value = json!({"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}))),
            )
        ),
        (status = 401, response = doc::NotAuthenticated),
        (status = 404, response = doc::NotFound),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 429, response = doc::Throttled),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/password/change/`: `{"old_password", "new_password"}` → a fresh pair. 404 in
/// Django mode, where passwords are Django's to change (after authentication, as DRF checks).
pub async fn change_password(
    State(state): State<AppState>,
    Caller { user, .. }: Caller,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, ApiError> {
    if state.config().users.is_django() {
        return Err(ApiError::NotFound);
    }
    let [old_password, new_password] = fields.strings(["old_password", "new_password"])?;
    let origin = origin(client, &headers);
    let now = now();
    let pair =
        crate::sessions::change_password(&state, &user, old_password, new_password, &origin, now)
            .await?;
    // In cookie mode the new refresh token goes into the cookie, never into script's reach.
    Ok(pair_response(&state, &pair, now))
}

#[utoipa::path(
    post,
    path = "/api/token/revoke/",
    tag = "tokens",
    operation_id = "token_revoke",
    summary = "Revoke a token (RFC 7009)",
    description = "A refresh token ends its session, a sliding token is blacklisted, an access \
        token deny-listed until its `exp`. Answers `200 {}` whatever the token was (valid, \
        foreign, expired or garbage), so it tells nothing about it.",
    request_body(content(
        (doc::RevokeRequest = "application/json", example = json!({"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...", "token_type_hint": "refresh_token"})),
        (doc::RevokeRequest = "application/x-www-form-urlencoded"),
        (doc::RevokeRequest = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Done (whatever the token was).", body = doc::Empty),
        (status = 400, description = "DRF's field errors, or a body its parser could not read.",
            body = doc::ValidationError,
            examples(
                ("missing" = (value = json!({"token": ["This field is required."]}))),
                ("blank" = (value = json!({"token": ["This field may not be blank."]}))),
                ("not_an_object" = (value = json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}))),
                ("parse_error" = (value = json!({"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}))),
            )
        ),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/token/revoke/` (RFC 7009): `token` (form or JSON), optional `token_type_hint`
/// (the type is read from the token itself). `200 {}` whatever the token was.
pub async fn revoke(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let [token] = fields.strings(["token"])?;
    crate::sessions::revoke(&state, &token, now()).await?;
    Ok(Json(json!({})))
}

#[utoipa::path(
    post,
    path = "/api/token/introspect/",
    tag = "tokens",
    operation_id = "token_introspect",
    summary = "Introspect a token (RFC 7662)",
    description = "For resource servers holding the configured `introspection_token` (compared \
        in constant time). A token every check would accept (signature, times, type, \
        blacklist, session, revocation, an active user) is `active` with its claims; anything \
        else is `{\"active\":false}`. 404 when no introspection token is configured.",
    request_body(content(
        (doc::TokenRequest = "application/json", example = json!({"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."})),
        (doc::TokenRequest = "application/x-www-form-urlencoded"),
        (doc::TokenRequest = "multipart/form-data"),
    )),
    security(("introspection_token" = [])),
    responses(
        (status = 200, description = "Whether the token is active.", body = doc::Introspection,
            examples(
                ("active" = (value = json!({"active": true, "sub": "1", "token_type": "refresh", "user_id": "1", "username": "alice", "exp": 1796497668, "iat": 1796411268, "jti": "0e6a1f0c5b2d4c1e9f3a7b8c6d5e4f3a", "session_id": "b9309d62f7854e6ba1603ed859a5cf47"}))),
                ("inactive" = (value = json!({"active": false}))),
            )
        ),
        (status = 400, description = "DRF's field errors, or a body its parser could not read.",
            body = doc::ValidationError,
            examples(
                ("missing" = (value = json!({"token": ["This field is required."]}))),
                ("blank" = (value = json!({"token": ["This field may not be blank."]}))),
                ("not_an_object" = (value = json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}))),
                ("parse_error" = (value = json!({"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}))),
            )
        ),
        (status = 401, description = "Without the configured introspection token.",
            body = doc::Detail,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"`")),
            example = json!({"detail": "Invalid introspection credentials."})
        ),
        (status = 404, response = doc::NotFound),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 415, response = doc::UnsupportedMediaType),
        (status = 503, response = doc::Unavailable),
    ),
)]
/// `POST /api/token/introspect/` (RFC 7662), behind `Authorization: Bearer
/// <introspection_token>`; 404 when no introspection token is configured.
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    use secrecy::ExposeSecret;
    let Some(secret) = &state.config().sessions.introspection_token else {
        return Err(ApiError::NotFound);
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes())
        .and_then(|value| {
            let (scheme, rest) = value.split_at_checked(7)?;
            scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
        })
        .unwrap_or_default();
    // The digests are compared in constant time: neither the secret nor its length leaks
    // through response timing.
    let digest = |bytes: &[u8]| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        digest(presented).as_ref(),
        digest(secret.expose_secret().as_bytes()).as_ref(),
    )
    .is_err()
    {
        return Err(ApiError::IntrospectionRefused);
    }
    let [token] = fields.strings(["token"])?;
    Ok(Json(
        crate::sessions::introspect(&state, &token, now()).await?,
    ))
}
