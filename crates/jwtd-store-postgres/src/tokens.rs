//! Issued tokens and the blacklist in PostgreSQL: the statements that blacklisting and rotation
//! are made of, run in the order `jwtd_store` decides, plus the blacklist check and the flush.

use deadpool_postgres::{GenericClient, Object};
use jwtd_store::{
    Blacklisting, Flushed, Rotation, RotationRequest, SessionStep, StoreError, TokenRecord,
    TokenStatements,
};

use crate::errors::db_error;

/// How long a login-throttling window's count is kept: the longest throttle period is a day, so
/// a window that started longer ago than that counts for nothing.
const LOGIN_ATTEMPTS_KEPT_FOR: i64 = 86_400;

/// The token statements on one client or transaction.
pub(crate) struct Statements<'c, C>(pub(crate) &'c C);

impl<C: GenericClient> TokenStatements for Statements<'_, C> {
    type Error = tokio_postgres::Error;

    async fn record_issued(&self, token: &TokenRecord) -> Result<(), tokio_postgres::Error> {
        let stmt = self
            .0
            .prepare_cached(
                "INSERT INTO issued_tokens (jti, user_id, issued_at, expires_at)
                 VALUES ($1, (SELECT id FROM users WHERE id = $2), $3, $4)
                 ON CONFLICT (jti) DO NOTHING",
            )
            .await?;
        self.0
            .execute(
                &stmt,
                &[
                    &token.jti,
                    &token.user_id,
                    &token.issued_at,
                    &token.expires_at,
                ],
            )
            .await
            .map(drop)
    }

    /// A concurrent insert of the same key makes this one wait for that transaction, then
    /// insert nothing if it committed.
    async fn insert_blacklisted(
        &self,
        jti: &str,
        at: i64,
    ) -> Result<Blacklisting, tokio_postgres::Error> {
        let stmt = self
            .0
            .prepare_cached(
                "INSERT INTO blacklisted_tokens (jti, blacklisted_at) VALUES ($1, $2)
                 ON CONFLICT (jti) DO NOTHING",
            )
            .await?;
        let inserted = self.0.execute(&stmt, &[&jti, &at]).await?;
        Ok(Blacklisting::from_rows_inserted(inserted))
    }

    async fn advance_session(
        &self,
        old: &str,
        new: &str,
        step: &SessionStep,
    ) -> Result<bool, tokio_postgres::Error> {
        crate::sessions::advance(self.0, old, new, step).await
    }
}

/// Remembers an issued token.
pub(crate) async fn record_issued(client: &Object, token: &TokenRecord) -> Result<(), StoreError> {
    Statements(client)
        .record_issued(token)
        .await
        .map_err(db_error)
}

/// Whether `jti` is blacklisted.
pub(crate) async fn is_blacklisted(client: &Object, jti: &str) -> Result<bool, StoreError> {
    let stmt = client
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM blacklisted_tokens WHERE jti = $1)")
        .await
        .map_err(db_error)?;
    let row = client.query_one(&stmt, &[&jti]).await.map_err(db_error)?;
    row.try_get(0).map_err(db_error)
}

/// Blacklists a token, recording it first, in one transaction.
pub(crate) async fn blacklist(
    client: &mut Object,
    token: &TokenRecord,
    at: i64,
) -> Result<Blacklisting, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    let outcome = jwtd_store::blacklist(&Statements(&tx), token, at)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(outcome)
}

/// Rotates a refresh token in one transaction, committed when [`Rotation::keeps_writes`] and
/// rolled back otherwise: the loser writes nothing, not even the old token's row.
pub(crate) async fn rotate(
    client: &mut Object,
    request: &RotationRequest,
) -> Result<Rotation, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    lock_in_revocation_order(&tx, request)
        .await
        .map_err(db_error)?;
    let outcome = request.run(&Statements(&tx)).await.map_err(db_error)?;
    if outcome.keeps_writes() {
        tx.commit().await.map_err(db_error)?;
    } else {
        tx.rollback().await.map_err(db_error)?;
    }
    Ok(outcome)
}

/// Takes the rows a rotation will lock in the order every revocation takes them (`sessions`):
/// the owners' rows, then the session's, before the blacklist insert. Without it the rotation
/// would hold the old token's blacklist entry while waiting for the owner's row (its successor's
/// foreign key) or the session's (the stamp), which a logout-all or a session's end on another
/// connection may hold while waiting for that very entry: a deadlock.
async fn lock_in_revocation_order(
    tx: &impl GenericClient,
    request: &RotationRequest,
) -> Result<(), tokio_postgres::Error> {
    let (old_owner, new_owner) = (request.old.user_id, request.new.user_id);
    if old_owner.is_some() || new_owner.is_some() {
        // A key-share lock: what the successor's foreign key takes anyway, so rotations of one
        // user do not wait for each other here, only for a logout-all of the user.
        let stmt = tx
            .prepare_cached(
                "SELECT id FROM users WHERE id = $1 OR id = $2 ORDER BY id FOR KEY SHARE",
            )
            .await?;
        tx.execute(&stmt, &[&old_owner, &new_owner]).await?;
    }
    if let Some(step) = &request.session {
        let stmt = tx
            .prepare_cached("SELECT id FROM sessions WHERE id = $1 FOR NO KEY UPDATE")
            .await?;
        tx.execute(&stmt, &[&step.session_id]).await?;
    }
    Ok(())
}

/// Removes, in one transaction, what has expired at `now`: issued tokens and their blacklist
/// rows, sessions, deny-listed and kept access tokens, and login-attempt windows past any
/// throttle's. `Flushed::sessions` counts sessions and deny-list rows, as `Flushed` says, not the
/// access tokens kept with sessions.
pub(crate) async fn flush_expired(client: &mut Object, now: i64) -> Result<Flushed, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    // Lock order (see `sessions`): the expired sessions first, in id order, then access-token
    // rows, then refresh tokens and their blacklist rows.
    tx.execute(
        "SELECT id FROM sessions WHERE expires_at <= $1 ORDER BY id FOR UPDATE",
        &[&now],
    )
    .await
    .map_err(db_error)?;
    let denied = tx
        .execute(
            "DELETE FROM denied_access_tokens WHERE expires_at <= $1",
            &[&now],
        )
        .await
        .map_err(db_error)?;
    tx.execute(
        "DELETE FROM session_access_tokens WHERE expires_at <= $1",
        &[&now],
    )
    .await
    .map_err(db_error)?;
    let blacklisted = tx
        .execute(
            "DELETE FROM blacklisted_tokens WHERE jti IN
             (SELECT jti FROM issued_tokens WHERE expires_at <= $1)",
            &[&now],
        )
        .await
        .map_err(db_error)?;
    let issued = tx
        .execute("DELETE FROM issued_tokens WHERE expires_at <= $1", &[&now])
        .await
        .map_err(db_error)?;
    // After the tokens, so that deleting a session has none of its tokens left to unlink.
    let sessions = tx
        .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
        .await
        .map_err(db_error)?;
    tx.execute(
        "DELETE FROM login_attempts WHERE window_start < $1",
        &[&now.saturating_sub(LOGIN_ATTEMPTS_KEPT_FOR)],
    )
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(Flushed {
        issued,
        blacklisted,
        sessions: sessions + denied,
    })
}
