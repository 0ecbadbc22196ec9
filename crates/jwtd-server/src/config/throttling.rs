//! Login throttling and the password-hashing pool: what bounds the work a login costs.

use super::ConfigError;
use super::sources::RawConfig;
use super::values::invalid;
use crate::throttle::Rate;

/// Login attempts allowed, and how many password hashes run at once.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlingConfig {
    /// `login_rate_per_address` (`None` = off).
    pub login_rate_per_address: Option<Rate>,
    /// `login_rate_per_username` (`None` = off).
    pub login_rate_per_username: Option<Rate>,
    /// `password_hash_concurrency`.
    pub password_hash_concurrency: usize,
}

impl ThrottlingConfig {
    /// Checks the throttling settings, taking them out of `raw`.
    pub(super) fn from_raw(raw: &mut RawConfig) -> Result<ThrottlingConfig, ConfigError> {
        let password_hash_concurrency = match raw.password_hash_concurrency.take() {
            Some(0) => return Err(invalid("password_hash_concurrency", "must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(2, |n| n.get()),
        };
        Ok(ThrottlingConfig {
            login_rate_per_address: rate(
                "login_rate_per_address",
                raw.login_rate_per_address.take(),
                "30/min",
            )?,
            login_rate_per_username: rate(
                "login_rate_per_username",
                raw.login_rate_per_username.take(),
                "10/min",
            )?,
            password_hash_concurrency,
        })
    }
}

fn rate(
    setting: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<Option<Rate>, ConfigError> {
    Rate::parse_setting(value.as_deref().unwrap_or(default))
        .map_err(|reason| invalid(setting, reason))
}
