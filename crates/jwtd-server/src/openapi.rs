//! `GET /api/openapi.json`: an OpenAPI 3.1 description of every endpoint, generated from the
//! code by utoipa so it cannot drift from it.
//!
//! Each handler carries its own `#[utoipa::path]` (method, path, request body, responses, auth);
//! this module holds the body schemas ([`ToSchema`] types that describe the JSON the handlers
//! build, never used to build it), the error answers shared by many endpoints ([`ToResponse`]
//! types, referenced from `components/responses`), the security schemes, and [`ApiDoc`], which
//! gathers them. The document is built once; each request adapts a copy to the running
//! configuration (the login field's name, the user id claim's, the refresh cookie's, the
//! `Authorization` scheme), so what it says is what this server accepts.
//!
//! Every path of [`crate::router::route_paths`] must be in [`ApiDoc`]'s `paths(...)`: the API
//! test `openapi` compares the two and fails on a route added without its documentation.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

use crate::config::Config;
use crate::handlers;
use crate::state::AppState;

/// The document's operations, schemas, shared responses and security schemes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "jwtd",
        description = "A JWT authentication server, drop-in compatible with \
            djangorestframework-simplejwt: the same endpoints, bodies and error bodies (DRF's \
            `{\"detail\": ...}`, field errors on 400, `token_not_valid` with `messages` on 401). \
            Every path is also served without its trailing slash (POSTs are never redirected). \
            Token endpoints accept JSON, form-urlencoded and multipart bodies, and every 401 \
            carries `WWW-Authenticate: Bearer realm=\"api\"`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        handlers::obtain_pair,
        handlers::refresh,
        handlers::verify,
        handlers::blacklist,
        handlers::obtain_sliding,
        handlers::refresh_sliding,
        handlers::revoke,
        handlers::introspect,
        handlers::sessions,
        handlers::logout_all,
        handlers::end_session,
        handlers::change_password,
        handlers::hello,
        handlers::me,
        handlers::auth_check,
        handlers::ping,
        openapi_json,
        handlers::healthz,
        handlers::readyz,
        handlers::jwks,
        handlers::openid_configuration,
        handlers::metrics,
    ),
    components(
        schemas(
            Credentials,
            RefreshRequest,
            TokenRequest,
            RevokeRequest,
            PasswordChangeRequest,
            TokenPair,
            AccessToken,
            ObtainPairResponse,
            RefreshResponse,
            SlidingToken,
            Empty,
            Introspection,
            ActiveToken,
            InactiveToken,
            Session,
            Greeting,
            Me,
            Pong,
            Health,
            Ready,
            NotReady,
            ReadyChecks,
            Jwks,
            Jwk,
            OpenIdConfiguration,
            OpenApiDocument,
            Detail,
            AuthenticationFailed,
            TokenMessage,
            FieldErrors,
            ValidationError,
        ),
        responses(
            TokenNotValid,
            NotAuthenticated,
            CsrfFailed,
            NotFound,
            LoginInvalid,
            BadCredentials,
            PayloadTooLarge,
            UnsupportedMediaType,
            Throttled,
            Unavailable,
        ),
    ),
    modifiers(&SecuritySchemes, &CookieBodies),
    tags(
        (name = "tokens", description = "simplejwt's token views, and RFC 7009 revocation and \
            RFC 7662 introspection."),
        (name = "sessions", description = "The caller's sessions (README, \"Sessions and logout\")."),
        (name = "account", description = "The caller's own account."),
        (name = "demo", description = "The reference site's demo views."),
        (name = "forward-auth", description = "For reverse proxies' auth subrequests."),
        (name = "keys", description = "Public keys and discovery, for resource servers."),
        (name = "operations", description = "Health, readiness, metrics, this document."),
    ),
)]
pub struct ApiDoc;

/// Names of the security schemes (operations' `security(...)` spell them out: utoipa takes
/// literals only; the `openapi` API test checks each names a scheme defined here).
pub mod scheme {
    /// An access token (or a sliding token, when `auth_token_types` accepts it).
    pub const ACCESS_TOKEN: &str = "access_token";
    /// The configured `introspection_token` secret.
    pub const INTROSPECTION: &str = "introspection_token";
    /// The httpOnly refresh cookie (cookie mode).
    pub const REFRESH_COOKIE: &str = "refresh_cookie";
    /// The double-submit CSRF header that goes with the refresh cookie.
    pub const CSRF: &str = "csrf_token";
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            scheme::ACCESS_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /api/token/` (or a sliding token from \
                         `POST /api/token/sliding/` when `auth_token_types` accepts sliding \
                         tokens) in `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            scheme::INTROSPECTION,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The configured `introspection_token` (a shared secret of at least 32 \
                         bytes, not a JWT) in `Authorization: Bearer <introspection_token>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            scheme::REFRESH_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "refresh",
                "Cookie mode (`refresh_cookie = true`): the refresh token in the httpOnly cookie \
                 `POST /api/token/` set, used when the body has no `refresh`. Must go with \
                 `X-CSRFToken` (`csrf_token`).",
            ))),
        );
        components.add_security_scheme(
            scheme::CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRFToken",
                "The value of the readable `csrftoken` cookie (Django's double submit), required \
                 with the refresh cookie; a request with an `Origin` must also come from this \
                 server's own origin or one of `cors_allowed_origins`.",
            ))),
        );
    }
}

/// Refresh and blacklist take their token from the refresh cookie when the body has none, so
/// their body is optional (utoipa marks a body of a non-`Option` type required, and an `Option`
/// one nullable, which a missing body is not).
struct CookieBodies;

impl Modify for CookieBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for path in ["/api/token/refresh/", "/api/token/blacklist/"] {
            let body = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| item.post.as_mut())
                .and_then(|post| post.request_body.as_mut());
            let Some(utoipa::openapi::RefOr::T(body)) = body else {
                panic!("{path} is documented with an inline request body");
            };
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
}

/// The document, built once.
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes")
});

/// The document as this configuration serves it: the login field is `username_field`,
/// introspection names the user id claim as `user_id_claim` does, the refresh cookie is
/// `refresh_cookie_name`, and the access token goes in `auth_header_name` with the schemes of
/// `auth_header_types`.
pub fn document(config: &Config) -> Value {
    let mut document = DOCUMENT.clone();
    let login_field = config.users.username_field.as_str();
    if login_field != "username" {
        rename_property(&mut document, "Credentials", "username", login_field);
    }
    let user_id_claim = config.tokens.policy.claims.user_id.as_str();
    if user_id_claim != "user_id" {
        rename_property(&mut document, "ActiveToken", "user_id", user_id_claim);
    }
    let schemes = &mut document["components"]["securitySchemes"];
    if let Some(cookie) = &config.browser.refresh_cookie {
        schemes[scheme::REFRESH_COOKIE]["name"] = Value::String(cookie.name.clone());
    }
    let auth = &config.auth;
    let header_types = &auth.auth_header_types;
    let default_header = auth.auth_header_name == axum::http::header::AUTHORIZATION
        && header_types.len() == 1
        && header_types[0].eq_ignore_ascii_case("Bearer");
    if !default_header {
        let accepted = header_types
            .iter()
            .map(|scheme| format!("`{}: {scheme} <token>`", auth.auth_header_name.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        schemes[scheme::ACCESS_TOKEN] = json!({
            "type": "apiKey",
            "in": "header",
            "name": auth.auth_header_name.as_str(),
            "description": format!(
                "An access token (or a sliding token when `auth_token_types` accepts sliding \
                 tokens), sent as {accepted}."
            ),
        });
    }
    document
}

/// Renames `from` to `to` in the properties and `required` of the component schema `schema`,
/// keeping the properties' order; when `to` is already a property (a user id claim named
/// `sub`, say), `from` is dropped instead.
fn rename_property(document: &mut Value, schema: &str, from: &str, to: &str) {
    let schema = &mut document["components"]["schemas"][schema];
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    let exists = properties.contains_key(to);
    let renamed: Map<String, Value> = std::mem::take(properties)
        .into_iter()
        .filter(|(name, _)| !(exists && name == from))
        .map(|(name, value)| (if name == from { to.to_owned() } else { name }, value))
        .collect();
    *properties = renamed;
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        if exists {
            required.retain(|name| name != from);
        }
        for name in required.iter_mut().filter(|name| *name == from) {
            *name = Value::String(to.to_owned());
        }
    }
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    summary = "This OpenAPI 3.1 document",
    description = "Every endpoint of this server, generated from its code and adapted to its \
        configuration (the login field, the refresh cookie's name, the `Authorization` scheme). \
        Public. Load it into any OpenAPI 3.1 viewer or client generator (Swagger UI, Redoc, \
        Scalar, openapi-generator).",
    responses(
        (status = 200, description = "The document.", body = OpenApiDocument),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn openapi_json(State(state): State<AppState>) -> Json<Value> {
    Json(document(state.config()))
}

// Request bodies.

/// Login credentials. The login field is the configured `username_field` (`username` unless
/// the server logs in by email, then `email`).
#[derive(ToSchema)]
#[schema(example = json!({"username": "alice", "password": "correct horse battery staple"}))]
pub struct Credentials {
    /// The login name (the `username_field` column).
    pub username: String,
    /// The password.
    #[schema(format = Password)]
    pub password: String,
}

/// A refresh token (simplejwt's `TokenRefreshSerializer` and `TokenBlacklistSerializer`).
#[derive(ToSchema)]
#[schema(example = json!({"refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))]
pub struct RefreshRequest {
    /// A refresh token. In cookie mode it may be left out: the refresh cookie is used instead
    /// (with the CSRF check).
    pub refresh: String,
}

/// A token (simplejwt's `TokenVerifySerializer` and `TokenRefreshSlidingSerializer`; RFC 7662's
/// introspection request).
#[derive(ToSchema)]
#[schema(example = json!({"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))]
pub struct TokenRequest {
    /// A JSON web token.
    pub token: String,
}

/// An RFC 7009 revocation request.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...", "token_type_hint": "refresh_token"}))]
pub struct RevokeRequest {
    /// An access, refresh or sliding token.
    pub token: String,
    /// RFC 7009's hint, accepted and ignored: the type is read from the token itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type_hint: Option<String>,
}

/// A password change.
#[derive(ToSchema)]
#[schema(example = json!({"old_password": "correct horse battery staple", "new_password": "a longer, better passphrase"}))]
pub struct PasswordChangeRequest {
    /// The current password.
    #[schema(format = Password)]
    pub old_password: String,
    /// The new password: at least `password_min_length` characters, not the username.
    #[schema(format = Password)]
    pub new_password: String,
}

// Success bodies.

/// A refresh and an access token.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...", "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))]
pub struct TokenPair {
    /// A refresh token.
    pub refresh: String,
    /// An access token.
    pub access: String,
}

/// An access token alone (cookie mode: the refresh token is in the httpOnly cookie).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))]
pub struct AccessToken {
    /// An access token.
    pub access: String,
}

/// A login's tokens: the pair, or in cookie mode the access token alone.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ObtainPairResponse {
    /// Without cookie mode.
    Pair(TokenPair),
    /// Cookie mode.
    AccessOnly(AccessToken),
}

/// A refreshed access token, and with `rotate_refresh_tokens` its refresh token's successor
/// (in the body unless the refresh came from the cookie, which is then replaced).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))]
pub struct RefreshResponse {
    /// A new access token.
    pub access: String,
    /// The rotated refresh token (only with `rotate_refresh_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh: Option<String>,
}

/// A sliding token.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."}))]
pub struct SlidingToken {
    /// The sliding token.
    pub token: String,
}

/// `{}`: done.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct Empty {}

/// An RFC 7662 introspection answer.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Introspection {
    /// Every check a use of the token would make passes.
    Active(ActiveToken),
    /// Anything else: invalid, expired, revoked, foreign, an inactive user.
    Inactive(InactiveToken),
}

/// An active token's claims.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"active": true, "sub": "1", "token_type": "refresh", "user_id": "1", "username": "alice", "exp": 1796497668, "iat": 1796411268, "jti": "0e6a1f0c5b2d4c1e9f3a7b8c6d5e4f3a", "session_id": "b9309d62f7854e6ba1603ed859a5cf47"}))]
pub struct ActiveToken {
    /// `true`.
    pub active: bool,
    /// The user id claim's value.
    pub sub: String,
    /// `access`, `refresh` or `sliding`.
    pub token_type: String,
    /// The user id claim (named by `user_id_claim`, `user_id` by default), as a string.
    pub user_id: String,
    /// The user's username.
    pub username: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// The token's id.
    pub jti: String,
    /// The session of a refresh token; `null` for access tokens.
    #[schema(required = true)]
    pub session_id: Option<String>,
}

/// An inactive token: nothing more is said about it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct InactiveToken {
    /// `false`.
    pub active: bool,
}

/// One of the caller's live sessions (a login and the refresh tokens rotated from it).
#[derive(ToSchema)]
#[schema(example = json!({"id": "b9309d62f7854e6ba1603ed859a5cf47", "created_at": 1796411268, "last_used_at": 1796411290, "expires_at": 1796497668, "user_agent": "Mozilla/5.0 …", "ip": "203.0.113.7", "current": true}))]
pub struct Session {
    /// The session id (32 hex characters).
    pub id: String,
    /// The login, Unix seconds.
    pub created_at: i64,
    /// The last refresh (the login until there is one), Unix seconds.
    pub last_used_at: i64,
    /// The `exp` of the session's newest refresh token, Unix seconds.
    pub expires_at: i64,
    /// The login's `User-Agent`.
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// The login's client address, as `trusted_proxies` resolves it.
    #[schema(required = true)]
    pub ip: Option<String>,
    /// Whether the access token making the request belongs to this session.
    pub current: bool,
}

/// `GET /hello/`'s greeting.
#[derive(ToSchema)]
#[schema(example = json!({"message": "Hello, alice!"}))]
pub struct Greeting {
    /// `Hello, <username>!`.
    pub message: String,
}

/// The caller.
#[derive(ToSchema)]
#[schema(example = json!({"id": 1, "username": "alice"}))]
pub struct Me {
    /// The user's id.
    pub id: i64,
    /// The user's username.
    pub username: String,
}

/// `{"ping":"pong"}`.
#[derive(ToSchema)]
#[schema(example = json!({"ping": "pong"}))]
pub struct Pong {
    /// `pong`.
    pub ping: String,
}

/// The process is up.
#[derive(ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// Ready to serve.
#[derive(ToSchema)]
#[schema(example = json!({"status": "ok", "checks": {"store": "ok", "keys": "ok"}}))]
pub struct Ready {
    /// `ok`.
    pub status: String,
    /// Each dependency's state.
    pub checks: ReadyChecks,
}

/// Not ready: the store does not answer.
#[derive(ToSchema)]
#[schema(example = json!({"detail": "Service temporarily unavailable.", "status": "unavailable", "checks": {"store": "unavailable", "keys": "ok"}}))]
pub struct NotReady {
    /// `Service temporarily unavailable.`
    pub detail: String,
    /// `unavailable`.
    pub status: String,
    /// Each dependency's state.
    pub checks: ReadyChecks,
}

/// The state of each dependency: `ok` or `unavailable`.
#[derive(ToSchema)]
pub struct ReadyChecks {
    /// The store (the database).
    pub store: String,
    /// The signing and verification keys (always `ok`: a server without keys never starts).
    pub keys: String,
}

/// A JSON Web Key Set (RFC 7517).
#[derive(ToSchema)]
#[schema(example = json!({"keys": [{"crv": "P-256", "kty": "EC", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "use": "sig", "alg": "ES256", "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"}]}))]
pub struct Jwks {
    /// The active key, keys published ahead of use (`next`) and retired keys still in their
    /// window. Empty for HMAC keys, which are never published.
    pub keys: Vec<Jwk>,
}

/// A public key (RFC 7517), with its RFC 7638 thumbprint as `kid`.
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    /// `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub key_use: String,
    /// The algorithm: RS*, PS*, ES* or EdDSA.
    pub alg: String,
    /// The RFC 7638 SHA-256 thumbprint, base64url; tokens carry it in their header.
    pub kid: String,
    /// RSA modulus, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub n: Option<String>,
    /// RSA exponent, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub e: Option<String>,
    /// The curve (`P-256`, `P-384`, `P-521`, `Ed25519`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub crv: Option<String>,
    /// The x coordinate (EC) or public key (OKP), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub x: Option<String>,
    /// The y coordinate (EC), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub y: Option<String>,
}

/// OpenID Connect Discovery 1.0 metadata; every URL is built from `public_url`.
#[derive(ToSchema)]
#[schema(example = json!({"issuer": "https://auth.example.com", "jwks_uri": "https://auth.example.com/.well-known/jwks.json", "token_endpoint": "https://auth.example.com/api/token/", "id_token_signing_alg_values_supported": ["ES256"], "response_types_supported": ["token"], "subject_types_supported": ["public"], "grant_types_supported": ["password", "refresh_token"], "claims_supported": ["user_id", "exp", "iat", "jti"]}))]
pub struct OpenIdConfiguration {
    /// The configured `issuer`.
    pub issuer: String,
    /// `<public_url>/.well-known/jwks.json`.
    pub jwks_uri: String,
    /// `<public_url>/api/token/`.
    pub token_endpoint: String,
    /// The algorithms of the published keys.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `["token"]`.
    pub response_types_supported: Vec<String>,
    /// `["public"]`.
    pub subject_types_supported: Vec<String>,
    /// `["password", "refresh_token"]`.
    pub grant_types_supported: Vec<String>,
    /// The user id claim, `exp`, `iat`, `jti`.
    pub claims_supported: Vec<String>,
}

/// An OpenAPI 3.1 document.
#[derive(ToSchema)]
pub struct OpenApiDocument {
    /// `3.1.0`.
    pub openapi: String,
    /// Title, version, description and license.
    #[schema(value_type = Object)]
    pub info: Value,
    /// Every endpoint.
    #[schema(value_type = Object)]
    pub paths: Value,
    /// Schemas, shared responses and security schemes.
    #[schema(value_type = Object)]
    pub components: Value,
}

// Error bodies.

/// DRF's error body.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"detail": "Not found."}))]
pub struct Detail {
    /// What went wrong, in DRF's (or simplejwt's) words.
    pub detail: String,
}

/// A refused authentication: simplejwt's `InvalidToken` / `AuthenticationFailed`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"detail": "Token is invalid", "code": "token_not_valid"}))]
pub struct AuthenticationFailed {
    /// What went wrong.
    pub detail: String,
    /// `token_not_valid`, `bad_authorization_header`, `user_not_found`, `user_inactive`,
    /// `password_changed`; absent when no credentials were sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub code: Option<String>,
    /// On a protected endpoint, why the token failed for each accepted token type.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub messages: Option<Vec<TokenMessage>>,
}

/// Why a token failed as one token type.
#[derive(Serialize, ToSchema)]
pub struct TokenMessage {
    /// `AccessToken` or `SlidingToken`.
    pub token_class: String,
    /// `access` or `sliding`.
    pub token_type: String,
    /// simplejwt's message, e.g. `Token is expired`.
    pub message: String,
}

/// DRF's field errors: each field's messages, in serializer order; `non_field_errors` for a
/// body that is not an object.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"username": ["This field is required."], "password": ["This field may not be blank."]}))]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

/// A request DRF's serializer or parser refused: field errors, or `{"detail": ...}` for a body
/// the declared parser could not read.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ValidationError {
    /// Field errors.
    Fields(FieldErrors),
    /// A parse error (`JSON parse error - ...`, `Form parse error - ...`).
    Parse(Detail),
}

// Error answers shared by many endpoints (`components/responses`).

/// The token was refused (`token_not_valid`).
#[derive(ToResponse)]
#[response(
    description = "The token was refused: simplejwt's `InvalidToken`, `{\"detail\": ..., \"code\": \"token_not_valid\"}`.",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"`")),
    examples(
        ("invalid" = (value = json!({"detail": "Token is invalid", "code": "token_not_valid"}))),
        ("expired" = (value = json!({"detail": "Token is expired", "code": "token_not_valid"}))),
        ("blacklisted" = (value = json!({"detail": "Token is blacklisted", "code": "token_not_valid"}))),
    )
)]
pub struct TokenNotValid(pub AuthenticationFailed);

/// A protected endpoint refused the caller.
#[derive(ToResponse)]
#[response(
    description = "Not authenticated: no credentials, a malformed header, a refused token (with \
        `messages` per accepted token type), or a user that is gone or inactive.",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"`")),
    examples(
        ("not_provided" = (value = json!({"detail": "Authentication credentials were not provided."}))),
        ("bad_header" = (value = json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}))),
        ("expired" = (value = json!({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is expired"}]}))),
        ("revoked" = (value = json!({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is blacklisted"}]}))),
        ("user_not_found" = (value = json!({"detail": "User not found", "code": "user_not_found"}))),
        ("user_inactive" = (value = json!({"detail": "User is inactive", "code": "user_inactive"}))),
        ("password_changed" = (value = json!({"detail": "The user's password has been changed.", "code": "password_changed"}))),
    )
)]
pub struct NotAuthenticated(pub AuthenticationFailed);

/// A request authenticated by the refresh cookie failed the CSRF check.
#[derive(ToResponse)]
#[response(
    description = "Cookie mode: the CSRF check failed (DRF's `CSRF Failed: <reason>`).",
    examples(
        ("token_missing" = (value = json!({"detail": "CSRF Failed: CSRF token missing."}))),
        ("cookie_not_set" = (value = json!({"detail": "CSRF Failed: CSRF cookie not set."}))),
        ("incorrect" = (value = json!({"detail": "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect."}))),
        ("origin" = (value = json!({"detail": "CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins."}))),
    )
)]
pub struct CsrfFailed(pub Detail);

/// No such thing.
#[derive(ToResponse)]
#[response(
    description = "Not found.",
    example = json!({"detail": "Not found."})
)]
pub struct NotFound(pub Detail);

/// The body is over `max_body_bytes`.
#[derive(ToResponse)]
#[response(
    description = "The body is over `max_body_bytes` (64 KiB by default).",
    example = json!({"detail": "Request body is too large."})
)]
pub struct PayloadTooLarge(pub Detail);

/// A login's body failed DRF's field checks or could not be parsed (both login views).
#[derive(ToResponse)]
#[response(
    description = "DRF's field errors, or a body its parser could not read.",
    examples(
        ("missing" = (value = json!({"username": ["This field is required."], "password": ["This field is required."]}))),
        ("blank" = (value = json!({"username": ["This field may not be blank."]}))),
        ("not_an_object" = (value = json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}))),
        ("parse_error" = (value = json!({"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}))),
    )
)]
pub struct LoginInvalid(pub ValidationError);

/// A login refused (both login views).
#[derive(ToResponse)]
#[response(
    description = "Unknown user, wrong password or inactive user, indistinguishably.",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"`")),
    example = json!({"detail": "No active account found with the given credentials"})
)]
pub struct BadCredentials(pub Detail);

/// No parser for the body's `Content-Type`.
#[derive(ToResponse)]
#[response(
    description = "A `Content-Type` other than JSON, form-urlencoded or multipart.",
    example = json!({"detail": "Unsupported media type \"text/plain\" in request."})
)]
pub struct UnsupportedMediaType(pub Detail);

/// Too many login attempts.
#[derive(ToResponse)]
#[response(
    description = "Too many login attempts from this address or for this username (DRF's `Throttled`).",
    headers(("Retry-After" = u64, description = "Seconds to wait, rounded up.")),
    example = json!({"detail": "Request was throttled. Expected available in 12 seconds."})
)]
pub struct Throttled(pub Detail);

/// The server cannot serve the request now.
#[derive(ToResponse)]
#[response(
    description = "The store cannot be reached or written, the server is at \
        `max_concurrent_requests` (with `Retry-After: 1`), or the request took longer than \
        `request_timeout`. Nothing was half-written.",
    headers(("Retry-After" = u64, description = "When shed for load: `1`.")),
    examples(
        ("unavailable" = (value = json!({"detail": "Service temporarily unavailable."}))),
        ("timeout" = (value = json!({"detail": "Request timed out."}))),
    )
)]
pub struct Unavailable(pub Detail);
