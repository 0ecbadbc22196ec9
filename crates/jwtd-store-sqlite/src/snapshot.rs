//! A whole store in one snapshot, for `jwtd copy-store`: reading everything in one read
//! transaction, and writing a snapshot into an empty database with ids and times unchanged.

use jwtd_store::{
    BlacklistColumns, BlacklistEntry, Snapshot, StoreError, TokenColumns, TokenRecord,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::errors::db_error;
use crate::users;

/// Reads everything; a read transaction sees one state of the file, even while a server writes
/// (WAL).
pub(crate) fn export(conn: &mut Connection) -> Result<Snapshot, StoreError> {
    let tx = conn.transaction().map_err(db_error)?;
    let snapshot = read(&tx).map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    Ok(snapshot)
}

/// Writes `snapshot` in one `IMMEDIATE` transaction, unless the database holds users or tokens.
pub(crate) fn import(conn: &mut Connection, snapshot: &Snapshot) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let (users, tokens): (i64, i64) = tx
        .query_row(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM issued_tokens)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(db_error)?;
    if users + tokens > 0 {
        return Err(StoreError::not_empty(users, tokens));
    }
    write(&tx, snapshot).map_err(db_error)?;
    tx.commit().map_err(db_error)
}

fn read(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<Snapshot> {
    let users = users::list_rows(tx)?;
    // AUTOINCREMENT keeps the highest id ever used here, deleted users included.
    let sequence: Option<i64> = tx
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'users'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    let issued = tx
        .prepare("SELECT jti, user_id, issued_at, expires_at FROM issued_tokens ORDER BY jti")?
        .query_map([], |row| TokenColumns::try_from(row).map(TokenRecord::from))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let blacklisted = tx
        .prepare("SELECT jti, blacklisted_at FROM blacklisted_tokens ORDER BY jti")?
        .query_map([], |row| {
            BlacklistColumns::try_from(row).map(BlacklistEntry::from)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Snapshot {
        last_user_id: Snapshot::high_water_mark(&users, sequence),
        users,
        issued,
        blacklisted,
    })
}

fn write(tx: &rusqlite::Transaction<'_>, snapshot: &Snapshot) -> rusqlite::Result<()> {
    let mut insert_user = tx.prepare(
        "INSERT INTO users (id, username, password_hash, is_active, date_joined, last_login,
                            email, tokens_valid_after, access_denied_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
    )?;
    for user in &snapshot.users {
        insert_user.execute(params![
            user.id,
            user.username,
            user.password_hash,
            user.is_active,
            user.date_joined,
            user.last_login,
            user.email,
            user.tokens_valid_after
        ])?;
    }
    let mut insert_token = tx.prepare(
        "INSERT INTO issued_tokens (jti, user_id, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for token in &snapshot.issued {
        insert_token.execute(params![
            token.jti,
            token.user_id,
            token.issued_at,
            token.expires_at
        ])?;
    }
    let mut insert_blacklisted =
        tx.prepare("INSERT INTO blacklisted_tokens (jti, blacklisted_at) VALUES (?1, ?2)")?;
    for entry in &snapshot.blacklisted {
        insert_blacklisted.execute(params![entry.jti, entry.blacklisted_at])?;
    }
    // Explicit ids move the sequence to the highest copied id; the high-water mark of the
    // source may be higher (its newest users were deleted).
    if snapshot.last_user_id > 0 {
        let raised = tx.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'users'",
            [snapshot.last_user_id],
        )?;
        if raised == 0 {
            tx.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('users', ?1)",
                [snapshot.last_user_id],
            )?;
        }
    }
    Ok(())
}
