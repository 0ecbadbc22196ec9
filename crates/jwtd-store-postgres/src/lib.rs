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
//! - Every write is committed (with the server's `synchronous_commit`) before the call returns.
//! - Migrations run in one transaction behind a transaction-level advisory lock, so instances
//!   that start together apply them once, and a failed migration leaves nothing behind.
//! - A call never waits longer than `connect_timeout` for a connection nor `query_timeout` for
//!   an answer: it fails with `Unavailable`, and the pool opens fresh connections once the
//!   server is back, so the store recovers by itself.

use std::error::Error as _;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use jwtd_store::{
    BlacklistEntry, Blacklisting, Flushed, NewUser, Snapshot, Store, StoreError, TokenRecord, User,
    UserId,
};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Config, IsolationLevel, NoTls, Row};
use tracing::instrument;

/// Schema migrations, applied in order; `jwtd_schema_migrations` records which ran.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_initial.sql")];

/// Key of the advisory lock that serializes migrations between instances ("jwtdmigr").
const MIGRATION_LOCK: i64 = 0x6a77_7464_6d69_6772;

/// Pool and timeout settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Most connections the pool holds (`database_pool_size`). Default 10.
    pub pool_size: usize,
    /// Longest wait for a connection, whether for a free slot or to open a new one
    /// (`database_connect_timeout`). Default 5 s.
    pub connect_timeout: Duration,
    /// Longest wait for the statements of one call once connected. A connection that overruns
    /// it is closed, never reused. Default 30 s.
    pub query_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 10,
            connect_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(30),
        }
    }
}

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

impl PostgresStore {
    /// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
    pub fn accepts_url(url: &str) -> bool {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    /// Sets up a pool for the database at `url`, a libpq-style URL or key/value string
    /// (`postgres://user:password@host:5432/dbname?options=-csearch_path%3Djwtd`).
    ///
    /// No connection is opened here: the first call opens one, so this succeeds while the
    /// server is down, and each call then fails with `Unavailable` until it is back. Migrations
    /// are not applied here; call [`Store::migrate`]. Fails with `Internal` for a URL that
    /// cannot be parsed or asks for TLS (`sslmode=require`), which this build does not speak.
    ///
    /// ```no_run
    /// use jwtd_store::Store;
    /// use jwtd_store_postgres::{PostgresOptions, PostgresStore};
    /// # async fn example() -> Result<(), jwtd_store::StoreError> {
    /// let store = PostgresStore::connect(
    ///     "postgres://jwtd@127.0.0.1:5432/jwtd",
    ///     PostgresOptions { pool_size: 16, ..PostgresOptions::default() },
    /// )?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Internal(format!("invalid PostgreSQL URL: {}", chain(&e))))?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(StoreError::Internal(
                "sslmode=require: this jwtd does not speak TLS to PostgreSQL; \
                 use sslmode=disable on a trusted network or a local TLS tunnel"
                    .to_owned(),
            ));
        }
        if options.pool_size == 0 {
            return Err(StoreError::Internal(
                "the PostgreSQL pool size must be at least 1".to_owned(),
            ));
        }
        config.connect_timeout(options.connect_timeout);
        // A peer that stops acknowledging (a cut network) fails the socket instead of letting a
        // request wait for TCP's own retransmission timeout, which is many minutes.
        config.tcp_user_timeout(options.connect_timeout);
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("jwtd");
        }
        let target = describe(&config);

        let manager = Manager::from_config(
            config,
            NoTls,
            // Fast: a broken connection is noticed (and dropped) by the call that uses it; a
            // test query before every checkout would add a round trip to every request.
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| StoreError::Internal(format!("cannot build the PostgreSQL pool: {e}")))?;
        Ok(PostgresStore {
            pool,
            options,
            target,
        })
    }

    /// The settings this store was built with.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// A pooled connection, within `connect_timeout` in all (waiting for a slot plus opening).
    async fn client(&self) -> Result<Object, StoreError> {
        let timeout = self.options.connect_timeout;
        match tokio::time::timeout(timeout, self.pool.get()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(pool_error(&self.target, e)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no connection to PostgreSQL at {} within {timeout:?}",
                self.target
            ))),
        }
    }

    /// Runs `work` on a pooled connection, within `query_timeout`.
    async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut Object) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client().await?;
        let timeout = self.options.query_timeout;
        let outcome = tokio::time::timeout(timeout, work(&mut client)).await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                // The abandoned statement may still be running or stuck in the network: close
                // the connection instead of queueing the next caller behind it. An open
                // transaction dies with it, so nothing half-done is committed.
                drop(Object::take(client));
                Err(StoreError::Unavailable(format!(
                    "PostgreSQL at {} did not answer within {timeout:?}",
                    self.target
                )))
            }
        }
    }
}

/// `user@host:port/dbname` of a config, for messages.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or_else(|| config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or("?"),
        hosts.join(","),
        config.get_dbname().unwrap_or("?")
    )
}

/// An error and its causes, `outer: inner: innermost` (tokio-postgres keeps the useful part,
/// such as the server's message or the OS error, in the cause).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Maps a pool failure: everything that keeps us from a connection means "try later", except a
/// misbuilt pool.
fn pool_error(target: &str, err: PoolError) -> StoreError {
    match err {
        PoolError::Timeout(_) => StoreError::Unavailable(format!(
            "no connection to PostgreSQL at {target}: timed out"
        )),
        PoolError::Backend(e) => StoreError::Unavailable(format!(
            "cannot connect to PostgreSQL at {target}: {}",
            chain(&e)
        )),
        PoolError::NoRuntimeSpecified => StoreError::Internal(chain(&err)),
        other => StoreError::Unavailable(format!(
            "cannot connect to PostgreSQL at {target}: {}",
            chain(&other)
        )),
    }
}

/// Maps failures of a statement onto the store's kinds of trouble.
fn db_error(err: tokio_postgres::Error) -> StoreError {
    let text = chain(&err);
    if let Some(db) = err.as_db_error() {
        let code = db.code().code();
        let transient = [
            "08",    // connection exception
            "53",    // insufficient resources: disk full, out of memory, too many connections
            "57P",   // the server is shutting down, crashed, or starting
            "57014", // statement cancelled (statement_timeout, pg_cancel_backend)
            "58",    // system error: I/O
            "40001", // serialization failure
            "40P01", // deadlock detected
            "55P03", // lock not available (lock_timeout)
            "25006", // read-only transaction: connected to a standby
        ];
        return if code == "23505" {
            StoreError::Conflict(text)
        } else if transient.iter().any(|prefix| code.starts_with(prefix)) {
            StoreError::Unavailable(text)
        } else {
            StoreError::Internal(text)
        };
    }
    let io = err
        .source()
        .is_some_and(|cause| cause.downcast_ref::<std::io::Error>().is_some());
    if err.is_closed() || io || text.starts_with("timeout") {
        StoreError::Unavailable(format!("PostgreSQL connection lost: {text}"))
    } else {
        StoreError::Internal(text)
    }
}

const USER_COLUMNS: &str = "id, username, password_hash, is_active, date_joined, last_login";

fn user_from_row(row: &Row) -> Result<User, StoreError> {
    let read = || -> Result<User, tokio_postgres::Error> {
        Ok(User {
            id: row.try_get(0)?,
            username: row.try_get(1)?,
            password_hash: row.try_get(2)?,
            is_active: row.try_get(3)?,
            date_joined: row.try_get(4)?,
            last_login: row.try_get(5)?,
        })
    };
    read().map_err(db_error)
}

/// Records an issued token unless it is already known (a token minted elsewhere is recorded
/// when first blacklisted, as simplejwt's `get_or_create` does).
async fn insert_issued(
    client: &impl GenericClient,
    token: &TokenRecord,
) -> Result<(), tokio_postgres::Error> {
    // The owner is kept only if the user still exists, so a deleted user's token can still be
    // blacklisted.
    let stmt = client
        .prepare_cached(
            "INSERT INTO issued_tokens (jti, user_id, issued_at, expires_at)
             VALUES ($1, (SELECT id FROM users WHERE id = $2), $3, $4)
             ON CONFLICT (jti) DO NOTHING",
        )
        .await?;
    client
        .execute(
            &stmt,
            &[
                &token.jti,
                &token.user_id,
                &token.issued_at,
                &token.expires_at,
            ],
        )
        .await?;
    Ok(())
}

/// Blacklists `jti`; `Added` only when this statement inserted the row. A concurrent insert of
/// the same key makes this one wait for that transaction, then insert nothing if it committed.
async fn insert_blacklisted(
    client: &impl GenericClient,
    jti: &str,
    at: i64,
) -> Result<Blacklisting, tokio_postgres::Error> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO blacklisted_tokens (jti, blacklisted_at) VALUES ($1, $2)
             ON CONFLICT (jti) DO NOTHING",
        )
        .await?;
    Ok(if client.execute(&stmt, &[&jti, &at]).await? == 1 {
        Blacklisting::Added
    } else {
        Blacklisting::AlreadyBlacklisted
    })
}

/// Runs an update of one user row; `NotFound` when it matched none.
async fn update_user(
    client: &Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<(), StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
    match client.execute(&stmt, params).await.map_err(db_error)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

#[async_trait]
impl Store for PostgresStore {
    #[instrument(skip_all)]
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run(async |client| {
            let tx = client.transaction().await.map_err(db_error)?;
            // Held until commit or rollback: a second instance starting at the same moment waits
            // here, then finds the migrations applied.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(db_error)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS jwtd_schema_migrations (
                     version    INTEGER     PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 )",
            )
            .await
            .map_err(db_error)?;
            let applied: i32 = tx
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM jwtd_schema_migrations",
                    &[],
                )
                .await
                .map_err(db_error)?
                .get(0);
            let applied = usize::try_from(applied).unwrap_or(0);
            if applied > MIGRATIONS.len() {
                return Err(StoreError::Internal(format!(
                    "database schema version {applied} is newer than this jwtd ({}); upgrade jwtd",
                    MIGRATIONS.len()
                )));
            }
            for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
                tx.batch_execute(sql).await.map_err(db_error)?;
                let version = i32::try_from(index + 1)
                    .map_err(|_| StoreError::Internal("too many migrations".to_owned()))?;
                tx.execute(
                    "INSERT INTO jwtd_schema_migrations (version) VALUES ($1)",
                    &[&version],
                )
                .await
                .map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)
        })
        .await
    }

    #[instrument(skip_all)]
    async fn ping(&self) -> Result<(), StoreError> {
        // Touches the schema (a missing table is an error) without scanning it.
        self.run(async |client| {
            client
                .query_opt("SELECT 1 FROM users LIMIT 1", &[])
                .await
                .map(drop)
                .map_err(db_error)
        })
        .await
    }

    #[instrument(skip_all)]
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.run(async move |client| {
            let stmt = client
                .prepare_cached(
                    "INSERT INTO users (username, password_hash, is_active, date_joined)
                     VALUES ($1, $2, $3, $4) RETURNING id",
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
                }),
                Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!(
                    "a user named {:?} already exists",
                    user.username
                ))),
                Err(other) => Err(other),
            }
        })
        .await
    }

    #[instrument(skip_all)]
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.run(async |client| {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
                ))
                .await
                .map_err(db_error)?;
            let row = client
                .query_opt(&stmt, &[&username])
                .await
                .map_err(db_error)?;
            row.as_ref().map(user_from_row).transpose()
        })
        .await
    }

    #[instrument(skip_all, fields(user_id = id))]
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.run(async |client| {
            let stmt = client
                .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .await
                .map_err(db_error)?;
            let row = client.query_opt(&stmt, &[&id]).await.map_err(db_error)?;
            row.as_ref().map(user_from_row).transpose()
        })
        .await
    }

    #[instrument(skip_all)]
    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.run(async |client| {
            let rows = client
                .query(
                    &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
                    &[],
                )
                .await
                .map_err(db_error)?;
            rows.iter().map(user_from_row).collect()
        })
        .await
    }

    #[instrument(skip_all)]
    async fn set_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        self.run(async |client| {
            update_user(
                client,
                "UPDATE users SET password_hash = $2 WHERE username = $1",
                &[&username, &password_hash],
            )
            .await
        })
        .await
    }

    #[instrument(skip_all)]
    async fn set_active(&self, username: &str, is_active: bool) -> Result<(), StoreError> {
        self.run(async |client| {
            update_user(
                client,
                "UPDATE users SET is_active = $2 WHERE username = $1",
                &[&username, &is_active],
            )
            .await
        })
        .await
    }

    #[instrument(skip_all)]
    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        self.run(async |client| {
            update_user(
                client,
                "DELETE FROM users WHERE username = $1",
                &[&username],
            )
            .await
        })
        .await
    }

    #[instrument(skip_all, fields(user_id = id))]
    async fn record_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        self.run(async |client| {
            let stmt = client
                .prepare_cached("UPDATE users SET last_login = $2 WHERE id = $1")
                .await
                .map_err(db_error)?;
            client
                .execute(&stmt, &[&id, &at])
                .await
                .map(drop)
                .map_err(db_error)
        })
        .await
    }

    #[instrument(skip_all)]
    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.run(async |client| insert_issued(&*client, token).await.map_err(db_error))
            .await
    }

    #[instrument(skip_all)]
    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        self.run(async |client| {
            let stmt = client
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM blacklisted_tokens WHERE jti = $1)")
                .await
                .map_err(db_error)?;
            let row = client.query_one(&stmt, &[&jti]).await.map_err(db_error)?;
            row.try_get(0).map_err(db_error)
        })
        .await
    }

    #[instrument(skip_all)]
    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError> {
        self.run(async |client| {
            let tx = client.transaction().await.map_err(db_error)?;
            insert_issued(&tx, token).await.map_err(db_error)?;
            let outcome = insert_blacklisted(&tx, &token.jti, at)
                .await
                .map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(outcome)
        })
        .await
    }

    #[instrument(skip_all)]
    async fn rotate(
        &self,
        old: &TokenRecord,
        new: &TokenRecord,
        blacklist_old: bool,
        at: i64,
    ) -> Result<Blacklisting, StoreError> {
        self.run(async |client| {
            let tx = client.transaction().await.map_err(db_error)?;
            if blacklist_old {
                insert_issued(&tx, old).await.map_err(db_error)?;
                if insert_blacklisted(&tx, &old.jti, at)
                    .await
                    .map_err(db_error)?
                    == Blacklisting::AlreadyBlacklisted
                {
                    // The loser writes nothing, not even the old token's row.
                    tx.rollback().await.map_err(db_error)?;
                    return Ok(Blacklisting::AlreadyBlacklisted);
                }
            }
            insert_issued(&tx, new).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(Blacklisting::Added)
        })
        .await
    }

    #[instrument(skip_all)]
    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError> {
        self.run(async |client| {
            let tx = client.transaction().await.map_err(db_error)?;
            let blacklisted = tx
                .execute(
                    "DELETE FROM blacklisted_tokens WHERE jti IN
                     (SELECT jti FROM issued_tokens WHERE expires_at <= $1)",
                    &[&now],
                )
                .await
                .map_err(db_error)?;
            let issued = tx
                .execute("DELETE FROM issued_tokens WHERE expires_at <= $1", &[&now])
                .await
                .map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(Flushed {
                issued,
                blacklisted,
            })
        })
        .await
    }

    // Export and import run without `query_timeout`: copying a large database is an operator's
    // one-off command, not a request, and may take longer than any request should.

    #[instrument(skip_all)]
    async fn export(&self) -> Result<Snapshot, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db_error)?;
        let users = tx
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
                &[],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()?;
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
                Ok(TokenRecord {
                    jti: row.try_get(0)?,
                    user_id: row.try_get(1)?,
                    issued_at: row.try_get(2)?,
                    expires_at: row.try_get(3)?,
                })
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
            .map(|row| {
                Ok(BlacklistEntry {
                    jti: row.try_get(0)?,
                    blacklisted_at: row.try_get(1)?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let highest_id = users.last().map_or(0, |user: &User| user.id);
        Ok(Snapshot {
            users,
            last_user_id: sequence.unwrap_or(0).max(highest_id),
            issued,
            blacklisted,
        })
    }

    #[instrument(skip_all)]
    async fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let mut client = self.client().await?;
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
            tx.execute(
                "INSERT INTO users (id, username, password_hash, is_active, date_joined, last_login)
                 OVERRIDING SYSTEM VALUE
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[],
                                      $5::bigint[], $6::bigint[])",
                &[
                    &column(|u| u.id),
                    &usernames,
                    &hashes,
                    &active,
                    &column(|u| u.date_joined),
                    &last_login,
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
        let highest_id = snapshot
            .users
            .iter()
            .map(|user| user.id)
            .max()
            .unwrap_or(0)
            .max(snapshot.last_user_id);
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
}

/// Rows per `INSERT .. SELECT unnest(..)` statement during an import.
const IMPORT_CHUNK: usize = 5_000;
