//! One typed configuration: defaults, then an optional TOML file, then `JWTD_*` variables.
//!
//! simplejwt's settings keep their names (lower-case in TOML, `JWTD_` + upper-case in the
//! environment). The raw layer only parses; [`Config::from_raw`] validates into checked types,
//! so a bad value stops start-up with one line naming the setting.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jwtd_token::{Algorithm, ClaimNames, Policy, TokenType};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

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

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

/// Whole seconds, written as a number (`300`) or with units (`5m`, `1h30m`, `1d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub i64);

impl Seconds {
    fn parse(text: &str) -> Result<Seconds, String> {
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
trait FromEnv: Sized {
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

/// Declares every setting once: the raw struct, its environment reader and its merge.
macro_rules! settings {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty ),* $(,)?) => {
        /// Configuration as written, before validation. Every field is optional.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct RawConfig {
            $( $(#[$doc])* pub $name: Option<$ty>, )*
        }

        impl RawConfig {
            /// Every TOML key.
            pub const KEYS: &'static [&'static str] = &[$(stringify!($name)),*];

            fn from_env(vars: &BTreeMap<String, String>) -> Result<RawConfig, ConfigError> {
                let mut raw = RawConfig::default();
                $(
                    let var = env_name(stringify!($name));
                    if let Some(text) = vars.get(&var) {
                        raw.$name = Some(<$ty as FromEnv>::from_env(text)
                            .map_err(|reason| ConfigError::Env { var, reason })?);
                    }
                )*
                Ok(raw)
            }

            /// `top`'s values win over `self`'s.
            fn overlay(self, top: RawConfig) -> RawConfig {
                RawConfig { $( $name: top.$name.or(self.$name), )* }
            }
        }
    };
}

settings! {
    /// Address to listen on (`127.0.0.1:8000`).
    listen: String,
    /// `sqlite://PATH` (default `sqlite://jwtd-data/jwtd.db`) or `postgres://...` (which may
    /// hold a password, hence secret).
    database_url: SecretString,
    /// Connections in the database pool (default 16).
    database_pool_size: usize,
    /// How long to wait for a database connection before answering 503 (default 5 s).
    database_connect_timeout: Seconds,
    /// Where jwtd keeps generated files such as the default secret (default: the SQLite
    /// file's directory).
    data_dir: PathBuf,
    /// simplejwt `ALGORITHM`.
    algorithm: String,
    /// simplejwt `SIGNING_KEY`: an HMAC secret, or PEM private key text.
    signing_key: SecretString,
    /// A file holding `signing_key`.
    signing_key_file: PathBuf,
    /// simplejwt `VERIFYING_KEY`: PEM public key text (derived from the private key if unset).
    verifying_key: String,
    /// A file holding `verifying_key`.
    verifying_key_file: PathBuf,
    /// simplejwt `ACCESS_TOKEN_LIFETIME`.
    access_token_lifetime: Seconds,
    /// simplejwt `REFRESH_TOKEN_LIFETIME`.
    refresh_token_lifetime: Seconds,
    /// simplejwt `SLIDING_TOKEN_LIFETIME`.
    sliding_token_lifetime: Seconds,
    /// simplejwt `SLIDING_TOKEN_REFRESH_LIFETIME`.
    sliding_token_refresh_lifetime: Seconds,
    /// simplejwt `ROTATE_REFRESH_TOKENS`.
    rotate_refresh_tokens: bool,
    /// simplejwt `BLACKLIST_AFTER_ROTATION`.
    blacklist_after_rotation: bool,
    /// simplejwt `UPDATE_LAST_LOGIN`.
    update_last_login: bool,
    /// simplejwt `AUDIENCE`.
    audience: String,
    /// simplejwt `ISSUER`.
    issuer: String,
    /// simplejwt `LEEWAY`.
    leeway: Seconds,
    /// simplejwt `AUTH_HEADER_TYPES`.
    auth_header_types: Vec<String>,
    /// simplejwt `AUTH_HEADER_NAME` (Django's `HTTP_AUTHORIZATION` form, or a header name).
    auth_header_name: String,
    /// simplejwt `USER_ID_CLAIM`.
    user_id_claim: String,
    /// simplejwt `TOKEN_TYPE_CLAIM`.
    token_type_claim: String,
    /// simplejwt `JTI_CLAIM`.
    jti_claim: String,
    /// simplejwt `SLIDING_TOKEN_REFRESH_EXP_CLAIM`.
    sliding_token_refresh_exp_claim: String,
    /// simplejwt `AUTH_TOKEN_CLASSES`: `AccessToken` and/or `SlidingToken`.
    auth_token_classes: Vec<String>,
    /// simplejwt `CHECK_USER_IS_ACTIVE`.
    check_user_is_active: bool,
    /// How many password hashes may run at once (default: the number of CPUs).
    password_hash_concurrency: usize,
    /// Log filter, e.g. `info` or `jwtd_server=debug`.
    log_level: String,
    /// `pretty` or `json`.
    log_format: String,
    /// PEM certificate chain: serve HTTPS (HTTP/1.1 and HTTP/2 by ALPN).
    tls_cert_file: PathBuf,
    /// PEM private key for `tls_cert_file`.
    tls_key_file: PathBuf,
    /// `Strict-Transport-Security` max-age when serving TLS (default 1 year; 0 = no header).
    hsts_max_age: Seconds,
    /// How long requests in flight may take to finish after SIGTERM (default 30 s).
    shutdown_timeout: Seconds,
    /// Largest request body (default 65536 bytes); larger gets 413.
    max_body_bytes: usize,
    /// Time a client has to send a request's headers (default 10 s).
    header_read_timeout: Seconds,
    /// Time a request may take before it is answered 503 (default 30 s).
    request_timeout: Seconds,
    /// Requests served at once; more are answered 503 with `Retry-After` (default 1024).
    max_concurrent_requests: usize,
    /// Serve `/metrics` on this address instead of the main listener.
    metrics_listen: String,
    /// Login attempts per client address: `N/s`, `N/min`, `N/h` or `off` (default `30/min`).
    login_rate_per_address: String,
    /// Login attempts per username (default `10/min`).
    login_rate_per_username: String,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` is believed (addresses or networks).
    trusted_proxies: Vec<String>,
    /// Origins allowed by CORS (`https://app.example.com`, or `*`); none by default.
    cors_allowed_origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true` (default false).
    cors_allow_credentials: bool,
}

/// `JWTD_` + the upper-case key.
pub fn env_name(key: &str) -> String {
    format!("JWTD_{}", key.to_ascii_uppercase())
}

/// `JWTD_*` variables that are not settings but are still jwtd's own.
const OTHER_JWTD_VARS: &[&str] = &["JWTD_CONFIG", "JWTD_COPY_TO", "JWTD_TEST_DATABASE_URL"];

/// Where the signing key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// Written in the configuration.
    Inline(SecretString),
    /// Read from a file.
    File(PathBuf),
    /// Not configured: an HMAC secret generated once in the data directory.
    Generated(PathBuf),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Inline(_) => f.write_str("Inline([redacted])"),
            KeySource::File(path) => f.debug_tuple("File").field(path).finish(),
            KeySource::Generated(path) => f.debug_tuple("Generated").field(path).finish(),
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listening address.
    pub listen: SocketAddr,
    /// Database URL.
    pub database_url: DatabaseUrl,
    /// Directory for generated files.
    pub data_dir: PathBuf,
    /// The signing algorithm.
    pub algorithm: Algorithm,
    /// Signing key source.
    pub signing_key: KeySource,
    /// Verifying key source (PEM public key), if any.
    pub verifying_key: Option<KeySource>,
    /// Token lifetimes and checks.
    pub policy: Policy,
    /// `ROTATE_REFRESH_TOKENS`.
    pub rotate_refresh_tokens: bool,
    /// `BLACKLIST_AFTER_ROTATION`.
    pub blacklist_after_rotation: bool,
    /// `UPDATE_LAST_LOGIN`.
    pub update_last_login: bool,
    /// `CHECK_USER_IS_ACTIVE`.
    pub check_user_is_active: bool,
    /// Accepted `Authorization` schemes (matched case-insensitively).
    pub auth_header_types: Vec<String>,
    /// The header carrying the token.
    pub auth_header_name: axum::http::HeaderName,
    /// Token types accepted on protected endpoints, in order.
    pub auth_token_types: Vec<TokenType>,
    /// Concurrent password hashes.
    pub password_hash_concurrency: usize,
    /// Log filter.
    pub log_level: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Database pool settings.
    pub database: DatabaseOptions,
    /// HTTPS certificate and key files.
    pub tls: Option<TlsFiles>,
    /// `Strict-Transport-Security` max-age in seconds when serving TLS (0 = none).
    pub hsts_max_age: u64,
    /// Server limits and timeouts.
    pub limits: Limits,
    /// Separate address for `/metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// Login attempts allowed per client address (`None` = off).
    pub login_rate_per_address: Option<Rate>,
    /// Login attempts allowed per username (`None` = off).
    pub login_rate_per_username: Option<Rate>,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// CORS settings.
    pub cors: CorsOptions,
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

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = &self.0;
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
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Time allowed for a request's headers.
    pub header_read_timeout: Duration,
    /// Time allowed for a whole request.
    pub request_timeout: Duration,
    /// Requests served at once.
    pub max_concurrent_requests: usize,
    /// Grace period for requests in flight at shutdown.
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

/// Reads the configuration: defaults, then the TOML file at `file` (if any), then the
/// environment `vars`. Returns the config and warnings (unknown `JWTD_` variables) to log.
pub fn load(
    file: Option<&Path>,
    vars: &BTreeMap<String, String>,
) -> Result<(Config, Vec<String>), ConfigError> {
    let from_file = match file {
        None => RawConfig::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            toml::from_str(&text).map_err(|e| ConfigError::File {
                path: path.to_owned(),
                reason: e.message().to_owned(),
            })?
        }
    };
    let raw = from_file.overlay(RawConfig::from_env(vars)?);
    let known: Vec<String> = RawConfig::KEYS.iter().map(|k| env_name(k)).collect();
    let warnings = vars
        .keys()
        .filter(|var| var.starts_with("JWTD_"))
        .filter(|var| !known.contains(var) && !OTHER_JWTD_VARS.contains(&var.as_str()))
        .map(|var| format!("ignoring unknown environment variable {var}"))
        .collect();
    Ok((Config::from_raw(raw)?, warnings))
}

/// The process environment as a map.
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

fn lifetime(
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

fn claim_name(
    setting: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let name = value.unwrap_or_else(|| default.to_owned());
    if name.is_empty() || ["exp", "iat", "nbf", "aud", "iss"].contains(&name.as_str()) {
        return Err(invalid(
            setting,
            format!("{name:?} cannot be used as this claim's name"),
        ));
    }
    Ok(name)
}

impl Config {
    /// Validates raw settings into a [`Config`].
    pub fn from_raw(raw: RawConfig) -> Result<Config, ConfigError> {
        let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8000".to_owned());
        let listen = listen_text.parse().map_err(|_| {
            invalid(
                "listen",
                format!("{listen_text:?} is not an address like 127.0.0.1:8000"),
            )
        })?;
        let database_url = raw.database_url.map_or_else(
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
        let data_dir = raw.data_dir.unwrap_or_else(|| {
            let Some(path) = database_url.strip_prefix("sqlite://") else {
                return PathBuf::from("jwtd-data");
            };
            match Path::new(path).parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
                _ => PathBuf::from("."),
            }
        });
        let algorithm_text = raw.algorithm.unwrap_or_else(|| "HS256".to_owned());
        let algorithm: Algorithm = algorithm_text
            .parse()
            .map_err(|e: jwtd_token::UnknownAlgorithm| invalid("algorithm", e.to_string()))?;

        let signing_key = match (raw.signing_key, raw.signing_key_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "signing_key",
                    "set signing_key or signing_key_file, not both",
                ));
            }
            (Some(key), None) => KeySource::Inline(key),
            (None, Some(path)) => KeySource::File(path),
            (None, None) if algorithm.min_hmac_key_len().is_some() => {
                KeySource::Generated(data_dir.join("signing-key"))
            }
            (None, None) => {
                return Err(invalid(
                    "signing_key",
                    format!(
                        "{algorithm} needs a PEM private key in signing_key or signing_key_file"
                    ),
                ));
            }
        };
        let verifying_key = match (raw.verifying_key, raw.verifying_key_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "verifying_key",
                    "set verifying_key or verifying_key_file, not both",
                ));
            }
            (Some(key), None) => Some(KeySource::Inline(SecretString::from(key))),
            (None, Some(path)) => Some(KeySource::File(path)),
            (None, None) => None,
        };

        let claims = ClaimNames {
            token_type: claim_name("token_type_claim", raw.token_type_claim, "token_type")?,
            jti: claim_name("jti_claim", raw.jti_claim, "jti")?,
            user_id: claim_name("user_id_claim", raw.user_id_claim, "user_id")?,
            refresh_exp: claim_name(
                "sliding_token_refresh_exp_claim",
                raw.sliding_token_refresh_exp_claim,
                "refresh_exp",
            )?,
        };
        let policy = Policy {
            access_lifetime: lifetime("access_token_lifetime", raw.access_token_lifetime, 300)?,
            refresh_lifetime: lifetime(
                "refresh_token_lifetime",
                raw.refresh_token_lifetime,
                86_400,
            )?,
            sliding_lifetime: lifetime("sliding_token_lifetime", raw.sliding_token_lifetime, 300)?,
            sliding_refresh_lifetime: lifetime(
                "sliding_token_refresh_lifetime",
                raw.sliding_token_refresh_lifetime,
                86_400,
            )?,
            leeway: raw.leeway.map_or(0, |s| s.0),
            audience: raw.audience.filter(|a| !a.is_empty()),
            issuer: raw.issuer.filter(|i| !i.is_empty()),
            claims,
        };

        let auth_header_types = raw
            .auth_header_types
            .unwrap_or_else(|| vec!["Bearer".to_owned()]);
        if auth_header_types.is_empty()
            || auth_header_types
                .iter()
                .any(|t| t.is_empty() || t.contains(char::is_whitespace))
        {
            return Err(invalid(
                "auth_header_types",
                "needs at least one scheme, without spaces",
            ));
        }
        let header_text = raw
            .auth_header_name
            .unwrap_or_else(|| "HTTP_AUTHORIZATION".to_owned());
        // Django names headers HTTP_X_FOO; accept that form and plain header names.
        let header = match header_text.strip_prefix("HTTP_") {
            Some(meta) => meta.replace('_', "-"),
            None => header_text.clone(),
        };
        let auth_header_name = axum::http::HeaderName::from_bytes(
            header.to_ascii_lowercase().as_bytes(),
        )
        .map_err(|_| {
            invalid(
                "auth_header_name",
                format!("{header_text:?} is not a header name"),
            )
        })?;

        let classes = raw
            .auth_token_classes
            .unwrap_or_else(|| vec!["AccessToken".to_owned()]);
        let mut auth_token_types = Vec::new();
        for class in &classes {
            // simplejwt writes dotted paths (rest_framework_simplejwt.tokens.AccessToken).
            let token_type = match class.rsplit('.').next().unwrap_or_default() {
                "AccessToken" | "access" => TokenType::Access,
                "SlidingToken" | "sliding" => TokenType::Sliding,
                _ => {
                    return Err(invalid(
                        "auth_token_classes",
                        format!("{class:?}: use AccessToken and/or SlidingToken"),
                    ));
                }
            };
            auth_token_types.push(token_type);
        }
        if auth_token_types.is_empty() {
            return Err(invalid(
                "auth_token_classes",
                "needs at least one token class",
            ));
        }

        let password_hash_concurrency = match raw.password_hash_concurrency {
            Some(0) => return Err(invalid("password_hash_concurrency", "must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(2, |n| n.get()),
        };
        let log_format = match raw.log_format.as_deref().unwrap_or("pretty") {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log_format",
                    format!("{other:?}: use pretty or json"),
                ));
            }
        };

        let seconds =
            |setting: &'static str, value: Option<Seconds>, default: i64, zero_ok: bool| {
                let s = value.map_or(default, |s| s.0);
                if s == 0 && !zero_ok {
                    return Err(invalid(setting, "must be longer than zero"));
                }
                Ok(Duration::from_secs(u64::try_from(s).unwrap_or(0)))
            };
        let at_least_one = |setting: &'static str, value: Option<usize>, default: usize| match value
        {
            Some(0) => Err(invalid(setting, "must be at least 1")),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        let database = DatabaseOptions {
            pool_size: at_least_one("database_pool_size", raw.database_pool_size, 16)?,
            connect_timeout: seconds(
                "database_connect_timeout",
                raw.database_connect_timeout,
                5,
                false,
            )?,
        };
        let tls = match (raw.tls_cert_file, raw.tls_key_file) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(invalid("tls_key_file", "is needed with tls_cert_file")),
            (None, Some(_)) => return Err(invalid("tls_cert_file", "is needed with tls_key_file")),
        };
        let limits = Limits {
            max_body_bytes: at_least_one(
                "max_body_bytes",
                raw.max_body_bytes,
                crate::body::MAX_BODY_BYTES,
            )?,
            header_read_timeout: seconds(
                "header_read_timeout",
                raw.header_read_timeout,
                10,
                false,
            )?,
            request_timeout: seconds("request_timeout", raw.request_timeout, 30, false)?,
            max_concurrent_requests: at_least_one(
                "max_concurrent_requests",
                raw.max_concurrent_requests,
                1024,
            )?,
            shutdown_timeout: seconds("shutdown_timeout", raw.shutdown_timeout, 30, true)?,
        };
        let metrics_listen = match raw.metrics_listen.filter(|m| !m.is_empty()) {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                invalid(
                    "metrics_listen",
                    format!("{text:?} is not an address like 127.0.0.1:9100"),
                )
            })?),
        };
        let rate = |setting: &'static str, value: Option<String>, default: &str| {
            Rate::parse_setting(value.as_deref().unwrap_or(default))
                .map_err(|reason| invalid(setting, reason))
        };
        let login_rate_per_address = rate(
            "login_rate_per_address",
            raw.login_rate_per_address,
            "30/min",
        )?;
        let login_rate_per_username = rate(
            "login_rate_per_username",
            raw.login_rate_per_username,
            "10/min",
        )?;
        let trusted_proxies = TrustedProxies::parse(&raw.trusted_proxies.unwrap_or_default())
            .map_err(|reason| invalid("trusted_proxies", reason))?;
        let cors = CorsOptions {
            allowed_origins: raw.cors_allowed_origins.unwrap_or_default(),
            allow_credentials: raw.cors_allow_credentials.unwrap_or(false),
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

        Ok(Config {
            database,
            tls,
            hsts_max_age: u64::try_from(raw.hsts_max_age.map_or(31_536_000, |s| s.0)).unwrap_or(0),
            limits,
            metrics_listen,
            login_rate_per_address,
            login_rate_per_username,
            trusted_proxies,
            cors,
            listen,
            database_url: DatabaseUrl(database_url),
            data_dir,
            algorithm,
            signing_key,
            verifying_key,
            policy,
            rotate_refresh_tokens: raw.rotate_refresh_tokens.unwrap_or(false),
            blacklist_after_rotation: raw.blacklist_after_rotation.unwrap_or(false),
            update_last_login: raw.update_last_login.unwrap_or(false),
            check_user_is_active: raw.check_user_is_active.unwrap_or(true),
            auth_header_types,
            auth_header_name,
            auth_token_types,
            password_hash_concurrency,
            log_level: raw.log_level.unwrap_or_else(|| "info".to_owned()),
            log_format,
        })
    }

    /// Private key files that every user of the machine can read, as warnings to log.
    pub fn exposed_key_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        if let KeySource::File(path) = &self.signing_key {
            files.push(("signing_key_file", path));
        }
        if let Some(tls) = &self.tls {
            files.push(("tls_key_file", &tls.key));
        }
        files
            .into_iter()
            .filter(|(_, path)| world_readable(path))
            .map(|(setting, path)| {
                format!(
                    "{setting}: {} is readable by every user of this machine; \
                     restrict it (chmod 600 or 640)",
                    path.display()
                )
            })
            .collect()
    }

    /// Loads the keys. With no key configured, an HMAC secret is generated in the data directory
    /// (mode 0600) on first use and reused afterwards; `on_generate` is told its path.
    pub fn load_keys(
        &self,
        on_generate: impl FnOnce(&Path),
    ) -> Result<jwtd_token::Keys, ConfigError> {
        let signing: Vec<u8> = match &self.signing_key {
            KeySource::Inline(secret) => secret.expose_secret().as_bytes().to_vec(),
            KeySource::File(path) => std::fs::read(path)
                .map_err(|e| invalid("signing_key_file", format!("{}: {e}", path.display())))?,
            KeySource::Generated(path) => generated_secret(path, on_generate)?,
        };
        let verifying: Option<Vec<u8>> = match &self.verifying_key {
            None => None,
            Some(KeySource::Inline(text)) => Some(text.expose_secret().as_bytes().to_vec()),
            Some(KeySource::File(path) | KeySource::Generated(path)) => {
                Some(std::fs::read(path).map_err(|e| {
                    invalid("verifying_key_file", format!("{}: {e}", path.display()))
                })?)
            }
        };
        let signing_setting = match self.signing_key {
            KeySource::File(_) => "signing_key_file",
            _ => "signing_key",
        };
        let verifying_setting = match self.verifying_key {
            Some(KeySource::Inline(_)) => "verifying_key",
            _ => "verifying_key_file",
        };
        jwtd_token::Keys::new(self.algorithm, &signing, verifying.as_deref()).map_err(|e| match e {
            jwtd_token::KeyError::Verifying(_) => invalid(verifying_setting, e.to_string()),
            jwtd_token::KeyError::Mismatch if verifying.is_some() => {
                invalid(verifying_setting, e.to_string())
            }
            e => invalid(signing_setting, e.to_string()),
        })
    }
}

/// Reads the generated secret, creating it (mode 0600, never overwriting) when absent.
fn generated_secret(path: &Path, on_generate: impl FnOnce(&Path)) -> Result<Vec<u8>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => return Ok(trim_newline(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(invalid(
                "signing_key",
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| invalid("data_dir", format!("cannot create {}: {e}", dir.display())))?;
    }
    let secret = jwtd_token::random_secret();
    match write_new_private_file(path, secret.as_bytes()) {
        Ok(()) => {
            on_generate(path);
            Ok(secret.into_bytes())
        }
        // Another process (a CLI call, a second start) created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read(path).map(trim_newline).map_err(|e| {
                invalid(
                    "signing_key",
                    format!("cannot read {}: {e}", path.display()),
                )
            })
        }
        Err(e) => Err(invalid(
            "signing_key",
            format!("cannot create {}: {e}", path.display()),
        )),
    }
}

/// Creates `path` readable by its owner only (0600), writes `bytes` and syncs them to disk.
/// Never overwrites: an existing file is an `AlreadyExists` error.
pub fn write_new_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn world_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0)
}

#[cfg(not(unix))]
fn world_readable(_: &Path) -> bool {
    false
}

/// Key files commonly end with a newline that is not part of the secret.
fn trim_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    bytes
}

#[cfg(test)]
mod tests;
