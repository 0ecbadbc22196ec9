//! Signing and verifying keys: HMAC secrets and PEM key pairs, checked once at start-up.
//!
//! Keys are parsed here, once, into the forms `jsonwebtoken` signs and verifies with. When only a
//! private key is given, the public key is derived from it, so one file is enough to run. A
//! verifying key given alongside is checked to belong to the signing key: a mismatch would
//! otherwise only show as every token failing.

use std::fmt;

use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::algorithm::{Algorithm, Family};

/// Why key material was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An HMAC secret shorter than the hash output (RFC 7518 3.2).
    #[error("the {algorithm} secret is {len} bytes; at least {min} bytes are required")]
    WeakSecret {
        /// The configured algorithm.
        algorithm: Algorithm,
        /// The secret's length in bytes.
        len: usize,
        /// The shortest accepted length.
        min: usize,
    },
    /// The text is not a PEM block.
    #[error("not a PEM key ({0})")]
    NotPem(String),
    /// A PEM block of a kind that does not fit the algorithm.
    #[error("a PEM {label:?} block does not fit {algorithm}: {reason}")]
    WrongKey {
        /// The configured algorithm.
        algorithm: Algorithm,
        /// The PEM label found.
        label: String,
        /// What was wrong.
        reason: String,
    },
    /// The verifying key does not verify what the signing key signs.
    #[error("the verifying key does not belong to the signing key")]
    Mismatch,
    /// Generating a key failed in the crypto library.
    #[error("key generation failed")]
    Generation,
}

/// The keys of one configured algorithm, ready to sign and verify.
pub struct Keys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl Keys {
    /// Builds keys from configuration: an HMAC secret for `HS*`, a PEM private key otherwise.
    ///
    /// `verifying` is ignored for HMAC (the secret verifies). For the other families it is a PEM
    /// public key (SPKI, or PKCS#1 `RSA PUBLIC KEY`); when absent it is derived from `signing`.
    pub fn new(
        algorithm: Algorithm,
        signing: &[u8],
        verifying: Option<&[u8]>,
    ) -> Result<Keys, KeyError> {
        let keys = match algorithm.family() {
            Family::Hmac => Keys::hmac(algorithm, signing)?,
            _ => Keys::pem(algorithm, signing, verifying)?,
        };
        keys.check_pair()?;
        Ok(keys)
    }

    fn hmac(algorithm: Algorithm, secret: &[u8]) -> Result<Keys, KeyError> {
        let min = algorithm.min_hmac_key_len().unwrap_or(0);
        if secret.len() < min {
            return Err(KeyError::WeakSecret {
                algorithm,
                len: secret.len(),
                min,
            });
        }
        Ok(Keys {
            algorithm,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        })
    }

    fn pem(
        algorithm: Algorithm,
        private_pem: &[u8],
        public_pem: Option<&[u8]>,
    ) -> Result<Keys, KeyError> {
        let block = pem::parse(private_pem).map_err(|e| KeyError::NotPem(e.to_string()))?;
        let wrong = |reason: &str| KeyError::WrongKey {
            algorithm,
            label: block.tag().to_owned(),
            reason: reason.to_owned(),
        };
        let (encoding, derived) = match (algorithm.family(), block.tag()) {
            (Family::Rsa, "RSA PRIVATE KEY" | "PRIVATE KEY") => {
                // jsonwebtoken signs with the PKCS#1 form; it unwraps PKCS#8 itself.
                let encoding = EncodingKey::from_rsa_pem(private_pem)
                    .map_err(|_| wrong("not an RSA private key"))?;
                let pair = RsaKeyPair::from_der(encoding.as_bytes())
                    .map_err(|e| wrong(&format!("RSA key rejected: {e}")))?;
                let public = DecodingKey::from_rsa_der(pair.public_key().as_ref());
                (encoding, public)
            }
            (Family::Ec, "PRIVATE KEY" | "EC PRIVATE KEY") => {
                let signing_alg = match algorithm {
                    Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    _ => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                };
                let pair = if block.tag() == "PRIVATE KEY" {
                    EcdsaKeyPair::from_pkcs8(signing_alg, block.contents())
                } else {
                    EcdsaKeyPair::from_private_key_der(signing_alg, block.contents())
                }
                .map_err(|_| wrong("not a private key on the algorithm's curve"))?;
                // jsonwebtoken wants PKCS#8; SEC1 keys are re-encoded once here.
                let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyError::Generation)?;
                let public = DecodingKey::from_ec_der(pair.public_key().as_ref());
                (EncodingKey::from_ec_der(pkcs8.as_ref()), public)
            }
            (Family::Ed, "PRIVATE KEY") => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(block.contents())
                    .map_err(|_| wrong("not an Ed25519 private key"))?;
                let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyError::Generation)?;
                let public = DecodingKey::from_ed_der(pair.public_key().as_ref());
                (EncodingKey::from_ed_der(pkcs8.as_ref()), public)
            }
            _ => return Err(wrong("expected a private key (PKCS#8, PKCS#1 or SEC1)")),
        };
        let decoding = match public_pem {
            None => derived,
            Some(public_pem) => Keys::public_pem(algorithm, public_pem)?,
        };
        Ok(Keys {
            algorithm,
            encoding,
            decoding,
        })
    }

    fn public_pem(algorithm: Algorithm, public_pem: &[u8]) -> Result<DecodingKey, KeyError> {
        let block = pem::parse(public_pem).map_err(|e| KeyError::NotPem(e.to_string()))?;
        let result = match (algorithm.family(), block.tag()) {
            (Family::Rsa, "PUBLIC KEY" | "RSA PUBLIC KEY") => DecodingKey::from_rsa_pem(public_pem),
            (Family::Ec, "PUBLIC KEY") => DecodingKey::from_ec_pem(public_pem),
            (Family::Ed, "PUBLIC KEY") => DecodingKey::from_ed_pem(public_pem),
            _ => {
                return Err(KeyError::WrongKey {
                    algorithm,
                    label: block.tag().to_owned(),
                    reason: "expected a public key (SPKI)".to_owned(),
                });
            }
        };
        result.map_err(|e| KeyError::WrongKey {
            algorithm,
            label: block.tag().to_owned(),
            reason: e.to_string(),
        })
    }

    /// Signs and verifies a probe, so a mismatched or unusable pair fails at start-up.
    fn check_pair(&self) -> Result<(), KeyError> {
        let probe = b"jwtd key check";
        let signature = self.sign(probe).map_err(|_| KeyError::Mismatch)?;
        if self.verify(&signature, probe) {
            Ok(())
        } else {
            Err(KeyError::Mismatch)
        }
    }

    /// The configured algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Signs `message`, returning the base64url signature.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::crypto::sign(message, &self.encoding, self.algorithm.to_jsonwebtoken())
    }

    /// Checks a base64url signature over `message` with the configured algorithm only.
    pub(crate) fn verify(&self, signature_b64: &str, message: &[u8]) -> bool {
        jsonwebtoken::crypto::verify(
            signature_b64,
            message,
            &self.decoding,
            self.algorithm.to_jsonwebtoken(),
        )
        .unwrap_or(false)
    }
}

/// Generates new key material for `algorithm`: a random secret for `HS*` (64 random bytes,
/// base64url-encoded, used as the secret text itself) or a PKCS#8 PEM private key.
pub fn generate(algorithm: Algorithm) -> Result<String, KeyError> {
    let pkcs8: Vec<u8> = match algorithm.family() {
        Family::Hmac => return Ok(random_secret()),
        Family::Rsa => {
            let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeyError::Generation)?;
            use aws_lc_rs::encoding::AsDer;
            let der: aws_lc_rs::encoding::Pkcs8V1Der =
                pair.as_der().map_err(|_| KeyError::Generation)?;
            der.as_ref().to_vec()
        }
        Family::Ec => {
            let signing_alg = match algorithm {
                Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                _ => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            };
            let pair = EcdsaKeyPair::generate(signing_alg).map_err(|_| KeyError::Generation)?;
            pair.to_pkcs8v1()
                .map_err(|_| KeyError::Generation)?
                .as_ref()
                .to_vec()
        }
        Family::Ed => {
            let pair = Ed25519KeyPair::generate().map_err(|_| KeyError::Generation)?;
            pair.to_pkcs8v1()
                .map_err(|_| KeyError::Generation)?
                .as_ref()
                .to_vec()
        }
    };
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8)))
}

/// 64 random bytes as base64url text (86 characters). The text itself is the HMAC secret, so it
/// can be pasted unchanged into simplejwt's `SIGNING_KEY`.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 64];
    // The system random generator failing means the OS cannot give randomness at all; there is
    // no safe way to go on issuing keys or token ids.
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("system random generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_hmac_secrets_are_refused() {
        for (alg, min) in [
            (Algorithm::HS256, 32),
            (Algorithm::HS384, 48),
            (Algorithm::HS512, 64),
        ] {
            let short = vec![b'k'; min - 1];
            assert!(matches!(
                Keys::new(alg, &short, None),
                Err(KeyError::WeakSecret { len, .. }) if len == min - 1
            ));
            assert!(Keys::new(alg, &vec![b'k'; min], None).is_ok());
        }
    }

    #[test]
    fn generated_keys_load_for_every_algorithm() {
        for alg in Algorithm::ALL {
            let material = generate(alg).unwrap();
            let keys =
                Keys::new(alg, material.as_bytes(), None).unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(keys.algorithm(), alg);
        }
    }

    #[test]
    fn a_pem_for_another_family_is_refused() {
        let ec = generate(Algorithm::ES256).unwrap();
        assert!(matches!(
            Keys::new(Algorithm::RS256, ec.as_bytes(), None),
            Err(KeyError::WrongKey { .. })
        ));
        assert!(matches!(
            Keys::new(Algorithm::ES384, ec.as_bytes(), None),
            Err(KeyError::WrongKey { .. })
        ));
        assert!(matches!(
            Keys::new(Algorithm::EdDSA, b"not a pem", None),
            Err(KeyError::NotPem(_))
        ));
    }

    #[test]
    fn a_verifying_key_of_another_pair_is_refused() {
        let first = generate(Algorithm::EdDSA).unwrap();
        let second = generate(Algorithm::EdDSA).unwrap();
        let second_keys = Keys::new(Algorithm::EdDSA, second.as_bytes(), None).unwrap();
        let _ = second_keys;
        let public = ed25519_public_pem(&second);
        assert!(matches!(
            Keys::new(Algorithm::EdDSA, first.as_bytes(), Some(public.as_bytes())),
            Err(KeyError::Mismatch)
        ));
        let own = ed25519_public_pem(&first);
        assert!(Keys::new(Algorithm::EdDSA, first.as_bytes(), Some(own.as_bytes())).is_ok());
    }

    fn ed25519_public_pem(private_pem: &str) -> String {
        use aws_lc_rs::encoding::AsDer;
        let block = pem::parse(private_pem).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(block.contents()).unwrap();
        let spki = pair.public_key().as_der().unwrap();
        pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()))
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let keys = Keys::new(Algorithm::HS256, b"0123456789abcdef0123456789abcdef", None).unwrap();
        assert!(!format!("{keys:?}").contains("0123456789"));
    }
}
