//! One typed configuration: defaults, then an optional TOML file, then `JWTD_*` variables.
//!
//! simplejwt's settings keep their names (lower-case in TOML, `JWTD_` + upper-case in the
//! environment). Where a setting lives:
//! - [`sources`] declares every setting once (name, type, doc) and reads file and environment;
//! - [`values`] parses the forms values take (durations, numbers, lists, addresses);
//! - one module per area checks its settings into a validated struct: [`server`], [`logging`],
//!   [`store`], [`keys`], [`tokens`], [`auth`], [`throttling`], [`users`].
//!
//! A bad value stops start-up with one line naming the setting.

pub mod auth;
pub mod browser;
pub mod keys;
pub mod logging;
pub mod server;
pub mod sessions;
pub mod sources;
pub mod store;
pub mod throttling;
pub mod tokens;
pub mod users;
pub mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use auth::AuthConfig;
pub use browser::BrowserConfig;
pub use keys::{
    ExtraKey, ExtraSource, KeyConfig, KeySource, ManagedKeyConfig, write_new_private_file,
};
pub use logging::{LogConfig, LogFormat};
pub use server::{CorsOptions, Limits, ServerConfig, TlsFiles};
pub use sessions::SessionConfig;
pub use sources::{RawConfig, env_name, process_env};
pub use store::{DatabaseOptions, DatabaseUrl, StoreConfig};
pub use throttling::ThrottlingConfig;
pub use tokens::TokenConfig;
pub use users::{DatabaseSchema, UsersConfig};
pub use values::Seconds;

pub use crate::client::TrustedProxies;
pub use crate::throttle::Rate;

/// A configuration problem, phrased for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` / `JWTD_CONFIG` could not be read or parsed.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An environment variable could not be parsed.
    #[error("{var}: {reason}")]
    Env {
        /// The variable.
        var: String,
        /// What went wrong.
        reason: String,
    },
    /// A setting has an unusable value.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The setting, as its TOML key.
        setting: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// The validated configuration, one checked struct per area.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listening, TLS, limits, metrics address, proxies, CORS.
    pub server: ServerConfig,
    /// Log level and format.
    pub log: LogConfig,
    /// Database and data directory.
    pub store: StoreConfig,
    /// Algorithm and key sources.
    pub keys: KeyConfig,
    /// Token policy, rotation, blacklisting, last login.
    pub tokens: TokenConfig,
    /// Sessions: reuse detection, session caps, introspection, the password rule.
    pub sessions: SessionConfig,
    /// Browsers: the refresh cookie.
    pub browser: BrowserConfig,
    /// How protected endpoints authenticate callers.
    pub auth: AuthConfig,
    /// Login throttles and the hashing pool.
    pub throttling: ThrottlingConfig,
    /// Whose users: jwtd's schema or Django's, login field, hashers, token claims.
    pub users: UsersConfig,
}

/// Reads the configuration: defaults, then the TOML file at `file` (if any), then the
/// environment `vars`. Returns the config and warnings (unknown `JWTD_` variables) to log.
pub fn load(
    file: Option<&Path>,
    vars: &BTreeMap<String, String>,
) -> Result<(Config, Vec<String>), ConfigError> {
    let (raw, warnings) = sources::read(file, vars)?;
    Ok((Config::from_raw(raw)?, warnings))
}

impl Config {
    /// Validates raw settings into a [`Config`].
    pub fn from_raw(mut raw: RawConfig) -> Result<Config, ConfigError> {
        let server = ServerConfig::from_raw(&mut raw)?;
        let store = StoreConfig::from_raw(&mut raw)?;
        let keys = KeyConfig::from_raw(&mut raw, &store.data_dir)?;
        let tokens = TokenConfig::from_raw(&mut raw)?;
        let sessions = SessionConfig::from_raw(&mut raw, &tokens)?;
        let config = Config {
            server,
            log: LogConfig::from_raw(&mut raw)?,
            keys,
            store,
            tokens,
            sessions,
            browser: BrowserConfig::from_raw(&mut raw)?,
            auth: AuthConfig::from_raw(&mut raw)?,
            throttling: ThrottlingConfig::from_raw(&mut raw)?,
            users: UsersConfig::from_raw(&mut raw)?,
        };
        debug_assert!(
            raw.leftover().is_empty(),
            "settings no area checks: {:?}",
            raw.leftover()
        );
        Ok(config)
    }

    /// Loads the key set (see [`KeyConfig::load_set`]).
    pub fn load_keys(
        &self,
        on_generate: impl FnOnce(&Path),
    ) -> Result<jwtd_token::KeySet, ConfigError> {
        self.keys.load_set(on_generate)
    }

    /// Private key files that every user of the machine can read, and cookies sent without
    /// `Secure`, as warnings to log.
    pub fn exposed_key_files(&self) -> Vec<String> {
        let mut warnings = self.exposed_files();
        if self
            .browser
            .refresh_cookie
            .as_ref()
            .is_some_and(|cookie| !cookie.secure)
        {
            warnings.push(
                "refresh_cookie_secure = false: the refresh cookie is sent over plain HTTP too; \
                 for local development only"
                    .to_owned(),
            );
        }
        warnings
    }

    fn exposed_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        if let KeySource::File(path) = &self.keys.signing_key {
            files.push(("signing_key_file", path));
        }
        if let Some(tls) = &self.server.tls {
            files.push(("tls_key_file", &tls.key));
        }
        files
            .into_iter()
            .filter(|(_, path)| keys::world_readable(path))
            .map(|(setting, path)| {
                format!(
                    "{setting}: {} is readable by every user of this machine; \
                     restrict it (chmod 600 or 640)",
                    path.display()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
