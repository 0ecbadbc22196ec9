//! The aws-lc-rs primitives behind each [`Algorithm`]: the one table that signing, verifying
//! and key parsing all read.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, RsaEncoding};

use crate::algorithm::Algorithm;

/// The aws-lc-rs primitives of each algorithm, in one table so that signing and verification
/// cannot disagree. The configured algorithm picks the row; a token's header never does
/// (RFC 8725 3.1).
pub(super) enum Primitive {
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

impl Primitive {
    fn rsa(
        signing: &'static dyn RsaEncoding,
        verifying: &'static signature::RsaParameters,
    ) -> Primitive {
        Primitive::Rsa { signing, verifying }
    }

    fn ecdsa(
        signing: &'static signature::EcdsaSigningAlgorithm,
        verifying: &'static signature::EcdsaVerificationAlgorithm,
    ) -> Primitive {
        Primitive::Ecdsa { signing, verifying }
    }
}

/// The row of `algorithm`.
pub(super) fn primitive(algorithm: Algorithm) -> Primitive {
    use signature as s;
    match algorithm {
        Algorithm::HS256 => Primitive::Hmac(hmac::HMAC_SHA256),
        Algorithm::HS384 => Primitive::Hmac(hmac::HMAC_SHA384),
        Algorithm::HS512 => Primitive::Hmac(hmac::HMAC_SHA512),
        Algorithm::RS256 => Primitive::rsa(&s::RSA_PKCS1_SHA256, &s::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => Primitive::rsa(&s::RSA_PKCS1_SHA384, &s::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => Primitive::rsa(&s::RSA_PKCS1_SHA512, &s::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => Primitive::rsa(&s::RSA_PSS_SHA256, &s::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => Primitive::rsa(&s::RSA_PSS_SHA384, &s::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => Primitive::rsa(&s::RSA_PSS_SHA512, &s::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => Primitive::ecdsa(
            &s::ECDSA_P256_SHA256_FIXED_SIGNING,
            &s::ECDSA_P256_SHA256_FIXED,
        ),
        Algorithm::ES384 => Primitive::ecdsa(
            &s::ECDSA_P384_SHA384_FIXED_SIGNING,
            &s::ECDSA_P384_SHA384_FIXED,
        ),
        Algorithm::ES512 => Primitive::ecdsa(
            &s::ECDSA_P521_SHA512_FIXED_SIGNING,
            &s::ECDSA_P521_SHA512_FIXED,
        ),
        Algorithm::ES256K => Primitive::ecdsa(
            &s::ECDSA_P256K1_SHA256_FIXED_SIGNING,
            &s::ECDSA_P256K1_SHA256_FIXED,
        ),
        Algorithm::EdDSA => Primitive::Ed25519,
    }
}
