//! New key material for every algorithm: what `jwtd keys generate` writes, in the form
//! [`Keys::new`](super::Keys::new) reads.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};

use super::KeyError;
use super::primitive::{Primitive, primitive};
use super::secret::random_secret;
use crate::algorithm::Algorithm;

/// Generates new key material for `algorithm`: a random secret for `HS*` (64 random bytes,
/// base64url-encoded, used as the secret text itself) or a PKCS#8 PEM private key.
pub fn generate(algorithm: Algorithm) -> Result<String, KeyError> {
    // The table row `Keys` loads the key with also says what to generate: the RSA size is
    // jwtd's default, the curve is the one the algorithm signs on.
    let pkcs8: Vec<u8> = match primitive(algorithm) {
        Primitive::Hmac(_) => return Ok(random_secret()),
        Primitive::Rsa { .. } => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
            let der: Pkcs8V1Der = pair.as_der().map_err(|_| KeyError::Generation)?;
            der.as_ref().to_vec()
        }
        Primitive::Ecdsa { signing, .. } => EcdsaKeyPair::generate(signing)
            .and_then(|pair| pair.to_pkcs8v1())
            .map_err(|_| KeyError::Generation)?
            .as_ref()
            .to_vec(),
        Primitive::Ed25519 => Ed25519KeyPair::generate()
            .and_then(|pair| pair.to_pkcs8v1())
            .map_err(|_| KeyError::Generation)?
            .as_ref()
            .to_vec(),
    };
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8)))
}
