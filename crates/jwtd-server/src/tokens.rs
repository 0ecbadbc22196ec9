//! The token service: login, refresh (with rotation and blacklisting), verify, blacklist and
//! sliding tokens, in simplejwt's order of checks (contract 1.3, 1.5).

use jwtd_store::{Blacklisting, TokenRecord, User};
use jwtd_token::{Decoded, Issued, Pair, TokenError, TokenType, UserIdClaim};

use std::net::IpAddr;

use crate::error::ApiError;
use crate::metrics::LoginOutcome;
use crate::state::AppState;

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
) -> Result<User, ApiError> {
    state
        .throttle()
        .check(client, username)
        .map_err(ApiError::Throttled)?;
    let user = state.store().user_by_username(username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = state
        .passwords()
        .verify(password, stored)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match user {
        Some(user) if matches && user.is_active => {
            state.metrics().login(LoginOutcome::Succeeded);
            Ok(user)
        }
        _ => Err(ApiError::BadCredentials),
    }
}

fn record(issued: &Issued, user_id: Option<i64>) -> TokenRecord {
    TokenRecord {
        jti: issued.jti.clone(),
        user_id,
        issued_at: issued.issued_at,
        expires_at: issued.expires_at,
    }
}

fn record_of(decoded: &Decoded, now: i64) -> Result<TokenRecord, ApiError> {
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
    })
}

async fn after_login(state: &AppState, user: &User, now: i64) -> Result<(), ApiError> {
    if state.settings().update_last_login {
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
) -> Result<Pair, ApiError> {
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
) -> Result<Issued, ApiError> {
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
) -> Result<Decoded, ApiError> {
    let decoded = state.engine().decode(token, now)?;
    if let Some(jti) = decoded.jti()
        && state.store().is_blacklisted(jti).await?
    {
        return Err(TokenError::Blacklisted.into());
    }
    decoded.check(Some(expected))?;
    Ok(decoded)
}

/// The token's user must exist and be active (B1: a deleted user is refused, not a crash).
async fn require_active_owner(state: &AppState, decoded: &Decoded) -> Result<i64, ApiError> {
    let id = match decoded.user_id() {
        UserIdClaim::Id(id) => id,
        UserIdClaim::Missing | UserIdClaim::Malformed => return Err(ApiError::NoUserId),
    };
    match state.store().user_by_id(id).await? {
        Some(user) if user.is_active || !state.settings().check_user_is_active => Ok(id),
        _ => Err(ApiError::NoActiveAccountForToken),
    }
}

/// `POST /api/token/refresh/`.
pub async fn refresh(state: &AppState, token: &str, now: i64) -> Result<Refreshed, ApiError> {
    let decoded = decode_revocable(state, token, TokenType::Refresh, now).await?;
    let user_id = require_active_owner(state, &decoded).await?;
    let access = state.engine().access_from(&decoded, now)?;
    let settings = state.settings();
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
        .rotate(
            &record_of(&decoded, now)?,
            &record(&successor, Some(user_id)),
            settings.blacklist_after_rotation,
            now,
        )
        .await?;
    match outcome {
        Blacklisting::Added => {
            state.metrics().issued(TokenType::Access.as_str());
            state.metrics().issued(TokenType::Refresh.as_str());
            state.metrics().refreshed();
            Ok(Refreshed {
                access,
                refresh: Some(successor),
            })
        }
        // Another request rotated this token first: exactly one wins (B5).
        Blacklisting::AlreadyBlacklisted => Err(TokenError::Blacklisted.into()),
    }
}

/// `POST /api/token/verify/`: any type; the blacklist is always consulted (B4).
pub async fn verify(state: &AppState, token: &str, now: i64) -> Result<(), ApiError> {
    let decoded = state.engine().decode(token, now)?;
    decoded.check(None)?;
    if let Some(jti) = decoded.jti()
        && state.store().is_blacklisted(jti).await?
    {
        return Err(TokenError::Blacklisted.into());
    }
    state.metrics().verified();
    Ok(())
}

/// `POST /api/token/blacklist/`.
pub async fn blacklist(state: &AppState, token: &str, now: i64) -> Result<(), ApiError> {
    let decoded = decode_revocable(state, token, TokenType::Refresh, now).await?;
    match state
        .store()
        .blacklist(&record_of(&decoded, now)?, now)
        .await?
    {
        Blacklisting::Added => Ok(()),
        Blacklisting::AlreadyBlacklisted => Err(TokenError::Blacklisted.into()),
    }
}

/// `POST /api/token/sliding/refresh/`.
pub async fn refresh_sliding(state: &AppState, token: &str, now: i64) -> Result<Issued, ApiError> {
    let decoded = decode_revocable(state, token, TokenType::Sliding, now).await?;
    let renewed = state.engine().renew_sliding(&decoded, now)?;
    require_active_owner(state, &decoded).await?;
    state.metrics().issued(TokenType::Sliding.as_str());
    state.metrics().refreshed();
    Ok(renewed)
}
