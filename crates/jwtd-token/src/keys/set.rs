//! Several keys at once, each with a `kid` and a state, so that keys can rotate without logging
//! anybody out (spec `keys.md`): the `active` key signs, `next` keys are published ahead,
//! `retired` keys verify until the tokens they signed have expired.
//!
//! The set is pure data: the caller decides the states and the verification windows (from its
//! configuration or database, with its clock) and rebuilds the set when they change.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::{KeyError, Keys};
use crate::error::TokenError;

/// A key's place in a rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Published and verifying, not signing yet: caches get it before it signs.
    Next,
    /// Signs new tokens (exactly one per set) and verifies.
    Active,
    /// Verifies until its window ends; signs nothing.
    Retired,
}

impl KeyState {
    /// The state's name in configuration, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyState {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "next" => Ok(KeyState::Next),
            "active" => Ok(KeyState::Active),
            "retired" => Ok(KeyState::Retired),
            other => Err(KeyError::Set(format!(
                "unknown key state {other:?} (next, active or retired)"
            ))),
        }
    }
}

/// One key of a set.
#[derive(Debug)]
pub struct KeyEntry {
    kid: String,
    state: KeyState,
    keys: Keys,
    /// The last second it verifies at (a retired key's window end); `None`: no end.
    verifies_until: Option<i64>,
}

impl KeyEntry {
    /// `keys` in `state`, under their default `kid`, verifying without end.
    pub fn new(keys: Keys, state: KeyState) -> KeyEntry {
        KeyEntry {
            kid: keys.default_kid().to_owned(),
            state,
            keys,
            verifies_until: None,
        }
    }

    /// The same entry under another `kid` (a configured one).
    pub fn with_kid(mut self, kid: impl Into<String>) -> KeyEntry {
        self.kid = kid.into();
        self
    }

    /// The same entry verifying up to and including second `until`, refusing after it.
    pub fn verifying_until(mut self, until: i64) -> KeyEntry {
        self.verifies_until = Some(until);
        self
    }

    /// The key id tokens carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The state.
    pub fn state(&self) -> KeyState {
        self.state
    }

    /// The parsed keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The last second it verifies at, if its window ends.
    pub fn verifies_until(&self) -> Option<i64> {
        self.verifies_until
    }

    fn verifies_at(&self, now: i64) -> bool {
        self.verifies_until.is_none_or(|until| now <= until)
    }
}

/// The keys that sign and verify: one `active` key that signs (none in a verifying-only set)
/// and any number of `next` and `retired` keys that verify.
#[derive(Debug)]
pub struct KeySet {
    /// The active key first, then the others in the caller's order: a token without `kid` is
    /// tried in this order.
    entries: Vec<KeyEntry>,
    has_active: bool,
}

impl From<Keys> for KeySet {
    /// The set of one active key: jwtd's configuration of old, and simplejwt's.
    fn from(keys: Keys) -> KeySet {
        let has_active = keys.can_sign();
        KeySet {
            entries: vec![KeyEntry::new(keys, KeyState::Active)],
            has_active,
        }
    }
}

impl KeySet {
    /// A set that signs: exactly one `active` key, which can sign, and unique kids.
    pub fn new(entries: Vec<KeyEntry>) -> Result<KeySet, KeyError> {
        let set = KeySet::verifying(entries)?;
        match set.active() {
            Some(active) if active.keys.can_sign() => Ok(set),
            Some(active) => Err(KeyError::Set(format!(
                "the active key {:?} is a public key: it cannot sign",
                active.kid
            ))),
            None => Err(KeyError::Set("the key set has no active key".to_owned())),
        }
    }

    /// A set that only verifies (a resource server's, from a JWKS): unique kids, at most one
    /// `active` key, which may be public only.
    pub fn verifying(mut entries: Vec<KeyEntry>) -> Result<KeySet, KeyError> {
        for (i, entry) in entries.iter().enumerate() {
            if entry.kid.is_empty() {
                return Err(KeyError::Set("a key has an empty kid".to_owned()));
            }
            if entries[..i].iter().any(|other| other.kid == entry.kid) {
                return Err(KeyError::Set(format!(
                    "two keys have the kid {:?}",
                    entry.kid
                )));
            }
        }
        let actives = entries
            .iter()
            .filter(|e| e.state == KeyState::Active)
            .count();
        if actives > 1 {
            return Err(KeyError::Set(format!(
                "{actives} keys are active; exactly one signs"
            )));
        }
        if let Some(i) = entries.iter().position(|e| e.state == KeyState::Active) {
            let active = entries.remove(i);
            entries.insert(0, active);
        }
        Ok(KeySet {
            has_active: actives == 1,
            entries,
        })
    }

    /// The key that signs, if the set has one.
    pub fn active(&self) -> Option<&KeyEntry> {
        self.entries.first().filter(|_| self.has_active)
    }

    /// Every key, the active one first.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// The key with id `kid`.
    pub fn get(&self, kid: &str) -> Option<&KeyEntry> {
        self.entries.iter().find(|e| e.kid == kid)
    }

    /// The `kid` signed tokens carry in their header: always for a public key; for an HMAC
    /// secret only when the set holds other keys, so that a set of one secret keeps simplejwt's
    /// header byte for byte.
    pub(crate) fn header_kid(&self) -> Option<&str> {
        let active = self.active()?;
        (active.keys.public_jwk().is_some() || self.entries.len() > 1).then_some(&*active.kid)
    }

    /// The JSON Web Key Set (RFC 7517 5) of the public keys that verify at `now`: active, next
    /// and retired keys inside their window. HMAC secrets are never published.
    pub fn jwks(&self, now: i64) -> Value {
        let keys: Vec<Value> = self
            .entries
            .iter()
            .filter(|e| e.verifies_at(now))
            .filter_map(|e| {
                let mut jwk = e.keys.public_jwk()?.to_json();
                jwk["kid"] = Value::String(e.kid.clone());
                Some(jwk)
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Checks `signature_b64` over `message` for a token whose header says `alg` and `kid`.
    /// The key is the one `kid` names, which must be of algorithm `alg` (the algorithm comes from
    /// the key; the header is only compared with it); a token without `kid` is tried against
    /// the keys of algorithm `alg`, active first. Keys past their window verify nothing.
    pub(crate) fn verify(
        &self,
        alg: &str,
        kid: Option<&str>,
        signature_b64: &str,
        message: &[u8],
        now: i64,
    ) -> Result<&KeyEntry, TokenError> {
        let usable = |e: &KeyEntry| e.keys.algorithm().as_str() == alg && e.verifies_at(now);
        match kid {
            Some(kid) => match self.get(kid) {
                Some(entry) if usable(entry) && entry.keys.verify(signature_b64, message) => {
                    Ok(entry)
                }
                Some(_) => Err(TokenError::Invalid),
                // simplejwt ignores `kid`, and so did jwtd with one key: a token minted by a
                // service sharing the one key may carry any. It still verifies; failing, it is
                // an unknown key, so that a verifier can look for a newer key set.
                None if self.entries.len() == 1 => {
                    let only = &self.entries[0];
                    if !usable(only) {
                        Err(TokenError::Invalid)
                    } else if only.keys.verify(signature_b64, message) {
                        Ok(only)
                    } else {
                        Err(TokenError::UnknownKey)
                    }
                }
                None => Err(TokenError::UnknownKey),
            },
            None => self
                .entries
                .iter()
                .filter(|e| usable(e))
                .find(|e| e.keys.verify(signature_b64, message))
                .ok_or(TokenError::Invalid),
        }
    }
}
