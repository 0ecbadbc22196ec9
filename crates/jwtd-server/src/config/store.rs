//! The store's settings: which database, its pool, and where generated files live.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::ExposeSecret;

use super::ConfigError;
use super::sources::RawConfig;
use super::values::{at_least_one, duration, invalid};

/// Where and how jwtd keeps its data.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `database_url`.
    pub database_url: DatabaseUrl,
    /// `database_pool_size` and `database_connect_timeout`.
    pub pool: DatabaseOptions,
    /// `data_dir`: generated files (the default secret).
    pub data_dir: PathBuf,
}

/// The database URL. Its `Debug` and `Display` hide the password a PostgreSQL URL may carry.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL given elsewhere than in the configuration (`jwtd copy-store --to`).
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL with its password, for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `url` with the value of a `password=` query parameter (libpq's alternative to `user:pass@`)
/// replaced.
fn without_query_password(url: &str) -> std::borrow::Cow<'_, str> {
    let Some(query_start) = url.find('?') else {
        return url.into();
    };
    let (base, query) = url.split_at(query_start + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=[redacted]"),
            _ => part.to_owned(),
        })
        .collect();
    format!("{base}{}", parts.join("&")).into()
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = &*without_query_password(&self.0);
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let userinfo = &url[scheme_end + 3..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => write!(
                        f,
                        "{}{user}:[redacted]{}",
                        &url[..scheme_end + 3],
                        &url[at..]
                    ),
                    None => f.write_str(url),
                }
            }
            _ => f.write_str(url),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Database pool settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// Connections in the pool.
    pub pool_size: usize,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
}

impl StoreConfig {
    /// Checks the store's settings, taking them out of `raw`.
    pub(super) fn from_raw(raw: &mut RawConfig) -> Result<StoreConfig, ConfigError> {
        let database_url = raw.database_url.take().map_or_else(
            || "sqlite://jwtd-data/jwtd.db".to_owned(),
            |url| url.expose_secret().to_owned(),
        );
        if !database_url.starts_with("sqlite://")
            && !database_url.starts_with("postgres://")
            && !database_url.starts_with("postgresql://")
        {
            return Err(invalid(
                "database_url",
                format!(
                    "{}: use sqlite://PATH or postgres://...",
                    DatabaseUrl(database_url)
                ),
            ));
        }
        let data_dir = raw.data_dir.take().unwrap_or_else(|| {
            let Some(path) = database_url.strip_prefix("sqlite://") else {
                return PathBuf::from("jwtd-data");
            };
            match Path::new(path).parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
                _ => PathBuf::from("."),
            }
        });
        let pool = DatabaseOptions {
            pool_size: at_least_one("database_pool_size", raw.database_pool_size.take(), 16)?,
            connect_timeout: duration(
                "database_connect_timeout",
                raw.database_connect_timeout.take(),
                5,
                false,
            )?,
        };
        Ok(StoreConfig {
            database_url: DatabaseUrl(database_url),
            pool,
            data_dir,
        })
    }
}
