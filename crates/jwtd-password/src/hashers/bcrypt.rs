//! Django's `BCryptSHA256PasswordHasher` (`bcrypt_sha256$$2b$12$...`: bcrypt of the lowercase
//! hex SHA-256 of the password) and `BCryptPasswordHasher` (`bcrypt$$2b$12$...`), through the
//! `bcrypt` crate (which pyca/bcrypt, Django's bcrypt library, is itself built on).

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::alphabet::BCRYPT;
use base64::engine::general_purpose::{GeneralPurpose, NO_PAD};

use crate::HashError;
use crate::limits::MAX_BCRYPT_COST;
use crate::util::{constant_time_eq, fill_random, hex};

/// Django's `rounds`.
const COST: u32 = 12;
/// bcrypt's own range of costs.
const MIN_COST: u32 = 4;
/// The longest password plain bcrypt takes: pyca/bcrypt 5 raises above it.
const MAX_PASSWORD_BYTES: usize = 72;
/// bcrypt's base64: its own alphabet, no padding.
const BCRYPT_BASE64: GeneralPurpose = GeneralPurpose::new(&BCRYPT, NO_PAD);

pub(crate) struct Parsed<'a> {
    sha256: bool,
    /// The bcrypt string: `$2b$12$` + 22 characters of salt + 31 of hash.
    data: &'a str,
    version: ::bcrypt::Version,
    cost: u32,
    salt: [u8; 16],
}

fn prefix(sha256: bool) -> &'static str {
    if sha256 { "bcrypt_sha256$" } else { "bcrypt$" }
}

/// `bcrypt_sha256$` or `bcrypt$`, then a 60-character bcrypt string of version 2a, 2b, 2x or 2y
/// (those pyca/bcrypt takes), a two-digit cost from 4 to [`MAX_BCRYPT_COST`] and a salt whose
/// base64 decodes.
pub(crate) fn parse(sha256: bool, encoded: &str) -> Option<Parsed<'_>> {
    let data = encoded.strip_prefix(prefix(sha256))?;
    let bytes = data.as_bytes();
    if bytes.len() != 60 || !data.is_ascii() || bytes[0] != b'$' || bytes[3] != b'$' {
        return None;
    }
    let version = match &data[1..3] {
        "2a" => ::bcrypt::Version::TwoA,
        "2b" => ::bcrypt::Version::TwoB,
        "2x" => ::bcrypt::Version::TwoX,
        "2y" => ::bcrypt::Version::TwoY,
        _ => return None,
    };
    // bcrypt writes the cost with two digits; pyca/bcrypt reads more but writes two, so only
    // two can match.
    if !bytes[4..6].iter().all(u8::is_ascii_digit) || bytes[6] != b'$' {
        return None;
    }
    let cost: u32 = data[4..6].parse().ok()?;
    if !(MIN_COST..=MAX_BCRYPT_COST).contains(&cost) {
        return None;
    }
    let salt = BCRYPT_BASE64.decode(&data[7..29]).ok()?.try_into().ok()?;
    Some(Parsed {
        sha256,
        data,
        version,
        cost,
        salt,
    })
}

/// What bcrypt is given: the password, or the hex of its SHA-256 for `bcrypt_sha256`.
fn input(sha256: bool, password: &str) -> Vec<u8> {
    if sha256 {
        let digest = digest::digest(&digest::SHA256, password.as_bytes());
        hex(digest.as_ref()).into_bytes()
    } else {
        password.as_bytes().to_vec()
    }
}

impl Parsed<'_> {
    /// Django compares `bcrypt.hashpw(password, data)` with `data`, in constant time. `None`
    /// for a password over 72 bytes against plain bcrypt, which pyca/bcrypt refuses.
    pub(crate) fn verify(&self, password: &str) -> Option<bool> {
        if !self.sha256 && password.len() > MAX_PASSWORD_BYTES {
            return None;
        }
        let Ok(hashed) =
            ::bcrypt::hash_with_salt(input(self.sha256, password), self.cost, self.salt)
        else {
            return Some(false);
        };
        let computed = hashed.format_for_version(self.version.clone());
        Some(constant_time_eq(computed.as_bytes(), self.data.as_bytes()))
    }

    /// The cost differs from Django's 12.
    pub(crate) fn must_update(&self) -> bool {
        self.cost != COST
    }

    /// Django's `harden_runtime`: `2 ** (12 - cost) - 1` more hashes at the stored cost.
    pub(crate) fn harden_runtime(&self, password: &str) {
        if self.cost >= COST || (!self.sha256 && password.len() > MAX_PASSWORD_BYTES) {
            return;
        }
        let input = input(self.sha256, password);
        for _ in 1..(1u32 << (COST - self.cost)) {
            let _ = std::hint::black_box(::bcrypt::hash_with_salt(&input, self.cost, self.salt));
        }
    }
}

/// Django's encoding at cost 12, version 2b, with a 16-byte salt from the OS (what
/// `bcrypt.gensalt(12)` makes). Plain bcrypt refuses a password over 72 bytes, as Django does.
pub(crate) fn make(sha256: bool, password: &str) -> Result<String, HashError> {
    if !sha256 && password.len() > MAX_PASSWORD_BYTES {
        return Err(HashError::new(
            "bcrypt: passwords over 72 bytes cannot be hashed with plain bcrypt",
        ));
    }
    let mut salt = [0u8; 16];
    fill_random(&mut salt)?;
    let hashed = ::bcrypt::hash_with_salt(input(sha256, password), COST, salt)
        .map_err(|e| HashError::new(format!("bcrypt: {e}")))?;
    Ok(format!(
        "{}{}",
        prefix(sha256),
        hashed.format_for_version(::bcrypt::Version::TwoB)
    ))
}
