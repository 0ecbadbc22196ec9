//! Sessions: reuse detection on refresh-token families, the session caps, the introspection
//! endpoint's secret and the password rule of `/api/password/change/` (sessions.md).

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::sources::RawConfig;
use super::tokens::TokenConfig;
use super::values::invalid;

/// The shortest `introspection_token` accepted: it is a bearer secret, as strong as an HMAC key.
pub const MIN_INTROSPECTION_TOKEN_BYTES: usize = 32;

/// The session settings. The defaults keep simplejwt's behaviour.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// `refresh_token_reuse_detection`: a rotated refresh token presented again ends its session.
    pub reuse_detection: bool,
    /// `refresh_token_reuse_interval`: seconds after a rotation in which presenting the parent
    /// again is a retry (a fresh pair of the same session), not theft.
    pub reuse_interval: i64,
    /// `session_lifetime`: no refresh token of a session outlives its start by more than this.
    pub lifetime: Option<i64>,
    /// `session_idle_timeout`: a session not refreshed for this long is ended.
    pub idle_timeout: Option<i64>,
    /// `introspection_token`: the bearer secret of `/api/token/introspect/` (404 without one).
    pub introspection_token: Option<SecretString>,
    /// `password_min_length` (default 8): the shortest new password `/api/password/change/`
    /// takes.
    pub password_min_length: usize,
}

impl SessionConfig {
    /// Checks the session settings, taking them out of `raw`; reuse detection needs rotation
    /// and blacklisting (`tokens`), since a rotated token is recognised by its blacklist row.
    pub(super) fn from_raw(
        raw: &mut RawConfig,
        tokens: &TokenConfig,
    ) -> Result<SessionConfig, ConfigError> {
        let reuse_detection = raw.refresh_token_reuse_detection.take().unwrap_or(false);
        if reuse_detection && !(tokens.rotate_refresh_tokens && tokens.blacklist_after_rotation) {
            return Err(invalid(
                "refresh_token_reuse_detection",
                "needs rotate_refresh_tokens = true and blacklist_after_rotation = true".to_owned(),
            ));
        }
        let positive = |setting: &'static str, value: Option<i64>| match value {
            Some(0) => Err(invalid(
                setting,
                "must be longer than 0 s (unset it for no limit)".to_owned(),
            )),
            other => Ok(other),
        };
        let introspection_token = raw
            .introspection_token
            .take()
            .filter(|token| !token.expose_secret().is_empty());
        if let Some(token) = &introspection_token
            && token.expose_secret().len() < MIN_INTROSPECTION_TOKEN_BYTES
        {
            return Err(invalid(
                "introspection_token",
                format!(
                    "is shorter than {MIN_INTROSPECTION_TOKEN_BYTES} bytes; use e.g. \
                     `openssl rand -base64 32`"
                ),
            ));
        }
        let password_min_length = raw.password_min_length.take().unwrap_or(8);
        if password_min_length == 0 {
            return Err(invalid(
                "password_min_length",
                "must be at least 1".to_owned(),
            ));
        }
        Ok(SessionConfig {
            reuse_detection,
            reuse_interval: raw.refresh_token_reuse_interval.take().map_or(0, |s| s.0),
            lifetime: positive("session_lifetime", raw.session_lifetime.take().map(|s| s.0))?,
            idle_timeout: positive(
                "session_idle_timeout",
                raw.session_idle_timeout.take().map(|s| s.0),
            )?,
            introspection_token,
            password_min_length,
        })
    }
}
