//! Opening the database file, and the paths work takes to a connection: the blocking pool for
//! scans and the CLI's writes, the calling thread for point reads, the writer thread for the
//! request path's batched writes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jwtd_store::StoreError;
use r2d2::{ManageConnection, Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use crate::errors::open_error;
use crate::{SqliteStore, group_commit};

/// Connections per store: readers run beside the one writer (WAL).
const POOL_SIZE: u32 = 8;

/// How long a statement waits for another writer (another request, or the CLI) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The group-commit writer thread of a store and its queue.
///
/// When the last clone of the store goes, the queue closes and the drop waits for the thread
/// to commit what was already queued and close its connection: a dropped store is closed, as
/// with the pool's connections, so SQLite can tidy its `-wal` and `-shm` files at once.
pub(crate) struct WriterThread {
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

/// The busy handler on another program's file: waits for its lock in short steps, 0.1 ms for
/// the first 100 ms and then 5 ms, until [`BUSY_TIMEOUT`] in all.
///
/// SQLite's own `busy_timeout` sleeps 1, 2, 5, 10 ... up to 100 ms between tries. In Django's
/// default rollback journal a reader and a committing writer exclude each other, so under load
/// every commit and many reads meet a lock held for well under a millisecond, and those sleeps,
/// not the work, would set the pace (BENCHMARKS.md, "Django database mode"). jwtd's own file
/// needs none of this: it is in WAL, and its writers take turns in-process.
pub(crate) fn wait_for_lock(retries: i32) -> bool {
    const FINE_STEP: Duration = Duration::from_micros(100);
    const FINE_TRIES: u32 = 1000;
    const COARSE_STEP: Duration = Duration::from_millis(5);
    let retries = u32::try_from(retries).unwrap_or(0);
    let (waited, step) = if retries < FINE_TRIES {
        (FINE_STEP * retries, FINE_STEP)
    } else {
        (
            FINE_STEP * FINE_TRIES + COARSE_STEP * (retries - FINE_TRIES),
            COARSE_STEP,
        )
    };
    if waited >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(step);
    true
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, and its directory.
    ///
    /// Fails at once with `Unavailable` when the file cannot be opened or created (a read-only
    /// directory, say), naming the cause. A read-only file in a writable directory opens: reads
    /// work and writes answer `Unavailable` ("database is read-only").
    ///
    /// Migrations are not applied here; call [`Store::migrate`](jwtd_store::Store::migrate).
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
        SqliteStore::with_manager(path, manager)
    }

    /// Opens another program's database file, which must exist (Django's `db.sqlite3`): it is
    /// neither created nor switched to WAL (its journal mode is the owner's choice, and a
    /// change would outlive jwtd), and every statement waits up to the busy timeout for the
    /// owner's writes, as Django's own connections do.
    pub(crate) fn attach(path: &Path) -> Result<SqliteStore, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Unavailable(format!(
                "{}: no such database file; point database_url at the Django project's \
                 db.sqlite3 (jwtd never creates a Django database)",
                path.display()
            )));
        }
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(flags)
            .with_init(|conn| {
                conn.busy_handler(Some(wait_for_lock))?;
                // Django turns foreign keys on for every connection too.
                conn.pragma_update(None, "foreign_keys", "ON")
            });
        SqliteStore::with_manager(path.to_owned(), manager)
    }

    fn with_manager(
        path: PathBuf,
        manager: SqliteConnectionManager,
    ) -> Result<SqliteStore, StoreError> {
        // One connection first, by hand: when the file cannot be opened this fails now with the
        // real cause, where the pool would retry until its connection timeout and then report
        // only that it timed out.
        let writer_conn = manager.connect().map_err(|e| open_error(&path, e))?;
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            // A connection to a local file does not go stale the way a network connection
            // does; r2d2's check on every checkout (a `SELECT 1` prepared, run and finalized
            // each time) would cost a few per cent of an authenticated request.
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
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
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
    /// itself (an indexed lookup in SQLite's page cache), the largest single cost of an
    /// authenticated request (BENCHMARKS.md, "What limits the missed goals"). In WAL mode a
    /// reader never waits for the writer, so the async worker is held only for the read, as long
    /// as a token check; a page not yet in memory costs it one disk read.
    pub(crate) async fn read_now<T, F>(&self, work: F) -> Result<T, StoreError>
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
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.on_blocking_pool(Some(Arc::clone(&self.writer)), work)
            .await
    }

    /// Runs `work`, a small write of the request path, in the next group commit (see
    /// [`group_commit`]); `work` returns its answer and whether to keep what it wrote.
    pub(crate) async fn write_batched<T, F>(&self, work: F) -> Result<T, StoreError>
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

#[cfg(test)]
mod tests {
    use jwtd_store::{NewUser, Store};

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
                email: None,
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
