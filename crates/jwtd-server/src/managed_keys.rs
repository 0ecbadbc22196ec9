//! `key_management = "managed"`: the key set kept in jwtd's database, so that every instance on
//! one PostgreSQL signs and verifies with the same keys, generated and rotated by jwtd.
//!
//! The store holds opaque rows and applies a batch only if the active key is still the one the
//! batch was planned against ([`Store::update_keys`]), so instances rotating at once apply one
//! rotation and the others re-read. Private parts are sealed with AES-256-GCM under a key derived
//! (HKDF-SHA256) from `key_encryption_key`, with the `kid` as associated data, so a row cannot be
//! moved to another kid unnoticed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use jwtd_store::{KeyChange, KeyUpdate, Store, StoreError, StoredKey, StoredKeyState};
use jwtd_token::{Algorithm, KeyEntry, KeySet, KeyState, Keys};
use secrecy::{ExposeSecret, SecretString};

use crate::state::AppState;

/// Why the managed key set could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ManagedKeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key cannot be used (wrong encryption key, corrupt row, unknown algorithm).
    #[error("managed key {kid:?}: {reason}")]
    BadKey {
        /// The key's id.
        kid: String,
        /// What is wrong.
        reason: String,
    },
    /// The request makes no sense for the set as it is (no such kid, a key still in its window).
    #[error("{0}")]
    Refused(String),
}

/// The managed key set of one store, with its policy.
pub struct ManagedKeys {
    store: Arc<dyn Store>,
    algorithm: Algorithm,
    sealing: Option<LessSafeKey>,
    /// How long a retired key keeps verifying: the longest refresh lifetime.
    window: i64,
    rotation_interval: Option<i64>,
    /// `jwts_max_age`: a `next` key younger than this may be missing from verifiers' caches.
    publish_ahead: i64,
    reloads: AtomicU64,
}

impl std::fmt::Debug for ManagedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedKeys")
            .field("algorithm", &self.algorithm)
            .field("encrypted", &self.sealing.is_some())
            .finish()
    }
}

/// One managed key as shown by `jwtd keys list`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyInfo {
    /// The key id.
    pub kid: String,
    /// Its algorithm.
    pub algorithm: String,
    /// `next`, `active` or `retired`.
    pub state: String,
    /// When it was made (Unix seconds).
    pub created: i64,
    /// When it became active.
    pub activated: Option<i64>,
    /// When it was retired.
    pub retired: Option<i64>,
    /// When it stops verifying (retired keys).
    pub expires: Option<i64>,
    /// Whether its private part is sealed with the key encryption key.
    pub encrypted: bool,
}

impl ManagedKeys {
    /// The managed set of `store`, generating `algorithm` keys, retired keys verifying for
    /// `window` seconds.
    pub fn new(
        store: Arc<dyn Store>,
        algorithm: Algorithm,
        encryption_key: Option<&SecretString>,
        window: i64,
        rotation_interval: Option<i64>,
        publish_ahead: i64,
    ) -> ManagedKeys {
        let sealing = encryption_key.map(|secret| sealing_key(secret.expose_secret().as_bytes()));
        ManagedKeys {
            store,
            algorithm,
            sealing,
            window,
            rotation_interval,
            publish_ahead,
            reloads: AtomicU64::new(0),
        }
    }

    /// How many times the set was read from the store.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// The rows, oldest first.
    pub async fn rows(&self) -> Result<Vec<StoredKey>, ManagedKeyError> {
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(self.store.keys().await?)
    }

    /// The set as it is at `now`, creating an active and a next key first when the store has no
    /// active key (a new installation; of instances starting at once, one creates them).
    pub async fn load(&self, now: i64) -> Result<KeySet, ManagedKeyError> {
        let mut rows = self.rows().await?;
        if active_of(&rows).is_none() {
            let active = self.generate(self.algorithm, StoredKeyState::Active, now)?;
            let next = self.generate(self.algorithm, StoredKeyState::Next, now)?;
            let changes = vec![KeyChange::Insert(active), KeyChange::Insert(next)];
            // A Conflict means another instance made them first: read theirs.
            self.store.update_keys(None, changes).await?;
            rows = self.rows().await?;
        }
        self.key_set(&rows, now)
    }

    /// The key set of `rows` at `now`: removed keys and retired keys past their window left out.
    fn key_set(&self, rows: &[StoredKey], now: i64) -> Result<KeySet, ManagedKeyError> {
        let mut entries = Vec::new();
        for row in rows {
            let state = match row.state {
                StoredKeyState::Next => KeyState::Next,
                StoredKeyState::Active => KeyState::Active,
                StoredKeyState::Retired => KeyState::Retired,
            };
            let mut entry = KeyEntry::new(self.open(row)?, state).with_kid(row.kid.clone());
            if let Some(until) = self.expires(row) {
                if until < now {
                    continue;
                }
                entry = entry.verifying_until(until);
            }
            entries.push(entry);
        }
        KeySet::new(entries).map_err(|e| ManagedKeyError::Refused(e.to_string()))
    }

    /// When a retired key stops verifying.
    fn expires(&self, row: &StoredKey) -> Option<i64> {
        (row.state == StoredKeyState::Retired)
            .then(|| row.retired_at.unwrap_or(row.created_at) + self.window)
    }

    /// The rows as `jwtd keys list` shows them.
    pub async fn list(&self) -> Result<Vec<KeyInfo>, ManagedKeyError> {
        Ok(self
            .rows()
            .await?
            .iter()
            .map(|row| KeyInfo {
                kid: row.kid.clone(),
                algorithm: row.algorithm.clone(),
                state: row.state.as_str().to_owned(),
                created: row.created_at,
                activated: row.activated_at,
                retired: row.retired_at,
                expires: self.expires(row),
                encrypted: row.encrypted,
            })
            .collect())
    }

    /// Rotates at `now`: the oldest `next` key of `algorithm` (default: the configured one)
    /// becomes active (a fresh one when there is none), the active key is retired, a fresh `next`
    /// key is made, and retired keys past their window are removed. Answers the new active kid;
    /// `None` when another instance changed the set meanwhile (nothing was written).
    ///
    /// A `next` key published less than `jwks_max_age` ago may still be missing from verifiers'
    /// caches, which would refuse its first tokens: that is refused unless `force`, as is
    /// activating a key no verifier has seen (no `next` key of `algorithm`).
    pub async fn rotate(
        &self,
        now: i64,
        algorithm: Option<Algorithm>,
        force: bool,
    ) -> Result<Option<String>, ManagedKeyError> {
        let algorithm = algorithm.unwrap_or(self.algorithm);
        let rows = self.rows().await?;
        let active = active_of(&rows);
        let mut changes = Vec::new();
        let promoted = match rows
            .iter()
            .find(|r| r.state == StoredKeyState::Next && r.algorithm == algorithm.as_str())
        {
            Some(next) if !force && next.created_at + self.publish_ahead > now => {
                return Err(ManagedKeyError::Refused(format!(
                    "the next key {:?} was published {} s ago; verifiers may cache the key set \
                     for jwks_max_age = {} s and not have it yet: wait, or --force",
                    next.kid,
                    now - next.created_at,
                    self.publish_ahead
                )));
            }
            Some(next) => next.kid.clone(),
            None if !force && active.is_some() => {
                return Err(ManagedKeyError::Refused(format!(
                    "no next {algorithm} key is published: a new one would sign before any \
                     verifier has it; jwtd keys add --state next (or a rotation to the \
                     configured algorithm) first, wait jwks_max_age, or --force"
                )));
            }
            None => {
                let fresh = self.generate(algorithm, StoredKeyState::Next, now)?;
                let kid = fresh.kid.clone();
                changes.push(KeyChange::Insert(fresh));
                kid
            }
        };
        changes.push(KeyChange::SetState {
            kid: promoted.clone(),
            state: StoredKeyState::Active,
            activated_at: Some(now),
            retired_at: None,
        });
        if let Some(active) = active {
            changes.push(KeyChange::SetState {
                kid: active.kid.clone(),
                state: StoredKeyState::Retired,
                activated_at: active.activated_at,
                retired_at: Some(now),
            });
        }
        changes.push(KeyChange::Insert(self.generate(
            algorithm,
            StoredKeyState::Next,
            now,
        )?));
        for row in &rows {
            if self.expires(row).is_some_and(|until| until < now) {
                changes.push(KeyChange::Delete {
                    kid: row.kid.clone(),
                });
            }
        }
        let expected = active.map(|a| a.kid.as_str());
        Ok(match self.store.update_keys(expected, changes).await? {
            KeyUpdate::Applied => Some(promoted),
            KeyUpdate::Conflict => None,
        })
    }

    /// What the background task does at `now`: rotate when `key_rotation_interval` has passed
    /// since the active key was activated. Whether it rotated.
    pub async fn rotate_if_due(&self, now: i64) -> Result<bool, ManagedKeyError> {
        let Some(interval) = self.rotation_interval else {
            return Ok(false);
        };
        let rows = self.rows().await?;
        let due = active_of(&rows)
            .is_some_and(|a| a.activated_at.unwrap_or(a.created_at) + interval <= now);
        if !due {
            return Ok(false);
        }
        Ok(self.rotate(now, None, false).await?.is_some())
    }

    /// Adds an existing key (a PEM private key or HMAC secret, or a private JWK) as `next` or
    /// `retired`. Answers its kid.
    pub async fn add(
        &self,
        keys: Keys,
        material: Vec<u8>,
        state: StoredKeyState,
        now: i64,
    ) -> Result<String, ManagedKeyError> {
        if state == StoredKeyState::Active {
            return Err(ManagedKeyError::Refused(
                "a key is added as next or retired; jwtd keys rotate activates it".to_owned(),
            ));
        }
        let kid = keys.default_kid().to_owned();
        let row = self.row(kid.clone(), keys.algorithm(), state, &material, now)?;
        let rows = self.rows().await?;
        let expected = active_of(&rows).map(|r| r.kid.clone());
        match self
            .store
            .update_keys(expected.as_deref(), vec![KeyChange::Insert(row)])
            .await?
        {
            KeyUpdate::Applied => Ok(kid),
            KeyUpdate::Conflict => Err(ManagedKeyError::Refused(format!(
                "key {kid:?} is already in the set (or the set changed meanwhile; try again)"
            ))),
        }
    }

    /// Retires `kid` (a `next` key) or removes it. A removal of a key still inside its window,
    /// or of the active key, is refused unless `force` (for the active key: never).
    pub async fn retire_or_remove(
        &self,
        kid: &str,
        remove: bool,
        force: bool,
        now: i64,
    ) -> Result<(), ManagedKeyError> {
        let rows = self.rows().await?;
        let row = rows
            .iter()
            .find(|r| r.kid == kid)
            .ok_or_else(|| ManagedKeyError::Refused(format!("no key {kid:?}")))?;
        if row.state == StoredKeyState::Active {
            return Err(ManagedKeyError::Refused(format!(
                "{kid:?} is the active key: jwtd keys rotate first"
            )));
        }
        let change = if remove {
            let inside = match row.state {
                StoredKeyState::Retired => self.expires(row).is_some_and(|until| until >= now),
                _ => false,
            };
            if inside && !force {
                return Err(ManagedKeyError::Refused(format!(
                    "{kid:?} still verifies tokens it signed until {}; --force removes it now \
                     and those tokens are refused",
                    self.expires(row).unwrap_or(now)
                )));
            }
            KeyChange::Delete {
                kid: kid.to_owned(),
            }
        } else {
            KeyChange::SetState {
                kid: kid.to_owned(),
                state: StoredKeyState::Retired,
                activated_at: row.activated_at,
                retired_at: Some(now),
            }
        };
        let expected = active_of(&rows).map(|r| r.kid.clone());
        match self
            .store
            .update_keys(expected.as_deref(), vec![change])
            .await?
        {
            KeyUpdate::Applied => Ok(()),
            KeyUpdate::Conflict => Err(ManagedKeyError::Refused(
                "the key set changed meanwhile; try again".to_owned(),
            )),
        }
    }

    /// A new key of `algorithm` in `state`, made at `now`.
    fn generate(
        &self,
        algorithm: Algorithm,
        state: StoredKeyState,
        now: i64,
    ) -> Result<StoredKey, ManagedKeyError> {
        let bad = |reason: String| ManagedKeyError::BadKey {
            kid: String::new(),
            reason,
        };
        let material = jwtd_token::generate(algorithm).map_err(|e| bad(e.to_string()))?;
        let keys =
            Keys::new(algorithm, material.as_bytes(), None).map_err(|e| bad(e.to_string()))?;
        self.row(
            keys.default_kid().to_owned(),
            algorithm,
            state,
            material.as_bytes(),
            now,
        )
    }

    /// A row made at `now`, sealed when a key encryption key is configured.
    fn row(
        &self,
        kid: String,
        algorithm: Algorithm,
        state: StoredKeyState,
        material: &[u8],
        now: i64,
    ) -> Result<StoredKey, ManagedKeyError> {
        let (material, encrypted) = match &self.sealing {
            Some(key) => (seal(key, &kid, material)?, true),
            None => (material.to_vec(), false),
        };
        Ok(StoredKey {
            kid,
            algorithm: algorithm.as_str().to_owned(),
            state,
            material,
            encrypted,
            created_at: now,
            activated_at: (state == StoredKeyState::Active).then_some(now),
            retired_at: (state == StoredKeyState::Retired).then_some(now),
        })
    }

    /// The parsed keys of a row.
    fn open(&self, row: &StoredKey) -> Result<Keys, ManagedKeyError> {
        let bad = |reason: String| ManagedKeyError::BadKey {
            kid: row.kid.clone(),
            reason,
        };
        let algorithm: Algorithm = row.algorithm.parse().map_err(|e| bad(format!("{e}")))?;
        let material = match (row.encrypted, &self.sealing) {
            (false, _) => row.material.clone(),
            (true, Some(key)) => open(key, &row.kid, &row.material).ok_or_else(|| {
                bad(
                    "cannot be decrypted: key_encryption_key is not the one it was sealed with"
                        .to_owned(),
                )
            })?,
            (true, None) => {
                return Err(bad(
                    "is encrypted and no key_encryption_key is configured".to_owned()
                ));
            }
        };
        // A key added from a JWK is kept as the JWK's text; the others as PEM or secret text.
        if material.first() == Some(&b'{') {
            let jwk: serde_json::Value =
                serde_json::from_slice(&material).map_err(|e| bad(format!("bad JWK ({e})")))?;
            return Keys::from_jwk(&jwk, Some(algorithm)).map_err(|e| bad(e.to_string()));
        }
        Keys::new(algorithm, &material, None).map_err(|e| bad(e.to_string()))
    }
}

/// The active row of `rows`, if there is one.
fn active_of(rows: &[StoredKey]) -> Option<&StoredKey> {
    rows.iter().find(|r| r.state == StoredKeyState::Active)
}

/// The AES-256-GCM key of a key encryption key: HKDF-SHA256 with a fixed salt and label, so
/// any text of 32 bytes or more serves.
fn sealing_key(secret: &[u8]) -> LessSafeKey {
    struct Len;
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"jwtd managed keys").extract(secret);
    let mut bytes = [0u8; 32];
    // Expanding 32 bytes from SHA-256 cannot fail.
    prk.expand(&[b"aes-256-gcm key encryption"], Len)
        .and_then(|okm| okm.fill(&mut bytes))
        .expect("HKDF expands 32 bytes");
    LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, &bytes).expect("a 32-byte AES key"))
}

/// `nonce ‖ ciphertext ‖ tag`, the `kid` bound as associated data.
fn seal(key: &LessSafeKey, kid: &str, plain: &[u8]) -> Result<Vec<u8>, ManagedKeyError> {
    let mut nonce = [0u8; aead::NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| ManagedKeyError::Refused("no randomness for a nonce".to_owned()))?;
    let mut sealed = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(kid.as_bytes()),
        &mut sealed,
    )
    .map_err(|_| ManagedKeyError::Refused("sealing failed".to_owned()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open(key: &LessSafeKey, kid: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, body) = sealed.split_at_checked(aead::NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut body = body.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut body)
        .ok()?;
    Some(plain.to_vec())
}

/// The least time between two reloads asked for by unknown `kid`s: a flood of random kids costs
/// one store read per this, not one per request.
pub const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// Keeps `state`'s key set in step with the store: every `refresh` and, at most once per
/// [`UNKNOWN_KID_RELOAD_INTERVAL`], when a request met an unknown `kid`; rotating when due.
/// Failures keep the set in force and are logged. Runs until the state is dropped.
pub async fn keep_fresh(state: AppState, managed: Arc<ManagedKeys>, refresh: Duration) {
    let hint = state.unknown_kid_hint();
    let mut last = tokio::time::Instant::now();
    loop {
        let asked = tokio::select! {
            () = tokio::time::sleep(refresh) => false,
            () = hint.notified() => true,
        };
        if asked {
            let wait = UNKNOWN_KID_RELOAD_INTERVAL.saturating_sub(last.elapsed());
            tokio::time::sleep(wait).await;
        }
        last = tokio::time::Instant::now();
        let now = crate::state::now();
        match managed.rotate_if_due(now).await {
            Ok(true) => tracing::info!("rotated the managed signing key"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "managed key rotation failed; will retry"),
        }
        match managed.load(now).await {
            Ok(keys) => state.replace_keys(keys),
            Err(e) => tracing::warn!(
                error = %e,
                "cannot re-read the managed key set; still using the previous one"
            ),
        }
        if Arc::strong_count(&managed) == 1 && state.is_last_reference() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_material_opens_only_with_its_key_and_kid() {
        let key = sealing_key(b"a key encryption key of thirty-two bytes or more");
        let sealed = seal(&key, "kid-1", b"-----BEGIN PRIVATE KEY-----").unwrap();
        assert!(!sealed.windows(5).any(|w| w == b"BEGIN"));
        assert_eq!(
            open(&key, "kid-1", &sealed).unwrap(),
            b"-----BEGIN PRIVATE KEY-----"
        );
        assert!(open(&key, "kid-2", &sealed).is_none(), "bound to its kid");
        let other = sealing_key(b"another key encryption key of thirty-two bytes");
        assert!(open(&other, "kid-1", &sealed).is_none());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(open(&key, "kid-1", &tampered).is_none());
        assert!(open(&key, "kid-1", &sealed[..5]).is_none());
    }
}
