//! Issued tokens and the blacklist in SQLite: the two statements that blacklisting and rotation
//! are made of, run in the order `jwtd_store` decides, plus the blacklist check and the flush.

use std::future::{Future, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use jwtd_store::{
    Blacklisting, Flushed, Rotation, RotationRequest, SessionStep, StoreError, TokenRecord,
    TokenStatements,
};
use rusqlite::{Connection, TransactionBehavior, params};

use crate::errors::db_error;

/// The token statements on one connection (the batch's transaction, for batched writes).
struct Statements<'c>(&'c Connection);

impl TokenStatements for Statements<'_> {
    type Error = rusqlite::Error;

    fn record_issued(&self, token: &TokenRecord) -> impl Future<Output = rusqlite::Result<()>> {
        ready(insert_issued(self.0, token))
    }

    fn insert_blacklisted(
        &self,
        jti: &str,
        at: i64,
    ) -> impl Future<Output = rusqlite::Result<Blacklisting>> {
        ready(insert_blacklisted(self.0, jti, at))
    }

    fn advance_session(
        &self,
        old: &str,
        new: &str,
        step: &SessionStep,
    ) -> impl Future<Output = rusqlite::Result<bool>> {
        ready(crate::sessions::advance(self.0, old, new, step))
    }
}

/// The outcome of `work`, a sequence of [`Statements`]: rusqlite is synchronous, so each of them
/// has run by the time its future exists, and the first poll finishes the sequence.
pub(crate) fn finished<T>(work: impl Future<Output = T>) -> T {
    match pin!(work).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => unreachable!("a sequence of synchronous statements never waits"),
    }
}

/// Records an issued token unless it is already known (see
/// [`TokenStatements::record_issued`]).
fn insert_issued(conn: &Connection, token: &TokenRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO issued_tokens (jti, user_id, issued_at, expires_at)
         VALUES (?1, (SELECT id FROM users WHERE id = ?2), ?3, ?4)
         ON CONFLICT (jti) DO NOTHING",
    )?
    .execute(params![
        token.jti,
        token.user_id,
        token.issued_at,
        token.expires_at
    ])?;
    Ok(())
}

/// Blacklists `jti` unless it is there; SQLite's write lock, taken up front by every write
/// transaction, makes the check and the insert one step across connections and processes.
fn insert_blacklisted(conn: &Connection, jti: &str, at: i64) -> rusqlite::Result<Blacklisting> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO blacklisted_tokens (jti, blacklisted_at) VALUES (?1, ?2)
             ON CONFLICT (jti) DO NOTHING",
        )?
        .execute(params![jti, at])?;
    Ok(Blacklisting::from_rows_inserted(inserted as u64))
}

/// Remembers an issued token (a batched write).
pub(crate) fn record_issued(conn: &Connection, token: &TokenRecord) -> Result<(), StoreError> {
    insert_issued(conn, token).map_err(db_error)
}

/// A point read: whether `jti` is blacklisted.
pub(crate) fn is_blacklisted(conn: &Connection, jti: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM blacklisted_tokens WHERE jti = ?1")
        .and_then(|mut stmt| stmt.exists([jti]))
        .map_err(db_error)
}

/// Blacklists a token, recording it first (a batched write, always kept).
pub(crate) fn blacklist(
    conn: &Connection,
    token: &TokenRecord,
    at: i64,
) -> Result<Blacklisting, StoreError> {
    finished(jwtd_store::blacklist(&Statements(conn), token, at)).map_err(db_error)
}

/// Rotates a refresh token (a batched write, kept when [`Rotation::keeps_writes`]).
pub(crate) fn rotate(conn: &Connection, request: &RotationRequest) -> Result<Rotation, StoreError> {
    finished(request.run(&Statements(conn))).map_err(db_error)
}

/// Removes issued tokens expired at `now` and their blacklist rows, in one transaction.
pub(crate) fn flush_expired(conn: &mut Connection, now: i64) -> Result<Flushed, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let blacklisted = tx
        .execute(
            "DELETE FROM blacklisted_tokens WHERE jti IN
             (SELECT jti FROM issued_tokens WHERE expires_at <= ?1)",
            [now],
        )
        .map_err(db_error)?;
    let issued = tx
        .execute("DELETE FROM issued_tokens WHERE expires_at <= ?1", [now])
        .map_err(db_error)?;
    let sessions = tx
        .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])
        .map_err(db_error)?
        + tx.execute(
            "DELETE FROM denied_access_tokens WHERE expires_at <= ?1",
            [now],
        )
        .map_err(db_error)?;
    // Bookkeeping of live sessions, not counted: it goes with the access tokens' exp.
    tx.execute(
        "DELETE FROM session_access_tokens WHERE expires_at <= ?1",
        [now],
    )
    .map_err(db_error)?;
    tx.execute(
        "UPDATE issued_tokens SET access_jti = NULL, access_expires_at = NULL
         WHERE access_expires_at <= ?1",
        [now],
    )
    .map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    Ok(Flushed {
        issued: issued as u64,
        blacklisted: blacklisted as u64,
        sessions: sessions as u64,
    })
}
