//! The session service (sessions.md): listing and ending a user's sessions, logging out
//! everywhere, changing a password, RFC 7009 revocation and RFC 7662 introspection.
//!
//! Like the token service it speaks the domain; handlers shape the answers and `error.rs` maps
//! the failures.

use jwtd_store::{Session, StoreError, User};
use jwtd_token::{Decoded, Pair, TokenType};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use crate::tokens::{self, Claimed, Origin};

/// Django's `PasswordChangeForm` message for a wrong old password.
const WRONG_OLD_PASSWORD: &str =
    "Your old password was entered incorrectly. Please enter it again.";
/// Django's `UserAttributeSimilarityValidator` message, for a password equal to the username.
const LIKE_USERNAME: &str = "The password is too similar to the username.";

/// A session as `GET /api/sessions/` lists it; `current` is the session the caller's access
/// token was issued in.
pub fn session_json(session: &Session, current: bool) -> Value {
    json!({
        "id": session.id,
        "created_at": session.created_at,
        "last_used_at": session.last_used_at,
        "expires_at": session.expires_at,
        "user_agent": session.user_agent,
        "ip": session.ip,
        "current": current,
    })
}

/// `POST /api/password/change/`: checks the old password (counted by the login throttles, so
/// a stolen access token cannot guess it faster than a login could), checks the new one,
/// stores it and revokes every session and access token in one write, then starts a fresh
/// session for the caller.
pub async fn change_password(
    state: &AppState,
    user: &User,
    old_password: String,
    new_password: String,
    origin: &Origin,
    now: i64,
) -> Result<Pair, ApiError> {
    state
        .throttle()
        .check_shared(state.store(), origin.ip, &user.username, now)
        .await?
        .map_err(ApiError::Throttled)?;
    let matches = state
        .passwords()
        .verify(old_password, Some(user.password_hash.clone()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !matches {
        return Err(ApiError::Fields(vec![(
            "old_password".to_owned(),
            WRONG_OLD_PASSWORD.into(),
        )]));
    }
    if let Some(problem) = weak_password(state, user, &new_password) {
        return Err(ApiError::Fields(vec![(
            "new_password".to_owned(),
            problem.into(),
        )]));
    }
    let hash = state
        .passwords()
        .hash(new_password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.store().change_password(user.id, &hash, now).await?;
    tracing::info!(user_id = user.id, "password changed: every session revoked");
    let mut user = user.clone();
    user.password_hash = hash;
    user.tokens_valid_after = now;
    tokens::start_session(state, &user, origin, now)
        .await
        .map_err(ApiError::from)
}

/// Why `password` may not be `user`'s new password, as Django's validators word it.
fn weak_password(state: &AppState, user: &User, password: &str) -> Option<String> {
    let min = state.config().sessions.password_min_length;
    if password.chars().count() < min {
        let unit = if min == 1 { "character" } else { "characters" };
        return Some(format!(
            "This password is too short. It must contain at least {min} {unit}."
        ));
    }
    if password.to_lowercase() == user.username.to_lowercase() {
        return Some(LIKE_USERNAME.to_owned());
    }
    None
}

/// `POST /api/token/revoke/` (RFC 7009): revokes `token` if it is a valid token of this
/// server: a refresh token's session ends (or, outside a session, the token is blacklisted),
/// a sliding token is blacklisted, an access token deny-listed until its `exp`. Anything else
/// is ignored: the answer is the same, so it tells nothing about the token. Only a store
/// failure is an error (503), since then nothing may have been revoked.
pub async fn revoke(state: &AppState, token: &str, now: i64) -> Result<(), StoreError> {
    let Ok(decoded) = state.engine().decode(token, now) else {
        return Ok(());
    };
    if decoded.check(None).is_err() {
        return Ok(());
    }
    let (Some(jti), Some(expires_at)) = (decoded.jti(), decoded.expires_at()) else {
        return Ok(());
    };
    match token_type(state, &decoded) {
        Some(TokenType::Access) => {
            // A token naming nobody authenticates nobody: nothing to revoke.
            match Claimed::user_of(state, &decoded).await? {
                Some(owner) => {
                    let access = jwtd_store::AccessRecord {
                        jti: jti.to_owned(),
                        expires_at,
                    };
                    match state.store().deny_access(&access, owner.id).await {
                        // Django's tables have no deny-list: the token lives until its `exp`
                        // (README, "Sessions and logout"); the answer stays the same.
                        Err(StoreError::Refused(reason)) => {
                            tracing::info!(%reason, "access token not revocable here");
                            Ok(())
                        }
                        other => other,
                    }
                }
                None => Ok(()),
            }
        }
        Some(TokenType::Refresh | TokenType::Sliding) => {
            let known = state.store().token_state(jti).await?;
            if let Some(session) = known.session {
                state.store().end_session(&session.id, None, now).await?;
            }
            let owner = Claimed::user_of(state, &decoded).await?.map(|user| user.id);
            // `jti` and `exp` are there (checked above), so the record is always made.
            match tokens::record_of(&decoded, token, owner, now) {
                Ok(record) => state.store().blacklist(&record, now).await.map(drop),
                Err(_) => Ok(()),
            }
        }
        None => Ok(()),
    }
}

/// The token's type, by the configured type claim.
fn token_type(state: &AppState, decoded: &Decoded) -> Option<TokenType> {
    let claim = &state.config().tokens.policy.claims.token_type;
    match decoded.claims().get(claim).and_then(Value::as_str)? {
        "access" => Some(TokenType::Access),
        "refresh" => Some(TokenType::Refresh),
        "sliding" => Some(TokenType::Sliding),
        _ => None,
    }
}

/// `POST /api/token/introspect/` (RFC 7662): whether `token` is active now, with its claims
/// when it is. Active means every check a use of it would pass: signature and times, type,
/// blacklist, session, revocation, and an existing active user.
pub async fn introspect(state: &AppState, token: &str, now: i64) -> Result<Value, StoreError> {
    let inactive = || json!({ "active": false });
    let Ok(decoded) = state.engine().decode(token, now) else {
        return Ok(inactive());
    };
    let (Some(token_type), Some(jti)) = (token_type(state, &decoded), decoded.jti()) else {
        return Ok(inactive());
    };
    if decoded.check(Some(token_type)).is_err() {
        return Ok(inactive());
    }
    let Some(user) = Claimed::user_of(state, &decoded).await? else {
        return Ok(inactive());
    };
    if (state.config().auth.check_user_is_active && !user.is_active)
        || !tokens::password_unchanged(state, &decoded, &user)
    {
        return Ok(inactive());
    }
    let mut session_id = None;
    if token_type == TokenType::Access {
        if tokens::access_revoked(state, &decoded, &user).await? {
            return Ok(inactive());
        }
    } else {
        let known = state.store().token_state(jti).await?;
        let session_over = known.session.as_ref().is_some_and(|session| {
            let (idle, too_old) = tokens::past_caps(state, session, now);
            !session.is_live(now) || idle || too_old
        });
        if known.blacklisted
            || session_over
            || tokens::issued_before(&decoded, user.tokens_valid_after)
        {
            return Ok(inactive());
        }
        if token_type == TokenType::Sliding
            && tokens::access_revoked(state, &decoded, &user).await?
        {
            return Ok(inactive());
        }
        session_id = known.session.map(|session| session.id);
    }
    let user_id = user.id_claim();
    let mut answer = Map::new();
    answer.insert("active".to_owned(), Value::Bool(true));
    answer.insert("sub".to_owned(), Value::String(user_id.clone()));
    answer.insert("token_type".to_owned(), json!(token_type.as_str()));
    answer.insert(
        state.config().tokens.policy.claims.user_id.clone(),
        Value::String(user_id),
    );
    answer.insert("username".to_owned(), Value::String(user.username));
    for claim in ["exp", "iat"] {
        if let Some(value) = decoded.claims().get(claim) {
            answer.insert(claim.to_owned(), value.clone());
        }
    }
    answer.insert("jti".to_owned(), Value::String(jti.to_owned()));
    answer.insert(
        "session_id".to_owned(),
        session_id.map_or(Value::Null, Value::String),
    );
    Ok(Value::Object(answer))
}
