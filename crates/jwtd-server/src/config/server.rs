//! The listening server: address, TLS, limits and timeouts, `/metrics`, proxies and CORS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::ConfigError;
use super::sources::RawConfig;
use super::values::{address, at_least_one, duration, invalid};
use crate::client::TrustedProxies;

/// How jwtd listens and what it accepts.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `listen`.
    pub listen: SocketAddr,
    /// `tls_cert_file` and `tls_key_file`: serve HTTPS.
    pub tls: Option<TlsFiles>,
    /// `hsts_max_age` in seconds, sent when serving TLS (0 = none).
    pub hsts_max_age: u64,
    /// Limits and timeouts.
    pub limits: Limits,
    /// `metrics_listen`: a separate address for `/metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// `trusted_proxies`: proxies whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// `cors_allowed_origins` and `cors_allow_credentials`.
    pub cors: CorsOptions,
}

/// Certificate chain and private key (PEM files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// Limits that protect the server from slow, large or too many requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `max_body_bytes`.
    pub max_body_bytes: usize,
    /// `header_read_timeout`.
    pub header_read_timeout: Duration,
    /// `request_timeout`.
    pub request_timeout: Duration,
    /// `max_concurrent_requests`.
    pub max_concurrent_requests: usize,
    /// `shutdown_timeout`: grace period for requests in flight at shutdown.
    pub shutdown_timeout: Duration,
}

/// Cross-origin settings for browser clients.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorsOptions {
    /// Allowed origins; empty = CORS off; `*` = any origin.
    pub allowed_origins: Vec<String>,
    /// Allow credentials (cookies, HTTP auth) in cross-origin requests.
    pub allow_credentials: bool,
}

impl ServerConfig {
    /// Checks the server's settings, taking them out of `raw`.
    pub(super) fn from_raw(raw: &mut RawConfig) -> Result<ServerConfig, ConfigError> {
        let listen_text = raw
            .listen
            .take()
            .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
        let listen = address("listen", &listen_text, "127.0.0.1:8000")?;
        let tls = match (raw.tls_cert_file.take(), raw.tls_key_file.take()) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(invalid("tls_key_file", "is needed with tls_cert_file")),
            (None, Some(_)) => return Err(invalid("tls_cert_file", "is needed with tls_key_file")),
        };
        let metrics_listen = match raw.metrics_listen.take().filter(|m| !m.is_empty()) {
            None => None,
            Some(text) => Some(address("metrics_listen", &text, "127.0.0.1:9100")?),
        };
        let trusted_proxies =
            TrustedProxies::parse(&raw.trusted_proxies.take().unwrap_or_default())
                .map_err(|reason| invalid("trusted_proxies", reason))?;
        Ok(ServerConfig {
            listen,
            tls,
            hsts_max_age: u64::try_from(raw.hsts_max_age.take().map_or(31_536_000, |s| s.0))
                .unwrap_or(0),
            limits: Limits::from_raw(raw)?,
            metrics_listen,
            trusted_proxies,
            cors: CorsOptions::from_raw(raw)?,
        })
    }

    /// The `Strict-Transport-Security` value to send: only when serving TLS, unless turned off.
    pub fn hsts(&self) -> Option<String> {
        (self.tls.is_some() && self.hsts_max_age > 0)
            .then(|| format!("max-age={}", self.hsts_max_age))
    }

    /// Whether `/metrics` is served on the main listener (no `metrics_listen` of its own).
    pub fn metrics_on_main_listener(&self) -> bool {
        self.metrics_listen.is_none()
    }
}

impl Limits {
    fn from_raw(raw: &mut RawConfig) -> Result<Limits, ConfigError> {
        Ok(Limits {
            max_body_bytes: at_least_one(
                "max_body_bytes",
                raw.max_body_bytes.take(),
                crate::body::MAX_BODY_BYTES,
            )?,
            header_read_timeout: duration(
                "header_read_timeout",
                raw.header_read_timeout.take(),
                10,
                false,
            )?,
            request_timeout: duration("request_timeout", raw.request_timeout.take(), 30, false)?,
            max_concurrent_requests: at_least_one(
                "max_concurrent_requests",
                raw.max_concurrent_requests.take(),
                1024,
            )?,
            shutdown_timeout: duration("shutdown_timeout", raw.shutdown_timeout.take(), 30, true)?,
        })
    }
}

impl CorsOptions {
    fn from_raw(raw: &mut RawConfig) -> Result<CorsOptions, ConfigError> {
        let cors = CorsOptions {
            allowed_origins: raw.cors_allowed_origins.take().unwrap_or_default(),
            allow_credentials: raw.cors_allow_credentials.take().unwrap_or(false),
        };
        for origin in &cors.allowed_origins {
            let valid = origin == "*"
                || ((origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.ends_with('/')
                    && axum::http::HeaderValue::from_str(origin).is_ok());
            if !valid {
                return Err(invalid(
                    "cors_allowed_origins",
                    format!("{origin:?}: write origins as scheme://host[:port], or *"),
                ));
            }
        }
        if cors.allow_credentials && cors.allowed_origins.iter().any(|o| o == "*") {
            return Err(invalid(
                "cors_allow_credentials",
                "cannot be used with the origin *: list the origins",
            ));
        }
        Ok(cors)
    }
}
