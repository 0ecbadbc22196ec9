//! The embedded default store: one SQLite file in WAL mode, through rusqlite.
//!
//! rusqlite is synchronous, so scans, migrations and the CLI's writes run on tokio's blocking
//! pool with a pooled connection, and the request path's writes on the store's writer thread
//! (group commit, below). The three point reads of the request path (a user by id or name, a
//! blacklist check) run on the calling async worker when a connection is idle: each is an
//! indexed lookup that takes about as long as a token check, where the trip to the blocking pool
//! and back cost two thread wake-ups and was the largest single cost of an authenticated request
//! (BENCHMARKS.md). WAL lets readers run beside the single writer, and the CLI can work
//! on the file while a server runs. `synchronous = FULL` makes every commit durable before the
//! call returns, so an acknowledged blacklist entry survives `kill -9` and power loss.
//! Write transactions start `IMMEDIATE`, taking the write lock up front: that is what makes
//! rotation's check-and-insert atomic across connections and processes.
//!
//! The request path's small writes (rotation, blacklisting, recording a token or a login) commit
//! in groups: those that arrive while a commit is under way share the next transaction, each in
//! its own savepoint, and every one is answered only after that transaction's commit
//! ([`group_commit`]).
//!
//! The writes of one process also take turns on an in-process lock before they touch the file.
//! SQLite has one writer at a time anyway, but a writer that finds the file locked waits in
//! SQLite's busy handler, which sleeps in steps of up to 100 ms rather than waking when the lock
//! is free: under 32 concurrent rotations that put a tail of about a second on refreshes
//! (BENCHMARKS.md). Writers from other processes (the CLI) still meet the busy handler.

mod group_commit;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use jwtd_store::{
    BlacklistEntry, Blacklisting, Flushed, NewUser, Snapshot, Store, StoreError, TokenRecord, User,
    UserId,
};
use r2d2::{ManageConnection, Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_initial.sql")];

/// Connections per store: readers run beside the one writer (WAL).
const POOL_SIZE: u32 = 8;

/// How long a statement waits for another writer (another request, or the CLI) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    path: PathBuf,
    /// Held by this process's write transactions, in turn (see the module docs).
    writer: Arc<Mutex<()>>,
    /// The thread that commits the request path's writes in groups.
    writer_thread: Arc<WriterThread>,
}

/// The group-commit writer thread of a store and its queue.
///
/// When the last clone of the store goes, the queue closes and the drop waits for the thread
/// to commit what was already queued and close its connection: a dropped store is closed, as
/// with the pool's connections, so SQLite can tidy its `-wal` and `-shm` files at once.
struct WriterThread {
    queue: Option<group_commit::Queue>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
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
    /// Fails at once with `Unavailable` when the file cannot be opened or created (a read-only
    /// directory, say), naming the cause. A read-only file in a writable directory opens: reads
    /// work and writes answer `Unavailable` ("database is read-only").
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
        // One connection first, by hand: when the file cannot be opened this fails now with the
        // real cause, where the pool would retry until its connection timeout and then report
        // only that it timed out.
        let writer_conn = manager.connect().map_err(|e| open_error(&path, e))?;
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            // A connection to a local file does not go stale the way a network connection
            // does; r2d2's check on every checkout (a `SELECT 1` prepared, run and finalized
            // each time) was a few per cent of an authenticated request.
            .test_on_check_out(false)
            .connection_timeout(BUSY_TIMEOUT)
            .build_unchecked(manager);
        let writer: Arc<Mutex<()>> = Arc::default();
        let (queue, receiver) = tokio::sync::mpsc::unbounded_channel();
        let turns = Arc::clone(&writer);
        let thread = std::thread::Builder::new()
            .name("jwtd-sqlite-writer".to_owned())
            .spawn(move || group_commit::serve(receiver, writer_conn, &turns))
            .map_err(|e| StoreError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            pool,
            path,
            writer,
            writer_thread: Arc::new(WriterThread {
                queue: Some(queue),
                thread: Some(thread),
            }),
        })
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

    /// Runs `work`, which only reads, with a pooled connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.on_blocking_pool(None, work).await
    }

    /// Runs `work`, a point read of one row by key, at once on the calling thread when a
    /// pooled connection is idle, else like [`run`](Self::run).
    ///
    /// Handing such a read to the blocking pool costs two thread wake-ups, several times the read
    /// itself (an indexed lookup in SQLite's page cache), and was the largest single cost of an
    /// authenticated request (BENCHMARKS.md, "What limits the missed goals"). In WAL mode a
    /// reader never waits for the writer, so the async worker is held only for the read, as long
    /// as a token check; a page not yet in memory costs it one disk read.
    async fn read_now<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        match self.pool.try_get() {
            Some(mut conn) => work(&mut conn),
            None => self.run(work).await,
        }
    }

    /// Runs `work`, which writes, after this process's other writes: the in-process lock is
    /// taken before a connection, so waiting writers hold no connection that readers need.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.on_blocking_pool(Some(Arc::clone(&self.writer)), work)
            .await
    }

    /// Runs `work`, a small write of the request path, in the next group commit (see
    /// [`group_commit`]); `work` returns its answer and whether to keep what it wrote.
    async fn write_batched<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool), StoreError> + Send + 'static,
    {
        let (write, answer) = group_commit::Pending::queue(work);
        self.writer_thread
            .queue
            .as_ref()
            .and_then(|queue| queue.send(write).ok())
            .ok_or_else(|| StoreError::Internal("the writer thread has stopped".to_owned()))?;
        answer.await.map_err(|_| {
            StoreError::Internal("a write was dropped before it was answered".to_owned())
        })?
    }

    async fn on_blocking_pool<T, F>(
        &self,
        writer: Option<Arc<Mutex<()>>>,
        work: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            // A poisoned lock only means a writer panicked; its transaction rolled back.
            let _turn = writer
                .as_deref()
                .map(|lock| lock.lock().unwrap_or_else(PoisonError::into_inner));
            let mut conn: PooledConnection<SqliteConnectionManager> = pool
                .get()
                .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("store task failed: {e}")))?
    }
}

/// Maps rusqlite failures onto the store's three kinds of trouble; the message of an
/// `Unavailable` starts with the cause in words an operator searches for.
fn db_error(err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::ConstraintViolation => StoreError::Conflict(err.to_string()),
            ErrorCode::ReadOnly => StoreError::Unavailable(format!("database is read-only: {err}")),
            ErrorCode::DiskFull => StoreError::Unavailable(format!("disk is full: {err}")),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::Unavailable(format!("database is busy: {err}"))
            }
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
                StoreError::Unavailable(format!("cannot open the database file: {err}"))
            }
            ErrorCode::SystemIoFailure
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed => {
                StoreError::Unavailable(format!("I/O error: {err}"))
            }
            _ => StoreError::Internal(err.to_string()),
        },
        _ => StoreError::Internal(err.to_string()),
    }
}

/// Explains a failed open. SQLite says only "unable to open database file" when it cannot make
/// its `-wal` and `-shm` files, so a directory that refuses a new file is named as the cause.
fn open_error(path: &Path, err: rusqlite::Error) -> StoreError {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".jwtd-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return StoreError::Unavailable(format!(
                "cannot open {}: database directory {} is read-only ({e}); SQLite must create \
                 its -wal and -shm files beside the database",
                path.display(),
                dir.display()
            ));
        }
        Err(_) => {}
    }
    match db_error(err) {
        StoreError::Unavailable(m) => {
            StoreError::Unavailable(format!("cannot open {}: {m}", path.display()))
        }
        other => other,
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
    conn.prepare_cached(
        "INSERT INTO issued_tokens (jti, user_id, issued_at, expires_at)
         VALUES (?1, (SELECT id FROM users WHERE id = ?2), ?3, ?4)
         ON CONFLICT (jti) DO NOTHING",
    )?
    .execute(params![
        token.jti,
        token.user_id,
        token.issued_at,
        token.expires_at
    ])?;
    Ok(())
}

fn insert_blacklisted(conn: &Connection, jti: &str, at: i64) -> rusqlite::Result<Blacklisting> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO blacklisted_tokens (jti, blacklisted_at) VALUES (?1, ?2)
             ON CONFLICT (jti) DO NOTHING",
        )?
        .execute(params![jti, at])?;
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
        self.write(|conn| {
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
        self.write(move |conn| {
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
        self.read_now(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE username = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row([username], user_from_row).optional())
            .map_err(db_error)
        })
        .await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read_now(move |conn| {
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
        self.write(move |conn| {
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
        self.write(move |conn| {
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
        self.write(move |conn| {
            update_user(
                conn,
                "DELETE FROM users WHERE username = ?1",
                params![username],
            )
        })
        .await
    }

    async fn record_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        self.write_batched(move |conn| {
            conn.prepare_cached("UPDATE users SET last_login = ?2 WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute(params![id, at]))
                .map(|_| ((), true))
                .map_err(db_error)
        })
        .await
    }

    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let token = token.clone();
        self.write_batched(move |conn| {
            insert_issued(conn, &token)
                .map(|()| ((), true))
                .map_err(db_error)
        })
        .await
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let jti = jti.to_owned();
        self.read_now(move |conn| {
            conn.prepare_cached("SELECT 1 FROM blacklisted_tokens WHERE jti = ?1")
                .and_then(|mut stmt| stmt.exists([jti]))
                .map_err(db_error)
        })
        .await
    }

    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError> {
        let token = token.clone();
        self.write_batched(move |conn| {
            insert_issued(conn, &token).map_err(db_error)?;
            let outcome = insert_blacklisted(conn, &token.jti, at).map_err(db_error)?;
            Ok((outcome, true))
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
        self.write_batched(move |conn| {
            if blacklist_old {
                insert_issued(conn, &old).map_err(db_error)?;
                if insert_blacklisted(conn, &old.jti, at).map_err(db_error)?
                    == Blacklisting::AlreadyBlacklisted
                {
                    // Its savepoint is rolled back: the loser writes nothing.
                    return Ok((Blacklisting::AlreadyBlacklisted, false));
                }
            }
            insert_issued(conn, &new).map_err(db_error)?;
            Ok((Blacklisting::Added, true))
        })
        .await
    }

    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError> {
        self.write(move |conn| {
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

    async fn export(&self) -> Result<Snapshot, StoreError> {
        self.run(|conn| {
            // A read transaction sees one state of the file, even while a server writes (WAL).
            let tx = conn.transaction().map_err(db_error)?;
            let snapshot = read_snapshot(&tx).map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(snapshot)
        })
        .await
    }

    async fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let snapshot = snapshot.clone();
        self.write(move |conn| {
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
            write_snapshot(&tx, &snapshot).map_err(db_error)?;
            tx.commit().map_err(db_error)
        })
        .await
    }
}

fn read_snapshot(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<Snapshot> {
    let users = tx
        .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?
        .query_map([], user_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
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
        .query_map([], |row| {
            Ok(TokenRecord {
                jti: row.get(0)?,
                user_id: row.get(1)?,
                issued_at: row.get(2)?,
                expires_at: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let blacklisted = tx
        .prepare("SELECT jti, blacklisted_at FROM blacklisted_tokens ORDER BY jti")?
        .query_map([], |row| {
            Ok(BlacklistEntry {
                jti: row.get(0)?,
                blacklisted_at: row.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let highest_id = users.last().map_or(0, |user| user.id);
    Ok(Snapshot {
        users,
        last_user_id: sequence.unwrap_or(0).max(highest_id),
        issued,
        blacklisted,
    })
}

fn write_snapshot(tx: &rusqlite::Transaction<'_>, snapshot: &Snapshot) -> rusqlite::Result<()> {
    let mut insert_user = tx.prepare(&format!(
        "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?;
    for user in &snapshot.users {
        insert_user.execute(params![
            user.id,
            user.username,
            user.password_hash,
            user.is_active,
            user.date_joined,
            user.last_login
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
    // Explicit ids already moved the sequence to the highest copied id; the high-water mark of
    // the source may be higher (its newest users were deleted).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A point read takes an idle connection at once; with every connection busy it waits on
    /// the blocking pool for one to come free (it does not fail), then answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn point_reads_wait_for_a_connection_when_all_are_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("jwtd.db")).unwrap();
        store.migrate().await.unwrap();
        let alice = store
            .create_user(NewUser {
                username: "alice".to_owned(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
                is_active: true,
                date_joined: 1_700_000_000,
            })
            .await
            .unwrap();
        assert_eq!(
            store.user_by_id(alice.id).await.unwrap(),
            Some(alice.clone())
        );

        let held: Vec<_> = (0..POOL_SIZE).map(|_| store.pool.get().unwrap()).collect();
        assert!(store.pool.try_get().is_none(), "every connection is taken");
        let reader = tokio::spawn({
            let store = store.clone();
            async move { store.user_by_id(alice.id).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !reader.is_finished(),
            "the read must wait for a free connection"
        );
        drop(held);
        assert_eq!(reader.await.unwrap().unwrap(), Some(alice));
    }
}
