//! HTTP handlers: extract, call one service function, shape the response. No SQL, no crypto.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use crate::auth::{AuthUser, Caller, authenticate_header};
use crate::body::Fields;
use crate::client::ClientAddr;
use crate::cookies;
use crate::error::ApiError;
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

/// `POST /api/token/`.
pub async fn obtain_pair(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, ApiError> {
    let login_field = state.config().users.username_field.as_str();
    let [username, password] = fields.strings([login_field, "password"])?;
    let origin = origin(client, &headers);
    let now = now();
    let pair = tokens::login_pair(&state, &username, password, &origin, now).await?;
    let Some(cookie) = &state.config().browser.refresh_cookie else {
        return Ok(
            Json(json!({ "refresh": pair.refresh.token, "access": pair.access.token }))
                .into_response(),
        );
    };
    // Cookie mode: the refresh token only in an httpOnly cookie, and a fresh CSRF secret in a
    // readable one for the page to send back in `X-CSRFToken`.
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
    Ok(response)
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
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<Presented, ApiError> {
    if state.config().browser.refresh_cookie.is_some() && !fields.has("refresh") {
        let name = &state
            .config()
            .browser
            .refresh_cookie
            .as_ref()
            .map(|c| c.name.as_str());
        if let Some(token) = name.and_then(|name| cookies::request_cookie(headers, name)) {
            cookies::check_csrf(state, headers)?;
            return Ok(Presented::Cookie(token));
        }
    }
    let [token] = fields.strings(["refresh"])?;
    Ok(Presented::Body(token))
}

/// `POST /api/token/refresh/`.
pub async fn refresh(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, ApiError> {
    let presented = presented_refresh(&state, &headers, &fields)?;
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
    // Refreshed from the cookie: a rotated successor replaces it.
    let mut response = Json(Value::Object(body)).into_response();
    if let Some(refresh) = refreshed.refresh {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::refresh_cookie(cookie, &refresh.token, refresh.expires_at - now),
        );
    }
    Ok(response)
}

/// `POST /api/token/verify/`.
pub async fn verify(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let [token] = fields.strings(["token"])?;
    tokens::verify(&state, &token, now()).await?;
    Ok(Json(json!({})))
}

/// `POST /api/token/blacklist/`.
pub async fn blacklist(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, ApiError> {
    let presented = presented_refresh(&state, &headers, &fields)?;
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

/// `POST /api/token/sliding/refresh/`.
pub async fn refresh_sliding(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let [token] = fields.strings(["token"])?;
    let renewed = tokens::refresh_sliding(&state, &token, now()).await?;
    Ok(Json(json!({ "token": renewed.token })))
}

/// `GET /hello/`.
pub async fn hello(AuthUser(user): AuthUser) -> Json<Value> {
    Json(json!({ "message": format!("Hello, {}!", user.username) }))
}

/// `GET /api/me/`.
pub async fn me(AuthUser(user): AuthUser) -> Json<Value> {
    Json(json!({ "id": user.id, "username": user.username }))
}

/// `GET /ping/`: the reference site's unauthenticated demo view.
pub async fn ping() -> Json<Value> {
    Json(json!({ "ping": "pong" }))
}

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

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

/// `POST /api/password/change/`: `{"old_password", "new_password"}` → a fresh pair. 404 in
/// Django mode, where passwords are Django's to change (after authentication, as DRF checks).
pub async fn change_password(
    State(state): State<AppState>,
    Caller { user, .. }: Caller,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    if state.config().users.is_django() {
        return Err(ApiError::NotFound);
    }
    let [old_password, new_password] = fields.strings(["old_password", "new_password"])?;
    let origin = origin(client, &headers);
    let pair =
        crate::sessions::change_password(&state, &user, old_password, new_password, &origin, now())
            .await?;
    Ok(Json(
        json!({ "refresh": pair.refresh.token, "access": pair.access.token }),
    ))
}

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
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    // Compared in constant time: the secret must not leak through response timing.
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        presented,
        secret.expose_secret().as_bytes(),
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
