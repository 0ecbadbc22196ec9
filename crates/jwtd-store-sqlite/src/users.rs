//! Users in SQLite: creating, looking up, listing, updating and deleting them, and stamping a
//! login.

use jwtd_store::{NewUser, StoreError, User, UserColumns, UserId};
use rusqlite::{Connection, OptionalExtension, params};

use crate::errors::db_error;

/// The columns of a user row, in [`UserColumns`] order, as a literal to build statements with.
macro_rules! user_columns {
    () => {
        "id, username, password_hash, is_active, date_joined, last_login, email, tokens_valid_after, access_denied_until"
    };
}

/// Reads a user row selected with [`user_columns!`].
fn user(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    UserColumns::try_from(row).map(User::from)
}

/// Creates a user; `Conflict` naming the username when it is taken.
pub(crate) fn create(conn: &Connection, user: NewUser) -> Result<User, StoreError> {
    let result = conn.execute(
        "INSERT INTO users (username, password_hash, is_active, date_joined, email)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            user.username,
            user.password_hash,
            user.is_active,
            user.date_joined,
            user.email
        ],
    );
    match result {
        Ok(_) => Ok(User {
            id: conn.last_insert_rowid(),
            username: user.username,
            password_hash: user.password_hash,
            is_active: user.is_active,
            date_joined: user.date_joined,
            last_login: None,
            id_claim: None,
            email: user.email,
            tokens_valid_after: 0,
            access_denied_until: 0,
        }),
        Err(e) => match db_error(e) {
            StoreError::Conflict(reason) if reason.contains("users.email") => {
                Err(StoreError::Conflict(format!(
                    "a user with the email {:?} already exists",
                    user.email.unwrap_or_default()
                )))
            }
            StoreError::Conflict(_) => Err(StoreError::Conflict(format!(
                "a user named {:?} already exists",
                user.username
            ))),
            other => Err(other),
        },
    }
}

/// A point read: the user named `username`.
pub(crate) fn by_username(conn: &Connection, username: &str) -> Result<Option<User>, StoreError> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE username = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row([username], user).optional())
    .map_err(db_error)
}

/// A point read: the user whose email is `email`.
pub(crate) fn by_email(conn: &Connection, email: &str) -> Result<Option<User>, StoreError> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE email = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row([email], user).optional())
    .map_err(db_error)
}

/// A point read: the user with id `id`.
pub(crate) fn by_id(conn: &Connection, id: UserId) -> Result<Option<User>, StoreError> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row([id], user).optional())
    .map_err(db_error)
}

/// Every user, by id.
pub(crate) fn list(conn: &Connection) -> Result<Vec<User>, StoreError> {
    list_rows(conn).map_err(db_error)
}

/// Every user, by id, with rusqlite's error (for a snapshot, which maps it once).
pub(crate) fn list_rows(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    conn.prepare(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users ORDER BY id"
    ))?
    .query_map([], user)?
    .collect()
}

/// Replaces the password hash of the user named `username`.
pub(crate) fn set_password(
    conn: &Connection,
    username: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    update(
        conn,
        "UPDATE users SET password_hash = ?2 WHERE username = ?1",
        params![username, password_hash],
    )
}

/// Activates or deactivates the user named `username`.
pub(crate) fn set_active(
    conn: &Connection,
    username: &str,
    is_active: bool,
) -> Result<(), StoreError> {
    update(
        conn,
        "UPDATE users SET is_active = ?2 WHERE username = ?1",
        params![username, is_active],
    )
}

/// Deletes the user named `username` (their tokens' owner is cleared by the schema).
pub(crate) fn delete(conn: &Connection, username: &str) -> Result<(), StoreError> {
    update(
        conn,
        "DELETE FROM users WHERE username = ?1",
        params![username],
    )
}

/// Stamps a successful login (a batched write).
pub(crate) fn record_login(conn: &Connection, id: UserId, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE users SET last_login = ?2 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![id, at]))
        .map(drop)
        .map_err(db_error)
}

/// Runs a change of one user row; `NotFound` when it matched none.
fn update(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
    match conn.execute(sql, params).map_err(db_error)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Replaces user `id`'s password hash only if it is still `old_hash` (an upgrade at login, a
/// batched write); whether it was replaced.
pub(crate) fn upgrade_password(
    conn: &Connection,
    id: UserId,
    old_hash: &str,
    new_hash: &str,
) -> Result<bool, StoreError> {
    conn.prepare_cached("UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2")
        .and_then(|mut stmt| stmt.execute(params![id, old_hash, new_hash]))
        .map(|rows| rows == 1)
        .map_err(db_error)
}
