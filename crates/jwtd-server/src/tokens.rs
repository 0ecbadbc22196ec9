//! The token service: login, refresh (with rotation and blacklisting), verify, blacklist and
//! sliding tokens, in simplejwt's order of checks (contract 1.3, 1.5).
//!
//! Services speak the domain: [`LoginError`] and [`RefreshError`] say what went wrong, and
//! `error.rs` alone turns them into statuses, simplejwt's bodies and headers.

use std::net::IpAddr;
use std::time::Duration;

use jwtd_store::{
    AccessRecord, Blacklisting, ClaimValue, IdClaimKind, NewSession, Session, SessionStep, Store,
    StoreError, TokenRecord, TokenState, USER_AGENT_MAX, User, UserId,
};
use jwtd_token::{Decoded, Issued, Pair, Subject, TokenEngine, TokenError, TokenType, UserIdClaim};
use serde_json::Value;

use crate::config::UsersConfig;
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
    /// The token's revocation claim no longer matches the user's password (`check_revoke_token`).
    #[error("password changed")]
    PasswordChanged,
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

/// Where a login or refresh comes from: the client address (as the trusted-proxy settings
/// resolve it) and the `User-Agent`, kept with a session and named in reuse warnings.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The client address.
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header, when it is text.
    pub user_agent: Option<String>,
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
        .check_shared(state.store(), client, username, crate::state::now())
        .await?
        .map_err(LoginError::Throttled)?;
    let user = if state.config().users.login_by_email() {
        state.store().user_by_email(username).await?
    } else {
        state.store().user_by_username(username).await?
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Kept for the rare second check below; the first one takes its own copy to the pool.
    let retry_password = password.clone();
    let verified = state
        .passwords()
        .verify_and_upgrade(password, stored)
        .await?;
    let mut matches = verified.matches;
    let mut user = user;
    if let (Some(user), Some(upgraded)) = (&mut user, verified.upgraded) {
        // Django's rule: a matching password whose hash is not the preferred hasher's (or not
        // at its work factor) is rehashed, active user or not. Only if the hash is still the
        // one just checked: a password changed meanwhile is never overwritten.
        if state
            .store()
            .upgrade_password(user.id, &user.password_hash, &upgraded)
            .await?
        {
            // As in Django, the tokens of this login carry the new hash's revocation claim.
            user.password_hash = upgraded;
        } else if let Some(current) = state.store().user_by_id(user.id).await? {
            // The hash changed since it was read: another login upgraded it (the usual case,
            // the same password) or a new password was set. The login stands only if the
            // password matches the current hash, and its tokens carry that hash's claim.
            if current.password_hash != user.password_hash {
                matches = state
                    .passwords()
                    .verify(retry_password, Some(current.password_hash.clone()))
                    .await?;
                *user = current;
            }
        } else {
            matches = false;
        }
    }
    match user {
        // A user whose user id claim column is empty (NULL) could only get tokens that name
        // nobody: refused like bad credentials, as simplejwt's `str(None)` would fail them.
        Some(user) if matches && user.is_active && !user.id_claim().is_empty() => {
            state.metrics().login(LoginOutcome::Succeeded);
            Ok(user)
        }
        _ => Err(LoginError::BadCredentials),
    }
}

/// Whom `user`'s tokens are for: the user id claim, then the revocation claim (simplejwt's
/// `for_user`), then `token_claims` (a serializer's `get_token`).
async fn subject(state: &AppState, user: &User) -> Result<Subject, StoreError> {
    subject_of(&state.config().users, state.store(), user).await
}

/// [`subject`] from the users' settings and a store, for callers without a server (`jwtd token
/// issue`).
pub async fn subject_of(
    users: &UsersConfig,
    store: &dyn Store,
    user: &User,
) -> Result<Subject, StoreError> {
    let mut subject = Subject::new(user.id_claim());
    if let Some(claim) = &users.revoke_token_claim {
        subject.claims.push((
            claim.clone(),
            Value::String(jwtd_password::revoke_claim_value(&user.password_hash)),
        ));
    }
    if !users.token_claims.is_empty() {
        let values = store.user_claims(user, &users.token_claims).await?;
        for (name, value) in users.token_claims.iter().zip(values) {
            subject.claims.push((name.clone(), json_value(value)));
        }
    }
    Ok(subject)
}

/// A user field as JSON, as Django's JSON encoder would write it.
fn json_value(value: ClaimValue) -> Value {
    match value {
        ClaimValue::Null => Value::Null,
        ClaimValue::Bool(b) => Value::Bool(b),
        ClaimValue::Integer(n) => Value::from(n),
        ClaimValue::Float(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        ClaimValue::Text(text) => Value::String(text),
        ClaimValue::List(names) => Value::Array(names.into_iter().map(Value::String).collect()),
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

pub(crate) fn record_of(
    decoded: &Decoded,
    token: &str,
    owner: Option<UserId>,
    now: i64,
) -> Result<TokenRecord, TokenError> {
    Ok(TokenRecord {
        jti: decoded.jti().ok_or(TokenError::NoId)?.to_owned(),
        user_id: owner,
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

/// `POST /api/token/`, from `origin`: a pair that starts a session.
pub async fn login_pair(
    state: &AppState,
    username: &str,
    password: String,
    origin: &Origin,
    now: i64,
) -> Result<Pair, LoginError> {
    let user = authenticate(state, username, password, origin.ip).await?;
    let pair = start_session(state, &user, origin, now).await?;
    after_login(state, &user, now).await?;
    Ok(pair)
}

/// Issues `user` a pair that starts a new session, capped at `session_lifetime` from now, and
/// records both in one write.
pub(crate) async fn start_session(
    state: &AppState,
    user: &User,
    origin: &Origin,
    now: i64,
) -> Result<Pair, LoginError> {
    let cap = state
        .config()
        .sessions
        .lifetime
        .map(|lifetime| now + lifetime);
    let pair = state
        .engine()
        .issue_pair_until(&subject(state, user).await?, now, cap)?;
    state.metrics().issued(TokenType::Access.as_str());
    state.metrics().issued(TokenType::Refresh.as_str());
    let session = NewSession {
        session: Session {
            id: new_session_id(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: pair.refresh.expires_at,
            user_agent: origin.user_agent.as_deref().map(cut_user_agent),
            ip: origin.ip.map(|ip| ip.to_string()),
            ended_at: None,
        },
        access: access_record(&pair.access),
        password_hash: Some(user.password_hash.clone()),
    };
    match state
        .store()
        .start_session(&session, &record(&pair.refresh, Some(user.id)))
        .await
    {
        Ok(()) => Ok(pair),
        // The password this login verified was changed meanwhile: as a wrong password.
        Err(StoreError::Conflict(_)) => Err(LoginError::BadCredentials),
        Err(e) => Err(e.into()),
    }
}

/// A new session id: 128 random bits as 32 hex characters, like a `jti`.
fn new_session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A `User-Agent` cut to [`USER_AGENT_MAX`] bytes, on a character boundary.
fn cut_user_agent(user_agent: &str) -> String {
    let mut end = user_agent.len().min(USER_AGENT_MAX);
    while !user_agent.is_char_boundary(end) {
        end -= 1;
    }
    user_agent[..end].to_owned()
}

/// What revoking an issued access token needs of it.
fn access_record(access: &Issued) -> AccessRecord {
    AccessRecord {
        jti: access.jti.clone(),
        expires_at: access.expires_at,
    }
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
    let token = state
        .engine()
        .issue_sliding_for(&subject(state, &user).await?, now)?;
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
    let decoded = state
        .engine()
        .decode(token, now)
        .inspect_err(|e| state.note_token_error(*e))?;
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

/// Whom a token's user id claim names, as the store's `user_id_field` reads it.
pub(crate) enum Claimed {
    /// The primary key (jwtd's own schema, and Django's default `user_id_field = "id"`).
    Id(UserId),
    /// A value of another column.
    Value(String),
}

impl Claimed {
    /// The user id claim of `decoded`; `None` when it is missing or cannot be a value of the
    /// user id field ("no recognizable user identification"), which is never sent to the
    /// database.
    pub(crate) fn of(state: &AppState, decoded: &Decoded) -> Option<Claimed> {
        let store = state.store();
        match store.id_claim_kind() {
            // Strict: `true`, `1.0` and `" 1"` are nobody (jwtd-decisions B2).
            IdClaimKind::Integer => match decoded.user_id() {
                UserIdClaim::Id(id) if store.id_claim_is_primary_key() => Some(Claimed::Id(id)),
                UserIdClaim::Id(id) => Some(Claimed::Value(id.to_string())),
                UserIdClaim::Missing | UserIdClaim::Malformed => None,
            },
            kind => decoded
                .user_id_text(&state.config().tokens.policy.claims.user_id)
                .filter(|text| kind.parses(text))
                .map(Claimed::Value),
        }
    }

    /// The user `decoded` names, if it names one that exists (no usable claim: nobody).
    pub(crate) async fn user_of(
        state: &AppState,
        decoded: &Decoded,
    ) -> Result<Option<User>, StoreError> {
        match Claimed::of(state, decoded) {
            Some(claimed) => claimed.user(state.store()).await,
            None => Ok(None),
        }
    }

    /// The user it names, if one exists.
    pub(crate) async fn user(&self, store: &dyn Store) -> Result<Option<User>, StoreError> {
        match self {
            Claimed::Id(id) => store.user_by_id(*id).await,
            Claimed::Value(value) => store.user_by_claim(value).await,
        }
    }
}

/// Whether `decoded`, an access or sliding token of `user`, was revoked: issued (`iat`) before
/// the user's `tokens_valid_after` (logout-all, a password change, a deactivation), or
/// deny-listed by its `jti` (RFC 7009, or its session ended).
pub(crate) async fn access_revoked(
    state: &AppState,
    decoded: &Decoded,
    user: &User,
) -> Result<bool, StoreError> {
    let store = state.store();
    let type_claim = &state.config().tokens.policy.claims.token_type;
    let sliding = decoded.claims().get(type_claim).and_then(Value::as_str) == Some("sliding");
    if user.tokens_valid_after > 0 {
        if issued_before(decoded, user.tokens_valid_after) {
            return Ok(true);
        }
        let issued_at = decoded.claims().get("iat").and_then(Value::as_f64);
        let valid_after = user.tokens_valid_after as f64;
        // `iat` has whole seconds: an access token of the revocation's own second may be from
        // before it. One handed out in a session is judged by the deny-list below (a session
        // the revocation ended deny-listed it; a login after it did not); one handed out
        // outside any session (a refresh token of no session) cannot show it is newer.
        if issued_at == Some(valid_after)
            && !sliding
            && let Some(jti) = decoded.jti()
            && store.session_of_access(jti, user.id).await?.is_none()
        {
            return Ok(true);
        }
    }
    // A sliding token is its own refresh token: logout-all and revocation blacklist it, and
    // simplejwt's `SlidingToken` consults the blacklist when it authenticates.
    if sliding && let Some(jti) = decoded.jti() {
        return store.is_blacklisted(jti).await;
    }
    // Only a token expiring no later than the user's latest deny-listed one can be on the
    // deny-list: everybody else's requests skip the lookup.
    match (decoded.jti(), decoded.expires_at()) {
        (Some(jti), Some(exp)) if exp <= user.access_denied_until => {
            store.is_access_denied(jti).await
        }
        _ => Ok(false),
    }
}

/// Whether `decoded`'s revocation claim still matches `user`'s password, when
/// `check_revoke_token` is on.
pub(crate) fn password_unchanged(state: &AppState, decoded: &Decoded, user: &User) -> bool {
    match &state.config().users.revoke_token_claim {
        None => true,
        Some(claim) => jwtd_password::revoke_claim_matches(
            decoded.claims().get(claim).and_then(Value::as_str),
            &user.password_hash,
        ),
    }
}

/// The token's user must exist and be active (B1: a deleted user is refused, not a crash) and,
/// with `check_revoke_token`, have the password the token was issued for: simplejwt then
/// blacklists the token, so it stays refused even if the password is changed back.
async fn require_active_owner(
    state: &AppState,
    token: &str,
    decoded: &Decoded,
    now: i64,
) -> Result<User, RefreshError> {
    let claimed = Claimed::of(state, decoded).ok_or(RefreshError::NoUserId)?;
    let user = match claimed.user(state.store()).await? {
        Some(user) if user.is_active || !state.config().auth.check_user_is_active => user,
        _ => return Err(RefreshError::NoActiveAccount),
    };
    if !password_unchanged(state, decoded, &user) {
        state
            .store()
            .blacklist(&record_of(decoded, token, Some(user.id), now)?, now)
            .await?;
        return Err(RefreshError::PasswordChanged);
    }
    // Logout-all, a password change or a deactivation revoked every refresh and sliding token
    // issued before it, recorded or not (one minted by a Django service sharing the key, a
    // sliding token renewed past its first row's `exp`).
    if issued_before(decoded, user.tokens_valid_after) {
        return Err(TokenError::Blacklisted.into());
    }
    Ok(user)
}

/// Whether `decoded` was issued (`iat`) before `valid_after` (0: never revoked). A token
/// without `iat` cannot show it is newer.
pub(crate) fn issued_before(decoded: &Decoded, valid_after: i64) -> bool {
    valid_after > 0
        && decoded
            .claims()
            .get("iat")
            .and_then(Value::as_f64)
            .is_none_or(|iat| iat < valid_after as f64)
}

/// `POST /api/token/refresh/` from `origin`: simplejwt's refresh, with the session rules of
/// sessions.md (reuse detection, the retry interval, the idle timeout and the lifetime cap).
pub async fn refresh_from(
    state: &AppState,
    token: &str,
    origin: &Origin,
    now: i64,
) -> Result<Refreshed, RefreshError> {
    let decoded = state
        .engine()
        .decode(token, now)
        .inspect_err(|e| state.note_token_error(*e))?;
    // simplejwt consults the blacklist before the token type.
    let known = match decoded.jti() {
        Some(jti) => state.store().token_state(jti).await?,
        None => TokenState::default(),
    };
    if known.blacklisted {
        return presented_again(state, token, &decoded, known, origin, now).await;
    }
    decoded.check(Some(TokenType::Refresh))?;
    let owner = require_active_owner(state, token, &decoded, now).await?;
    if let Some(session) = &known.session {
        require_usable(state, session, now).await?;
    }
    let access = state.engine().access_from(&decoded, now)?;
    let settings = &state.config().tokens;
    if !settings.rotate_refresh_tokens {
        if let Some(session) = &known.session {
            let step = step(session, session.expires_at, &access, now);
            match state.store().touch_session(&step).await {
                Ok(true) => {}
                // The session ended while this refresh ran (a logout-all, a reuse elsewhere).
                Ok(false) => return Err(TokenError::Blacklisted.into()),
                // The access token must be kept with its session before it is handed out, or
                // ending the session could not revoke it: a store that cannot write is a 503.
                Err(e) => return Err(e.into()),
            }
        }
        state.metrics().issued(TokenType::Access.as_str());
        state.metrics().refreshed();
        return Ok(Refreshed {
            access,
            refresh: None,
        });
    }
    let successor = successor(state, &decoded, known.session.as_ref(), now)?;
    let outcome = state
        .store()
        .rotate(jwtd_store::RotationRequest {
            old: record_of(&decoded, token, Some(owner.id), now)?,
            new: record(&successor, Some(owner.id)),
            blacklist_old: settings.blacklist_after_rotation,
            at: now,
            session: known
                .session
                .as_ref()
                .map(|session| step(session, successor.expires_at, &access, now)),
        })
        .await?;
    match outcome {
        jwtd_store::Rotation::Rotated { .. } => Ok(rotated(state, access, successor)),
        // Another request rotated this token first: exactly one wins (B5). The loser presented
        // a rotated token, which reuse detection judges like any other.
        // The session ended while this refresh ran (a logout, a reuse elsewhere).
        jwtd_store::Rotation::SessionEnded => Err(TokenError::Blacklisted.into()),
        jwtd_store::Rotation::AlreadyBlacklisted => {
            let known = state
                .store()
                .token_state(decoded.jti().ok_or(TokenError::NoId)?)
                .await?;
            presented_again(state, token, &decoded, known, origin, now).await
        }
    }
}

/// A successful rotation's answer, counted.
fn rotated(state: &AppState, access: Issued, successor: Issued) -> Refreshed {
    state.metrics().issued(TokenType::Access.as_str());
    state.metrics().issued(TokenType::Refresh.as_str());
    state.metrics().refreshed();
    Refreshed {
        access,
        refresh: Some(successor),
    }
}

/// The successor of `decoded`, its `exp` capped at its session's `session_lifetime`.
fn successor(
    state: &AppState,
    decoded: &Decoded,
    session: Option<&Session>,
    now: i64,
) -> Result<Issued, TokenError> {
    let cap = state
        .config()
        .sessions
        .lifetime
        .zip(session)
        .map(|(lifetime, session)| session.created_at + lifetime);
    state.engine().rotate_until(decoded, now, cap)
}

/// What a refresh in `session` at `now` tells the store.
fn step(session: &Session, expires_at: i64, access: &Issued, now: i64) -> SessionStep {
    SessionStep {
        session_id: session.id.clone(),
        at: now,
        expires_at,
        access: access_record(access),
    }
}

/// Whether `session` is past `session_idle_timeout` and past `session_lifetime` at `now`.
pub(crate) fn past_caps(state: &AppState, session: &Session, now: i64) -> (bool, bool) {
    let settings = &state.config().sessions;
    let idle = settings
        .idle_timeout
        .is_some_and(|timeout| now - session.last_used_at > timeout);
    let too_old = settings
        .lifetime
        .is_some_and(|lifetime| now >= session.created_at + lifetime);
    (idle, too_old)
}

/// A session may be refreshed: live, used within `session_idle_timeout`, and younger than
/// `session_lifetime`. One past either is ended now, and the refresh refused as blacklisted.
async fn require_usable(state: &AppState, session: &Session, now: i64) -> Result<(), RefreshError> {
    if !session.is_live(now) {
        return Err(TokenError::Blacklisted.into());
    }
    let (idle, too_old) = past_caps(state, session, now);
    if idle || too_old {
        state.store().end_session(&session.id, None, now).await?;
        tracing::info!(
            session = %session.id,
            user_id = session.user_id,
            reason = if idle { "idle" } else { "lifetime" },
            "session ended"
        );
        return Err(TokenError::Blacklisted.into());
    }
    Ok(())
}

/// A blacklisted refresh token was presented. Without reuse detection (simplejwt's way), or for
/// a token that was blacklisted rather than rotated, it is simply refused. With it, a rotated
/// token presented within `refresh_token_reuse_interval` of its rotation is a client's retry and
/// gets a fresh pair of the same session; later, it is theft, and the whole session ends.
async fn presented_again(
    state: &AppState,
    token: &str,
    decoded: &Decoded,
    known: TokenState,
    origin: &Origin,
    now: i64,
) -> Result<Refreshed, RefreshError> {
    let settings = &state.config().sessions;
    let reused = match (&known.session, known.rotated_at) {
        (Some(session), Some(rotated_at))
            if settings.reuse_detection
                && session.is_live(now)
                && decoded.check(Some(TokenType::Refresh)).is_ok() =>
        {
            Some((session, rotated_at))
        }
        _ => None,
    };
    let Some((session, rotated_at)) = reused else {
        return Err(TokenError::Blacklisted.into());
    };
    if settings.reuse_interval > 0 && now - rotated_at <= settings.reuse_interval {
        return retry(state, token, decoded, session, now).await;
    }
    if state.store().end_session(&session.id, None, now).await? {
        state.metrics().session_reuse();
        tracing::warn!(
            session = %session.id,
            user_id = session.user_id,
            client = ?origin.ip,
            "a rotated refresh token was presented again: session revoked"
        );
    }
    Err(TokenError::Blacklisted.into())
}

/// A retry within the reuse interval: a fresh pair of the same session; the parent stays
/// blacklisted and nothing is revoked.
async fn retry(
    state: &AppState,
    token: &str,
    decoded: &Decoded,
    session: &Session,
    now: i64,
) -> Result<Refreshed, RefreshError> {
    let owner = require_active_owner(state, token, decoded, now).await?;
    require_usable(state, session, now).await?;
    let access = state.engine().access_from(decoded, now)?;
    let successor = successor(state, decoded, Some(session), now)?;
    let outcome = state
        .store()
        .rotate(jwtd_store::RotationRequest {
            old: record_of(decoded, token, Some(owner.id), now)?,
            new: record(&successor, Some(owner.id)),
            blacklist_old: false,
            at: now,
            session: Some(step(session, successor.expires_at, &access, now)),
        })
        .await?;
    match outcome {
        jwtd_store::Rotation::Rotated { .. } => Ok(rotated(state, access, successor)),
        // The session ended since it was read: nothing was written.
        _ => Err(TokenError::Blacklisted.into()),
    }
}

/// `POST /api/token/verify/`.
pub async fn verify(state: &AppState, token: &str, now: i64) -> Result<(), RefreshError> {
    let decoded = decode_checked(&state.engine(), state.store(), token, now)
        .await
        .inspect_err(|e| {
            if let RefreshError::Token(e) = e {
                state.note_token_error(*e);
            }
        })?;
    // An access or sliding token that a logout, a password change or a revocation killed is
    // refused here as it is on a protected endpoint. (A token naming no user passes, as in
    // simplejwt, whose verify view never reads the user.)
    if decoded.check(Some(TokenType::Refresh)).is_err()
        && let Some(user) = Claimed::user_of(state, &decoded).await?
        && access_revoked(state, &decoded, &user).await?
    {
        return Err(TokenError::Blacklisted.into());
    }
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
    decode_checked(engine, store, token, now).await.map(drop)
}

/// [`check_token`], answering the decoded token.
async fn decode_checked(
    engine: &TokenEngine,
    store: &dyn Store,
    token: &str,
    now: i64,
) -> Result<Decoded, RefreshError> {
    let decoded = engine.decode(token, now)?;
    decoded.check(None)?;
    refuse_blacklisted(store, &decoded).await?;
    Ok(decoded)
}

/// `POST /api/token/blacklist/`.
pub async fn blacklist(state: &AppState, token: &str, now: i64) -> Result<(), RefreshError> {
    let decoded = decode_revocable(state, token, TokenType::Refresh, now).await?;
    // As simplejwt's `blacklist()`: the outstanding row names the user when one has the claim.
    let owner = Claimed::user_of(state, &decoded).await?.map(|user| user.id);
    match state
        .store()
        .blacklist(&record_of(&decoded, token, owner, now)?, now)
        .await?
    {
        Blacklisting::Added => {}
        Blacklisting::AlreadyBlacklisted => return Err(TokenError::Blacklisted.into()),
    }
    // With reuse detection, a logout ends the token's session, so that no earlier token of the
    // family (a retry within the reuse interval) reopens it, and its access tokens die. Without
    // it this is simplejwt's blacklist, which leaves the access token to its `exp`.
    if state.config().sessions.reuse_detection
        && let Some(jti) = decoded.jti()
        && let Some(session) = state.store().token_state(jti).await?.session
    {
        state.store().end_session(&session.id, None, now).await?;
    }
    Ok(())
}

/// `POST /api/token/sliding/refresh/`.
pub async fn refresh_sliding(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Issued, RefreshError> {
    let decoded = decode_revocable(state, token, TokenType::Sliding, now).await?;
    let renewed = state.engine().renew_sliding(&decoded, now)?;
    require_active_owner(state, token, &decoded, now).await?;
    state.metrics().issued(TokenType::Sliding.as_str());
    state.metrics().refreshed();
    Ok(renewed)
}
