//! Where settings come from: the defaults (every field unset), then an optional TOML file, then
//! `JWTD_*` environment variables, the last one that sets a value winning.
//!
//! Every setting is declared once, in the [`settings!`] list below: its TOML key, its type and
//! its doc. The macro derives the raw struct, the environment reader and the merge from it, so
//! a new setting is one line here plus its check in the area module that owns it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use super::ConfigError;
use super::values::{FromEnv, Seconds};

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

            /// The settings still set: each area module takes its own out of the raw config, so
            /// anything left over is a setting no area checks (a bug, caught in debug builds).
            pub(super) fn leftover(&self) -> Vec<&'static str> {
                let mut names = Vec::new();
                $( if self.$name.is_some() { names.push(stringify!($name)); } )*
                names
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
    /// `jwtd` (jwtd's own tables) or `django` (a Django project's tables, never altered).
    database_schema: String,
    /// Django mode: the user table, a custom `AUTH_USER_MODEL`'s (default `auth_user`).
    django_user_table: String,
    /// Django mode: the user-group join table (default `<user table>_groups`).
    django_user_groups_table: String,
    /// Django mode: the join table's user column (default `user_id`).
    django_user_groups_column: String,
    /// Django's `USERNAME_FIELD`: the login column and the login body's field (default
    /// `username`).
    username_field: String,
    /// simplejwt `USER_ID_FIELD`: the column the user id claim holds (default `id`).
    user_id_field: String,
    /// Django `PASSWORD_HASHERS` by algorithm name; the first makes new hashes.
    password_hashers: Vec<String>,
    /// PBKDF2 iterations of new and upgraded PBKDF2 hashes (default 1000000, Django 5.2).
    pbkdf2_iterations: usize,
    /// User fields (and `groups`) copied into new tokens.
    token_claims: Vec<String>,
    /// simplejwt `CHECK_REVOKE_TOKEN`.
    check_revoke_token: bool,
    /// simplejwt `REVOKE_TOKEN_CLAIM` (default `hash_password`).
    revoke_token_claim: String,
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
    /// `static` (the keys of this file) or `managed` (kept in the database, generated and
    /// rotated by jwtd; jwtd's own schema only).
    key_management: String,
    /// Managed keys: the secret their private parts are sealed with (AES-256-GCM), at least 32
    /// bytes; without it they are stored in clear and jwtd warns.
    key_encryption_key: SecretString,
    /// A file holding `key_encryption_key`.
    key_encryption_key_file: PathBuf,
    /// Managed keys: rotate this often (`90d`; default: never on its own).
    key_rotation_interval: Seconds,
    /// Managed keys: re-read the set this often (default 60 s), and on an unknown `kid`.
    key_refresh_interval: Seconds,
    /// More keys beside the signing key, each `next` or `retired` (`[[keys]]` tables; in the
    /// environment a JSON array of the same objects).
    keys: Vec<RawKey>,
    /// `Cache-Control: max-age` of `/.well-known/jwks.json` (default 300 s). A `next` key must
    /// be published this long before it signs.
    jwks_max_age: Seconds,
    /// The URL clients reach jwtd at (`https://auth.example.com`): the base of the OpenID
    /// discovery document's URLs (default: `issuer`, when it is an http(s) URL).
    public_url: String,
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
    /// With rotation and blacklisting: a rotated refresh token presented again ends its
    /// session (default false).
    refresh_token_reuse_detection: bool,
    /// Within this time after a rotation, presenting the parent again is a retry (default 0 s).
    refresh_token_reuse_interval: Seconds,
    /// Absolute cap on a session, however often it is rotated (default: none).
    session_lifetime: Seconds,
    /// A session not refreshed for this long is ended (default: none).
    session_idle_timeout: Seconds,
    /// Bearer secret of `/api/token/introspect/` (at least 32 bytes; unset: 404).
    introspection_token: SecretString,
    /// Shortest new password `/api/password/change/` accepts (default 8).
    password_min_length: usize,
    /// Keep the refresh token in an httpOnly cookie, with CSRF protection (default false).
    refresh_cookie: bool,
    /// The refresh cookie's name (default `refresh`).
    refresh_cookie_name: String,
    /// The refresh cookie's `Path` (default `/api/token/`).
    refresh_cookie_path: String,
    /// `Secure` on the cookies (default true; false only for plain-HTTP development).
    refresh_cookie_secure: bool,
    /// `SameSite` of the cookies: `Strict` (default) or `Lax`.
    refresh_cookie_samesite: String,
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

/// One `[[keys]]` table as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// A PEM key file: a private key, or a public key (verifies only).
    pub file: Option<PathBuf>,
    /// An HMAC secret.
    pub secret: Option<SecretString>,
    /// A JWK file (private, or public to verify only).
    pub jwk: Option<PathBuf>,
    /// The key id (default: the RFC 7638 thumbprint, or a keyed digest of a secret).
    pub kid: Option<String>,
    /// The key's algorithm (default: `algorithm`, or the JWK's `alg`).
    pub algorithm: Option<String>,
    /// `next` or `retired` (default `retired`).
    pub state: Option<String>,
}

/// `JWTD_` + the upper-case key.
pub fn env_name(key: &str) -> String {
    format!("JWTD_{}", key.to_ascii_uppercase())
}

/// `JWTD_*` variables that are not settings but are still jwtd's own.
const OTHER_JWTD_VARS: &[&str] = &["JWTD_CONFIG", "JWTD_COPY_TO", "JWTD_TEST_DATABASE_URL"];

/// The raw settings from the TOML file at `file` (if any) overlaid with the environment `vars`,
/// and a warning for each `JWTD_` variable that is not a setting (a typo must not pass quietly).
pub fn read(
    file: Option<&Path>,
    vars: &BTreeMap<String, String>,
) -> Result<(RawConfig, Vec<String>), ConfigError> {
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
    Ok((raw, warnings))
}

/// The process environment as a map.
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}
