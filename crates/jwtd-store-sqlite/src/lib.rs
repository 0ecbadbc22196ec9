//! The embedded default store: one SQLite file in WAL mode, through rusqlite.
//!
//! rusqlite is synchronous, so scans, migrations and the CLI's writes run on tokio's blocking
//! pool with a pooled connection, and the request path's writes on the store's writer thread
//! (group commit, below). The three point reads of the request path (a user by id or name, a
//! blacklist check) run on the calling async worker when a connection is idle: each is an
//! indexed lookup that takes about as long as a token check, while a trip to the blocking pool
//! and back costs two thread wake-ups, the largest single cost of an authenticated request
//! (BENCHMARKS.md). WAL lets readers run beside the single writer, and the CLI can work
//! on the file while a server runs. `synchronous = FULL` makes every commit durable before the
//! call returns, so an acknowledged blacklist entry survives `kill -9` and power loss.
//! Write transactions start `IMMEDIATE`, taking the write lock up front: that is what makes
//! rotation's check-and-insert atomic across connections and processes.
//!
//! The request path's small writes (rotation, blacklisting, recording a token or a login) commit
//! in groups: those that arrive while a commit is under way share the next transaction, each in
//! its own savepoint, and every one is answered only after that transaction's commit
//! (`group_commit`).
//!
//! The writes of one process also take turns on an in-process lock before they touch the file.
//! SQLite has one writer at a time anyway, but a writer that finds the file locked waits in
//! SQLite's busy handler, which sleeps in steps of up to 100 ms rather than waking when the lock
//! is free: under 32 concurrent rotations that puts a tail of about a second on refreshes
//! (BENCHMARKS.md). Writers from other processes (the CLI) still meet the busy handler.
//!
//! This file holds the store and its [`Store`] implementation, which says on which path each
//! call runs; the statements are by concern in `users`, `tokens`, `keys` and `snapshot`, the
//! schema in `schema`, opening and the paths in `connection`, error mapping in `errors`.

mod connection;
mod django;
mod errors;
mod group_commit;
mod keys;
mod schema;
mod sessions;
mod snapshot;
mod tokens;
mod users;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jwtd_store::{
    AccessRecord, Blacklisting, Flushed, KeyChange, KeyUpdate, NewSession, NewUser, Rotation,
    RotationRequest, Session, SessionStep, Snapshot, Store, StoreError, StoredKey, TokenRecord,
    TokenState, User, UserId,
};
use r2d2::Pool;

pub use django::DjangoSqliteStore;
use r2d2_sqlite::SqliteConnectionManager;

/// A SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    path: PathBuf,
    /// Held by this process's write transactions, in turn (see the module docs).
    writer: Arc<Mutex<()>>,
    /// The thread that commits the request path's writes in groups.
    writer_thread: Arc<connection::WriterThread>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

/// A batched write's answer, and that what it wrote is kept.
fn kept<T>(answer: Result<T, StoreError>) -> Result<(T, bool), StoreError> {
    answer.map(|value| (value, true))
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.write(schema::migrate).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn| schema::ping(conn)).await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.write(move |conn| users::create(conn, user)).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let username = username.to_owned();
        self.read_now(move |conn| users::by_username(conn, &username))
            .await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read_now(move |conn| users::by_id(conn, id)).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let email = email.to_owned();
        self.read_now(move |conn| users::by_email(conn, &email))
            .await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.run(|conn| users::list(conn)).await
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        let (username, hash) = (username.to_owned(), password_hash.to_owned());
        self.write(move |conn| users::set_password(conn, &username, &hash))
            .await
    }

    async fn set_active(&self, username: &str, is_active: bool) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.write(move |conn| users::set_active(conn, &username, is_active))
            .await
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.write(move |conn| users::delete(conn, &username)).await
    }

    async fn record_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        self.write_batched(move |conn| kept(users::record_login(conn, id, at)))
            .await
    }

    async fn upgrade_password(
        &self,
        id: UserId,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let (old_hash, new_hash) = (old_hash.to_owned(), new_hash.to_owned());
        self.write_batched(move |conn| {
            kept(users::upgrade_password(conn, id, &old_hash, &new_hash))
        })
        .await
    }

    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let token = token.clone();
        self.write_batched(move |conn| kept(tokens::record_issued(conn, &token)))
            .await
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let jti = jti.to_owned();
        self.read_now(move |conn| tokens::is_blacklisted(conn, &jti))
            .await
    }

    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError> {
        let token = token.clone();
        self.write_batched(move |conn| kept(tokens::blacklist(conn, &token, at)))
            .await
    }

    async fn rotate(&self, request: RotationRequest) -> Result<Rotation, StoreError> {
        self.write_batched(move |conn| {
            let outcome = tokens::rotate(conn, &request)?;
            // The savepoint of a rotation that is not kept is rolled back: the loser writes
            // nothing.
            Ok((outcome, outcome.keeps_writes()))
        })
        .await
    }

    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError> {
        self.write(move |conn| tokens::flush_expired(conn, now))
            .await
    }

    async fn start_session(
        &self,
        session: &NewSession,
        refresh: &TokenRecord,
    ) -> Result<(), StoreError> {
        let (session, refresh) = (session.clone(), refresh.clone());
        self.write_batched(move |conn| kept(sessions::start(conn, &session, &refresh)))
            .await
    }

    async fn token_state(&self, jti: &str) -> Result<TokenState, StoreError> {
        let jti = jti.to_owned();
        self.read_now(move |conn| sessions::token_state(conn, &jti))
            .await
    }

    async fn touch_session(&self, step: &SessionStep) -> Result<bool, StoreError> {
        let step = step.clone();
        self.write_batched(move |conn| kept(sessions::touch(conn, &step)))
            .await
    }

    async fn sessions(&self, user: UserId, now: i64) -> Result<Vec<Session>, StoreError> {
        self.run(move |conn| sessions::list(conn, user, now)).await
    }

    async fn end_session(
        &self,
        id: &str,
        user: Option<UserId>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write_batched(move |conn| kept(sessions::end(conn, &id, user, at)))
            .await
    }

    async fn end_all_sessions(&self, user: UserId, at: i64) -> Result<u64, StoreError> {
        self.write_batched(move |conn| kept(sessions::end_all(conn, user, at)))
            .await
    }

    async fn change_password(
        &self,
        id: UserId,
        password_hash: &str,
        at: i64,
    ) -> Result<u64, StoreError> {
        let hash = password_hash.to_owned();
        self.write_batched(move |conn| kept(sessions::change_password(conn, id, &hash, at)))
            .await
    }

    async fn session_of_access(
        &self,
        jti: &str,
        user: UserId,
    ) -> Result<Option<String>, StoreError> {
        let jti = jti.to_owned();
        self.read_now(move |conn| sessions::of_access(conn, &jti, user))
            .await
    }

    async fn deny_access(&self, access: &AccessRecord, user: UserId) -> Result<(), StoreError> {
        let access = access.clone();
        self.write_batched(move |conn| kept(sessions::deny(conn, &access, user)))
            .await
    }

    async fn is_access_denied(&self, jti: &str) -> Result<bool, StoreError> {
        let jti = jti.to_owned();
        self.read_now(move |conn| sessions::is_denied(conn, &jti))
            .await
    }

    async fn export(&self) -> Result<Snapshot, StoreError> {
        self.run(snapshot::export).await
    }

    async fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let rows = snapshot.clone();
        self.write(move |conn| snapshot::import(conn, &rows)).await
    }

    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.run(|conn| keys::list(conn)).await
    }

    // Not batched: a key batch reads the set before it writes, and is rare (a rotation, the
    // CLI), so it takes its own `IMMEDIATE` transaction after this process's other writes.
    async fn update_keys(
        &self,
        expected_active: Option<&str>,
        changes: Vec<KeyChange>,
    ) -> Result<KeyUpdate, StoreError> {
        let expected_active = expected_active.map(str::to_owned);
        self.write(move |conn| keys::update(conn, expected_active.as_deref(), changes))
            .await
    }
}
