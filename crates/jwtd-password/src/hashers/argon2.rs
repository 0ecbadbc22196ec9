//! argon2, jwtd's (a bare PHC string) and Django's (`argon2` + argon2-cffi's PHC string), both
//! through argon2-rust.
//!
//! argon2-rust rather than the `argon2` crate: the same PHC strings both ways, and about half the
//! CPU per hash on x86-64 (AVX2/AVX-512 picked at run time), which caps logins per second
//! (BENCHMARKS.md, "Password hashing").

use std::cell::RefCell;

use argon2_rust::params::{Memory, TagLen};
use argon2_rust::{Algorithm as Variant, Argon2, Decoded, Hasher, Params, Version};

use crate::HashError;
use crate::limits::{MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_WORK_KIB};
use crate::util::{SALT_CHARS, must_update_salt, random_string};

/// jwtd's argon2id memory: OWASP's minimum, 19 MiB.
pub const MEMORY_KIB: u32 = 19_456;
/// jwtd's argon2id passes over memory.
pub const ITERATIONS: u32 = 2;
/// jwtd's argon2id lanes.
pub const PARALLELISM: u32 = 1;
/// Bytes of derived hash in a PHC string, as Django's argon2-cffi and the `argon2` crate write.
pub const HASH_BYTES: u64 = 32;

/// Django 5.2's `Argon2PasswordHasher`: `memory_cost`, `time_cost`, `parallelism`.
const DJANGO_MEMORY_KIB: u32 = 102_400;
const DJANGO_TIME_COST: u32 = 2;
const DJANGO_PARALLELISM: u32 = 8;

/// argon2id at jwtd's parameters, as the hashing threads use it (and the benchmarks time it).
pub fn argon2() -> Argon2 {
    argon2id(MEMORY_KIB, ITERATIONS, PARALLELISM)
}

fn argon2id(memory_kib: u32, passes: u32, lanes: u32) -> Argon2 {
    // The parameters are constants inside argon2's accepted ranges.
    let params = Params::builder()
        .memory(Memory::kib(u64::from(memory_kib)))
        .passes(passes)
        .lanes(lanes)
        .tag_len(TagLen::bytes(HASH_BYTES))
        .build()
        .expect("valid argon2 parameters");
    Argon2::new(Variant::Argon2id, Version::V0x13, params)
}

thread_local! {
    /// Each thread that hashes keeps its 19 MiB of argon2 memory between hashes (wiped after
    /// each): mapping and faulting it in afresh adds about a third to every hash (BENCHMARKS.md,
    /// "Password hashing"). A string with a larger `m` (Django's argon2) runs on memory of its
    /// own, freed after the call.
    static HASHER: RefCell<Hasher> = RefCell::new(argon2().hasher());
}

/// A decoded PHC string (`$argon2id$...`, `$argon2i$...` or `$argon2d$...`) within the limits.
pub(crate) struct Phc<'a> {
    phc: &'a str,
    decoded: Decoded,
}

/// `phc` decoded as the C reference (and argon2-cffi) decodes it, with the variant its prefix
/// names, if well-formed and within [`MAX_ARGON2_MEMORY_KIB`] and [`MAX_ARGON2_WORK_KIB`].
pub(crate) fn parse(phc: &str) -> Option<Phc<'_>> {
    let variant = if phc.starts_with("$argon2id$") {
        Variant::Argon2id
    } else if phc.starts_with("$argon2i$") {
        Variant::Argon2i
    } else if phc.starts_with("$argon2d$") {
        Variant::Argon2d
    } else {
        return None;
    };
    // The caller has bounded the string's length, which bounds what decoding allocates.
    let decoded = argon2_rust::decode_string(phc, variant).ok()?;
    let memory = decoded.params.memory_kib();
    let work = u64::from(memory) * u64::from(decoded.params.passes());
    if memory > MAX_ARGON2_MEMORY_KIB || work > MAX_ARGON2_WORK_KIB {
        return None;
    }
    Some(Phc { phc, decoded })
}

impl Phc<'_> {
    /// Whether `password` matches, with the string's own variant and parameters (digests
    /// compared in constant time by argon2-rust).
    pub(crate) fn verify(&self, password: &str) -> bool {
        HASHER.with_borrow_mut(|hasher| {
            hasher
                .verify_encoded(self.phc, password.as_bytes(), self.decoded.algorithm)
                .is_ok()
        })
    }

    fn is_argon2id(&self, memory_kib: u32, passes: u32, lanes: u32) -> bool {
        let decoded = &self.decoded;
        decoded.algorithm == Variant::Argon2id
            && decoded.version == Version::V0x13
            && decoded.hash.len() as u64 == HASH_BYTES
            && decoded.params.memory_kib() == memory_kib
            && decoded.params.passes() == passes
            && decoded.params.lanes() == lanes
    }

    /// Not argon2id v=19 at jwtd's parameters with a 32-byte hash.
    pub(crate) fn jwtd_must_update(&self) -> bool {
        !self.is_argon2id(MEMORY_KIB, ITERATIONS, PARALLELISM)
    }

    /// Django's `Argon2PasswordHasher.must_update`: argon2-cffi's parameters (variant, version,
    /// hash length, m, t, p) differ from Django's, or the salt has under 128 bits by Django's
    /// count (its length in bytes × log2(62)).
    pub(crate) fn django_must_update(&self) -> bool {
        !self.is_argon2id(DJANGO_MEMORY_KIB, DJANGO_TIME_COST, DJANGO_PARALLELISM)
            || must_update_salt(self.decoded.salt.len())
    }
}

/// jwtd's bare PHC string, with a 16-byte salt from the OS, as the `argon2` crate and
/// argon2-cffi draw.
pub(crate) fn make_jwtd(password: &str) -> Result<String, HashError> {
    HASHER
        .with_borrow_mut(|hasher| hasher.hash_password_with_random_salt(password.as_bytes()))
        .map_err(|e| HashError::new(format!("argon2: {e}")))
}

/// Django's encoding: `argon2` + the PHC string of argon2id at Django's parameters. The salt is
/// what Django passes to argon2-cffi: 22 characters of Django's `salt()`, as bytes.
pub(crate) fn make_django(password: &str) -> Result<String, HashError> {
    let salt = random_string(SALT_CHARS)?;
    let phc = argon2id(DJANGO_MEMORY_KIB, DJANGO_TIME_COST, DJANGO_PARALLELISM)
        .hash_encoded(password.as_bytes(), salt.as_bytes())
        .map_err(|e| HashError::new(format!("argon2: {e}")))?;
    Ok(format!("argon2{phc}"))
}
