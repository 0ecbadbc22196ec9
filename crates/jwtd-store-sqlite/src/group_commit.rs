//! Group commit: the request path's small writes (a rotation, a blacklisting, a recorded token or
//! login) that arrive while another write is committing share the next transaction, so that one
//! durable commit (`synchronous = FULL`: one WAL append and one fsync) answers all of them.
//! SQLite commits one transaction at a time, so without this a server under concurrent refreshes
//! does one fsync per refresh and waits for each in turn (BENCHMARKS.md).
//!
//! One thread per store, with its own connection, runs the batches: it takes every write queued
//! by the time the previous commit returned. (A turn per write on the blocking pool, with the
//! first to get the lock taking the queue, would make the same batches but wake a thread per
//! write, most of them to find the queue empty.)
//!
//! Each write runs in its own savepoint: a write that fails, or that decides to write nothing
//! (the losing rotation of a refresh token), is undone alone and the others stand. Writes in one
//! batch run one after another, so they see each other exactly as if each had its own
//! transaction. Nobody is answered before the commit's outcome is known: when it fails, or
//! SQLite rolls the whole transaction back (a full disk, an I/O error), every write of the batch
//! gets that error, since nothing of it was stored.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

use jwtd_store::StoreError;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::errors::db_error;

/// At most this many writes share one transaction, which bounds one commit's latency.
const MAX_BATCH: usize = 256;

/// Where writes wait for the writer thread.
pub(crate) type Queue = mpsc::UnboundedSender<Box<dyn Write>>;

/// One write waiting for, or running in, a batch.
pub(crate) trait Write: Send {
    /// Runs on the batch's transaction; returns whether to keep what it wrote.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's fate is known: `Ok` when it committed.
    fn answer(self: Box<Self>, batch: Result<(), &StoreError>);
}

/// A write and the channel its caller waits on.
pub(crate) struct Pending<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<(T, bool), StoreError> + Send + 'static,
{
    /// A write to queue, and where its answer will come: `work` returns its answer and whether
    /// to keep its writes.
    pub(crate) fn queue(work: F) -> (Box<dyn Write>, oneshot::Receiver<Result<T, StoreError>>) {
        let (reply, receiver) = oneshot::channel();
        let pending = Pending {
            work: Some(work),
            outcome: None,
            reply,
        };
        (Box::new(pending), receiver)
    }
}

impl<T, F> Write for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<(T, bool), StoreError> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let (outcome, keep) = match work(conn) {
            Ok((value, keep)) => (Ok(value), keep),
            Err(e) => (Err(e), false),
        };
        self.outcome = Some(outcome);
        keep
    }

    fn answer(self: Box<Self>, batch: Result<(), &StoreError>) {
        let result = match (batch, self.outcome) {
            // Its own failure says more than the batch's.
            (_, Some(Err(own))) => Err(own),
            (Err(batch), _) => Err(batch.clone()),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Ok(()), None) => Err(StoreError::Internal("a write was not run".to_owned())),
        };
        // The caller may have gone (a cancelled request); what was committed stays committed.
        let _ = self.reply.send(result);
    }
}

/// The writer thread's loop: waits for a write, takes every other one already queued (up to
/// [`MAX_BATCH`]), commits them together after this process's other writes (`turns`), and
/// again, until every [`Queue`] is dropped.
pub(crate) fn serve(
    mut queue: mpsc::UnboundedReceiver<Box<dyn Write>>,
    mut conn: Connection,
    turns: &Mutex<()>,
) {
    while let Some(first) = queue.blocking_recv() {
        let mut writes = vec![first];
        while writes.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(write) => writes.push(write),
                Err(_) => break,
            }
        }
        let _turn = turns.lock().unwrap_or_else(PoisonError::into_inner);
        // A write that panics is a bug; its batch is rolled back and its callers get an error
        // (their answer channels are dropped), but the thread keeps serving the rest.
        let _ = catch_unwind(AssertUnwindSafe(|| run_batch(&mut conn, writes)));
    }
}

/// Runs `writes` in one `IMMEDIATE` transaction on `conn`, then answers each.
pub(crate) fn run_batch(conn: &mut Connection, mut writes: Vec<Box<dyn Write>>) {
    let batch = run_all(conn, &mut writes);
    for write in writes {
        write.answer(batch.as_ref().map(|_| ()));
    }
}

fn run_all(conn: &mut Connection, writes: &mut [Box<dyn Write>]) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    // Savepoints by hand, with cached statements (rusqlite's `savepoint()` parses its SQL each
    // time). A panic drops `tx`, which rolls everything back.
    let statement = |sql: &str| -> Result<(), StoreError> {
        tx.prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute([]))
            .map(|_| ())
            .map_err(db_error)
    };
    for write in writes.iter_mut() {
        statement("SAVEPOINT batched_write")?;
        if !write.run(&tx) {
            statement("ROLLBACK TO batched_write")?;
        }
        // An undo or release that fails leaves the batch in doubt: none of it is kept.
        statement("RELEASE batched_write")?;
        if tx.is_autocommit() {
            // SQLite rolled the whole transaction back (SQLITE_FULL, SQLITE_IOERR, ...).
            return Err(StoreError::Unavailable(
                "the write transaction was rolled back by SQLite (disk full or I/O error)"
                    .to_owned(),
            ));
        }
    }
    tx.commit().map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE items (name TEXT PRIMARY KEY);
             CREATE TABLE owners (id INTEGER PRIMARY KEY);
             CREATE TABLE owned (owner INTEGER REFERENCES owners (id) DEFERRABLE INITIALLY DEFERRED);
             PRAGMA foreign_keys = ON;",
        )
        .unwrap();
        conn
    }

    fn insert(
        name: &'static str,
        keep: bool,
    ) -> impl FnOnce(&Connection) -> Result<(&'static str, bool), StoreError> + Send + 'static {
        move |conn| {
            conn.execute("INSERT INTO items (name) VALUES (?1)", [name])
                .map_err(db_error)?;
            Ok((name, keep))
        }
    }

    fn names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM items ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A write that fails or keeps nothing is undone alone; the others are committed and see
    /// the writes before them in the batch.
    #[test]
    fn each_write_stands_or_falls_alone() {
        let mut conn = connection();
        let (a, a_answer) = Pending::queue(insert("a", true));
        let (duplicate, duplicate_answer) = Pending::queue(insert("a", true));
        let (undone, undone_answer) = Pending::queue(insert("b", false));
        let (c, c_answer) = Pending::queue(insert("c", true));
        run_batch(&mut conn, vec![a, duplicate, undone, c]);

        assert_eq!(a_answer.blocking_recv().unwrap().unwrap(), "a");
        assert!(matches!(
            duplicate_answer.blocking_recv().unwrap(),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(undone_answer.blocking_recv().unwrap().unwrap(), "b");
        assert_eq!(c_answer.blocking_recv().unwrap().unwrap(), "c");
        assert_eq!(names(&conn), ["a", "c"]);
        assert!(conn.is_autocommit(), "the batch's transaction is over");
    }

    /// When the commit fails, no write of the batch is reported as stored, and none is.
    #[test]
    fn a_failed_commit_fails_every_write_of_the_batch() {
        let mut conn = connection();
        let (a, a_answer) = Pending::queue(insert("a", true));
        // Legal until COMMIT, where the deferred foreign key is checked and fails.
        let (dangling, dangling_answer) = Pending::queue(|conn: &Connection| {
            conn.execute("INSERT INTO owned (owner) VALUES (42)", [])
                .map_err(db_error)?;
            Ok(((), true))
        });
        run_batch(&mut conn, vec![a, dangling]);

        assert!(a_answer.blocking_recv().unwrap().is_err());
        assert!(dangling_answer.blocking_recv().unwrap().is_err());
        assert!(names(&conn).is_empty());
        assert!(conn.is_autocommit());
    }

    /// A batch that cannot start (another connection holds the write lock past the busy
    /// timeout) answers every write with that error and runs none of them.
    #[test]
    fn a_batch_that_cannot_begin_fails_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE items (name TEXT PRIMARY KEY)")
            .unwrap();
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.busy_timeout(std::time::Duration::from_millis(10))
            .unwrap();
        let (a, a_answer) = Pending::queue(insert("a", true));
        run_batch(&mut conn, vec![a]);
        assert!(matches!(
            a_answer.blocking_recv().unwrap(),
            Err(StoreError::Unavailable(_))
        ));
        holder.execute_batch("ROLLBACK").unwrap();
        assert!(names(&conn).is_empty());
    }

    /// The writer thread answers every write queued, in order, and stops when the queue's
    /// senders are gone.
    #[test]
    fn the_writer_serves_the_queue_until_it_is_closed() {
        let (queue, receiver) = mpsc::unbounded_channel();
        let mut answers = Vec::new();
        for name in ["a", "b", "c"] {
            let (write, answer) = Pending::queue(insert(name, true));
            queue.send(write).map_err(|_| ()).unwrap();
            answers.push(answer);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE items (name TEXT PRIMARY KEY)")
            .unwrap();
        drop(queue);
        serve(receiver, conn, &Mutex::new(()));
        for (answer, name) in answers.into_iter().zip(["a", "b", "c"]) {
            assert_eq!(answer.blocking_recv().unwrap().unwrap(), name);
        }
        assert_eq!(names(&Connection::open(&path).unwrap()), ["a", "b", "c"]);
    }
}
