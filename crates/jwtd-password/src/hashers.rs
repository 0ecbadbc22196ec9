//! The hashers, one module each, and the dispatch from [`Algorithm`] to them.
//!
//! Each module parses an encoding into its fields (refusing malformed ones and work factors
//! beyond [`crate::limits`] before any work), then verifies a password against it, says whether
//! it is out of date as the preferred hasher would (Django's `must_update`) and bridges the work
//! gap on a wrong password (Django's `harden_runtime`).

use std::num::NonZeroU32;

use crate::{Algorithm, HashError};

pub(crate) mod argon2;
mod bcrypt;
pub(crate) mod md5;
mod pbkdf2;
mod scrypt;

/// A well-formed encoding within the limits, ready to verify.
pub(crate) enum Parsed<'a> {
    /// jwtd's bare PHC string.
    Jwtd(argon2::Phc<'a>),
    /// Django's `argon2$` + PHC string.
    Django(argon2::Phc<'a>),
    Pbkdf2(pbkdf2::Parsed<'a>),
    Bcrypt(bcrypt::Parsed<'a>),
    Scrypt(scrypt::Parsed<'a>),
    Md5(md5::Parsed<'a>),
}

impl<'a> Parsed<'a> {
    /// `encoded` as an encoding of `algorithm`, if well-formed and within the limits.
    pub(crate) fn parse(algorithm: Algorithm, encoded: &'a str) -> Option<Parsed<'a>> {
        Some(match algorithm {
            Algorithm::Argon2id => Parsed::Jwtd(argon2::parse(encoded)?),
            Algorithm::Argon2 => Parsed::Django(argon2::parse(encoded.strip_prefix("argon2")?)?),
            Algorithm::Pbkdf2Sha256 => {
                Parsed::Pbkdf2(pbkdf2::parse(pbkdf2::Digest::Sha256, encoded)?)
            }
            Algorithm::Pbkdf2Sha1 => Parsed::Pbkdf2(pbkdf2::parse(pbkdf2::Digest::Sha1, encoded)?),
            Algorithm::BcryptSha256 => Parsed::Bcrypt(bcrypt::parse(true, encoded)?),
            Algorithm::Bcrypt => Parsed::Bcrypt(bcrypt::parse(false, encoded)?),
            Algorithm::Scrypt => Parsed::Scrypt(scrypt::parse(encoded)?),
            Algorithm::Md5 => Parsed::Md5(md5::parse(encoded)?),
        })
    }

    /// Whether `password` matches; `None` if the hasher refuses the password itself without
    /// doing any work (plain bcrypt and over 72 bytes).
    pub(crate) fn verify(&self, password: &str) -> Option<bool> {
        match self {
            Parsed::Jwtd(phc) | Parsed::Django(phc) => Some(phc.verify(password)),
            Parsed::Pbkdf2(parsed) => Some(parsed.verify(password)),
            Parsed::Bcrypt(parsed) => parsed.verify(password),
            Parsed::Scrypt(parsed) => Some(parsed.verify(password)),
            Parsed::Md5(parsed) => Some(parsed.verify(password)),
        }
    }

    /// Django's `must_update` of this encoding's own hasher (the caller has checked that it is
    /// the preferred one).
    pub(crate) fn must_update(&self, pbkdf2_iterations: NonZeroU32) -> bool {
        match self {
            Parsed::Jwtd(phc) => phc.jwtd_must_update(),
            Parsed::Django(phc) => phc.django_must_update(),
            Parsed::Pbkdf2(parsed) => parsed.must_update(pbkdf2_iterations),
            Parsed::Bcrypt(parsed) => parsed.must_update(),
            Parsed::Scrypt(parsed) => parsed.must_update(),
            Parsed::Md5(parsed) => parsed.must_update(),
        }
    }

    /// Django's `harden_runtime`, after a wrong password against an out-of-date encoding of the
    /// preferred hasher: the PBKDF2 iterations or bcrypt rounds the encoding is short of. argon2,
    /// scrypt and md5 do nothing, as in Django.
    pub(crate) fn harden_runtime(&self, password: &str, pbkdf2_iterations: NonZeroU32) {
        match self {
            Parsed::Pbkdf2(parsed) => parsed.harden_runtime(password, pbkdf2_iterations),
            Parsed::Bcrypt(parsed) => parsed.harden_runtime(password),
            Parsed::Jwtd(_) | Parsed::Django(_) | Parsed::Scrypt(_) | Parsed::Md5(_) => {}
        }
    }
}

/// `password` encoded with `algorithm`, a fresh salt and the current parameters.
pub(crate) fn make(
    algorithm: Algorithm,
    password: &str,
    pbkdf2_iterations: NonZeroU32,
) -> Result<String, HashError> {
    match algorithm {
        Algorithm::Argon2id => argon2::make_jwtd(password),
        Algorithm::Argon2 => argon2::make_django(password),
        Algorithm::Pbkdf2Sha256 => {
            pbkdf2::make(pbkdf2::Digest::Sha256, password, pbkdf2_iterations)
        }
        Algorithm::Pbkdf2Sha1 => pbkdf2::make(pbkdf2::Digest::Sha1, password, pbkdf2_iterations),
        Algorithm::BcryptSha256 => bcrypt::make(true, password),
        Algorithm::Bcrypt => bcrypt::make(false, password),
        Algorithm::Scrypt => scrypt::make(password),
        Algorithm::Md5 => md5::make(password),
    }
}
