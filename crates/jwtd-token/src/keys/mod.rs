//! Signing and verifying keys: HMAC secrets and PEM key pairs, checked once at start-up.
//!
//! Keys are parsed once into aws-lc-rs key objects (`hmac::Key`, `RsaKeyPair`, `EcdsaKeyPair`,
//! `Ed25519KeyPair`, `ParsedPublicKey`) that sign and verify every token after that.
//! `jsonwebtoken::crypto` re-parses the key material on every call (RSA signing cost about 2.8
//! times the signature itself, issue 6); holding parsed keys makes a token cost little more than
//! its signature. When only a private key is given, the public key is derived from it, so one
//! file is enough to run. A verifying key given alongside is checked to belong to the signing
//! key: a mismatch would otherwise only show as every token failing.
//!
//! This module owns [`Keys`], its errors, and signing and verifying with parsed keys. The
//! algorithm table is in `primitive`, parsing in `secret` (HMAC) and `asymmetric` (PEM key
//! pairs), and new key material in `generate` and `secret`.

use std::fmt;

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey, RsaEncoding, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::algorithm::Algorithm;
use crate::jwk::PublicJwk;
use primitive::{Primitive, primitive};

mod asymmetric;
mod generate;
mod import;
mod primitive;
mod secret;
mod set;

pub use generate::generate;
pub use secret::random_secret;
pub use set::{KeyEntry, KeySet, KeyState};

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
    /// A JWK that cannot be used; the reason inside.
    #[error("not a usable JWK: {0}")]
    Jwk(String),
    /// A key set that cannot be used (no active key, two keys with one `kid`, ...).
    #[error("{0}")]
    Set(String),
}

/// The longest signature jwtd can produce or accept: RSA with an 8192-bit modulus (aws-lc-rs
/// refuses larger RSA keys). Signatures are handled in stack buffers of this size.
const MAX_SIGNATURE_LEN: usize = 8192 / 8;

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

/// The keys of one algorithm, parsed once and ready to verify and, when the private half is
/// there, to sign.
pub struct Keys {
    algorithm: Algorithm,
    /// `None` for a public key only (from a JWKS, a public PEM or JWK): it verifies, never signs.
    signer: Option<Signer>,
    verifier: Verifier,
    /// The public key as a JWK, for asymmetric algorithms (an HMAC secret is never published).
    jwk: Option<PublicJwk>,
    /// The key's default id: the RFC 7638 thumbprint for a public key; for a secret, a MAC of a
    /// fixed label under the secret (publishing a plain hash of a weak secret would let anyone
    /// test guesses offline without a token; a MAC costs them as much as a token's MAC does).
    kid: String,
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

    /// Signs and verifies a probe, so a mismatched or unusable pair fails at start-up.
    pub(crate) fn check_pair(&self) -> Result<(), KeyError> {
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

    /// The key's default id (`kid`): the RFC 7638 thumbprint of a public key, a keyed digest
    /// for an HMAC secret. Instances holding the same key agree on it.
    pub fn default_kid(&self) -> &str {
        &self.kid
    }

    /// Whether these keys can sign (a private key or a secret), not only verify.
    pub fn can_sign(&self) -> bool {
        self.signer.is_some()
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
        let Some(signer) = &self.signer else {
            return Err(Unspecified);
        };
        Ok(match signer {
            Signer::Hmac(key) => copy_into(buf, hmac::sign(key, message).as_ref())?,
            Signer::Rsa(pair, encoding) => {
                let len = pair.public_modulus_len();
                let out = buf.get_mut(..len).ok_or(Unspecified)?;
                // aws-lc-rs draws PSS salts itself; the generator argument is unused.
                pair.sign(*encoding, &SystemRandom::new(), message, out)?;
                len
            }
            Signer::Ecdsa(pair) => {
                let len = copy_into(buf, pair.sign(&SystemRandom::new(), message)?.as_ref())?;
                if self.algorithm == Algorithm::ES256K {
                    low_s(&mut buf[len / 2..len]);
                }
                len
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

/// secp256k1's group order n, big-endian.
const SECP256K1_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// Replaces an ES256K signature's `s` by `n - s` when `s > n/2`. Both verify, but many secp256k1
/// verifiers (the `k256` crate, libsecp256k1) accept only the low form, and aws-lc-rs signs
/// either; written here because it is one subtraction no crate of ours offers on raw bytes.
fn low_s(s: &mut [u8]) {
    let Ok(s) = <&mut [u8; 32]>::try_from(s) else {
        return;
    };
    // s > n/2  <=>  2s > n, compared without overflow as s > n - s.
    let mut negated = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(SECP256K1_ORDER[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        negated[i] = d.rem_euclid(256) as u8;
    }
    if *s > negated {
        *s = negated;
    }
}

fn copy_into(buf: &mut [u8], signature: &[u8]) -> Result<usize, Unspecified> {
    buf.get_mut(..signature.len())
        .ok_or(Unspecified)?
        .copy_from_slice(signature);
    Ok(signature.len())
}

#[cfg(test)]
mod tests;
