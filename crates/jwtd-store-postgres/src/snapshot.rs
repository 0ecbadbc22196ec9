//! A whole store in one snapshot, for `jwtd copy-store`: reading everything in one
//! repeatable-read transaction, and writing a snapshot into an empty database, ids and times
//! unchanged, a chunk of rows per statement.

use deadpool_postgres::Object;
use jwtd_store::{BlacklistEntry, Snapshot, StoreError, TokenRecord, User};
use tokio_postgres::IsolationLevel;

use crate::errors::db_error;
use crate::users;

/// Rows per `INSERT .. SELECT unnest(..)` statement during an import.
const IMPORT_CHUNK: usize = 5_000;

/// Reads everything in one consistent, read-only snapshot of the database.
pub(crate) async fn export(client: &mut Object) -> Result<Snapshot, StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(db_error)?;
    let users = users::list(&tx).await?;
    // The identity sequence remembers the highest id handed out, deleted users included.
    let sequence: Option<i64> = tx
        .query_one(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('users', 'id')::regclass)",
            &[],
        )
        .await
        .map_err(db_error)?
        .try_get(0)
        .map_err(db_error)?;
    let issued = tx
        .query(
            "SELECT jti, user_id, issued_at, expires_at FROM issued_tokens ORDER BY jti COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            let columns = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            Ok(TokenRecord::from(columns))
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(db_error)?;
    let blacklisted = tx
        .query(
            "SELECT jti, blacklisted_at FROM blacklisted_tokens ORDER BY jti COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| Ok(BlacklistEntry::from((row.try_get(0)?, row.try_get(1)?))))
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(Snapshot {
        last_user_id: Snapshot::high_water_mark(&users, sequence),
        users,
        issued,
        blacklisted,
    })
}

/// Writes `snapshot` in one transaction that locks the tables, unless the database holds users
/// or tokens.
pub(crate) async fn import(client: &mut Object, snapshot: &Snapshot) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    // No instance may write between the emptiness check and the commit.
    tx.batch_execute("LOCK TABLE users, issued_tokens, blacklisted_tokens IN EXCLUSIVE MODE")
        .await
        .map_err(db_error)?;
    let row = tx
        .query_one(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM issued_tokens)",
            &[],
        )
        .await
        .map_err(db_error)?;
    let (users, tokens): (i64, i64) = (
        row.try_get(0).map_err(db_error)?,
        row.try_get(1).map_err(db_error)?,
    );
    if users + tokens > 0 {
        return Err(StoreError::not_empty(users, tokens));
    }
    // Rows go in as arrays, a chunk per statement: one round trip per chunk, not per row.
    for chunk in snapshot.users.chunks(IMPORT_CHUNK) {
        let column = |f: fn(&User) -> i64| chunk.iter().map(f).collect::<Vec<_>>();
        let usernames: Vec<&str> = chunk.iter().map(|u| u.username.as_str()).collect();
        let hashes: Vec<&str> = chunk.iter().map(|u| u.password_hash.as_str()).collect();
        let active: Vec<bool> = chunk.iter().map(|u| u.is_active).collect();
        let last_login: Vec<Option<i64>> = chunk.iter().map(|u| u.last_login).collect();
        let emails: Vec<Option<&str>> = chunk.iter().map(|u| u.email.as_deref()).collect();
        tx.execute(
            "INSERT INTO users (id, username, password_hash, is_active, date_joined, last_login,
                                email, tokens_valid_after)
             OVERRIDING SYSTEM VALUE
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[],
                                  $5::bigint[], $6::bigint[], $7::text[], $8::bigint[])",
            &[
                &column(|u| u.id),
                &usernames,
                &hashes,
                &active,
                &column(|u| u.date_joined),
                &last_login,
                &emails,
                &column(|u| u.tokens_valid_after),
            ],
        )
        .await
        .map_err(db_error)?;
    }
    for chunk in snapshot.issued.chunks(IMPORT_CHUNK) {
        let jtis: Vec<&str> = chunk.iter().map(|t| t.jti.as_str()).collect();
        let owners: Vec<Option<i64>> = chunk.iter().map(|t| t.user_id).collect();
        let issued_at: Vec<i64> = chunk.iter().map(|t| t.issued_at).collect();
        let expires_at: Vec<i64> = chunk.iter().map(|t| t.expires_at).collect();
        tx.execute(
            "INSERT INTO issued_tokens (jti, user_id, issued_at, expires_at)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])",
            &[&jtis, &owners, &issued_at, &expires_at],
        )
        .await
        .map_err(db_error)?;
    }
    for chunk in snapshot.blacklisted.chunks(IMPORT_CHUNK) {
        let jtis: Vec<&str> = chunk.iter().map(|b| b.jti.as_str()).collect();
        let at: Vec<i64> = chunk.iter().map(|b| b.blacklisted_at).collect();
        tx.execute(
            "INSERT INTO blacklisted_tokens (jti, blacklisted_at)
             SELECT * FROM unnest($1::text[], $2::bigint[])",
            &[&jtis, &at],
        )
        .await
        .map_err(db_error)?;
    }
    // Explicit ids leave the identity sequence where it was: move it past every id the
    // source ever handed out, so no new user gets a deleted user's id.
    let highest_id = Snapshot::high_water_mark(&snapshot.users, Some(snapshot.last_user_id));
    if highest_id > 0 {
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), $1)",
            &[&highest_id],
        )
        .await
        .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)
}
