//! HMAC secrets: the length rule of RFC 7518 3.2, one key object for signing and verifying, and
//! new random secrets.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{KeyError, Keys, Signer, Verifier};
use crate::algorithm::Algorithm;

impl Keys {
    /// Keys for `HS*`: the secret signs and verifies, so there is no pair to check apart from
    /// its length, and nothing to publish.
    pub(super) fn hmac(
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
        let kid = URL_SAFE_NO_PAD.encode(&hmac::sign(&key, b"jwtd key id").as_ref()[..16]);
        Ok(Keys {
            algorithm,
            signer: Some(Signer::Hmac(key.clone())),
            verifier: Verifier::Hmac(key),
            jwk: None,
            kid,
        })
    }
}

/// 64 random bytes as base64url text (86 characters). The text itself is the HMAC secret, so it
/// can be pasted unchanged into simplejwt's `SIGNING_KEY`.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 64];
    // The system random generator failing means the OS cannot give randomness at all; there is
    // no safe way to go on issuing keys or token ids.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("system random generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}
