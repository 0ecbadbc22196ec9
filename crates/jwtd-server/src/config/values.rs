//! How one written value becomes a typed one: durations, whole numbers, switches and lists,
//! as text in the environment or as TOML values, plus the small checks several settings share.
//!
//! Every function here is about the form of a value, not about what a setting means: the area
//! modules (`server`, `store`, `keys`, `tokens`, `auth`, `throttling`) decide that.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::ConfigError;

/// A setting has an unusable value: the error every area module reports.
pub fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

/// Whole seconds, written as a number (`300`) or with units (`5m`, `1h30m`, `1d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub i64);

impl Seconds {
    /// Parses `300`, `5m`, `1h30m`, `1d`, `2w`; refuses negative and unit-less garbage.
    pub fn parse(text: &str) -> Result<Seconds, String> {
        let text = text.trim();
        if let Ok(n) = text.parse::<i64>() {
            return if n >= 0 {
                Ok(Seconds(n))
            } else {
                Err(format!("negative duration {text:?}"))
            };
        }
        let bad = || {
            format!(
                "invalid duration {text:?} (use seconds, or units s, m, h, d, w: \"5m\", \"1d\")"
            )
        };
        let mut total: i64 = 0;
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(bad()),
            };
            let n: i64 = digits.parse().map_err(|_| bad())?;
            total = n
                .checked_mul(unit)
                .and_then(|s| total.checked_add(s))
                .ok_or_else(bad)?;
            digits.clear();
        }
        if !digits.is_empty() || text.is_empty() {
            return Err(bad());
        }
        Ok(Seconds(total))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) if n >= 0 => Ok(Seconds(n)),
            Raw::Int(n) => Err(serde::de::Error::custom(format!("negative duration {n}"))),
            Raw::Text(t) => Seconds::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// How a value is read from an environment variable.
pub trait FromEnv: Sized {
    /// Parses the variable's text.
    fn from_env(text: &str) -> Result<Self, String>;
}

impl FromEnv for String {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl FromEnv for SecretString {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(SecretString::from(text.to_owned()))
    }
}

impl FromEnv for PathBuf {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
}

impl FromEnv for bool {
    fn from_env(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(format!("expected true or false, got {text:?}")),
        }
    }
}

impl FromEnv for usize {
    fn from_env(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("expected a whole number, got {text:?}"))
    }
}

impl FromEnv for Seconds {
    fn from_env(text: &str) -> Result<Self, String> {
        Seconds::parse(text)
    }
}

impl FromEnv for Vec<super::sources::RawKey> {
    /// A JSON array of `[[keys]]` objects.
    fn from_env(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("expected a JSON array of keys: {e}"))
    }
}

impl FromEnv for Vec<String> {
    /// A comma-separated list.
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

/// A token lifetime in seconds: `default` when unset, never zero.
pub fn lifetime(
    setting: &'static str,
    value: Option<Seconds>,
    default: i64,
) -> Result<i64, ConfigError> {
    match value {
        None => Ok(default),
        Some(Seconds(0)) => Err(invalid(setting, "must be longer than zero")),
        Some(Seconds(s)) => Ok(s),
    }
}

/// A server timeout: `default` seconds when unset; zero only where `zero_ok` (it then means
/// "do not wait").
pub fn duration(
    setting: &'static str,
    value: Option<Seconds>,
    default: i64,
    zero_ok: bool,
) -> Result<Duration, ConfigError> {
    let s = value.map_or(default, |s| s.0);
    if s == 0 && !zero_ok {
        return Err(invalid(setting, "must be longer than zero"));
    }
    Ok(Duration::from_secs(u64::try_from(s).unwrap_or(0)))
}

/// A count that must be at least one: `default` when unset.
pub fn at_least_one(
    setting: &'static str,
    value: Option<usize>,
    default: usize,
) -> Result<usize, ConfigError> {
    match value {
        Some(0) => Err(invalid(setting, "must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

/// A socket address such as `127.0.0.1:8000`; `example` shows the expected form in the error.
pub fn address(
    setting: &'static str,
    text: &str,
    example: &str,
) -> Result<std::net::SocketAddr, ConfigError> {
    text.parse().map_err(|_| {
        invalid(
            setting,
            format!("{text:?} is not an address like {example}"),
        )
    })
}
