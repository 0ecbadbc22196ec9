//! Users in PostgreSQL: creating, looking up, listing, updating and deleting them, and stamping
//! a login.

use deadpool_postgres::{GenericClient, Object};
use jwtd_store::{NewUser, StoreError, User, UserId};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::errors::db_error;

/// The columns of a user row, in [`UserColumns`](jwtd_store::UserColumns) order, as a literal
/// to build statements with.
macro_rules! user_columns {
    () => {
        "id, username, password_hash, is_active, date_joined, last_login, email, tokens_valid_after, access_denied_until"
    };
}

/// Reads a user row selected with [`user_columns!`].
fn user(row: &Row) -> Result<User, StoreError> {
    let columns = || {
        Ok::<_, tokio_postgres::Error>((
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
            row.try_get(5)?,
            row.try_get(6)?,
            row.try_get(7)?,
            row.try_get(8)?,
        ))
    };
    columns().map(User::from).map_err(db_error)
}

/// Creates a user; `Conflict` naming the username when it is taken.
pub(crate) async fn create(client: &Object, user: NewUser) -> Result<User, StoreError> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO users (username, password_hash, is_active, date_joined, email)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .await
        .map_err(db_error)?;
    let inserted = client
        .query_one(
            &stmt,
            &[
                &user.username,
                &user.password_hash,
                &user.is_active,
                &user.date_joined,
                &user.email,
            ],
        )
        .await;
    match inserted.map_err(db_error) {
        Ok(row) => Ok(User {
            id: row.try_get(0).map_err(db_error)?,
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
        Err(StoreError::Conflict(reason)) if reason.contains("users_email_key") => {
            Err(StoreError::Conflict(format!(
                "a user with the email {:?} already exists",
                user.email.unwrap_or_default()
            )))
        }
        Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!(
            "a user named {:?} already exists",
            user.username
        ))),
        Err(other) => Err(other),
    }
}

/// The user named `username`.
pub(crate) async fn by_username(
    client: &Object,
    username: &str,
) -> Result<Option<User>, StoreError> {
    let sql = concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE username = $1"
    );
    one_user(client, sql, &[&username]).await
}

/// The user whose email is `email`.
pub(crate) async fn by_email(client: &Object, email: &str) -> Result<Option<User>, StoreError> {
    let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1");
    one_user(client, sql, &[&email]).await
}

/// The user with id `id`.
pub(crate) async fn by_id(client: &Object, id: UserId) -> Result<Option<User>, StoreError> {
    let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
    one_user(client, sql, &[&id]).await
}

/// Every user, by id.
pub(crate) async fn list(client: &impl GenericClient) -> Result<Vec<User>, StoreError> {
    let rows = client
        .query(
            concat!("SELECT ", user_columns!(), " FROM users ORDER BY id"),
            &[],
        )
        .await
        .map_err(db_error)?;
    rows.iter().map(user).collect()
}

/// Replaces the password hash of the user named `username`.
pub(crate) async fn set_password(
    client: &Object,
    username: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    update(
        client,
        "UPDATE users SET password_hash = $2 WHERE username = $1",
        &[&username, &password_hash],
    )
    .await
}

/// Activates or deactivates the user named `username`.
pub(crate) async fn set_active(
    client: &Object,
    username: &str,
    is_active: bool,
) -> Result<(), StoreError> {
    update(
        client,
        "UPDATE users SET is_active = $2 WHERE username = $1",
        &[&username, &is_active],
    )
    .await
}

/// Deletes the user named `username` (their tokens' owner is cleared by the schema).
pub(crate) async fn delete(client: &Object, username: &str) -> Result<(), StoreError> {
    update(
        client,
        "DELETE FROM users WHERE username = $1",
        &[&username],
    )
    .await
}

/// Stamps a successful login.
pub(crate) async fn record_login(client: &Object, id: UserId, at: i64) -> Result<(), StoreError> {
    let stmt = client
        .prepare_cached("UPDATE users SET last_login = $2 WHERE id = $1")
        .await
        .map_err(db_error)?;
    client
        .execute(&stmt, &[&id, &at])
        .await
        .map(drop)
        .map_err(db_error)
}

/// Runs a lookup of at most one user row, as a cached statement.
async fn one_user(
    client: &Object,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<User>, StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
    let row = client.query_opt(&stmt, params).await.map_err(db_error)?;
    row.as_ref().map(user).transpose()
}

/// Runs a change of one user row, as a cached statement; `NotFound` when it matched none.
async fn update(
    client: &Object,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<(), StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
    match client.execute(&stmt, params).await.map_err(db_error)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Replaces user `id`'s password hash only if it is still `old_hash` (an upgrade at login);
/// whether it was replaced.
pub(crate) async fn upgrade_password(
    client: &Object,
    id: UserId,
    old_hash: &str,
    new_hash: &str,
) -> Result<bool, StoreError> {
    let stmt = client
        .prepare_cached("UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2")
        .await
        .map_err(db_error)?;
    client
        .execute(&stmt, &[&id, &old_hash, &new_hash])
        .await
        .map(|rows| rows == 1)
        .map_err(db_error)
}
