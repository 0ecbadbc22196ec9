//! Managed signing keys in PostgreSQL: listing them, and applying a batch as one compare-and-set
//! across every instance on the database.
//!
//! A batch's transaction first locks `signing_keys` in `SHARE ROW EXCLUSIVE` mode, which
//! conflicts with itself and with every insert, update and delete, but not with reads: batches
//! from any instance or the CLI, and any other writer of the table, wait for each other, while
//! [`list`] never waits. Under READ COMMITTED each statement sees what committed before it
//! started, so the set read after the lock is the one the previous batch left, and the batch
//! decided on it ([`jwtd_store::keys::plan`]) is the only writer until it commits. A lock on the
//! active row (`FOR UPDATE`) would not do: with no active key there is no row to lock. The wait
//! is bounded by `query_timeout` (the server's `statement_timeout`), like every call.

use deadpool_postgres::{GenericClient, Object};
use jwtd_store::{KeyChange, KeyUpdate, KeyWrite, StoreError, StoredKey};
use tokio_postgres::Row;

use crate::errors::db_error;

/// Reads a key row, in [`KeyColumns`](jwtd_store::KeyColumns) order.
fn key(row: &Row) -> Result<StoredKey, StoreError> {
    let columns = (
        row.try_get(0).map_err(db_error)?,
        row.try_get(1).map_err(db_error)?,
        row.try_get::<_, String>(2).map_err(db_error)?,
        row.try_get(3).map_err(db_error)?,
        row.try_get(4).map_err(db_error)?,
        row.try_get(5).map_err(db_error)?,
        row.try_get(6).map_err(db_error)?,
        row.try_get(7).map_err(db_error)?,
    );
    StoredKey::try_from(columns).map_err(|e| StoreError::Internal(format!("signing_keys: {e}")))
}

/// Every key, oldest first; `kid` ties break in byte order (`COLLATE "C"`), as on SQLite.
pub(crate) async fn list(client: &impl GenericClient) -> Result<Vec<StoredKey>, StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT kid, algorithm, state, material, encrypted, created_at, activated_at,
                    retired_at
             FROM signing_keys ORDER BY created_at, kid COLLATE \"C\"",
        )
        .await
        .map_err(db_error)?;
    let rows = client.query(&stmt, &[]).await.map_err(db_error)?;
    rows.iter().map(key).collect()
}

/// Applies `changes` if the active key is `expected_active`; a conflict rolls back, writing
/// nothing.
pub(crate) async fn update(
    client: &mut Object,
    expected_active: Option<&str>,
    changes: Vec<KeyChange>,
) -> Result<KeyUpdate, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    tx.batch_execute("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
        .await
        .map_err(db_error)?;
    let current = list(&tx).await?;
    let Some(writes) = jwtd_store::keys::plan(&current, expected_active, changes) else {
        tx.rollback().await.map_err(db_error)?;
        return Ok(KeyUpdate::Conflict);
    };
    for write in &writes {
        match apply(&tx, write).await {
            Ok(()) => {}
            // The plan keeps to the schema's rules; should a statement still break one (a
            // unique kid, one active key), that is the batch's conflict, not a failure.
            Err(StoreError::Conflict(_)) => {
                tx.rollback().await.map_err(db_error)?;
                return Ok(KeyUpdate::Conflict);
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await.map_err(db_error)?;
    Ok(KeyUpdate::Applied)
}

async fn apply(client: &impl GenericClient, write: &KeyWrite) -> Result<(), StoreError> {
    let (sql, key) = match write {
        KeyWrite::Delete(kid) => {
            client
                .execute("DELETE FROM signing_keys WHERE kid = $1", &[kid])
                .await
                .map_err(db_error)?;
            return Ok(());
        }
        KeyWrite::Insert(key) => (
            "INSERT INTO signing_keys (kid, algorithm, state, material, encrypted, created_at,
                                       activated_at, retired_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            key,
        ),
        KeyWrite::Update(key) => (
            "UPDATE signing_keys SET algorithm = $2, state = $3, material = $4, encrypted = $5,
                 created_at = $6, activated_at = $7, retired_at = $8
             WHERE kid = $1",
            key,
        ),
    };
    client
        .execute(
            sql,
            &[
                &key.kid,
                &key.algorithm,
                &key.state.as_str(),
                &key.material,
                &key.encrypted,
                &key.created_at,
                &key.activated_at,
                &key.retired_at,
            ],
        )
        .await
        .map(drop)
        .map_err(db_error)
}
