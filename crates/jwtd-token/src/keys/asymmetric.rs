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
            signer,
            verifier: Verifier::Public(public),
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
