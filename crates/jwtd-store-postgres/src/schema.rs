//! The schema: its migrations, applied once however many instances start together, with
//! `jwtd_schema_migrations` recording which ran, and the check that it answers.

use deadpool_postgres::Object;
use jwtd_store::StoreError;

use crate::errors::db_error;

/// Schema migrations, applied in order.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_email.sql"),
    include_str!("../migrations/0003_keys.sql"),
    include_str!("../migrations/0004_sessions.sql"),
];

/// Key of the advisory lock that serializes migrations between instances ("jwtdmigr").
const MIGRATION_LOCK: i64 = 0x6a77_7464_6d69_6772;

/// Applies the migrations not yet applied, in one transaction behind the advisory lock;
/// refuses a schema newer than this build.
pub(crate) async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    // Held until commit or rollback: a second instance starting at the same moment waits
    // here, then finds the migrations applied.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS jwtd_schema_migrations (
             version    INTEGER     PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(db_error)?;
    let django: Vec<String> = tx
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema()
             AND table_name IN ('auth_user', 'django_migrations') ORDER BY 1",
            &[],
        )
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if !django.is_empty() {
        return Err(jwtd_store::django::refuse_django_database(
            &django.join(", "),
        ));
    }
    let applied: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM jwtd_schema_migrations",
            &[],
        )
        .await
        .map_err(db_error)?
        .get(0);
    let applied = usize::try_from(applied).unwrap_or(0);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "database schema version {applied} is newer than this jwtd ({}); upgrade jwtd",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.batch_execute(sql).await.map_err(db_error)?;
        let version = i32::try_from(index + 1)
            .map_err(|_| StoreError::Internal("too many migrations".to_owned()))?;
        tx.execute(
            "INSERT INTO jwtd_schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)
}

/// Checks the database answers and holds the schema (a missing table is an error) without
/// scanning it.
pub(crate) async fn ping(client: &Object) -> Result<(), StoreError> {
    client
        .query_opt("SELECT 1 FROM users LIMIT 1", &[])
        .await
        .map(drop)
        .map_err(db_error)
}
