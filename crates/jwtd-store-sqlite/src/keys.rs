//! Managed signing keys in SQLite: listing them, and applying a batch as one compare-and-set.
//!
//! A batch runs in one `IMMEDIATE` transaction: SQLite's write lock, taken before the key set is
//! read, keeps every other writer (this process's, the CLI's, another server's) out until the
//! commit, so the set the batch was decided on is the set it writes to.

use jwtd_store::{KeyChange, KeyColumns, KeyUpdate, KeyWrite, StoreError, StoredKey};
use rusqlite::{Connection, TransactionBehavior, params};

use crate::errors::db_error;

/// Every key, oldest first; `kid` ties break in byte order (SQLite's `BINARY` collation).
pub(crate) fn list(conn: &Connection) -> Result<Vec<StoredKey>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT kid, algorithm, state, material, encrypted, created_at, activated_at,
                    retired_at
             FROM signing_keys ORDER BY created_at, kid",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |row| KeyColumns::try_from(row))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(db_error)?;
    rows.into_iter()
        .map(|columns| {
            StoredKey::try_from(columns)
                .map_err(|e| StoreError::Internal(format!("signing_keys: {e}")))
        })
        .collect()
}

/// Applies `changes` if the active key is `expected_active`, as [`jwtd_store::keys::plan`]
/// decides; a conflict rolls back, writing nothing.
pub(crate) fn update(
    conn: &mut Connection,
    expected_active: Option<&str>,
    changes: Vec<KeyChange>,
) -> Result<KeyUpdate, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let current = list(&tx)?;
    let Some(writes) = jwtd_store::keys::plan(&current, expected_active, changes) else {
        return Ok(KeyUpdate::Conflict);
    };
    for write in &writes {
        match apply(&tx, write).map_err(db_error) {
            Ok(()) => {}
            // The plan keeps to the schema's rules; should a statement still break one (a
            // unique kid, one active key), that is the batch's conflict, not a failure.
            // Dropping the transaction rolls it back.
            Err(StoreError::Conflict(_)) => return Ok(KeyUpdate::Conflict),
            Err(e) => return Err(e),
        }
    }
    tx.commit().map_err(db_error)?;
    Ok(KeyUpdate::Applied)
}

fn apply(conn: &Connection, write: &KeyWrite) -> rusqlite::Result<()> {
    let (sql, key) = match write {
        KeyWrite::Delete(kid) => {
            conn.execute("DELETE FROM signing_keys WHERE kid = ?1", [kid])?;
            return Ok(());
        }
        KeyWrite::Insert(key) => (
            "INSERT INTO signing_keys (kid, algorithm, state, material, encrypted, created_at,
                                       activated_at, retired_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            key,
        ),
        KeyWrite::Update(key) => (
            "UPDATE signing_keys SET algorithm = ?2, state = ?3, material = ?4, encrypted = ?5,
                 created_at = ?6, activated_at = ?7, retired_at = ?8
             WHERE kid = ?1",
            key,
        ),
    };
    conn.execute(
        sql,
        params![
            key.kid,
            key.algorithm,
            key.state.as_str(),
            key.material,
            key.encrypted,
            key.created_at,
            key.activated_at,
            key.retired_at
        ],
    )?;
    Ok(())
}
