//! The embedded default store: one SQLite file in WAL mode, through rusqlite.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool with a pooled connection,
//! never on an async worker. WAL lets readers run beside the single writer, and the CLI can work
//! on the file while a server runs. `synchronous = FULL` makes every commit durable before the
//! call returns, so an acknowledged blacklist entry survives `kill -9` and power loss.
//! Write transactions start `IMMEDIATE`, taking the write lock up front: that is what makes
//! rotation's check-and-insert atomic across connections and processes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use jwtd_store::{Blacklisting, Flushed, NewUser, Store, StoreError, TokenRecord, User, UserId};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_initial.sql")];

/// How long a statement waits for another writer (another request, or the CLI) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, and its directory.
    ///
    /// Migrations are not applied here; call [`Store::migrate`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let manager = SqliteConnectionManager::file(&path).with_init(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")
        });
        let pool = Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .connection_timeout(BUSY_TIMEOUT)
            .build(manager)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        Ok(SqliteStore { pool, path })
    }

    /// Parses a `sqlite://PATH` URL (`sqlite://jwtd-data/jwtd.db` is relative,
    /// `sqlite:///var/lib/jwtd/jwtd.db` absolute) into a path.
    pub fn path_from_url(url: &str) -> Option<PathBuf> {
        let rest = url.strip_prefix("sqlite://")?;
        (!rest.is_empty()).then(|| PathBuf::from(rest))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` with a pooled connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn: PooledConnection<SqliteConnectionManager> = pool
                .get()
                .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("store task failed: {e}")))?
    }
}

/// Maps rusqlite failures onto the store's three kinds of trouble.
fn db_error(err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::ConstraintViolation => StoreError::Conflict(err.to_string()),
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::ReadOnly
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::OutOfMemory
            | ErrorCode::PermissionDenied
            | ErrorCode::FileLockingProtocolFailed => StoreError::Unavailable(err.to_string()),
            _ => StoreError::Internal(err.to_string()),
        },
        _ => StoreError::Internal(err.to_string()),
    }
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        is_active: row.get(3)?,
        date_joined: row.get(4)?,
        last_login: row.get(5)?,
    })
}

const USER_COLUMNS: &str = "id, username, password_hash, is_active, date_joined, last_login";

/// Records an issued token unless it is already known (a token minted elsewhere is recorded
/// when first blacklisted, as simplejwt's `get_or_create` does).
fn insert_issued(conn: &Connection, token: &TokenRecord) -> rusqlite::Result<()> {
    // The owner is kept only if the user still exists, so a deleted user's token can still be
    // blacklisted.
    conn.execute(
        "INSERT INTO issued_tokens (jti, user_id, issued_at, expires_at)
         VALUES (?1, (SELECT id FROM users WHERE id = ?2), ?3, ?4)
         ON CONFLICT (jti) DO NOTHING",
        params![token.jti, token.user_id, token.issued_at, token.expires_at],
    )?;
    Ok(())
}

fn insert_blacklisted(conn: &Connection, jti: &str, at: i64) -> rusqlite::Result<Blacklisting> {
    let inserted = conn.execute(
        "INSERT INTO blacklisted_tokens (jti, blacklisted_at) VALUES (?1, ?2)
         ON CONFLICT (jti) DO NOTHING",
        params![jti, at],
    )?;
    Ok(if inserted == 1 {
        Blacklisting::Added
    } else {
        Blacklisting::AlreadyBlacklisted
    })
}

fn update_user(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<(), StoreError> {
    match conn.execute(sql, params).map_err(db_error)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
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
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn| {
            conn.query_row("SELECT count(*) FROM users", [], |_| Ok(()))
                .map_err(db_error)
        })
        .await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.run(move |conn| {
            let result = conn.execute(
                "INSERT INTO users (username, password_hash, is_active, date_joined)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    user.username,
                    user.password_hash,
                    user.is_active,
                    user.date_joined
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
                }),
                Err(e) => match db_error(e) {
                    StoreError::Conflict(_) => Err(StoreError::Conflict(format!(
                        "a user named {:?} already exists",
                        user.username
                    ))),
                    other => Err(other),
                },
            }
        })
        .await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let username = username.to_owned();
        self.run(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE username = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row([username], user_from_row).optional())
            .map_err(db_error)
        })
        .await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.run(move |conn| {
            conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
                .and_then(|mut stmt| stmt.query_row([id], user_from_row).optional())
                .map_err(db_error)
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
                .map_err(db_error)?;
            let rows = stmt.query_map([], user_from_row).map_err(db_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
        })
        .await
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        let (username, hash) = (username.to_owned(), password_hash.to_owned());
        self.run(move |conn| {
            update_user(
                conn,
                "UPDATE users SET password_hash = ?2 WHERE username = ?1",
                params![username, hash],
            )
        })
        .await
    }

    async fn set_active(&self, username: &str, is_active: bool) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.run(move |conn| {
            update_user(
                conn,
                "UPDATE users SET is_active = ?2 WHERE username = ?1",
                params![username, is_active],
            )
        })
        .await
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.run(move |conn| {
            update_user(
                conn,
                "DELETE FROM users WHERE username = ?1",
                params![username],
            )
        })
        .await
    }

    async fn record_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        self.run(move |conn| {
            conn.execute(
                "UPDATE users SET last_login = ?2 WHERE id = ?1",
                params![id, at],
            )
            .map(|_| ())
            .map_err(db_error)
        })
        .await
    }

    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let token = token.clone();
        self.run(move |conn| insert_issued(conn, &token).map_err(db_error))
            .await
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let jti = jti.to_owned();
        self.run(move |conn| {
            conn.prepare_cached("SELECT 1 FROM blacklisted_tokens WHERE jti = ?1")
                .and_then(|mut stmt| stmt.exists([jti]))
                .map_err(db_error)
        })
        .await
    }

    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError> {
        let token = token.clone();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            insert_issued(&tx, &token).map_err(db_error)?;
            let outcome = insert_blacklisted(&tx, &token.jti, at).map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(outcome)
        })
        .await
    }

    async fn rotate(
        &self,
        old: &TokenRecord,
        new: &TokenRecord,
        blacklist_old: bool,
        at: i64,
    ) -> Result<Blacklisting, StoreError> {
        let (old, new) = (old.clone(), new.clone());
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            if blacklist_old {
                insert_issued(&tx, &old).map_err(db_error)?;
                if insert_blacklisted(&tx, &old.jti, at).map_err(db_error)?
                    == Blacklisting::AlreadyBlacklisted
                {
                    // Dropping the transaction rolls it back: the loser writes nothing.
                    return Ok(Blacklisting::AlreadyBlacklisted);
                }
            }
            insert_issued(&tx, &new).map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(Blacklisting::Added)
        })
        .await
    }

    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError> {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let blacklisted = tx
                .execute(
                    "DELETE FROM blacklisted_tokens WHERE jti IN
                     (SELECT jti FROM issued_tokens WHERE expires_at <= ?1)",
                    [now],
                )
                .map_err(db_error)?;
            let issued = tx
                .execute("DELETE FROM issued_tokens WHERE expires_at <= ?1", [now])
                .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(Flushed {
                issued: issued as u64,
                blacklisted: blacklisted as u64,
            })
        })
        .await
    }
}
