//! What jwtd logs and in which form.

use super::ConfigError;
use super::sources::RawConfig;
use super::values::invalid;

/// Logging.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// `log_level`: a tracing filter such as `info` or `jwtd_server=debug`.
    pub level: String,
    /// `log_format`.
    pub format: LogFormat,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

impl LogConfig {
    /// Checks the logging settings, taking them out of `raw`.
    pub(super) fn from_raw(raw: &mut RawConfig) -> Result<LogConfig, ConfigError> {
        let format = match raw.log_format.take().as_deref().unwrap_or("pretty") {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log_format",
                    format!("{other:?}: use pretty or json"),
                ));
            }
        };
        Ok(LogConfig {
            level: raw.log_level.take().unwrap_or_else(|| "info".to_owned()),
            format,
        })
    }
}
