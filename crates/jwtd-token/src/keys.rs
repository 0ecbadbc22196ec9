//! Signing and verifying keys: HMAC secrets and PEM key pairs, checked once at start-up.
//!
//! Keys are parsed here, once, into aws-lc-rs key objects (`hmac::Key`, `RsaKeyPair`,
//! `EcdsaKeyPair`, `Ed25519KeyPair`, `ParsedPublicKey`) that sign and verify every token after
//! that. `jsonwebtoken::crypto` re-parses the key material on every call (RSA signing cost about
//! 2.8 times the signature itself, issue 6); holding parsed keys makes a token cost little more
//! than its signature. When only a private key is given, the public key is derived from it, so
//! one file is enough to run. A verifying key given alongside is checked to belong to the
//! signing key: a mismatch would otherwise only show as every token failing.

use std::fmt;

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaEncoding, RsaKeyPair,
    VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::algorithm::{Algorithm, Family};
use crate::jwk::{PublicJwk, PublicParts};

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
    /// The verifying key is unusable; the reason inside.
    #[error("{0}")]
    Verifying(Box<KeyError>),
    /// The verifying key does not verify what the signing key signs.
    #[error("the verifying key does not belong to the signing key")]
    Mismatch,
    /// Generating a key failed in the crypto library.
    #[error("key generation failed")]
    Generation,
}

/// The longest signature jwtd can produce or accept: RSA with an 8192-bit modulus (aws-lc-rs
/// refuses larger RSA keys). Signatures are handled in stack buffers of this size.
const MAX_SIGNATURE_LEN: usize = 8192 / 8;

/// The aws-lc-rs primitives of each algorithm, in one table so that signing and verification
/// cannot disagree. The configured algorithm picks the row; a token's header never does
/// (RFC 8725 3.1).
enum Primitive {
    Hmac(hmac::Algorithm),
    Rsa {
        signing: &'static dyn RsaEncoding,
        // 2048..=8192-bit moduli only: smaller keys are refused at verification too.
        verifying: &'static signature::RsaParameters,
    },
    Ecdsa {
        // FIXED: signatures are r‖s of the curve's size (RFC 7518 3.4), never DER.
        signing: &'static signature::EcdsaSigningAlgorithm,
        verifying: &'static signature::EcdsaVerificationAlgorithm,
    },
    Ed25519,
}

fn primitive(algorithm: Algorithm) -> Primitive {
    use signature as s;
    match algorithm {
        Algorithm::HS256 => Primitive::Hmac(hmac::HMAC_SHA256),
        Algorithm::HS384 => Primitive::Hmac(hmac::HMAC_SHA384),
        Algorithm::HS512 => Primitive::Hmac(hmac::HMAC_SHA512),
        Algorithm::RS256 => Primitive::Rsa {
            signing: &s::RSA_PKCS1_SHA256,
            verifying: &s::RSA_PKCS1_2048_8192_SHA256,
        },
        Algorithm::RS384 => Primitive::Rsa {
            signing: &s::RSA_PKCS1_SHA384,
            verifying: &s::RSA_PKCS1_2048_8192_SHA384,
        },
        Algorithm::RS512 => Primitive::Rsa {
            signing: &s::RSA_PKCS1_SHA512,
            verifying: &s::RSA_PKCS1_2048_8192_SHA512,
        },
        Algorithm::PS256 => Primitive::Rsa {
            signing: &s::RSA_PSS_SHA256,
            verifying: &s::RSA_PSS_2048_8192_SHA256,
        },
        Algorithm::PS384 => Primitive::Rsa {
            signing: &s::RSA_PSS_SHA384,
            verifying: &s::RSA_PSS_2048_8192_SHA384,
        },
        Algorithm::PS512 => Primitive::Rsa {
            signing: &s::RSA_PSS_SHA512,
            verifying: &s::RSA_PSS_2048_8192_SHA512,
        },
        Algorithm::ES256 => Primitive::Ecdsa {
            signing: &s::ECDSA_P256_SHA256_FIXED_SIGNING,
            verifying: &s::ECDSA_P256_SHA256_FIXED,
        },
        Algorithm::ES384 => Primitive::Ecdsa {
            signing: &s::ECDSA_P384_SHA384_FIXED_SIGNING,
            verifying: &s::ECDSA_P384_SHA384_FIXED,
        },
        Algorithm::EdDSA => Primitive::Ed25519,
    }
}

/// A parsed signing key. RSA keeps its padding: the key pair itself signs under any of them.
// A server holds one `Keys`: the HMAC variant's size costs nothing, a box would cost a pointer
// chase per token.
#[allow(clippy::large_enum_variant)]
enum Signer {
    Hmac(hmac::Key),
    Rsa(RsaKeyPair, &'static dyn RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A parsed verifying key, bound to the configured algorithm's parameters when it was parsed.
#[allow(clippy::large_enum_variant)] // as for `Signer`
enum Verifier {
    /// The HMAC secret; tags are compared in constant time (`hmac::verify`).
    Hmac(hmac::Key),
    Public(ParsedPublicKey),
}

/// The keys of one configured algorithm, parsed once and ready to sign and verify.
pub struct Keys {
    algorithm: Algorithm,
    signer: Signer,
    verifier: Verifier,
    /// The public key as a JWK, for asymmetric algorithms (an HMAC secret is never published).
    jwk: Option<PublicJwk>,
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
        let keys = match primitive(algorithm) {
            Primitive::Hmac(hmac_alg) => Keys::hmac(algorithm, hmac_alg, signing)?,
            _ => Keys::pem(algorithm, signing, verifying)?,
        };
        keys.check_pair()?;
        Ok(keys)
    }

    fn hmac(
        algorithm: Algorithm,
        hmac_alg: hmac::Algorithm,
        secret: &[u8],
    ) -> Result<Keys, KeyError> {
        let min = algorithm.min_hmac_key_len().unwrap_or(0);
        if secret.len() < min {
            return Err(KeyError::WeakSecret {
                algorithm,
                len: secret.len(),
                min,
            });
        }
        let key = hmac::Key::new(hmac_alg, secret);
        Ok(Keys {
            algorithm,
            signer: Signer::Hmac(key.clone()),
            verifier: Verifier::Hmac(key),
            jwk: None,
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
        let pkcs8 = block.tag() == "PRIVATE KEY";
        let der = block.contents();
        let (signer, public_der, verifying): (Signer, Vec<u8>, &'static dyn VerificationAlgorithm) =
            match (primitive(algorithm), block.tag()) {
                (Primitive::Rsa { signing, verifying }, "RSA PRIVATE KEY" | "PRIVATE KEY") => {
                    // Both refuse moduli outside 2048..=8192 bits.
                    let pair = if pkcs8 {
                        RsaKeyPair::from_pkcs8(der)
                    } else {
                        RsaKeyPair::from_der(der)
                    }
                    .map_err(|e| wrong(&format!("not a usable RSA private key ({e})")))?;
                    let public = pair.public_key().as_ref().to_vec();
                    (Signer::Rsa(pair, signing), public, verifying)
                }
                (Primitive::Ecdsa { signing, verifying }, "PRIVATE KEY" | "EC PRIVATE KEY") => {
                    let pair = if pkcs8 {
                        EcdsaKeyPair::from_pkcs8(signing, der)
                    } else {
                        EcdsaKeyPair::from_private_key_der(signing, der)
                    }
                    .map_err(|_| wrong("not a private key on the algorithm's curve"))?;
                    let public = pair.public_key().as_ref().to_vec();
                    (Signer::Ecdsa(pair), public, verifying)
                }
                (Primitive::Ed25519, "PRIVATE KEY") => {
                    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                        .map_err(|_| wrong("not an Ed25519 private key"))?;
                    let public = pair.public_key().as_ref().to_vec();
                    (Signer::Ed25519(pair), public, &signature::ED25519)
                }
                _ => return Err(wrong("expected a private key (PKCS#8, PKCS#1 or SEC1)")),
            };
        let jwk = public_jwk(algorithm, &signer)
            .ok_or_else(|| wrong("its public key cannot be written as a JWK"))?;
        let public = match public_pem {
            None => ParsedPublicKey::new(verifying, public_der)
                .map_err(|e| wrong(&format!("its public key was rejected ({e})")))?,
            Some(public_pem) => Keys::public_pem(algorithm, verifying, public_pem)
                .map_err(|e| KeyError::Verifying(Box::new(e)))?,
        };
        Ok(Keys {
            algorithm,
            signer,
            verifier: Verifier::Public(public),
            jwk: Some(jwk),
        })
    }

    fn public_pem(
        algorithm: Algorithm,
        verifying: &'static dyn VerificationAlgorithm,
        public_pem: &[u8],
    ) -> Result<ParsedPublicKey, KeyError> {
        let block = pem::parse(public_pem).map_err(|e| KeyError::NotPem(e.to_string()))?;
        let wrong = |reason: String| KeyError::WrongKey {
            algorithm,
            label: block.tag().to_owned(),
            reason,
        };
        match (algorithm.family(), block.tag()) {
            (Family::Rsa, "PUBLIC KEY" | "RSA PUBLIC KEY")
            | (Family::Ec | Family::Ed, "PUBLIC KEY") => {}
            _ => return Err(wrong("expected a public key (SPKI)".to_owned())),
        }
        // Parsing checks the key type and, for EC, the curve; an RSA modulus under 2048 bits
        // parses but never verifies, so the pair check refuses it.
        ParsedPublicKey::new(verifying, block.contents())
            .map_err(|e| wrong(format!("not a public key for {algorithm} ({e})")))
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

    /// The public key as a JWK with its key id, for asymmetric algorithms; `None` for HMAC.
    /// (The verifying key, when given separately, was checked to be the signing key's pair.)
    pub fn public_jwk(&self) -> Option<&PublicJwk> {
        self.jwk.as_ref()
    }

    /// Signs `message`, returning the base64url signature.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<String, Unspecified> {
        let mut buf = [0u8; MAX_SIGNATURE_LEN];
        let len = self.sign_into(message, &mut buf)?;
        Ok(URL_SAFE_NO_PAD.encode(&buf[..len]))
    }

    /// Signs everything already in `token` (the JWS signing input) and appends `.` and the
    /// base64url signature: one string per token, no intermediate signature string.
    pub(crate) fn append_signature(&self, token: &mut String) -> Result<(), Unspecified> {
        let mut buf = [0u8; MAX_SIGNATURE_LEN];
        let len = self.sign_into(token.as_bytes(), &mut buf)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&buf[..len], token);
        Ok(())
    }

    /// Writes the raw signature of `message` into `buf`, returning its length.
    fn sign_into(
        &self,
        message: &[u8],
        buf: &mut [u8; MAX_SIGNATURE_LEN],
    ) -> Result<usize, Unspecified> {
        Ok(match &self.signer {
            Signer::Hmac(key) => copy_into(buf, hmac::sign(key, message).as_ref())?,
            Signer::Rsa(pair, encoding) => {
                let len = pair.public_modulus_len();
                let out = buf.get_mut(..len).ok_or(Unspecified)?;
                // aws-lc-rs draws PSS salts itself; the generator argument is unused.
                pair.sign(*encoding, &SystemRandom::new(), message, out)?;
                len
            }
            Signer::Ecdsa(pair) => {
                copy_into(buf, pair.sign(&SystemRandom::new(), message)?.as_ref())?
            }
            Signer::Ed25519(pair) => copy_into(buf, pair.sign(message).as_ref())?,
        })
    }

    /// Checks a base64url signature over `message` with the configured algorithm only.
    ///
    /// The signature must be canonical unpadded base64url (RFC 7515 2). ECDSA signatures must
    /// be the fixed-size r‖s form with r and s in range; DER-encoded ones are refused.
    pub(crate) fn verify(&self, signature_b64: &str, message: &[u8]) -> bool {
        // base64 sizes its output check by a rounded-up estimate: leave room for it, so that
        // only signatures longer than any real one fail for length.
        let mut buf = [0u8; MAX_SIGNATURE_LEN + 3];
        let Ok(len) = URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut buf) else {
            return false;
        };
        let signature = &buf[..len];
        match &self.verifier {
            Verifier::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Verifier::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

/// The public half of an asymmetric signing key as a JWK.
fn public_jwk(algorithm: Algorithm, signer: &Signer) -> Option<PublicJwk> {
    match signer {
        Signer::Hmac(_) => None,
        Signer::Rsa(pair, _) => {
            let public = pair.public_key();
            let parts = PublicParts::Rsa {
                n: public.modulus().big_endian_without_leading_zero(),
                e: public.exponent().big_endian_without_leading_zero(),
            };
            PublicJwk::new(algorithm, &parts)
        }
        Signer::Ecdsa(pair) => {
            let crv = match algorithm {
                Algorithm::ES256 => "P-256",
                Algorithm::ES384 => "P-384",
                _ => return None,
            };
            let parts = PublicParts::Ec {
                crv,
                point: pair.public_key().as_ref(),
            };
            PublicJwk::new(algorithm, &parts)
        }
        Signer::Ed25519(pair) => PublicJwk::new(
            algorithm,
            &PublicParts::Ed25519 {
                x: pair.public_key().as_ref(),
            },
        ),
    }
}

fn copy_into(buf: &mut [u8], signature: &[u8]) -> Result<usize, Unspecified> {
    buf.get_mut(..signature.len())
        .ok_or(Unspecified)?
        .copy_from_slice(signature);
    Ok(signature.len())
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

    /// A verifying key that cannot be used is told apart from a bad signing key, so that
    /// configuration errors name the right setting.
    #[test]
    fn an_unusable_verifying_key_says_so() {
        let private = generate(Algorithm::EdDSA).unwrap();
        for bad in [b"not a pem".as_slice(), private.as_bytes()] {
            let err = Keys::new(Algorithm::EdDSA, private.as_bytes(), Some(bad)).unwrap_err();
            assert!(matches!(err, KeyError::Verifying(_)), "{err:?}");
        }
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

    // Wycheproof's raw signature and MAC files through `Keys::verify` itself, with the group's
    // public key parsed as `Keys` parses one. (tests/vectors.rs runs the same files through
    // `jsonwebtoken::crypto::verify`, which jwtd no longer calls.)

    fn wycheproof(file: &str) -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/vectors/wycheproof")
            .join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("test vectors missing: {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `Keys` for `algorithm` whose verifier is `verifier`. These tests never sign, so the
    /// signer is a placeholder (generating an RSA key per vector would take minutes).
    fn verifying_keys(algorithm: Algorithm, verifier: Verifier) -> Keys {
        Keys {
            algorithm,
            signer: Signer::Hmac(hmac::Key::new(hmac::HMAC_SHA256, b"never used")),
            verifier,
            jwk: None,
        }
    }

    /// Checks every full-size test of `file`: `valid` verifies, `invalid` does not. Returns
    /// (valid, invalid) counts.
    fn judge_file(
        file: &str,
        algorithm: Algorithm,
        keys_of: impl Fn(&serde_json::Value, &serde_json::Value) -> Option<Keys>,
        tag_bits: Option<u64>,
    ) -> (usize, usize) {
        let data = wycheproof(file);
        let (mut valid, mut invalid, mut failures) = (0, 0, Vec::new());
        for group in data["testGroups"].as_array().unwrap() {
            for test in group["tests"].as_array().unwrap() {
                let keys = keys_of(group, test);
                let message = hex(test["msg"].as_str().unwrap());
                let signature = test.get("sig").unwrap_or_else(|| &test["tag"]);
                let signature = URL_SAFE_NO_PAD.encode(hex(signature.as_str().unwrap()));
                let verified = keys.is_some_and(|k| k.verify(&signature, &message));
                let truncated = tag_bits.is_some_and(|bits| group["tagSize"] != bits);
                let expected = match test["result"].as_str().unwrap() {
                    // JWS never truncates a MAC: even a correct truncated tag must fail.
                    _ if truncated => false,
                    "valid" => true,
                    "invalid" => false,
                    _ => continue, // "acceptable": either outcome
                };
                if expected {
                    valid += 1;
                } else {
                    invalid += 1;
                }
                if verified != expected {
                    failures.push(format!("{file} tcId {}: {verified}", test["tcId"]));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        assert_eq!(algorithm.family() == Family::Hmac, tag_bits.is_some());
        (valid, invalid)
    }

    fn public(
        algorithm: Algorithm,
        verifying: &'static dyn VerificationAlgorithm,
        bytes: &[u8],
    ) -> Option<Keys> {
        let key = ParsedPublicKey::new(verifying, bytes).ok()?;
        Some(verifying_keys(algorithm, Verifier::Public(key)))
    }

    #[test]
    fn keys_verify_agrees_with_wycheproof_signatures() {
        let point = |alg, verifying| {
            move |group: &serde_json::Value, _: &serde_json::Value| {
                public(
                    alg,
                    verifying,
                    &hex(group["publicKey"]["uncompressed"].as_str()?),
                )
            }
        };
        let der = |alg, verifying| {
            move |group: &serde_json::Value, _: &serde_json::Value| {
                public(alg, verifying, &hex(group["publicKeyDer"].as_str()?))
            }
        };
        let cases: [(&str, Algorithm, (usize, usize)); 5] = [
            (
                "ecdsa_secp256r1_sha256_p1363_test.json",
                Algorithm::ES256,
                judge_file(
                    "ecdsa_secp256r1_sha256_p1363_test.json",
                    Algorithm::ES256,
                    point(Algorithm::ES256, &signature::ECDSA_P256_SHA256_FIXED),
                    None,
                ),
            ),
            (
                "ecdsa_secp384r1_sha384_p1363_test.json",
                Algorithm::ES384,
                judge_file(
                    "ecdsa_secp384r1_sha384_p1363_test.json",
                    Algorithm::ES384,
                    point(Algorithm::ES384, &signature::ECDSA_P384_SHA384_FIXED),
                    None,
                ),
            ),
            (
                "ed25519_test.json",
                Algorithm::EdDSA,
                judge_file(
                    "ed25519_test.json",
                    Algorithm::EdDSA,
                    |group, _| {
                        public(
                            Algorithm::EdDSA,
                            &signature::ED25519,
                            &hex(group["publicKey"]["pk"].as_str()?),
                        )
                    },
                    None,
                ),
            ),
            (
                "rsa_signature_2048_sha256_test.json",
                Algorithm::RS256,
                judge_file(
                    "rsa_signature_2048_sha256_test.json",
                    Algorithm::RS256,
                    der(Algorithm::RS256, &signature::RSA_PKCS1_2048_8192_SHA256),
                    None,
                ),
            ),
            (
                "rsa_pss_2048_sha256_mgf1_32_test.json",
                Algorithm::PS256,
                judge_file(
                    "rsa_pss_2048_sha256_mgf1_32_test.json",
                    Algorithm::PS256,
                    der(Algorithm::PS256, &signature::RSA_PSS_2048_8192_SHA256),
                    None,
                ),
            ),
        ];
        for (file, alg, (valid, invalid)) in cases {
            assert!(
                valid >= 5 && invalid >= 40,
                "{file} ({alg}): {valid} valid, {invalid} invalid"
            );
        }
    }

    #[test]
    fn keys_verify_agrees_with_wycheproof_macs() {
        for (file, alg, hmac_alg, bits) in [
            (
                "hmac_sha256_test.json",
                Algorithm::HS256,
                hmac::HMAC_SHA256,
                256,
            ),
            (
                "hmac_sha384_test.json",
                Algorithm::HS384,
                hmac::HMAC_SHA384,
                384,
            ),
            (
                "hmac_sha512_test.json",
                Algorithm::HS512,
                hmac::HMAC_SHA512,
                512,
            ),
        ] {
            let (valid, invalid) = judge_file(
                file,
                alg,
                |_, test| {
                    let key = hmac::Key::new(hmac_alg, &hex(test["key"].as_str()?));
                    Some(verifying_keys(alg, Verifier::Hmac(key)))
                },
                Some(bits),
            );
            assert!(
                valid >= 20 && invalid >= 70,
                "{file}: {valid} valid, {invalid} invalid"
            );
        }
    }

    #[test]
    fn a_der_encoded_ecdsa_signature_is_refused() {
        let keys = Keys::new(
            Algorithm::ES256,
            generate(Algorithm::ES256).unwrap().as_bytes(),
            None,
        )
        .unwrap();
        let Signer::Ecdsa(pair) = &keys.signer else {
            unreachable!()
        };
        let message = b"header.payload";
        let fixed = pair.sign(&SystemRandom::new(), message).unwrap();
        assert!(keys.verify(&URL_SAFE_NO_PAD.encode(fixed.as_ref()), message));
        // The same r and s, ASN.1 DER-encoded.
        let (r, s) = fixed.as_ref().split_at(32);
        let int = |v: &[u8]| {
            let v = &v[v.iter().take_while(|b| **b == 0).count()..];
            let pad = v[0] & 0x80 != 0;
            let mut out = vec![0x02, (v.len() + usize::from(pad)) as u8];
            if pad {
                out.push(0);
            }
            out.extend_from_slice(v);
            out
        };
        let body = [int(r), int(s)].concat();
        let der = [vec![0x30, body.len() as u8], body].concat();
        assert!(!keys.verify(&URL_SAFE_NO_PAD.encode(&der), message));
    }

    #[test]
    fn a_signature_of_the_wrong_size_or_encoding_is_refused() {
        let keys = Keys::new(Algorithm::HS256, &[b'k'; 32], None).unwrap();
        let message = b"header.payload";
        let good = keys.sign(message).unwrap();
        assert!(keys.verify(&good, message));
        let raw = URL_SAFE_NO_PAD.decode(&good).unwrap();
        for bad in [
            format!("{good}="),                                      // padding
            good[..good.len() - 1].to_owned(),                       // truncated
            URL_SAFE_NO_PAD.encode(&raw[..16]),                      // short tag
            URL_SAFE_NO_PAD.encode([raw.as_slice(), &[0]].concat()), // long tag
            "A".repeat(4 * MAX_SIGNATURE_LEN),                       // longer than any signature
        ] {
            assert!(!keys.verify(&bad, message), "{bad}");
        }
    }
}
