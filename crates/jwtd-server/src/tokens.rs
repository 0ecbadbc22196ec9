//! The token service: login, refresh (with rotation and blacklisting), verify, blacklist and
//! sliding tokens, in simplejwt's order of checks (contract 1.3, 1.5).
//!
//! Services speak the domain: [`LoginError`] and [`RefreshError`] say what went wrong, and
//! `error.rs` alone turns them into statuses, simplejwt's bodies and headers.

use std::net::IpAddr;
use std::time::Duration;

use jwtd_store::{Blacklisting, Store, StoreError, TokenRecord, User};
use jwtd_token::{Decoded, Issued, Pair, TokenEngine, TokenError, TokenType, UserIdClaim};

use crate::metrics::LoginOutcome;
use crate::password::HashError;
use crate::state::AppState;

/// Why a login (`/api/token/`, `/api/token/sliding/`) failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Too many attempts from this address or for this username; retry after this long.
    #[error("throttled for {0:?}")]
    Throttled(Duration),
    /// Unknown user, wrong password or inactive user, indistinguishably.
    #[error("bad credentials")]
    BadCredentials,
    /// The hashing pool failed.
    #[error(transparent)]
    Hashing(#[from] HashError),
    /// The token could not be signed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The store could not answer or write.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a token presented in a body (refresh, verify, blacklist, sliding refresh) was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The token itself is refused: signature, claims, type, or blacklist.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token names no usable user id.
    #[error("no user id")]
    NoUserId,
    /// The token's user is inactive or gone.
    #[error("no active account")]
    NoActiveAccount,
    /// The store could not answer or write.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The answer to a refresh: a new access token, and a new refresh token when rotating.
#[derive(Debug)]
pub struct Refreshed {
    /// The new access token.
    pub access: Issued,
    /// The successor refresh token, when `rotate_refresh_tokens` is on.
    pub refresh: Option<Issued>,
}

/// Checks credentials: one answer and one hash's cost for unknown, wrong and inactive alike.
/// Every attempt counts against the login throttles of `client` and `username` first.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: String,
    client: Option<IpAddr>,
) -> Result<User, LoginError> {
    state
        .throttle()
        .check(client, username)
        .map_err(LoginError::Throttled)?;
    let user = state.store().user_by_username(username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state
        .passwords()
        .verify_and_upgrade(password, stored)
        .await?;
    if let (Some(user), Some(upgraded)) = (&user, &verified.upgraded) {
        // Django's rule: a matching password whose hash is not the preferred hasher's (or not
        // at its work factor) is rehashed, active user or not. Only if the hash is still the
        // one just checked: a password changed meanwhile is never overwritten.
        state
            .store()
            .upgrade_password(user.id, &user.password_hash, upgraded)
            .await?;
    }
    match user {
        Some(user) if verified.matches && user.is_active => {
            state.metrics().login(LoginOutcome::Succeeded);
            Ok(user)
        }
        _ => Err(LoginError::BadCredentials),
    }
}

fn record(issued: &Issued, user_id: Option<i64>) -> TokenRecord {
    TokenRecord {
        jti: issued.jti.clone(),
        user_id,
        issued_at: issued.issued_at,
        expires_at: issued.expires_at,
        token: issued.token.clone(),
    }
}

fn record_of(decoded: &Decoded, token: &str, now: i64) -> Result<TokenRecord, TokenError> {
    Ok(TokenRecord {
        jti: decoded.jti().ok_or(TokenError::NoId)?.to_owned(),
        user_id: match decoded.user_id() {
            UserIdClaim::Id(id) => Some(id),
            _ => None,
        },
        issued_at: decoded
            .claims()
            .get("iat")
            .and_then(|v| v.as_f64())
            .map_or(now, |t| t as i64),
        expires_at: decoded.expires_at().ok_or(TokenError::NoExp)?,
        token: token.to_owned(),
    })
}

async fn after_login(state: &AppState, user: &User, now: i64) -> Result<(), StoreError> {
    if state.config().tokens.update_last_login {
        state.store().record_login(user.id, now).await?;
    }
    Ok(())
}

/// `POST /api/token/`.
pub async fn obtain_pair(
    state: &AppState,
    username: &str,
    password: String,
    client: Option<IpAddr>,
    now: i64,
) -> Result<Pair, LoginError> {
    let user = authenticate(state, username, password, client).await?;
    let pair = state.engine().issue_pair(user.id, now)?;
    state.metrics().issued(TokenType::Access.as_str());
    state.metrics().issued(TokenType::Refresh.as_str());
    state
        .store()
        .record_issued(&record(&pair.refresh, Some(user.id)))
        .await?;
    after_login(state, &user, now).await?;
    Ok(pair)
}

/// `POST /api/token/sliding/`.
pub async fn obtain_sliding(
    state: &AppState,
    username: &str,
    password: String,
    client: Option<IpAddr>,
    now: i64,
) -> Result<Issued, LoginError> {
    let user = authenticate(state, username, password, client).await?;
    let token = state.engine().issue_sliding(user.id, now)?;
    state.metrics().issued(TokenType::Sliding.as_str());
    state
        .store()
        .record_issued(&record(&token, Some(user.id)))
        .await?;
    after_login(state, &user, now).await?;
    Ok(token)
}

/// Decodes a token that must be of `expected` type, consulting the blacklist first as
/// simplejwt's `BlacklistMixin` does.
async fn decode_revocable(
    state: &AppState,
    token: &str,
    expected: TokenType,
    now: i64,
) -> Result<Decoded, RefreshError> {
    let decoded = state.engine().decode(token, now)?;
    refuse_blacklisted(state.store(), &decoded).await?;
    decoded.check(Some(expected))?;
    Ok(decoded)
}

async fn refuse_blacklisted(store: &dyn Store, decoded: &Decoded) -> Result<(), RefreshError> {
    if let Some(jti) = decoded.jti()
        && store.is_blacklisted(jti).await?
    {
        return Err(TokenError::Blacklisted.into());
    }
    Ok(())
}

/// The token's user must exist and be active (B1: a deleted user is refused, not a crash).
async fn require_active_owner(state: &AppState, decoded: &Decoded) -> Result<i64, RefreshError> {
    let id = match decoded.user_id() {
        UserIdClaim::Id(id) => id,
        UserIdClaim::Missing | UserIdClaim::Malformed => return Err(RefreshError::NoUserId),
    };
    match state.store().user_by_id(id).await? {
        Some(user) if user.is_active || !state.config().auth.check_user_is_active => Ok(id),
        _ => Err(RefreshError::NoActiveAccount),
    }
}

/// `POST /api/token/refresh/`.
pub async fn refresh(state: &AppState, token: &str, now: i64) -> Result<Refreshed, RefreshError> {
    let decoded = decode_revocable(state, token, TokenType::Refresh, now).await?;
    let user_id = require_active_owner(state, &decoded).await?;
    let access = state.engine().access_from(&decoded, now)?;
    let settings = &state.config().tokens;
    if !settings.rotate_refresh_tokens {
        state.metrics().issued(TokenType::Access.as_str());
        state.metrics().refreshed();
        return Ok(Refreshed {
            access,
            refresh: None,
        });
    }
    let successor = state.engine().rotate(&decoded, now)?;
    let outcome = state
        .store()
        .rotate(jwtd_store::RotationRequest {
            old: record_of(&decoded, token, now)?,
            new: record(&successor, Some(user_id)),
            blacklist_old: settings.blacklist_after_rotation,
            at: now,
        })
        .await?;
    match outcome {
        jwtd_store::Rotation::Rotated { .. } => {
            state.metrics().issued(TokenType::Access.as_str());
            state.metrics().issued(TokenType::Refresh.as_str());
            state.metrics().refreshed();
            Ok(Refreshed {
                access,
                refresh: Some(successor),
            })
        }
        // Another request rotated this token first: exactly one wins (B5).
        jwtd_store::Rotation::AlreadyBlacklisted => Err(TokenError::Blacklisted.into()),
    }
}

/// `POST /api/token/verify/`.
pub async fn verify(state: &AppState, token: &str, now: i64) -> Result<(), RefreshError> {
    check_token(state.engine(), state.store(), token, now).await?;
    state.metrics().verified();
    Ok(())
}

/// A token of any type is valid: signature and claims, then the blacklist, which is always
/// consulted (B4). What `/api/token/verify/` and `jwtd token verify` answer.
pub async fn check_token(
    engine: &TokenEngine,
    store: &dyn Store,
    token: &str,
    now: i64,
) -> Result<(), RefreshError> {
    let decoded = engine.decode(token, now)?;
    decoded.check(None)?;
    refuse_blacklisted(store, &decoded).await
}

/// `POST /api/token/blacklist/`.
pub async fn blacklist(state: &AppState, token: &str, now: i64) -> Result<(), RefreshError> {
    let decoded = decode_revocable(state, token, TokenType::Refresh, now).await?;
    match state
        .store()
        .blacklist(&record_of(&decoded, token, now)?, now)
        .await?
    {
        Blacklisting::Added => Ok(()),
        Blacklisting::AlreadyBlacklisted => Err(TokenError::Blacklisted.into()),
    }
}

/// `POST /api/token/sliding/refresh/`.
pub async fn refresh_sliding(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Issued, RefreshError> {
    let decoded = decode_revocable(state, token, TokenType::Sliding, now).await?;
    let renewed = state.engine().renew_sliding(&decoded, now)?;
    require_active_owner(state, &decoded).await?;
    state.metrics().issued(TokenType::Sliding.as_str());
    state.metrics().refreshed();
    Ok(renewed)
}
