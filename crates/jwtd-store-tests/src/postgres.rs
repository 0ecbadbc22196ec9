//! A fresh PostgreSQL database per test, on the server named by `JWTD_TEST_DATABASE_URL`.
//!
//! Each [`TestDatabase`] creates `jwtd_test_<pid>_<n>_<nanos>` and drops it (forcing out any
//! connection left) when it goes out of scope, even when the test panics, so tests running in
//! parallel and runs repeated after a crash never see each other's rows, sequences or advisory
//! locks. Nothing is mocked: the database is a real one on the real server.
//!
//! When the variable is unset the PostgreSQL tests pass after one notice, so the suite runs
//! anywhere; CI sets `JWTD_REQUIRE_POSTGRES=1`, which makes a missing variable fail them. A set
//! variable pointing at a server that does not answer always fails them.

use std::io::Write as _;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::{Client, Config, NoTls};

/// The server to test against: a `postgres://` URL whose user may create databases, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const URL_VAR: &str = "JWTD_TEST_DATABASE_URL";

/// Set to `1` to make the PostgreSQL tests fail, not pass with a notice, without a server.
pub const REQUIRE_VAR: &str = "JWTD_REQUIRE_POSTGRES";

/// Whether `JWTD_REQUIRE_POSTGRES` demands the PostgreSQL tests.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// A database created for one test and dropped after it.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a fresh, empty database on the configured server.
    ///
    /// Returns `None`, after printing a notice once per test binary, when `JWTD_TEST_DATABASE_URL`
    /// is unset and `JWTD_REQUIRE_POSTGRES` is not. Panics when the variable is required but
    /// missing, or set but the server cannot be reached or refuses to create the database.
    pub async fn create() -> Option<TestDatabase> {
        let admin_url = match std::env::var(URL_VAR) {
            Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ if required() => panic!(
                "{REQUIRE_VAR}=1 but {URL_VAR} is not set: the PostgreSQL tests need a server \
                 (e.g. {URL_VAR}=postgres://postgres@127.0.0.1:5432/test)"
            ),
            _ => {
                notice_once();
                return None;
            }
        };
        let name = unique_name();
        let url = with_dbname(&admin_url, &name);
        let admin = connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("{URL_VAR} is set but PostgreSQL cannot be reached through it: {e}")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {}", chain(&e)));
        Some(TestDatabase {
            admin_url,
            name,
            url,
        })
    }

    /// The URL of this test's database (the configured one with the database name replaced).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A plain connection to this database, beside any store, for checks on raw rows.
    pub async fn client(&self) -> Client {
        connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived thread
        // with its own runtime does the cleanup and is waited for, so the database is gone
        // before the test ends.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = connect(&admin_url).await?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| chain(&e))
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}

/// Connects with a short timeout and drives the connection on a task.
async fn connect(url: &str) -> Result<Client, String> {
    let mut config: Config = url.parse().map_err(|e| chain(&e))?;
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(NoTls).await.map_err(|e| chain(&e))?;
    tokio::spawn(connection);
    Ok(client)
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn unique_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "jwtd_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with its database name replaced; the query string (options) is kept.
///
/// # Panics
///
/// When `url` is not a `postgres://` or `postgresql://` URL.
pub fn with_dbname(url: &str, dbname: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "postgres" | "postgresql"))
        .unwrap_or_else(|| panic!("{URL_VAR} must be a postgres:// URL"));
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{dbname}?{query}"),
        None => format!("{scheme}://{authority}/{dbname}"),
    }
}

/// Says once, outside the test harness's output capture, why the PostgreSQL tests did nothing.
fn notice_once() {
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE: {URL_VAR} is not set, so the PostgreSQL store tests pass without running. \
             Run them with {URL_VAR}=postgres://postgres@127.0.0.1:5432/test \
             (and {REQUIRE_VAR}=1 to fail instead when it is missing)."
        );
    });
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn replaces_the_database_and_keeps_the_rest() {
        assert_eq!(
            with_dbname("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_dbname("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_dbname("postgres://h:1", "x"), "postgres://h:1/x");
        assert_eq!(with_dbname("postgres://h?a=b", "x"), "postgres://h/x?a=b");
    }
}
