//! Django's `MD5PasswordHasher`: `md5$<salt>$<hex of md5(salt + password)>`, through `md-5`.

use ::md5::{Digest as _, Md5};

use crate::HashError;
use crate::util::{SALT_CHARS, constant_time_eq, hex, must_update_salt, random_string};

pub(crate) struct Parsed<'a> {
    salt: &'a str,
    hash: &'a str,
}

/// Three `$`-separated fields and a non-empty salt (Django refuses an empty one; `md5$$` with a
/// 32-character hash is Django's unsalted MD5, which `identify` has already turned away).
pub(crate) fn parse(encoded: &str) -> Option<Parsed<'_>> {
    let mut fields = encoded.split('$');
    let (Some("md5"), Some(salt), Some(hash), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    if salt.is_empty() {
        return None;
    }
    Some(Parsed { salt, hash })
}

fn digest(salt: &str, password: &str) -> String {
    hex(&Md5::new()
        .chain_update(salt.as_bytes())
        .chain_update(password.as_bytes())
        .finalize())
}

impl Parsed<'_> {
    /// The hex digests compared in constant time.
    pub(crate) fn verify(&self, password: &str) -> bool {
        constant_time_eq(digest(self.salt, password).as_bytes(), self.hash.as_bytes())
    }

    /// The salt is short of 128 bits.
    pub(crate) fn must_update(&self) -> bool {
        must_update_salt(self.salt.chars().count())
    }
}

pub(crate) fn make(password: &str) -> Result<String, HashError> {
    let salt = random_string(SALT_CHARS)?;
    let hash = digest(&salt, password);
    Ok(format!("md5${salt}${hash}"))
}

/// The upper-case hex MD5 of `text` (simplejwt's `get_md5_hash_password`).
pub(crate) fn upper_hex_digest(text: &str) -> String {
    hex(&Md5::digest(text.as_bytes())).to_ascii_uppercase()
}
