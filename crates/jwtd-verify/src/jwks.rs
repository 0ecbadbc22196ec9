//! A JWKS document (RFC 7517 5) into a verifying key set, one key at a time: a key this verifier
//! cannot or must not use is skipped with a warning and the others still verify, so one exotic
//! or broken entry in an issuer's JWKS does not take the whole service down.
//!
//! Also the algorithm allow-list and `Cache-Control: max-age`, both read from JWKS responses.

use std::time::Duration;

use jwtd_token::{Algorithm, Family, KeyEntry, KeySet, KeyState, Keys};
use serde_json::Value;

/// A set of algorithms, one bit per entry of [`Algorithm::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Algorithms(u16);

impl Algorithms {
    /// Every asymmetric algorithm: what a JWKS may carry.
    pub(crate) fn asymmetric() -> Algorithms {
        Algorithm::ALL
            .into_iter()
            .filter(|alg| alg.family() != Family::Hmac)
            .collect()
    }

    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        self.0 & bit(alg) != 0
    }

    pub(crate) fn insert(&mut self, alg: Algorithm) {
        self.0 |= bit(alg);
    }
}

impl FromIterator<Algorithm> for Algorithms {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = Algorithms(0);
        for alg in iter {
            set.insert(alg);
        }
        set
    }
}

fn bit(alg: Algorithm) -> u16 {
    let index = Algorithm::ALL
        .iter()
        .position(|a| *a == alg)
        .unwrap_or_default();
    1 << index
}

/// Why a JWKS document gave no key set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// Not an object with a `keys` array.
    #[error("not a JWKS document (an object with a \"keys\" array)")]
    NotAJwks,
    /// Every key was skipped (each one logged).
    #[error("no usable key in the JWKS ({skipped} skipped)")]
    NoUsableKey {
        /// How many keys were skipped.
        skipped: usize,
    },
}

/// The verifying entries of `document`, keeping only the keys of `allowed` algorithms.
/// `source` names the document in warnings (a URL, or "the configured JWKS").
pub(crate) fn entries(
    document: &Value,
    allowed: Algorithms,
    source: &str,
) -> Result<Vec<KeyEntry>, JwksError> {
    let keys = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JwksError::NotAJwks)?;
    let mut entries: Vec<KeyEntry> = Vec::with_capacity(keys.len());
    let mut skipped = 0;
    for (index, jwk) in keys.iter().enumerate() {
        match entry(jwk, allowed, &entries) {
            Ok(entry) => entries.push(entry),
            Err(reason) => {
                skipped += 1;
                let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("");
                tracing::warn!(%source, index, kid, %reason, "skipping a JWKS key");
            }
        }
    }
    if entries.is_empty() {
        return Err(JwksError::NoUsableKey { skipped });
    }
    Ok(entries)
}

/// The set of `entries` made by [`entries`]: kids unique and non-empty, none active, which is
/// all `KeySet::verifying` checks.
pub(crate) fn verifying_set(entries: Vec<KeyEntry>) -> Result<KeySet, JwksError> {
    KeySet::verifying(entries).map_err(|_| JwksError::NoUsableKey { skipped: 0 })
}

/// One JWK as a verifying entry, or why it is skipped.
fn entry(jwk: &Value, allowed: Algorithms, taken: &[KeyEntry]) -> Result<KeyEntry, String> {
    let object = jwk.as_object().ok_or("not a JSON object")?;
    // A JWKS is published: a secret in it is already leaked, and an HMAC key an attacker can
    // read would let them sign. Never used, whatever the allow-list says.
    if object.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err("a symmetric (oct) key; a JWKS must never carry secrets".to_owned());
    }
    if object.contains_key("d") {
        return Err("it carries a private key; a JWKS must publish public keys only".to_owned());
    }
    // RFC 7517 makes `alg` optional; an RSA key without one is RS256, as PyJWT's `PyJWK` and
    // most JWKS consumers read it (EC and OKP keys say their algorithm through `crv`).
    let assumed = (object.get("alg").is_none()
        && object.get("kty").and_then(Value::as_str) == Some("RSA"))
    .then_some(Algorithm::RS256);
    let keys = Keys::from_jwk(jwk, assumed).map_err(|e| e.to_string())?;
    let alg = keys.algorithm();
    if alg.family() == Family::Hmac {
        return Err("an HMAC key; a JWKS must never carry secrets".to_owned());
    }
    if !allowed.contains(alg) {
        return Err(format!("{alg} is not an allowed algorithm"));
    }
    let kid = match object.get("kid") {
        None => keys.default_kid().to_owned(),
        Some(Value::String(kid)) if !kid.is_empty() => kid.clone(),
        Some(_) => return Err("its \"kid\" is not a non-empty string".to_owned()),
    };
    if taken.iter().any(|e| e.kid() == kid) {
        return Err("a second key with the same kid (the first one is used)".to_owned());
    }
    // A verifying set signs nothing; `Next` is a published key that verifies.
    Ok(KeyEntry::new(keys, KeyState::Next).with_kid(kid))
}

/// `Cache-Control`'s `max-age`, if any (`no-cache`/`no-store` count as zero: refetch as soon as
/// the lower bound allows).
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            found = value
                .trim()
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("MAX-AGE=5"), Some(Duration::from_secs(5)));
        assert_eq!(
            max_age("max-age=\"7\", public"),
            Some(Duration::from_secs(7))
        );
        assert_eq!(max_age("public, no-cache"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
        assert_eq!(max_age(""), None);
    }

    #[test]
    fn the_allow_list_holds_what_was_inserted() {
        let asymmetric = Algorithms::asymmetric();
        assert!(asymmetric.contains(Algorithm::ES256));
        assert!(asymmetric.contains(Algorithm::EdDSA));
        assert!(!asymmetric.contains(Algorithm::HS256));
        let only: Algorithms = [Algorithm::HS512].into_iter().collect();
        assert!(only.contains(Algorithm::HS512));
        assert!(!only.contains(Algorithm::HS256));
    }

    #[test]
    fn a_document_without_keys_is_not_a_jwks() {
        let all = Algorithms::asymmetric();
        for doc in [
            serde_json::json!({}),
            serde_json::json!([]),
            serde_json::json!({"keys": {}}),
        ] {
            assert!(matches!(entries(&doc, all, "t"), Err(JwksError::NotAJwks)));
        }
        assert!(matches!(
            entries(
                &serde_json::json!({"keys": [{"kty": "oct", "k": "AAAA"}]}),
                all,
                "t"
            ),
            Err(JwksError::NoUsableKey { skipped: 1 })
        ));
    }
}
