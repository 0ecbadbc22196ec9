//! PEM key pairs for the RSA, ECDSA and Ed25519 families: the private key, the verifying key
//! (given, or derived from the private key) and the public key as a JWK.

use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, VerificationAlgorithm,
};

use super::primitive::{Primitive, primitive};
use super::{KeyError, Keys, Signer, Verifier};
use crate::algorithm::{Algorithm, Family};
use crate::jwk::{PublicJwk, PublicParts};

impl Keys {
    /// Keys from a PEM private key (PKCS#8, PKCS#1 or SEC1) of the algorithm's family, verified
    /// with `public_pem` when given and with the private key's own public half otherwise.
    pub(super) fn pem(
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
            signer: Some(signer),
            verifier: Verifier::Public(public),
            kid: jwk.kid().to_owned(),
            jwk: Some(jwk),
        })
    }

    /// Verifying-only keys from a PEM public key (SPKI, or PKCS#1 `RSA PUBLIC KEY`): they verify
    /// tokens signed elsewhere and never sign.
    pub fn from_public_pem(algorithm: Algorithm, public_pem: &[u8]) -> Result<Keys, KeyError> {
        let verifying = match primitive(algorithm) {
            Primitive::Rsa { verifying, .. } => verifying as &'static dyn VerificationAlgorithm,
            Primitive::Ecdsa { verifying, .. } => verifying,
            Primitive::Ed25519 => &signature::ED25519,
            Primitive::Hmac(_) => {
                return Err(KeyError::WrongKey {
                    algorithm,
                    label: "PUBLIC KEY".to_owned(),
                    reason: "an HMAC algorithm has no public key".to_owned(),
                });
            }
        };
        let public = Keys::public_pem(algorithm, verifying, public_pem)?;
        Keys::verifying_only(algorithm, public)
    }

    /// Keys that only verify, from a parsed public key; its JWK and thumbprint come from the key
    /// itself, so a key published by jwtd gets the same `kid` on both sides.
    pub(super) fn verifying_only(
        algorithm: Algorithm,
        public: ParsedPublicKey,
    ) -> Result<Keys, KeyError> {
        let jwk = jwk_of_public(algorithm, &public).ok_or_else(|| KeyError::WrongKey {
            algorithm,
            label: "PUBLIC KEY".to_owned(),
            reason: "it cannot be written as a JWK".to_owned(),
        })?;
        Ok(Keys {
            algorithm,
            signer: None,
            verifier: Verifier::Public(public),
            kid: jwk.kid().to_owned(),
            jwk: Some(jwk),
        })
    }

    /// The verifying key of a separately configured public PEM (SPKI, or PKCS#1 for RSA).
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
}

/// The JWK curve name of an ECDSA algorithm.
pub(super) fn curve(algorithm: Algorithm) -> Option<&'static str> {
    Some(match algorithm {
        Algorithm::ES256 => "P-256",
        Algorithm::ES384 => "P-384",
        Algorithm::ES512 => "P-521",
        Algorithm::ES256K => "secp256k1",
        _ => return None,
    })
}

/// The JWK of a parsed public key, from its SubjectPublicKeyInfo: RSA's PKCS#1 numbers, an EC
/// key's uncompressed point, Ed25519's raw key.
fn jwk_of_public(algorithm: Algorithm, public: &ParsedPublicKey) -> Option<PublicJwk> {
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    let der: PublicKeyX509Der<'static> = public.as_der().ok()?;
    let raw = super::import::spki_key_bytes(der.as_ref())?;
    match algorithm.family() {
        Family::Hmac => None,
        Family::Rsa => {
            let (n, e) = super::import::rsa_public_numbers(&raw)?;
            PublicJwk::new(algorithm, &PublicParts::Rsa { n: &n, e: &e })
        }
        Family::Ec => {
            let parts = PublicParts::Ec {
                crv: curve(algorithm)?,
                point: &raw,
            };
            PublicJwk::new(algorithm, &parts)
        }
        Family::Ed => PublicJwk::new(algorithm, &PublicParts::Ed25519 { x: &raw }),
    }
}

/// The public half of an asymmetric signing key as a JWK.
pub(super) fn public_jwk(algorithm: Algorithm, signer: &Signer) -> Option<PublicJwk> {
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
            let parts = PublicParts::Ec {
                crv: curve(algorithm)?,
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
