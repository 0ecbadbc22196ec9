//! Every error the API answers with, and its only mapping to HTTP: status, body and headers.
//!
//! Services speak domain errors ([`AuthError`], [`LoginError`], [`RefreshError`], store and
//! token errors); the `From` impls here say which answer each one gets. Bodies are simplejwt's
//! byte for byte (contract 1.4), as amended by `jwtd-decisions.md`: every body is JSON, 5xx
//! bodies are generic and their detail is logged once here.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jwtd_store::StoreError;
use jwtd_token::TokenError;
use serde_json::{Map, Value, json};

pub use crate::auth::AuthError;
use crate::tokens::{LoginError, RefreshError};

/// An API failure.
#[derive(Debug)]
pub enum ApiError {
    /// Field errors, in serializer field order: `{"field":["message"]}`.
    Fields(Vec<(String, std::borrow::Cow<'static, str>)>),
    /// A body that is not an object: `{"non_field_errors":[message]}`.
    NonField(String),
    /// A body the declared parser could not read: `{"detail":"JSON parse error - ..."}`.
    Parse(String),
    /// A `Content-Type` no parser accepts (the header as sent).
    UnsupportedMediaType(String),
    /// The body exceeded the limit.
    PayloadTooLarge,
    /// Login failed: unknown user, wrong password or inactive user, indistinguishably.
    BadCredentials,
    /// Refresh for a user who is inactive or gone.
    NoActiveAccountForToken,
    /// Refresh with a token issued before the user's password changed (`check_revoke_token`).
    PasswordChanged,
    /// A token endpoint refused the token.
    Token(TokenError),
    /// A refresh token names no usable user.
    NoUserId,
    /// A protected endpoint refused the caller.
    Auth(AuthError),
    /// 403 with this detail (a failed CSRF check).
    Forbidden(String),
    /// `/api/token/introspect/` without the configured bearer secret.
    IntrospectionRefused,
    /// The method is not served here.
    MethodNotAllowed(Method),
    /// No such path.
    NotFound,
    /// The store cannot serve now.
    Unavailable(String),
    /// Too many login attempts; retry after this long.
    Throttled(std::time::Duration),
    /// `max_concurrent_requests` are in flight: shed, retry soon.
    Overloaded,
    /// The request took longer than `request_timeout`.
    Timeout,
    /// A bug; details are logged, never sent.
    Internal(String),
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Signing => ApiError::Internal("token signing failed".to_owned()),
            e => ApiError::Token(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(reason) => ApiError::Unavailable(reason),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(e) => e.into(),
            refusal => ApiError::Auth(refusal),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Throttled(wait) => ApiError::Throttled(wait),
            LoginError::BadCredentials => ApiError::BadCredentials,
            LoginError::Hashing(e) => ApiError::Internal(e.to_string()),
            LoginError::Token(e) => e.into(),
            LoginError::Store(e) => e.into(),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Token(e) => e.into(),
            RefreshError::NoUserId => ApiError::NoUserId,
            RefreshError::NoActiveAccount => ApiError::NoActiveAccountForToken,
            RefreshError::PasswordChanged => ApiError::PasswordChanged,
            RefreshError::Store(e) => e.into(),
        }
    }
}

const NO_USER_ID: &str = "Token contained no recognizable user identification";

fn detail(message: &str) -> Value {
    json!({ "detail": message })
}

const PASSWORD_CHANGED: &str = "The user's password has been changed.";

/// simplejwt's `JWTAuthentication` answer to a token whose `revoke_token_claim` no longer
/// matches (its own `AuthenticationFailed`, which carries the code).
fn password_changed() -> Value {
    detail_code(PASSWORD_CHANGED, "password_changed")
}

fn detail_code(message: &str, code: &str) -> Value {
    json!({ "detail": message, "code": code })
}

impl ApiError {
    fn status_and_body(&self) -> (StatusCode, Value) {
        match self {
            ApiError::Fields(errors) => {
                let mut body = Map::new();
                for (field, message) in errors {
                    body.insert(field.clone(), json!([message.as_ref()]));
                }
                (StatusCode::BAD_REQUEST, Value::Object(body))
            }
            ApiError::NonField(message) => (
                StatusCode::BAD_REQUEST,
                json!({ "non_field_errors": [message] }),
            ),
            ApiError::Parse(message) => (StatusCode::BAD_REQUEST, detail(message)),
            ApiError::UnsupportedMediaType(content_type) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                detail(&format!(
                    "Unsupported media type \"{content_type}\" in request."
                )),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                detail("Request body is too large."),
            ),
            ApiError::BadCredentials => (
                StatusCode::UNAUTHORIZED,
                detail("No active account found with the given credentials"),
            ),
            ApiError::NoActiveAccountForToken => (
                StatusCode::UNAUTHORIZED,
                detail("No active account found for the given token."),
            ),
            // DRF's own `AuthenticationFailed` in simplejwt's refresh serializers: no `code`.
            ApiError::PasswordChanged => (StatusCode::UNAUTHORIZED, detail(PASSWORD_CHANGED)),
            ApiError::Token(e) => (
                StatusCode::UNAUTHORIZED,
                detail_code(&e.to_string(), "token_not_valid"),
            ),
            ApiError::NoUserId => (
                StatusCode::UNAUTHORIZED,
                detail_code(NO_USER_ID, "token_not_valid"),
            ),
            ApiError::Auth(auth) => auth_answer(auth),
            ApiError::MethodNotAllowed(method) => (
                StatusCode::METHOD_NOT_ALLOWED,
                detail(&format!("Method \"{method}\" not allowed.")),
            ),
            ApiError::NotFound => (StatusCode::NOT_FOUND, detail("Not found.")),
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, detail(message)),
            ApiError::IntrospectionRefused => (
                StatusCode::UNAUTHORIZED,
                detail("Invalid introspection credentials."),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                detail("Service temporarily unavailable."),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail("A server error occurred."),
            ),
            ApiError::Throttled(wait) => {
                let seconds = retry_after_seconds(*wait);
                // DRF's `Throttled` message, with its singular and plural forms.
                let unit = if seconds == 1 { "second" } else { "seconds" };
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    detail(&format!(
                        "Request was throttled. Expected available in {seconds} {unit}."
                    )),
                )
            }
            ApiError::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                detail("Service temporarily unavailable."),
            ),
            ApiError::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                detail("Request timed out."),
            ),
        }
    }

    /// The `Retry-After` to send, in seconds.
    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Throttled(wait) => Some(retry_after_seconds(*wait)),
            ApiError::Overloaded => Some(1),
            _ => None,
        }
    }
}

/// Whole seconds, rounded up, at least one (DRF rounds the wait up too).
fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

/// A protected endpoint's refusal: jwtd-verify's own answer for the token, 401 for the user,
/// and a store failure as a store failure (never a 401).
fn auth_answer(error: &AuthError) -> (StatusCode, Value) {
    let body = match error {
        AuthError::Refused(refusal) => return (refusal.status(), refusal.body()),
        AuthError::Store(e) => return ApiError::from(e.clone()).status_and_body(),
        AuthError::NoUserId => detail_code(NO_USER_ID, "token_not_valid"),
        AuthError::UserNotFound => detail_code("User not found", "user_not_found"),
        AuthError::UserInactive => detail_code("User is inactive", "user_inactive"),
        AuthError::PasswordChanged => password_changed(),
        // As simplejwt answers a blacklisted token for each of `AUTH_TOKEN_CLASSES`.
        AuthError::Revoked(token_types) => json!({
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": token_types
                .iter()
                .map(|token_type| json!({
                    "token_class": token_type.class_name(),
                    "token_type": token_type.as_str(),
                    "message": TokenError::Blacklisted.to_string(),
                }))
                .collect::<Vec<_>>(),
        }),
    };
    (StatusCode::UNAUTHORIZED, body)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(reason) => tracing::warn!(%reason, "store unavailable"),
            ApiError::Internal(reason) => tracing::error!(%reason, "internal error"),
            _ => {}
        }
        let (status, body) = self.status_and_body();
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        // The metrics layer and [`Challenge::answer`] read what went wrong from here.
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// The `WWW-Authenticate` challenge every 401 carries, as DRF's `authenticate_header` gives it:
/// the first of `auth_header_types`, realm "api". Built once at start-up.
#[derive(Clone, Debug)]
pub struct Challenge(Option<HeaderValue>);

impl Challenge {
    /// The challenge for `scheme`.
    pub fn new(scheme: &str) -> Challenge {
        Challenge(HeaderValue::from_str(&format!("{scheme} realm=\"api\"")).ok())
    }

    /// Adds the challenge to `response` when it answers an [`ApiError`] with 401. Called once
    /// per API response by the router's limits middleware, which holds the configuration.
    pub fn answer(&self, response: &mut Response) {
        let refused = response.status() == StatusCode::UNAUTHORIZED
            && response.extensions().get::<Arc<ApiError>>().is_some();
        if let (true, Some(value)) = (refused, &self.0) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value.clone());
        }
    }
}
