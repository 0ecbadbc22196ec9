//! Keys from JWKs (RFC 7517, 7518 6, 8037): private JWKs sign and verify, public ones verify
//! only, `oct` JWKs are HMAC secrets. Also the DER glue between JWK numbers and the forms
//! aws-lc-rs reads, done with RustCrypto's `spki` and `pkcs1` types rather than by hand.

use aws_lc_rs::rsa::{KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey, RsaKeyPair, VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pkcs1::der::{Decode, Encode};
use serde_json::Value;

use super::asymmetric::public_jwk;
use super::primitive::{Primitive, primitive};
use super::{KeyError, Keys, Signer, Verifier};
use crate::algorithm::{Algorithm, Family};

impl Keys {
    /// Keys from a JWK. The algorithm is `algorithm` when given, else the JWK's `alg`; when both
    /// are there they must agree, and the key type and curve must fit it (a JWK saying `RS256`
    /// over an EC key is refused, never reinterpreted). A JWK with a private part (`d`, or `k`
    /// for `oct`) signs and verifies; a public JWK verifies only.
    pub fn from_jwk(jwk: &Value, algorithm: Option<Algorithm>) -> Result<Keys, KeyError> {
        let bad = |reason: &str| KeyError::Jwk(reason.to_owned());
        let jwk = jwk.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let text = |name: &str| -> Result<Option<&str>, KeyError> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(KeyError::Jwk(format!("{name:?} is not a string"))),
            }
        };
        if let Some(usage) = text("use")?
            && usage != "sig"
        {
            return Err(bad("its \"use\" is not \"sig\""));
        }
        let declared = text("alg")?
            .map(|alg| {
                alg.parse::<Algorithm>()
                    .map_err(|e| KeyError::Jwk(e.to_string()))
            })
            .transpose()?;
        let kty = text("kty")?.ok_or_else(|| bad("no \"kty\""))?;
        let crv = text("crv")?;
        let inferred = match (kty, crv) {
            ("EC", Some("P-256")) => Some(Algorithm::ES256),
            ("EC", Some("P-384")) => Some(Algorithm::ES384),
            ("EC", Some("P-521")) => Some(Algorithm::ES512),
            ("EC", Some("secp256k1")) => Some(Algorithm::ES256K),
            ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
            _ => None,
        };
        let algorithm = match (algorithm, declared) {
            (Some(given), Some(declared)) if given != declared => {
                return Err(KeyError::Jwk(format!(
                    "its \"alg\" is {declared}, the configured algorithm is {given}"
                )));
            }
            (Some(alg), _) | (None, Some(alg)) => alg,
            (None, None) => inferred.ok_or_else(|| {
                bad("no \"alg\" (an RSA or oct JWK must say which algorithm it is for)")
            })?,
        };
        let fits = match (algorithm.family(), kty) {
            (Family::Hmac, "oct") | (Family::Rsa, "RSA") => true,
            (Family::Ec | Family::Ed, _) => inferred == Some(algorithm),
            _ => false,
        };
        if !fits {
            return Err(KeyError::Jwk(format!(
                "a {kty} key{} does not fit {algorithm}",
                crv.map(|c| format!(" on {c}")).unwrap_or_default()
            )));
        }
        let number = |name: &str| -> Result<Vec<u8>, KeyError> {
            let value = text(name)?.ok_or_else(|| KeyError::Jwk(format!("no {name:?}")))?;
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|_| KeyError::Jwk(format!("{name:?} is not unpadded base64url")))
        };
        let private = jwk.contains_key("d");
        let keys = match primitive(algorithm) {
            Primitive::Hmac(hmac_alg) => Keys::hmac(algorithm, hmac_alg, &number("k")?)?,
            Primitive::Rsa { signing, verifying } => {
                let (n, e) = (number("n")?, number("e")?);
                if private {
                    let (d, p, q) = (number("d")?, number("p")?, number("q")?);
                    let (dp, dq, qi) = (number("dp")?, number("dq")?, number("qi")?);
                    let components = KeyPairComponents {
                        public_key: PublicKeyComponents { n: &n, e: &e },
                        d: &d,
                        p: &p,
                        q: &q,
                        dP: &dp,
                        dQ: &dq,
                        qInv: &qi,
                    };
                    // Refuses moduli outside 2048..=8192 bits, as PEM keys are.
                    let pair = RsaKeyPair::from_components(&components)
                        .map_err(|e| KeyError::Jwk(format!("not a usable RSA key ({e})")))?;
                    Keys::pair(algorithm, Signer::Rsa(pair, signing), verifying)?
                } else {
                    let der = rsa_public_der(&n, &e)
                        .ok_or_else(|| bad("\"n\" or \"e\" is not a valid number"))?;
                    Keys::public_der(algorithm, verifying, &der)?
                }
            }
            Primitive::Ecdsa { signing, verifying } => {
                let (x, y) = (number("x")?, number("y")?);
                let point = [&[0x04][..], &x, &y].concat();
                if private {
                    let pair = EcdsaKeyPair::from_private_key_and_public_key(
                        signing,
                        &number("d")?,
                        &point,
                    )
                    .map_err(|_| bad("\"d\", \"x\" and \"y\" are not one key pair"))?;
                    Keys::pair(algorithm, Signer::Ecdsa(pair), verifying)?
                } else {
                    Keys::public_der(algorithm, verifying, &point)?
                }
            }
            Primitive::Ed25519 => {
                let x = number("x")?;
                if private {
                    let pair = Ed25519KeyPair::from_seed_and_public_key(&number("d")?, &x)
                        .map_err(|_| bad("\"d\" and \"x\" are not one key pair"))?;
                    Keys::pair(algorithm, Signer::Ed25519(pair), &signature::ED25519)?
                } else {
                    Keys::public_der(algorithm, &signature::ED25519, &x)?
                }
            }
        };
        if keys.can_sign() {
            keys.check_pair()?;
        }
        Ok(keys)
    }

    /// Keys from a parsed private key: its public half verifies.
    fn pair(
        algorithm: Algorithm,
        signer: Signer,
        verifying: &'static dyn VerificationAlgorithm,
    ) -> Result<Keys, KeyError> {
        let jwk = public_jwk(algorithm, &signer)
            .ok_or_else(|| KeyError::Jwk("its public key cannot be written as a JWK".into()))?;
        let public_bytes = match &signer {
            Signer::Rsa(pair, _) => signature::KeyPair::public_key(pair).as_ref().to_vec(),
            Signer::Ecdsa(pair) => signature::KeyPair::public_key(pair).as_ref().to_vec(),
            Signer::Ed25519(pair) => signature::KeyPair::public_key(pair).as_ref().to_vec(),
            Signer::Hmac(_) => return Err(KeyError::Jwk("not an asymmetric key".into())),
        };
        let public = ParsedPublicKey::new(verifying, public_bytes)
            .map_err(|e| KeyError::Jwk(format!("its public key was rejected ({e})")))?;
        Ok(Keys {
            algorithm,
            signer: Some(signer),
            verifier: Verifier::Public(public),
            kid: jwk.kid().to_owned(),
            jwk: Some(jwk),
        })
    }

    /// Verifying-only keys from the public bytes aws-lc-rs reads (PKCS#1 for RSA, the point for
    /// EC, the raw key for Ed25519).
    fn public_der(
        algorithm: Algorithm,
        verifying: &'static dyn VerificationAlgorithm,
        bytes: &[u8],
    ) -> Result<Keys, KeyError> {
        let public = ParsedPublicKey::new(verifying, bytes)
            .map_err(|e| KeyError::Jwk(format!("not a public key for {algorithm} ({e})")))?;
        Keys::verifying_only(algorithm, public)
    }
}

/// The key bytes of a DER SubjectPublicKeyInfo.
pub(super) fn spki_key_bytes(der: &[u8]) -> Option<Vec<u8>> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(der).ok()?;
    spki.subject_public_key.as_bytes().map(<[u8]>::to_vec)
}

/// RSA's modulus and exponent from a PKCS#1 `RSAPublicKey`, big-endian without leading zeros.
pub(super) fn rsa_public_numbers(pkcs1_der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let key = pkcs1::RsaPublicKey::from_der(pkcs1_der).ok()?;
    Some((
        key.modulus.as_bytes().to_vec(),
        key.public_exponent.as_bytes().to_vec(),
    ))
}

/// A PKCS#1 `RSAPublicKey` from a JWK's numbers.
fn rsa_public_der(n: &[u8], e: &[u8]) -> Option<Vec<u8>> {
    let key = pkcs1::RsaPublicKey {
        modulus: pkcs1::UintRef::new(n).ok()?,
        public_exponent: pkcs1::UintRef::new(e).ok()?,
    };
    key.to_der().ok()
}
