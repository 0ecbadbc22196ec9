//! Sessions in PostgreSQL: starting one at login, what a refresh reads and moves on, the access
//! tokens handed out in each, listing and ending them, logging a user out everywhere, the
//! access-token deny-list, and the login attempts that several instances count together. Every
//! write here is one transaction, so a revocation is whole or absent.
//!
//! Instances revoke concurrently, so every transaction that locks more than one kind of row
//! takes them in one order: **the user row, then session rows (by id), then access-token rows
//! (kept and deny-listed), then refresh-token and blacklist rows.** A rotation follows it too
//! (`tokens::rotate` locks its user and session before blacklisting), so no two of them can wait
//! on each other in a cycle.

use deadpool_postgres::{GenericClient, Object};
use jwtd_store::{
    AccessRecord, NewSession, Session, SessionStep, StoreError, TokenRecord, TokenState,
    TokenStatements, UserId,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::errors::db_error;
use crate::tokens::Statements;

/// The columns of a session row, in [`session`]'s order.
macro_rules! session_columns {
    () => {
        "s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.user_agent, s.ip, \
         s.ended_at"
    };
}

/// Reads a session row selected with [`session_columns!`], starting at column `at`.
fn session(row: &Row, at: usize) -> Result<Session, tokio_postgres::Error> {
    Ok(Session {
        id: row.try_get(at)?,
        user_id: row.try_get(at + 1)?,
        created_at: row.try_get(at + 2)?,
        last_used_at: row.try_get(at + 3)?,
        expires_at: row.try_get(at + 4)?,
        user_agent: row.try_get(at + 5)?,
        ip: row.try_get(at + 6)?,
        ended_at: row.try_get(at + 7)?,
    })
}

/// Runs `sql` as a cached statement; the number of rows it touched.
async fn execute(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    let stmt = client.prepare_cached(sql).await?;
    client.execute(&stmt, params).await
}

/// Starts a session and records its first refresh token in it, in one transaction.
pub(crate) async fn start(
    client: &mut Object,
    new: &NewSession,
    refresh: &TokenRecord,
) -> Result<(), StoreError> {
    let s = &new.session;
    let tx = client.transaction().await.map_err(db_error)?;
    // Lock order: the user row first. `FOR SHARE` waits for a password change in flight
    // (which holds it `FOR UPDATE`) and then reads its new hash.
    if let Some(hash) = &new.password_hash {
        let stmt = tx
            .prepare_cached("SELECT 1 FROM users WHERE id = $1 AND password_hash = $2 FOR SHARE")
            .await
            .map_err(db_error)?;
        if tx
            .query_opt(&stmt, &[&s.user_id, hash])
            .await
            .map_err(db_error)?
            .is_none()
        {
            return Err(StoreError::Conflict(
                "the password changed while the login ran".to_owned(),
            ));
        }
    }
    execute(
        &tx,
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip)
         VALUES ($1, $2, $3, $3, $4, $5, $6)",
        &[
            &s.id,
            &s.user_id,
            &s.created_at,
            &s.expires_at,
            &s.user_agent,
            &s.ip,
        ],
    )
    .await
    .map_err(db_error)?;
    keep_access(&tx, &s.id, &new.access)
        .await
        .map_err(db_error)?;
    Statements(&tx)
        .record_issued(refresh)
        .await
        .map_err(db_error)?;
    execute(
        &tx,
        "UPDATE issued_tokens SET session_id = $2 WHERE jti = $1",
        &[&refresh.jti, &s.id],
    )
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)
}

/// A point read, in one statement (so one snapshot): the token's blacklist and rotation state
/// and its session.
pub(crate) async fn token_state(client: &Object, jti: &str) -> Result<TokenState, StoreError> {
    let stmt = client
        .prepare_cached(concat!(
            "SELECT EXISTS (SELECT 1 FROM blacklisted_tokens WHERE jti = $1), t.rotated_at, ",
            session_columns!(),
            " FROM (SELECT $1::TEXT AS jti) presented
              LEFT JOIN issued_tokens t ON t.jti = presented.jti
              LEFT JOIN sessions s ON s.id = t.session_id"
        ))
        .await
        .map_err(db_error)?;
    let row = client.query_one(&stmt, &[&jti]).await.map_err(db_error)?;
    let read = || {
        let has_session = row.try_get::<_, Option<String>>(2)?.is_some();
        Ok(TokenState {
            blacklisted: row.try_get(0)?,
            rotated_at: row.try_get(1)?,
            session: if has_session {
                Some(session(&row, 2)?)
            } else {
                None
            },
        })
    };
    read().map_err(db_error)
}

/// The rotation's session statements (see `TokenStatements::advance_session`), on the
/// rotation's transaction.
pub(crate) async fn advance(
    client: &impl GenericClient,
    old: &str,
    new: &str,
    step: &SessionStep,
) -> Result<bool, tokio_postgres::Error> {
    // An ended session takes no successor: the row lock of this `UPDATE` orders it against an
    // `end`, and the caller rolls the rotation back.
    let live = execute(
        client,
        "UPDATE sessions SET last_used_at = $2, expires_at = GREATEST(expires_at, $3)
         WHERE id = $1 AND ended_at IS NULL",
        &[&step.session_id, &step.at, &step.expires_at],
    )
    .await?;
    if live == 0 {
        return Ok(false);
    }
    execute(
        client,
        // The first rotation's time stays: a later one of the same token is reuse, not news.
        "UPDATE issued_tokens SET rotated_at = COALESCE(rotated_at, $2) WHERE jti = $1",
        &[&old, &step.at],
    )
    .await?;
    execute(
        client,
        "UPDATE issued_tokens SET session_id = $2 WHERE jti = $1",
        &[&new, &step.session_id],
    )
    .await?;
    keep_access(client, &step.session_id, &step.access).await?;
    Ok(true)
}

/// Keeps an access token handed out in a session, to deny-list when the session ends.
async fn keep_access(
    client: &impl GenericClient,
    session_id: &str,
    access: &AccessRecord,
) -> Result<(), tokio_postgres::Error> {
    execute(
        client,
        "INSERT INTO session_access_tokens (jti, session_id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (jti) DO NOTHING",
        &[&access.jti, &session_id, &access.expires_at],
    )
    .await
    .map(drop)
}

/// A point read: the session an access token was handed out in, while it is kept (until the
/// flush after its `exp`).
pub(crate) async fn of_access(client: &Object, jti: &str) -> Result<Option<String>, StoreError> {
    let stmt = client
        .prepare_cached("SELECT session_id FROM session_access_tokens WHERE jti = $1")
        .await
        .map_err(db_error)?;
    client
        .query_opt(&stmt, &[&jti])
        .await
        .and_then(|row| row.map(|row| row.try_get(0)).transpose())
        .map_err(db_error)
}

/// A refresh without rotation used the session, in one transaction; whether the session was
/// still live. The row lock of the `UPDATE` orders it against an `end`: either the access token
/// is kept before the session ends (and is deny-listed with it), or the session has ended and
/// nothing is written.
pub(crate) async fn touch(client: &mut Object, step: &SessionStep) -> Result<bool, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    let live = execute(
        &tx,
        "UPDATE sessions SET last_used_at = $2, expires_at = GREATEST(expires_at, $3)
         WHERE id = $1 AND ended_at IS NULL",
        &[&step.session_id, &step.at, &step.expires_at],
    )
    .await
    .map_err(db_error)?;
    if live == 0 {
        return Ok(false);
    }
    keep_access(&tx, &step.session_id, &step.access)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(true)
}

/// The user's live sessions, newest first (ids in byte order, as SQLite orders them).
pub(crate) async fn list(
    client: &Object,
    user: UserId,
    now: i64,
) -> Result<Vec<Session>, StoreError> {
    let stmt = client
        .prepare_cached(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s WHERE s.user_id = $1 AND s.ended_at IS NULL AND s.expires_at > $2
              ORDER BY s.created_at DESC, s.started DESC"
        ))
        .await
        .map_err(db_error)?;
    client
        .query(&stmt, &[&user, &now])
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| session(row, 0))
        .collect::<Result<_, _>>()
        .map_err(db_error)
}

/// Ends one session (of `user`, when given) if it is live at `at`; whether this call ended it.
/// A session past its expiry is not live, as the trait says (nothing of it can be used).
///
/// Of concurrent calls for one session, in any instance, exactly one ends it: the `UPDATE`
/// locks the row, a second one waits for the first to commit and then re-reads `ended_at`,
/// which no longer matches.
pub(crate) async fn end(
    client: &mut Object,
    id: &str,
    user: Option<UserId>,
    at: i64,
) -> Result<bool, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    // Lock order: the owner's user row, then the session row, then its access tokens'
    // deny-list entries, then its refresh tokens' blacklist rows; as logout-all takes them.
    let owner: Option<UserId> = {
        let stmt = tx
            .prepare_cached("SELECT user_id FROM sessions WHERE id = $1")
            .await
            .map_err(db_error)?;
        tx.query_opt(&stmt, &[&id])
            .await
            .and_then(|row| row.map(|row| row.try_get(0)).transpose())
            .map_err(db_error)?
    };
    let Some(owner) = owner else {
        return Ok(false);
    };
    match lock_user(&tx, owner).await {
        Err(StoreError::NotFound) => return Ok(false),
        other => other?,
    }
    let ended = execute(
        &tx,
        "UPDATE sessions SET ended_at = $2
         WHERE id = $1 AND ended_at IS NULL AND expires_at > $2
               AND ($3::BIGINT IS NULL OR user_id = $3)",
        &[&id, &at, &user],
    )
    .await
    .map_err(db_error)?;
    if ended == 0 {
        // Nothing was written; dropping the transaction rolls it back.
        return Ok(false);
    }
    execute(
        &tx,
        "INSERT INTO denied_access_tokens (jti, expires_at)
         SELECT jti, expires_at FROM session_access_tokens
         WHERE session_id = $1 AND expires_at > $2
         ON CONFLICT (jti) DO NOTHING",
        &[&id, &at],
    )
    .await
    .map_err(db_error)?;
    execute(
        &tx,
        "UPDATE users SET access_denied_until = GREATEST(access_denied_until,
             (SELECT coalesce(max(expires_at), 0) FROM session_access_tokens WHERE session_id = $2))
         WHERE id = $1",
        &[&owner, &id],
    )
    .await
    .map_err(db_error)?;
    execute(&tx, BLACKLIST_SESSION_TOKENS, &[&id, &at])
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(true)
}

/// Blacklists, at `$2`, every token of session `$1` that is unexpired then.
const BLACKLIST_SESSION_TOKENS: &str = "INSERT INTO blacklisted_tokens (jti, blacklisted_at)
     SELECT jti, $2 FROM issued_tokens WHERE session_id = $1 AND expires_at > $2
     ON CONFLICT (jti) DO NOTHING";

/// Blacklists, at `$2`, every token of user `$1` that is unexpired then (sessions or not).
const BLACKLIST_USER_TOKENS: &str = "INSERT INTO blacklisted_tokens (jti, blacklisted_at)
     SELECT jti, $2 FROM issued_tokens WHERE user_id = $1 AND expires_at > $2
     ON CONFLICT (jti) DO NOTHING";

/// Locks user `user`'s row against every write and every new token or session of theirs until
/// the transaction ends (`FOR UPDATE` conflicts with the key-share lock their foreign keys
/// take), so nothing of the user is issued halfway through a logout-all; `NotFound` when there
/// is no such user.
async fn lock_user(client: &impl GenericClient, user: UserId) -> Result<(), StoreError> {
    let stmt = client
        .prepare_cached("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .await
        .map_err(db_error)?;
    match client.query_opt(&stmt, &[&user]).await.map_err(db_error)? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound),
    }
}

/// Logs a locked user out everywhere, on the caller's transaction; how many sessions it ended.
async fn end_all_locked(
    client: &impl GenericClient,
    user: UserId,
    at: i64,
) -> Result<u64, StoreError> {
    execute(
        client,
        "UPDATE users SET tokens_valid_after = GREATEST(tokens_valid_after, $2) WHERE id = $1",
        &[&user, &at],
    )
    .await
    .map_err(db_error)?;
    // Session rows in id order, as `flush_expired` locks them, so two transactions that lock
    // several sessions take them in the same order; locked, the live ones stay the same set
    // for the statements below.
    execute(
        client,
        "SELECT id FROM sessions WHERE user_id = $1 AND ended_at IS NULL
         ORDER BY id FOR NO KEY UPDATE",
        &[&user],
    )
    .await
    .map_err(db_error)?;
    execute(
        client,
        "INSERT INTO denied_access_tokens (jti, expires_at)
         SELECT a.jti, a.expires_at FROM session_access_tokens a
         JOIN sessions s ON s.id = a.session_id
         WHERE s.user_id = $1 AND s.ended_at IS NULL AND a.expires_at > $2
         ON CONFLICT (jti) DO NOTHING",
        &[&user, &at],
    )
    .await
    .map_err(db_error)?;
    execute(
        client,
        "UPDATE users SET access_denied_until = GREATEST(access_denied_until,
             (SELECT coalesce(max(a.expires_at), 0) FROM session_access_tokens a
              JOIN sessions s ON s.id = a.session_id WHERE s.user_id = $1 AND s.ended_at IS NULL))
         WHERE id = $1",
        &[&user],
    )
    .await
    .map_err(db_error)?;
    let ended = execute(
        client,
        "UPDATE sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL",
        &[&user, &at],
    )
    .await
    .map_err(db_error)?;
    execute(client, BLACKLIST_USER_TOKENS, &[&user, &at])
        .await
        .map_err(db_error)?;
    Ok(ended)
}

/// Logs a user out everywhere in one transaction; how many sessions it ended. `NotFound` when
/// there is no such user.
pub(crate) async fn end_all(client: &mut Object, user: UserId, at: i64) -> Result<u64, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    // Lock order: the user row first, then their sessions, access tokens and refresh tokens.
    lock_user(&tx, user).await?;
    let ended = end_all_locked(&tx, user, at).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(ended)
}

/// Replaces a user's password hash and logs them out everywhere, in one transaction.
pub(crate) async fn change_password(
    client: &mut Object,
    user: UserId,
    password_hash: &str,
    at: i64,
) -> Result<u64, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    // Lock order: the user row first, then their sessions, access tokens and refresh tokens.
    lock_user(&tx, user).await?;
    execute(
        &tx,
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        &[&user, &password_hash],
    )
    .await
    .map_err(db_error)?;
    let ended = end_all_locked(&tx, user, at).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(ended)
}

/// Deny-lists one access token of `user`, raising the user's `access_denied_until`, in one
/// transaction.
pub(crate) async fn deny(
    client: &mut Object,
    access: &AccessRecord,
    user: UserId,
) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    // Lock order: the user row first, as everywhere.
    execute(
        &tx,
        "UPDATE users SET access_denied_until = GREATEST(access_denied_until, $2) WHERE id = $1",
        &[&user, &access.expires_at],
    )
    .await
    .map_err(db_error)?;
    execute(
        &tx,
        "INSERT INTO denied_access_tokens (jti, expires_at) VALUES ($1, $2)
         ON CONFLICT (jti) DO NOTHING",
        &[&access.jti, &access.expires_at],
    )
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)
}

/// A point read: whether access token `jti` is deny-listed.
pub(crate) async fn is_denied(client: &Object, jti: &str) -> Result<bool, StoreError> {
    let stmt = client
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM denied_access_tokens WHERE jti = $1)")
        .await
        .map_err(db_error)?;
    client
        .query_one(&stmt, &[&jti])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(db_error)
}

/// Counts one login attempt for `key` in the window that started at `window_start`, in one
/// upsert: concurrent attempts from several instances each see their own count (the row lock
/// orders them), and a new window starts the count again at 1.
pub(crate) async fn count_attempt(
    client: &Object,
    key: &str,
    window_start: i64,
) -> Result<u64, StoreError> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO login_attempts (key, window_start, attempts) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
                 attempts = CASE WHEN login_attempts.window_start = EXCLUDED.window_start
                                 THEN login_attempts.attempts + 1 ELSE 1 END,
                 window_start = EXCLUDED.window_start
             RETURNING attempts",
        )
        .await
        .map_err(db_error)?;
    let attempts: i64 = client
        .query_one(&stmt, &[&key, &window_start])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(db_error)?;
    u64::try_from(attempts).map_err(|_| StoreError::Internal(format!("{attempts} attempts")))
}
