//! The pool and its settings: parsing the URL, connecting with the timeouts that keep a call
//! from waiting on a server that is down or silent, and running a call's statements on a pooled
//! connection within `query_timeout`.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use jwtd_store::StoreError;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Config, NoTls};

use crate::PostgresStore;
use crate::errors::{chain, pool_error};

/// How much longer than `query_timeout` a call may take before the client gives up on the
/// server: the server's `statement_timeout` (= `query_timeout`) should have answered by then.
const CLIENT_TIMEOUT_GRACE: Duration = Duration::from_millis(250);

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
    /// are not applied here; call [`Store::migrate`](jwtd_store::Store::migrate). Fails with
    /// `Internal` for a URL that cannot be parsed or asks for TLS (`sslmode=require`), which
    /// this build does not speak.
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
        // The server ends a statement that runs past `query_timeout` itself (57014, answered
        // 503), so a statement waiting on a lock that another session holds is rolled back there,
        // deterministically, instead of committing once the lock is free after its caller was
        // told it failed. The client's own timeout ([`PostgresStore::run`]) is a little longer
        // and catches a server or network that does not answer at all.
        let statement_timeout =
            format!("-c statement_timeout={}", options.query_timeout.as_millis());
        let server_options = match config.get_options() {
            Some(given) if !given.trim().is_empty() => format!("{given} {statement_timeout}"),
            _ => statement_timeout,
        };
        config.options(&server_options);
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
    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
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
    pub(crate) async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut Object) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client().await?;
        let timeout = self.options.query_timeout + CLIENT_TIMEOUT_GRACE;
        let outcome = tokio::time::timeout(timeout, work(&mut client)).await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                // The abandoned statement may still be running, or waiting for a lock that
                // another session holds (a long Django transaction): cancel it on the server
                // first, or it would go on once the lock is free and, outside a transaction,
                // commit after the caller was told it failed. Then close the connection
                // instead of queueing the next caller behind it; an open transaction dies with
                // it, so nothing half-done is committed.
                let cancel = client.cancel_token();
                let _ =
                    tokio::time::timeout(self.options.connect_timeout, cancel.cancel_query(NoTls))
                        .await;
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
