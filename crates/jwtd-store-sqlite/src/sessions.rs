//! Sessions in SQLite: starting one at login, what a refresh reads and moves on, listing and
//! ending them, logging a user out everywhere, and the access-token deny-list. Every write here
//! runs as one batched write (one savepoint of a group commit), so a revocation is whole or
//! absent.

use jwtd_store::{
    AccessRecord, NewSession, Session, SessionStep, StoreError, TokenRecord, TokenState, UserId,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::errors::db_error;
use crate::tokens;

/// The columns of a session row, in [`session`]'s order.
macro_rules! session_columns {
    () => {
        "s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.user_agent, s.ip, \
         s.ended_at"
    };
}

/// Reads a session row selected with [`session_columns!`], starting at column `at`.
fn session(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(at)?,
        user_id: row.get(at + 1)?,
        created_at: row.get(at + 2)?,
        last_used_at: row.get(at + 3)?,
        expires_at: row.get(at + 4)?,
        user_agent: row.get(at + 5)?,
        ip: row.get(at + 6)?,
        ended_at: row.get(at + 7)?,
    })
}

/// Starts a session and records its first refresh token in it.
pub(crate) fn start(
    conn: &Connection,
    new: &NewSession,
    refresh: &TokenRecord,
) -> Result<(), StoreError> {
    let s = &new.session;
    if let Some(hash) = &new.password_hash {
        let unchanged = conn
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1 AND password_hash = ?2")
            .and_then(|mut stmt| stmt.exists(params![s.user_id, hash]))
            .map_err(db_error)?;
        if !unchanged {
            return Err(password_changed());
        }
    }
    conn.prepare_cached(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            s.id,
            s.user_id,
            s.created_at,
            s.expires_at,
            s.user_agent,
            s.ip
        ])
    })
    .map_err(db_error)?;
    tokens::record_issued(conn, refresh)?;
    join_session(conn, &refresh.jti, &s.id, &new.access).map_err(db_error)
}

/// The refusal of a session whose login verified a password that has changed since.
fn password_changed() -> StoreError {
    StoreError::Conflict("the password changed while the login ran".to_owned())
}

/// Puts refresh token `jti` in session `session_id`, with the access token handed out with it.
fn join_session(
    conn: &Connection,
    jti: &str,
    session_id: &str,
    access: &AccessRecord,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE issued_tokens SET session_id = ?2, access_jti = ?3, access_expires_at = ?4
         WHERE jti = ?1",
    )?
    .execute(params![jti, session_id, access.jti, access.expires_at])
    .map(drop)
}

/// A point read: the token's blacklist and rotation state and its session.
pub(crate) fn token_state(conn: &Connection, jti: &str) -> Result<TokenState, StoreError> {
    // One statement: the blacklist row, the token's row and its session (a refresh's read).
    let found = conn
        .prepare_cached(concat!(
            "SELECT b.jti IS NOT NULL, CASE WHEN b.rotated THEN b.blacklisted_at END, ",
            session_columns!(),
            " FROM (SELECT ?1 AS jti) k
              LEFT JOIN blacklisted_tokens b ON b.jti = k.jti
              LEFT JOIN issued_tokens t ON t.jti = k.jti
              LEFT JOIN sessions s ON s.id = t.session_id"
        ))
        .and_then(|mut stmt| {
            stmt.query_row([jti], |row| {
                let id: Option<String> = row.get(2)?;
                Ok(TokenState {
                    blacklisted: row.get(0)?,
                    rotated_at: row.get(1)?,
                    session: match id {
                        Some(_) => Some(session(row, 2)?),
                        None => None,
                    },
                })
            })
        })
        .map_err(db_error)?;
    Ok(found)
}

/// The rotation's session statements (see `TokenStatements::advance_session`).
pub(crate) fn advance(
    conn: &Connection,
    old: &str,
    new: &str,
    step: &SessionStep,
) -> rusqlite::Result<bool> {
    // An ended session takes no successor (the write lock makes the check exact).
    if !stamp(conn, step)? {
        return Ok(false);
    }
    // The rotation has just written the parent's blacklist row (or a retry finds it there):
    // marking it there dirties no page the rotation has not written anyway, where the parent's
    // own row would be one more page in the log per refresh.
    conn.prepare_cached("UPDATE blacklisted_tokens SET rotated = 1 WHERE jti = ?1")?
        .execute([old])?;
    join_session(conn, new, &step.session_id, &step.access)?;
    Ok(true)
}

/// Stamps a live session's last use and newest expiry; whether it was live.
fn stamp(conn: &Connection, step: &SessionStep) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "UPDATE sessions SET last_used_at = ?2, expires_at = max(expires_at, ?3)
         WHERE id = ?1 AND ended_at IS NULL",
    )?
    .execute(params![step.session_id, step.at, step.expires_at])
    .map(|rows| rows == 1)
}

/// Keeps an access token handed out in a session, to deny-list when the session ends.
fn keep_access(conn: &Connection, session_id: &str, access: &AccessRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO session_access_tokens (jti, session_id, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![access.jti, session_id, access.expires_at])
    .map(drop)
}

/// A point read: the session of `user`'s an unexpired access token was handed out in (through
/// the user's sessions: the access tokens are keyed by session, so that a refresh writes near
/// the session's other rows).
pub(crate) fn of_access(
    conn: &Connection,
    jti: &str,
    user: UserId,
) -> Result<Option<String>, StoreError> {
    conn.prepare_cached(
        "SELECT a.session_id FROM sessions s
         JOIN session_access a ON a.session_id = s.id AND a.jti = ?1
         WHERE s.user_id = ?2 LIMIT 1",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![jti, user], |row| row.get(0))
            .optional()
    })
    .map_err(db_error)
}

/// A refresh without rotation used the session; whether it was still live (the write lock
/// orders this against an `end`).
pub(crate) fn touch(conn: &Connection, step: &SessionStep) -> Result<bool, StoreError> {
    let live = stamp(conn, step).map_err(db_error)?;
    if live {
        keep_access(conn, &step.session_id, &step.access).map_err(db_error)?;
    }
    Ok(live)
}

/// The user's live sessions, newest first.
pub(crate) fn list(conn: &Connection, user: UserId, now: i64) -> Result<Vec<Session>, StoreError> {
    conn.prepare_cached(concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions s WHERE s.user_id = ?1 AND s.ended_at IS NULL AND s.expires_at > ?2
          ORDER BY s.created_at DESC, s.rowid DESC"
    ))
    .and_then(|mut stmt| {
        stmt.query_map(params![user, now], |row| session(row, 0))?
            .collect()
    })
    .map_err(db_error)
}

/// Ends one session (of `user`, when given); whether this call ended it.
pub(crate) fn end(
    conn: &Connection,
    id: &str,
    user: Option<UserId>,
    at: i64,
) -> Result<bool, StoreError> {
    let ended = conn
        .prepare_cached(
            "UPDATE sessions SET ended_at = ?2
             WHERE id = ?1 AND ended_at IS NULL AND expires_at > ?2
                   AND (?3 IS NULL OR user_id = ?3)",
        )
        .and_then(|mut stmt| stmt.execute(params![id, at, user]))
        .map_err(db_error)?;
    if ended == 0 {
        return Ok(false);
    }
    conn.prepare_cached(
        "UPDATE users SET access_denied_until = max(access_denied_until,
             (SELECT coalesce(max(expires_at), 0) FROM session_access WHERE session_id = ?1))
         WHERE id = (SELECT user_id FROM sessions WHERE id = ?1)",
    )
    .and_then(|mut stmt| stmt.execute([id]))
    .map_err(db_error)?;
    revoke_tokens(conn, "session_id = ?1", &id, at).map_err(db_error)?;
    conn.prepare_cached(
        "INSERT INTO denied_access_tokens (jti, expires_at)
         SELECT jti, expires_at FROM session_access
         WHERE session_id = ?1 AND expires_at > ?2
         ON CONFLICT (jti) DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![id, at]))
    .map_err(db_error)?;
    Ok(true)
}

/// Blacklists the unexpired tokens `filter` selects (with `key` as `?1`) at `at`.
fn revoke_tokens(
    conn: &Connection,
    filter: &str,
    key: &dyn rusqlite::ToSql,
    at: i64,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(&format!(
        "INSERT INTO blacklisted_tokens (jti, blacklisted_at)
         SELECT jti, ?2 FROM issued_tokens WHERE {filter} AND expires_at > ?2
         ON CONFLICT (jti) DO NOTHING"
    ))?
    .execute(params![key, at])
}

/// Logs a user out everywhere; how many sessions it ended. `NotFound` when there is no such
/// user.
pub(crate) fn end_all(conn: &Connection, user: UserId, at: i64) -> Result<u64, StoreError> {
    let updated = conn
        .prepare_cached(
            "UPDATE users SET tokens_valid_after = max(tokens_valid_after, ?2) WHERE id = ?1",
        )
        .and_then(|mut stmt| stmt.execute(params![user, at]))
        .map_err(db_error)?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    conn.prepare_cached(
        "UPDATE users SET access_denied_until = max(access_denied_until,
             (SELECT coalesce(max(a.expires_at), 0) FROM session_access a
              JOIN sessions s ON s.id = a.session_id WHERE s.user_id = ?1 AND s.ended_at IS NULL))
         WHERE id = ?1",
    )
    .and_then(|mut stmt| stmt.execute([user]))
    .map_err(db_error)?;
    conn.prepare_cached(
        "INSERT INTO denied_access_tokens (jti, expires_at)
         SELECT a.jti, a.expires_at FROM session_access a
         JOIN sessions s ON s.id = a.session_id
         WHERE s.user_id = ?1 AND s.ended_at IS NULL AND a.expires_at > ?2
         ON CONFLICT (jti) DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![user, at]))
    .map_err(db_error)?;
    let ended = conn
        .prepare_cached("UPDATE sessions SET ended_at = ?2 WHERE user_id = ?1 AND ended_at IS NULL")
        .and_then(|mut stmt| stmt.execute(params![user, at]))
        .map_err(db_error)?;
    revoke_tokens(conn, "user_id = ?1", &user, at).map_err(db_error)?;
    Ok(ended as u64)
}

/// Replaces a user's password hash and logs them out everywhere.
pub(crate) fn change_password(
    conn: &Connection,
    user: UserId,
    password_hash: &str,
    at: i64,
) -> Result<u64, StoreError> {
    let updated = conn
        .prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![user, password_hash]))
        .map_err(db_error)?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    end_all(conn, user, at)
}

/// Deny-lists one access token of `user`.
pub(crate) fn deny(
    conn: &Connection,
    access: &AccessRecord,
    user: UserId,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE users SET access_denied_until = max(access_denied_until, ?2) WHERE id = ?1",
    )
    .and_then(|mut stmt| stmt.execute(params![user, access.expires_at]))
    .map_err(db_error)?;
    conn.prepare_cached(
        "INSERT INTO denied_access_tokens (jti, expires_at) VALUES (?1, ?2)
         ON CONFLICT (jti) DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![access.jti, access.expires_at]))
    .map(drop)
    .map_err(db_error)
}

/// A point read: whether access token `jti` is deny-listed.
pub(crate) fn is_denied(conn: &Connection, jti: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM denied_access_tokens WHERE jti = ?1")
        .and_then(|mut stmt| stmt.exists([jti]))
        .map_err(db_error)
}
