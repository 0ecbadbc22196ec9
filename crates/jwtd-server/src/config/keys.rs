//! The signing and verifying keys: which algorithm, where each key comes from, and loading
//! them (generating the default HMAC secret on first use).

use std::path::{Path, PathBuf};

use jwtd_token::{Algorithm, KeyEntry, KeySet, KeyState};
use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::sources::{RawConfig, RawKey};
use super::values::invalid;

/// The algorithm and the keys' sources.
#[derive(Clone, Debug)]
pub struct KeyConfig {
    /// `algorithm`.
    pub algorithm: Algorithm,
    /// `signing_key` or `signing_key_file`, or a generated secret: the active key.
    pub signing_key: KeySource,
    /// `verifying_key` or `verifying_key_file` (PEM public key), if any.
    pub verifying_key: Option<KeySource>,
    /// `[[keys]]`: the other keys of the set, each `next` or `retired`.
    pub extra: Vec<ExtraKey>,
    /// `jwks_max_age`, in seconds.
    pub jwks_max_age: u64,
    /// `public_url` (or `issuer`, when it is an http(s) URL), without a trailing `/`.
    pub public_url: Option<String>,
    /// `key_management = "managed"`: the key set lives in the database.
    pub managed: Option<ManagedKeyConfig>,
}

/// The settings of `key_management = "managed"`.
#[derive(Clone, Debug)]
pub struct ManagedKeyConfig {
    /// `key_encryption_key` or `key_encryption_key_file`, if set.
    pub encryption_key: Option<KeySource>,
    /// `key_rotation_interval`, in seconds.
    pub rotation_interval: Option<i64>,
    /// `key_refresh_interval`, in seconds.
    pub refresh_interval: i64,
}

impl ManagedKeyConfig {
    /// The key encryption key's bytes, if one is configured.
    pub fn encryption_key(&self) -> Result<Option<SecretString>, ConfigError> {
        match &self.encryption_key {
            None => Ok(None),
            Some(KeySource::Inline(text)) => Ok(Some(text.clone())),
            Some(KeySource::File(path) | KeySource::Generated(path)) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    invalid(
                        "key_encryption_key_file",
                        format!("{}: {e}", path.display()),
                    )
                })?;
                let text = String::from_utf8(trim_newline(bytes)).map_err(|_| {
                    invalid("key_encryption_key_file", "is not UTF-8 text".to_owned())
                })?;
                Ok(Some(SecretString::from(text)))
            }
        }
    }
}

/// One `[[keys]]` entry, checked.
#[derive(Clone, Debug)]
pub struct ExtraKey {
    /// Where its material is.
    pub source: ExtraSource,
    /// A configured `kid`.
    pub kid: Option<String>,
    /// Its algorithm, when given (a JWK may carry its own).
    pub algorithm: Option<Algorithm>,
    /// `next` or `retired`.
    pub state: KeyState,
}

/// Where a `[[keys]]` entry's material is.
#[derive(Clone)]
pub enum ExtraSource {
    /// A PEM file, private or public.
    File(PathBuf),
    /// An HMAC secret.
    Secret(SecretString),
    /// A JWK file.
    Jwk(PathBuf),
}

impl std::fmt::Debug for ExtraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtraSource::File(path) => f.debug_tuple("File").field(path).finish(),
            ExtraSource::Secret(_) => f.write_str("Secret([redacted])"),
            ExtraSource::Jwk(path) => f.debug_tuple("Jwk").field(path).finish(),
        }
    }
}

/// Where a key comes from.
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

impl KeyConfig {
    /// Checks the key settings, taking them out of `raw`; a generated secret goes in `data_dir`.
    pub(super) fn from_raw(raw: &mut RawConfig, data_dir: &Path) -> Result<KeyConfig, ConfigError> {
        let algorithm_text = raw.algorithm.take().unwrap_or_else(|| "HS256".to_owned());
        let algorithm: Algorithm = algorithm_text
            .parse()
            .map_err(|e: jwtd_token::UnknownAlgorithm| invalid("algorithm", e.to_string()))?;
        let managed = match raw.key_management.take().as_deref() {
            None | Some("static") => None,
            Some("managed") => {
                let encryption_key = match (
                    raw.key_encryption_key.take(),
                    raw.key_encryption_key_file.take(),
                ) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "key_encryption_key",
                            "set key_encryption_key or key_encryption_key_file, not both",
                        ));
                    }
                    (Some(key), None) => Some(KeySource::Inline(key)),
                    (None, Some(path)) => Some(KeySource::File(path)),
                    (None, None) => None,
                };
                if let Some(KeySource::Inline(key)) = &encryption_key
                    && key.expose_secret().len() < 32
                {
                    return Err(invalid(
                        "key_encryption_key",
                        "is shorter than 32 bytes (jwtd keys generate --algorithm HS256 makes one)",
                    ));
                }
                let rotation_interval = raw.key_rotation_interval.take().map(|s| s.0);
                if rotation_interval.is_some_and(|s| s < 60) {
                    return Err(invalid("key_rotation_interval", "is under a minute"));
                }
                let refresh_interval = raw.key_refresh_interval.take().map_or(60, |s| s.0);
                if refresh_interval < 1 {
                    return Err(invalid("key_refresh_interval", "must be at least 1 s"));
                }
                if raw.signing_key.is_some() || raw.signing_key_file.is_some() {
                    return Err(invalid(
                        "key_management",
                        "managed keys are generated and kept in the database: remove \
                         signing_key / signing_key_file (add an existing key with jwtd keys add)",
                    ));
                }
                Some(ManagedKeyConfig {
                    encryption_key,
                    rotation_interval,
                    refresh_interval,
                })
            }
            Some(other) => {
                return Err(invalid(
                    "key_management",
                    format!("unknown value {other:?} (static or managed)"),
                ));
            }
        };
        if managed.is_none() {
            for (set, name) in [
                (raw.key_encryption_key.is_some(), "key_encryption_key"),
                (
                    raw.key_encryption_key_file.is_some(),
                    "key_encryption_key_file",
                ),
                (raw.key_rotation_interval.is_some(), "key_rotation_interval"),
                (raw.key_refresh_interval.is_some(), "key_refresh_interval"),
            ] {
                if set {
                    return Err(invalid(
                        name,
                        "applies to key_management = \"managed\" only",
                    ));
                }
            }
        }
        let signing_key = match (raw.signing_key.take(), raw.signing_key_file.take()) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "signing_key",
                    "set signing_key or signing_key_file, not both",
                ));
            }
            (Some(key), None) => KeySource::Inline(key),
            (None, Some(path)) => KeySource::File(path),
            (None, None) if algorithm.min_hmac_key_len().is_some() || managed.is_some() => {
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
        let verifying_key = match (raw.verifying_key.take(), raw.verifying_key_file.take()) {
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
        let extra = raw
            .keys
            .take()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, key)| ExtraKey::from_raw(i, key))
            .collect::<Result<Vec<_>, _>>()?;
        if managed.is_some() && !extra.is_empty() {
            return Err(invalid(
                "keys",
                "[[keys]] are for key_management = \"static\"; managed keys are added with \
                 jwtd keys add",
            ));
        }
        let jwks_max_age = raw.jwks_max_age.take().map_or(300, |s| s.0.max(0) as u64);
        // A next key is published at one rotation and activated at the next: caches must
        // expire in between, or a verifier could meet tokens of a key it has not fetched.
        if let Some(interval) = managed.as_ref().and_then(|m| m.rotation_interval)
            && interval <= jwks_max_age as i64
        {
            return Err(invalid(
                "key_rotation_interval",
                format!("must be longer than jwks_max_age ({jwks_max_age} s)"),
            ));
        }
        let public_url = match raw.public_url.take().filter(|u| !u.is_empty()) {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(url),
            Some(url) => {
                return Err(invalid(
                    "public_url",
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
            None => raw
                .issuer
                .as_ref()
                .filter(|i| i.starts_with("https://") || i.starts_with("http://"))
                .cloned(),
        }
        .map(|url| url.trim_end_matches('/').to_owned());
        Ok(KeyConfig {
            algorithm,
            signing_key,
            verifying_key,
            extra,
            jwks_max_age,
            public_url,
            managed,
        })
    }

    /// Loads the whole key set: the signing key, active, and the `[[keys]]` entries in their
    /// states. Static retired keys verify until they are taken out of the file (there is no
    /// retirement time to count a window from).
    pub fn load_set(&self, on_generate: impl FnOnce(&Path)) -> Result<KeySet, ConfigError> {
        let active = self.load(on_generate)?;
        if self.extra.is_empty() {
            return Ok(KeySet::from(active));
        }
        let mut entries = vec![KeyEntry::new(active, KeyState::Active)];
        for (i, extra) in self.extra.iter().enumerate() {
            entries.push(extra.load(i, self.algorithm)?);
        }
        KeySet::new(entries).map_err(|e| invalid("keys", e.to_string()))
    }

    /// Loads the keys. With no key configured, an HMAC secret is generated in the data directory
    /// (mode 0600) on first use and reused afterwards; `on_generate` is told its path.
    pub fn load(&self, on_generate: impl FnOnce(&Path)) -> Result<jwtd_token::Keys, ConfigError> {
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

impl ExtraKey {
    fn from_raw(index: usize, raw: RawKey) -> Result<ExtraKey, ConfigError> {
        let bad =
            |reason: String| invalid("keys", format!("[[keys]] entry {}: {reason}", index + 1));
        let source = match (raw.file, raw.secret, raw.jwk) {
            (Some(path), None, None) => ExtraSource::File(path),
            (None, Some(secret), None) => ExtraSource::Secret(secret),
            (None, None, Some(path)) => ExtraSource::Jwk(path),
            _ => return Err(bad("set exactly one of file, secret or jwk".to_owned())),
        };
        let algorithm = raw
            .algorithm
            .map(|a| a.parse::<Algorithm>().map_err(|e| bad(e.to_string())))
            .transpose()?;
        let state = match raw.state.as_deref().unwrap_or("retired") {
            "next" => KeyState::Next,
            "retired" => KeyState::Retired,
            "active" => {
                return Err(bad(
                    "the active key is signing_key / signing_key_file; a [[keys]] entry is \
                     next or retired"
                        .to_owned(),
                ));
            }
            other => {
                return Err(bad(format!("unknown state {other:?} (next or retired)")));
            }
        };
        if raw.kid.as_deref() == Some("") {
            return Err(bad("kid is empty".to_owned()));
        }
        Ok(ExtraKey {
            source,
            kid: raw.kid,
            algorithm,
            state,
        })
    }

    /// The entry's keys: a private PEM or a secret signs and verifies (it may be activated
    /// later), a public PEM or JWK verifies only.
    fn load(&self, index: usize, default: Algorithm) -> Result<KeyEntry, ConfigError> {
        let bad =
            |reason: String| invalid("keys", format!("[[keys]] entry {}: {reason}", index + 1));
        let algorithm = self.algorithm.unwrap_or(default);
        let keys = match &self.source {
            ExtraSource::Secret(secret) => {
                jwtd_token::Keys::new(algorithm, secret.expose_secret().as_bytes(), None)
            }
            ExtraSource::File(path) => {
                let pem =
                    std::fs::read(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
                let public = pem::parse(&pem)
                    .is_ok_and(|block| matches!(block.tag(), "PUBLIC KEY" | "RSA PUBLIC KEY"));
                if public {
                    jwtd_token::Keys::from_public_pem(algorithm, &pem)
                } else {
                    jwtd_token::Keys::new(algorithm, &pem, None)
                }
            }
            ExtraSource::Jwk(path) => {
                let text =
                    std::fs::read(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
                let jwk: serde_json::Value = serde_json::from_slice(&text)
                    .map_err(|e| bad(format!("{}: not JSON ({e})", path.display())))?;
                jwtd_token::Keys::from_jwk(&jwk, self.algorithm)
            }
        }
        .map_err(|e| bad(e.to_string()))?;
        let entry = KeyEntry::new(keys, self.state);
        Ok(match &self.kid {
            Some(kid) => entry.with_kid(kid.clone()),
            None => entry,
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

/// Whether every user of the machine may read `path`.
#[cfg(unix)]
pub(super) fn world_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0)
}

/// Whether every user of the machine may read `path` (no such notion here).
#[cfg(not(unix))]
pub(super) fn world_readable(_: &Path) -> bool {
    false
}

/// Key files commonly end with a newline that is not part of the secret.
fn trim_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    bytes
}
