//! The schema: its migrations, applied in order with `PRAGMA user_version` counting how many
//! ran, and the check that it answers.

use jwtd_store::StoreError;
use rusqlite::{Connection, TransactionBehavior};

use crate::errors::db_error;

/// Schema migrations, applied in order.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_email.sql"),
    include_str!("../migrations/0003_keys.sql"),
    include_str!("../migrations/0004_sessions.sql"),
];

/// Applies the migrations not yet applied, in one `IMMEDIATE` transaction; refuses a schema
/// newer than this build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let django = django_tables(&tx).map_err(db_error)?;
    if !django.is_empty() {
        return Err(jwtd_store::django::refuse_django_database(
            &django.join(", "),
        ));
    }
    let applied: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db_error)?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "database schema version {applied} is newer than this jwtd ({}); upgrade jwtd",
            MIGRATIONS.len()
        )));
    }
    for sql in &MIGRATIONS[applied..] {
        tx.execute_batch(sql).map_err(db_error)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)
        .map_err(db_error)?;
    tx.commit().map_err(db_error)
}

/// The tables of Django's own that the file holds (`auth_user`, `django_migrations`): jwtd's
/// schema is never added to a Django project's database.
fn django_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND name IN ('auth_user', 'django_migrations') ORDER BY name",
    )?;
    stmt.query_map([], |row| row.get(0))?.collect()
}

/// Checks the database answers and holds the schema (a missing table is an error).
pub(crate) fn ping(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("SELECT count(*) FROM users", [], |_| Ok(()))
        .map_err(db_error)
}
