//! Authentication of API callers, as DRF's `JWTAuthentication`: a handler that takes
//! [`AuthUser`] runs only for a verified, existing, active user.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jwtd_store::{StoreError, User};
use jwtd_verify::{ErrorKind, Verified, VerifyError};

use crate::error::ApiError;
use crate::state::{AppState, now};
use crate::tokens;

/// Why a protected endpoint refused the caller (DRF's `JWTAuthentication`).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The header or the token failed a check of jwtd-verify (no credentials, a bad header,
    /// an invalid, expired or wrong-type token, no user id), with simplejwt's answer.
    #[error(transparent)]
    Refused(#[from] VerifyError),
    /// The token's user id cannot be a value of the store's user id field.
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
    /// The token was revoked: issued before the user's logout-all or password change, or
    /// deny-listed (its session ended, or RFC 7009).
    #[error("token revoked")]
    Revoked(Vec<jwtd_token::TokenType>),
    /// The store could not say who the user is.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The verified caller.
#[derive(Debug)]
pub struct AuthUser(pub User);

/// The verified caller with the token they called with, for endpoints about the caller's own
/// sessions (which one is "current").
#[derive(Debug)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// The access token's `jti`.
    pub jti: Option<String>,
}

/// The configured authentication header's value (`Authorization` unless set otherwise).
fn auth_header<'p>(parts: &'p Parts, state: &AppState) -> Option<&'p [u8]> {
    parts
        .headers
        .get(&state.config().auth.auth_header_name)
        .map(|v| v.as_bytes())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (user, verified) = authenticate(state, auth_header(parts, state), now()).await?;
        Ok(Caller {
            user,
            jti: verified.decoded().jti().map(str::to_owned),
        })
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(AuthUser(
            authenticate_header(state, auth_header(parts, state), now()).await?,
        ))
    }
}

/// Authenticates an `Authorization` header value at time `now`: the token's checks are
/// jwtd-verify's, as a resource server runs them; the user's are the store's.
pub async fn authenticate_header(
    state: &AppState,
    header: Option<&[u8]>,
    now: i64,
) -> Result<User, AuthError> {
    authenticate(state, header, now).await.map(|(user, _)| user)
}

/// [`authenticate_header`], with the verified token.
async fn authenticate(
    state: &AppState,
    header: Option<&[u8]>,
    now: i64,
) -> Result<(User, Verified), AuthError> {
    let verified = state
        .verifier()
        .verify_header_at(header, now)
        .await
        .inspect_err(|e| {
            tracing::debug!(reason = %e.kind(), "token refused");
            if e.kind() == ErrorKind::UnknownKey {
                state.note_unknown_kid();
            }
        })?;
    let decoded = verified.decoded();
    let user = tokens::Claimed::of(state, decoded)
        .ok_or(AuthError::NoUserId)?
        .user(state.store())
        .await?
        .ok_or(AuthError::UserNotFound)?;
    if state.config().auth.check_user_is_active && !user.is_active {
        return Err(AuthError::UserInactive);
    }
    if !tokens::password_unchanged(state, decoded, &user) {
        return Err(AuthError::PasswordChanged);
    }
    if tokens::access_revoked(state, decoded, &user).await? {
        return Err(AuthError::Revoked(
            state.config().auth.auth_token_types.clone(),
        ));
    }
    state.metrics().verified();
    Ok((user, verified))
}
