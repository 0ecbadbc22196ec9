//! Authentication of API callers, as DRF's `JWTAuthentication`: a handler that takes
//! [`AuthUser`] runs only for a verified, existing, active user.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jwtd_store::{StoreError, User};
use jwtd_token::{TokenError, TokenType};

use crate::error::ApiError;
use crate::state::{AppState, now};
use crate::tokens;

/// Why a protected endpoint refused the caller (DRF's `JWTAuthentication`).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable `Authorization` header.
    #[error("no credentials")]
    NotProvided,
    /// The scheme matched but the header is not exactly two values.
    #[error("bad authorization header")]
    BadHeader,
    /// No accepted token type validated; one failure per type tried.
    #[error("invalid token")]
    InvalidToken(Vec<(TokenType, TokenError)>),
    /// The token names no usable user id.
    #[error("no user id")]
    NoUserId,
    /// The user no longer exists.
    #[error("user not found")]
    UserNotFound,
    /// The user was deactivated.
    #[error("user inactive")]
    UserInactive,
    /// The token's revocation claim no longer matches the user's password.
    #[error("password changed")]
    PasswordChanged,
    /// The store could not say who the user is.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The verified caller.
#[derive(Debug)]
pub struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(&state.config().auth.auth_header_name)
            .map(|v| v.as_bytes());
        Ok(AuthUser(authenticate_header(state, header, now()).await?))
    }
}

/// Extracts the raw token: `None` when the header is absent or of another scheme.
fn raw_token<'a>(header: &'a [u8], schemes: &[String]) -> Result<Option<&'a str>, AuthError> {
    // DRF splits on any whitespace; a non-UTF-8 header cannot carry a JWT.
    let Ok(text) = std::str::from_utf8(header) else {
        return Ok(None);
    };
    let mut parts = text.split_whitespace();
    let Some(scheme) = parts.next() else {
        return Ok(None);
    };
    // RFC 7235 schemes are case-insensitive (B9): `bearer x` works.
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Ok(None);
    }
    match (parts.next(), parts.next()) {
        (Some(token), None) => Ok(Some(token)),
        _ => Err(AuthError::BadHeader),
    }
}

/// Authenticates an `Authorization` header value at time `now`.
pub async fn authenticate_header(
    state: &AppState,
    header: Option<&[u8]>,
    now: i64,
) -> Result<User, AuthError> {
    let settings = &state.config().auth;
    let token = raw_token(header.unwrap_or_default(), &settings.auth_header_types)?
        .ok_or(AuthError::NotProvided)?;
    let engine = state.engine();
    let mut failures = Vec::new();
    let mut validated = None;
    for token_type in &settings.auth_token_types {
        match engine
            .decode(token, now)
            .and_then(|d| d.check(Some(*token_type)).map(|()| d))
        {
            Ok(decoded) => {
                validated = Some(decoded);
                break;
            }
            Err(e) => {
                state.note_token_error(e);
                failures.push((*token_type, e));
            }
        }
    }
    let decoded = validated.ok_or(AuthError::InvalidToken(failures))?;
    let user = tokens::Claimed::of(state, &decoded)
        .ok_or(AuthError::NoUserId)?
        .user(state.store())
        .await?
        .ok_or(AuthError::UserNotFound)?;
    if settings.check_user_is_active && !user.is_active {
        return Err(AuthError::UserInactive);
    }
    if !tokens::password_unchanged(state, &decoded, &user) {
        return Err(AuthError::PasswordChanged);
    }
    state.metrics().verified();
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer() -> Vec<String> {
        vec!["Bearer".to_owned()]
    }

    #[test]
    fn headers_split_like_drf() {
        assert_eq!(raw_token(b"", &bearer()).unwrap(), None);
        assert_eq!(raw_token(b"Token x", &bearer()).unwrap(), None);
        assert_eq!(raw_token(b"Basic abc", &bearer()).unwrap(), None);
        assert_eq!(
            raw_token(b"Bearer  a.b.c", &bearer()).unwrap(),
            Some("a.b.c")
        );
        assert_eq!(
            raw_token(b"bearer a.b.c", &bearer()).unwrap(),
            Some("a.b.c")
        );
        assert!(matches!(
            raw_token(b"Bearer", &bearer()),
            Err(AuthError::BadHeader)
        ));
        assert!(matches!(
            raw_token(b"Bearer a b", &bearer()),
            Err(AuthError::BadHeader)
        ));
    }
}
