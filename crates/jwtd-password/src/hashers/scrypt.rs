//! Django's `ScryptPasswordHasher`: `scrypt$<N>$<salt>$<r>$<p>$<base64 hash>`, a 64-byte
//! hash.
//!
//! Through the RustCrypto `scrypt` crate: aws-lc-rs's public Rust API has no scrypt (aws-lc's C
//! `EVP_PBE_scrypt` is reachable only through `aws-lc-sys`, with `unsafe`, which this workspace
//! forbids).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::HashError;
use crate::limits::{MAX_SCRYPT_MEMORY_BYTES, MAX_SCRYPT_WORK_BYTES};
use crate::util::{SALT_CHARS, constant_time_eq, decimal, random_string};

/// Django 5.2's `work_factor`, `block_size`, `parallelism`.
const N: u32 = 1 << 14;
const R: u32 = 8;
const P: u32 = 5;
/// Django's `dklen`.
const HASH_BYTES: usize = 64;

pub(crate) struct Parsed<'a> {
    n: u32,
    r: u32,
    p: u32,
    salt: &'a str,
    hash: &'a str,
}

/// Six `$`-separated fields (Django's `split("$", 6)` unpacked into six names), a non-empty
/// salt, and N, r, p that OpenSSL accepts under its default memory limit (what Django's
/// `hashlib.scrypt(..., maxmem=0)` can verify at all) and within [`MAX_SCRYPT_WORK_BYTES`].
pub(crate) fn parse(encoded: &str) -> Option<Parsed<'_>> {
    let fields: Vec<&str> = encoded.splitn(7, '$').collect();
    let ["scrypt", n, salt, r, p, hash] = fields[..] else {
        return None;
    };
    let (n, r, p) = (decimal(n)?, decimal(r)?, decimal(p)?);
    if salt.is_empty() || !openssl_accepts(n, r, p) {
        return None;
    }
    let work = 128 * u128::from(n) * u128::from(r) * u128::from(p);
    if work > u128::from(MAX_SCRYPT_WORK_BYTES) {
        return None;
    }
    Some(Parsed {
        n,
        r,
        p,
        salt,
        hash,
    })
}

/// OpenSSL's checks in `EVP_PBE_scrypt_ex` (`crypto/evp/pbe_scrypt.c`), with its default
/// `maxmem` of 32 MiB ([`MAX_SCRYPT_MEMORY_BYTES`]).
fn openssl_accepts(n: u32, r: u32, p: u32) -> bool {
    const SCRYPT_PR_MAX: u32 = (1 << 30) - 1;
    if r == 0 || p == 0 || n < 2 || !n.is_power_of_two() || p > SCRYPT_PR_MAX / r {
        return false;
    }
    // N < 2^(128·r/8), checked where that fits in 64 bits.
    if 16 * u64::from(r) <= 63 && u64::from(n) >= 1u64 << (16 * r) {
        return false;
    }
    let (n, r, p) = (u128::from(n), u128::from(r), u128::from(p));
    let b_len = p * 128 * r;
    let v_len = 32 * r * (n + 2) * 4;
    b_len + v_len <= u128::from(MAX_SCRYPT_MEMORY_BYTES)
}

fn derive(n: u32, r: u32, p: u32, salt: &str, password: &str) -> Option<String> {
    // N is a power of two, r·p < 2^30 (checked above).
    let params = ::scrypt::Params::new(n.trailing_zeros() as u8, r, p).ok()?;
    let mut out = [0u8; HASH_BYTES];
    ::scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut out).ok()?;
    Some(STANDARD.encode(out))
}

impl Parsed<'_> {
    /// Django compares the whole re-encoded string; with the other fields taken from the stored
    /// one, that is comparing the base64 hashes (in constant time).
    pub(crate) fn verify(&self, password: &str) -> bool {
        derive(self.n, self.r, self.p, self.salt, password)
            .is_some_and(|computed| constant_time_eq(computed.as_bytes(), self.hash.as_bytes()))
    }

    /// N, r or p differ from Django's (Django checks no salt here).
    pub(crate) fn must_update(&self) -> bool {
        (self.n, self.r, self.p) != (N, R, P)
    }
}

pub(crate) fn make(password: &str) -> Result<String, HashError> {
    let salt = random_string(SALT_CHARS)?;
    let hash = derive(N, R, P, &salt, password)
        .ok_or_else(|| HashError::new("scrypt refused Django's parameters"))?;
    Ok(format!("scrypt${N}${salt}${R}${P}${hash}"))
}
