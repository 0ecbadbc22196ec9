//! The store for several jwtd instances on one database: PostgreSQL through tokio-postgres, with
//! a deadpool pool.
//!
//! The driver was chosen by measuring the refresh-with-rotation path against sqlx (see the
//! "PostgreSQL driver choice" section of `BENCHMARKS.md` and `bench/pg-driver/`).
//!
//! What the instances share lives here, so every guarantee must hold across processes, not only
//! across the tasks of one:
//! - Rotation and blacklisting rely on `INSERT .. ON CONFLICT DO NOTHING` on the `jti` primary
//!   key. Under READ COMMITTED a second insert of the same key waits for the first transaction
//!   and then inserts nothing, so of concurrent rotations of one token exactly one sees a row
//!   inserted; the others roll back without writing.
//! - Ending a session is one `UPDATE .. WHERE ended_at IS NULL`: the row lock makes a second,
//!   concurrent call wait and then match nothing, so of two instances ending one session exactly
//!   one says it did. Every revocation (a session's end, logout-all, a password change) and every
//!   rotation takes its row locks in one order, the user, then sessions, then deny-list entries,
//!   then tokens (`sessions`), so they never deadlock one another.
//! - Login throttles are counted in `login_attempts` with one upsert per attempt, so every
//!   instance counts against the same window.
//! - A batch of signing-key changes locks the key table against other writers first, so of
//!   instances rotating at once exactly one batch meets the active key it expected (`keys`).
//! - Every write is committed (with the server's `synchronous_commit`) before the call returns.
//! - Migrations run in one transaction behind a transaction-level advisory lock, so instances
//!   that start together apply them once, and a failed migration leaves nothing behind.
//! - A call never waits longer than `connect_timeout` for a connection nor `query_timeout` for
//!   an answer: it fails with `Unavailable`, and the pool opens fresh connections once the
//!   server is back, so the store recovers by itself.
//!
//! This file holds the store and its [`Store`] implementation; the statements are by concern in
//! `users`, `tokens`, `sessions`, `keys` and `snapshot`, the schema in `schema`, the pool and its
//! timeouts in `connection`, error mapping in `errors`.

mod connection;
mod django;
mod errors;
mod keys;
mod schema;
mod sessions;
mod snapshot;
mod tokens;
mod users;

use async_trait::async_trait;
use deadpool_postgres::Pool;
use jwtd_store::{
    AccessRecord, Blacklisting, Flushed, KeyChange, KeyUpdate, NewSession, NewUser, Rotation,
    RotationRequest, Session, SessionStep, Snapshot, Store, StoreError, StoredKey, TokenRecord,
    TokenState, User, UserId,
};
use tracing::instrument;

pub use connection::PostgresOptions;
pub use django::DjangoPostgresStore;

/// A PostgreSQL-backed [`Store`]. Clones share one pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    options: PostgresOptions,
    /// `user@host:port/dbname`, for messages; never the password.
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("options", &self.options)
            .finish()
    }
}

#[async_trait]
impl Store for PostgresStore {
    #[instrument(skip_all)]
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run(schema::migrate).await
    }

    #[instrument(skip_all)]
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(async |client| schema::ping(client).await).await
    }

    #[instrument(skip_all)]
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.run(async move |client| users::create(client, user).await)
            .await
    }

    #[instrument(skip_all)]
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.run(async |client| users::by_username(client, username).await)
            .await
    }

    #[instrument(skip_all, fields(user_id = id))]
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.run(async |client| users::by_id(client, id).await)
            .await
    }

    #[instrument(skip_all)]
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.run(async |client| users::by_email(client, email).await)
            .await
    }

    #[instrument(skip_all)]
    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.run(async |client| users::list(&*client).await).await
    }

    #[instrument(skip_all)]
    async fn set_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        self.run(async |client| users::set_password(client, username, password_hash).await)
            .await
    }

    #[instrument(skip_all)]
    async fn set_active(&self, username: &str, is_active: bool) -> Result<(), StoreError> {
        self.run(async |client| users::set_active(client, username, is_active).await)
            .await
    }

    #[instrument(skip_all)]
    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        self.run(async |client| users::delete(client, username).await)
            .await
    }

    #[instrument(skip_all, fields(user_id = id))]
    async fn record_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        self.run(async |client| users::record_login(client, id, at).await)
            .await
    }

    #[instrument(skip_all)]
    async fn upgrade_password(
        &self,
        id: UserId,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        self.run(async |client| users::upgrade_password(client, id, old_hash, new_hash).await)
            .await
    }

    #[instrument(skip_all)]
    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.run(async |client| tokens::record_issued(client, token).await)
            .await
    }

    #[instrument(skip_all)]
    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        self.run(async |client| tokens::is_blacklisted(client, jti).await)
            .await
    }

    #[instrument(skip_all)]
    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError> {
        self.run(async |client| tokens::blacklist(client, token, at).await)
            .await
    }

    #[instrument(skip_all)]
    async fn rotate(&self, request: RotationRequest) -> Result<Rotation, StoreError> {
        self.run(async |client| tokens::rotate(client, &request).await)
            .await
    }

    #[instrument(skip_all)]
    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError> {
        self.run(async |client| tokens::flush_expired(client, now).await)
            .await
    }

    // Export and import run without `query_timeout`: copying a large database is an operator's
    // one-off command, not a request, and may take longer than any request should.

    #[instrument(skip_all)]
    async fn export(&self) -> Result<Snapshot, StoreError> {
        snapshot::export(&mut self.client().await?).await
    }

    #[instrument(skip_all)]
    async fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        snapshot::import(&mut self.client().await?, snapshot).await
    }

    #[instrument(skip_all, fields(user_id = session.session.user_id))]
    async fn start_session(
        &self,
        session: &NewSession,
        refresh: &TokenRecord,
    ) -> Result<(), StoreError> {
        self.run(async |client| sessions::start(client, session, refresh).await)
            .await
    }

    #[instrument(skip_all)]
    async fn token_state(&self, jti: &str) -> Result<TokenState, StoreError> {
        self.run(async |client| sessions::token_state(client, jti).await)
            .await
    }

    #[instrument(skip_all)]
    async fn touch_session(&self, step: &SessionStep) -> Result<bool, StoreError> {
        self.run(async |client| sessions::touch(client, step).await)
            .await
    }

    #[instrument(skip_all, fields(user_id = user))]
    async fn sessions(&self, user: UserId, now: i64) -> Result<Vec<Session>, StoreError> {
        self.run(async |client| sessions::list(client, user, now).await)
            .await
    }

    #[instrument(skip_all, fields(user_id = user))]
    async fn end_session(
        &self,
        id: &str,
        user: Option<UserId>,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.run(async |client| sessions::end(client, id, user, at).await)
            .await
    }

    #[instrument(skip_all, fields(user_id = user))]
    async fn end_all_sessions(&self, user: UserId, at: i64) -> Result<u64, StoreError> {
        self.run(async |client| sessions::end_all(client, user, at).await)
            .await
    }

    #[instrument(skip_all, fields(user_id = id))]
    async fn change_password(
        &self,
        id: UserId,
        password_hash: &str,
        at: i64,
    ) -> Result<u64, StoreError> {
        self.run(async |client| sessions::change_password(client, id, password_hash, at).await)
            .await
    }

    #[instrument(skip_all)]
    async fn session_of_access(
        &self,
        jti: &str,
        _user: UserId,
    ) -> Result<Option<String>, StoreError> {
        self.run(async |client| sessions::of_access(client, jti).await)
            .await
    }

    #[instrument(skip_all)]
    async fn deny_access(&self, access: &AccessRecord, user: UserId) -> Result<(), StoreError> {
        self.run(async |client| sessions::deny(client, access, user).await)
            .await
    }

    #[instrument(skip_all)]
    async fn is_access_denied(&self, jti: &str) -> Result<bool, StoreError> {
        self.run(async |client| sessions::is_denied(client, jti).await)
            .await
    }

    #[instrument(skip_all)]
    async fn count_attempt(&self, key: &str, window_start: i64) -> Result<Option<u64>, StoreError> {
        self.run(async |client| sessions::count_attempt(client, key, window_start).await)
            .await
            .map(Some)
    }

    #[instrument(skip_all)]
    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.run(async |client| keys::list(&*client).await).await
    }

    #[instrument(skip_all, fields(expected_active = ?expected_active))]
    async fn update_keys(
        &self,
        expected_active: Option<&str>,
        changes: Vec<KeyChange>,
    ) -> Result<KeyUpdate, StoreError> {
        self.run(async move |client| keys::update(client, expected_active, changes).await)
            .await
    }
}
