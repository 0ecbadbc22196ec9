//! Issued tokens and the blacklist in PostgreSQL: the two statements that blacklisting and
//! rotation are made of, run in the order `jwtd_store` decides, plus the blacklist check and the
//! flush.

use deadpool_postgres::{GenericClient, Object};
use jwtd_store::{
    Blacklisting, Flushed, Rotation, RotationRequest, StoreError, TokenRecord, TokenStatements,
};

use crate::errors::db_error;

/// The token statements on one client or transaction.
struct Statements<'c, C>(&'c C);

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
    let outcome = request.run(&Statements(&tx)).await.map_err(db_error)?;
    if outcome.keeps_writes() {
        tx.commit().await.map_err(db_error)?;
    } else {
        tx.rollback().await.map_err(db_error)?;
    }
    Ok(outcome)
}

/// Removes issued tokens expired at `now` and their blacklist rows, in one transaction.
pub(crate) async fn flush_expired(client: &mut Object, now: i64) -> Result<Flushed, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
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
    tx.commit().await.map_err(db_error)?;
    Ok(Flushed {
        issued,
        blacklisted,
    })
}
