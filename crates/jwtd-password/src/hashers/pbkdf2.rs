//! Django's `PBKDF2PasswordHasher` and `PBKDF2SHA1PasswordHasher`, through aws-lc-rs:
//! `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`.

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::HashError;
use crate::limits::MAX_PBKDF2_ITERATIONS;
use crate::util::{SALT_CHARS, constant_time_eq, decimal, must_update_salt, random_string};

/// The PRF's digest.
#[derive(Clone, Copy)]
pub(crate) enum Digest {
    Sha256,
    Sha1,
}

impl Digest {
    fn prefix(self) -> &'static str {
        match self {
            Digest::Sha256 => "pbkdf2_sha256",
            Digest::Sha1 => "pbkdf2_sha1",
        }
    }

    fn algorithm(self) -> pbkdf2::Algorithm {
        match self {
            Digest::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Digest::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
        }
    }

    /// Django's `dklen=None`: the digest's size.
    fn len(self) -> usize {
        match self {
            Digest::Sha256 => 32,
            Digest::Sha1 => 20,
        }
    }
}

pub(crate) struct Parsed<'a> {
    digest: Digest,
    iterations: NonZeroU32,
    salt: &'a str,
    hash: &'a str,
}

/// Four `$`-separated fields: the prefix, the iterations (1 to [`MAX_PBKDF2_ITERATIONS`]), a
/// non-empty salt (Django refuses an empty one), the hash.
pub(crate) fn parse(digest: Digest, encoded: &str) -> Option<Parsed<'_>> {
    let mut fields = encoded.split('$');
    let (Some(prefix), Some(iterations), Some(salt), Some(hash), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    if prefix != digest.prefix() || salt.is_empty() {
        return None;
    }
    let iterations = decimal(iterations)
        .filter(|&n| n <= MAX_PBKDF2_ITERATIONS)
        .and_then(NonZeroU32::new)?;
    Some(Parsed {
        digest,
        iterations,
        salt,
        hash,
    })
}

/// Django's `pbkdf2()` output, base64 (standard alphabet, padded) as Django stores it.
fn derive(digest: Digest, iterations: NonZeroU32, salt: &str, password: &str) -> String {
    let mut out = [0u8; 32];
    let out = &mut out[..digest.len()];
    pbkdf2::derive(
        digest.algorithm(),
        iterations,
        salt.as_bytes(),
        password.as_bytes(),
        out,
    );
    STANDARD.encode(out)
}

impl Parsed<'_> {
    /// Django compares the whole re-encoded string; with the other fields taken from the stored
    /// one, that is comparing the base64 hashes (in constant time).
    pub(crate) fn verify(&self, password: &str) -> bool {
        let computed = derive(self.digest, self.iterations, self.salt, password);
        constant_time_eq(computed.as_bytes(), self.hash.as_bytes())
    }

    /// The iterations differ from the preferred count, or the salt is short of 128 bits.
    pub(crate) fn must_update(&self, iterations: NonZeroU32) -> bool {
        self.iterations != iterations || must_update_salt(self.salt.chars().count())
    }

    /// The iterations the encoding is short of, run and discarded.
    pub(crate) fn harden_runtime(&self, password: &str, iterations: NonZeroU32) {
        if let Some(extra) = iterations
            .get()
            .checked_sub(self.iterations.get())
            .and_then(NonZeroU32::new)
        {
            std::hint::black_box(derive(self.digest, extra, self.salt, password));
        }
    }
}

pub(crate) fn make(
    digest: Digest,
    password: &str,
    iterations: NonZeroU32,
) -> Result<String, HashError> {
    let salt = random_string(SALT_CHARS)?;
    let hash = derive(digest, iterations, &salt, password);
    Ok(format!("{}${iterations}${salt}${hash}", digest.prefix()))
}
