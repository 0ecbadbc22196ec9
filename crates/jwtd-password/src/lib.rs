//! Django's and jwtd's password hash encodings: verify, must_update, make.
//!
//! A [`Hashers`] is Django's `PASSWORD_HASHERS` setting: an ordered list of algorithms, the
//! first one preferred. [`Hashers::check`] is Django 5.2's `verify_password`
//! (`django/contrib/auth/hashers.py`): it accepts an encoding only when its algorithm is in the
//! list, says whether it matched, and says whether a matching password must be rehashed with
//! the preferred hasher (Django's `must_update`). [`Hashers::make`] is `make_password` with the
//! preferred hasher and Django's current parameters.
//!
//! The encodings (exactly as Django stores them in `auth_user.password`):
//!
//! | algorithm | encoding |
//! |---|---|
//! | `argon2id` (jwtd's own) | `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, a bare PHC string |
//! | `pbkdf2_sha256`, `pbkdf2_sha1` | `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` |
//! | `argon2` | `argon2$argon2id$v=19$m=102400,t=2,p=8$<salt>$<hash>` (also `argon2$argon2i$...`) |
//! | `bcrypt_sha256` | `bcrypt_sha256$$2b$12$<salt and hash>`: bcrypt of the hex SHA-256 of the password |
//! | `bcrypt` | `bcrypt$$2b$12$<salt and hash>` |
//! | `scrypt` | `scrypt$<N>$<salt>$<r>$<p>$<base64 hash>` |
//! | `md5` | `md5$<salt>$<hex hash>` |
//!
//! An encoding starting with `!` is Django's unusable password. Unusable, unknown, unlisted and
//! malformed encodings never match, never panic, and cost one verification with the preferred
//! hasher (against [`Hashers::dummy`]), so that a login against them costs what a wrong password
//! costs. Work factors in a stored encoding are bounded ([`limits`]): a hash whose parameters
//! would take minutes or gigabytes to check is refused like a malformed one.
//!
//! Digests are compared in constant time: aws-lc-rs's `verify_slices_are_equal` for PBKDF2,
//! bcrypt, scrypt and md5, argon2-rust's own helper for argon2.
//!
//! Differences from Django, all on inputs Django itself cannot handle:
//!
//! - where Django raises (a malformed encoding of an installed hasher, a plain `bcrypt` hash and a
//!   password over 72 bytes), this crate answers "no match" at the cost of a wrong password;
//! - Django's ancient unsalted encodings (`unsalted_md5`, `unsalted_sha1`) are not supported
//!   ([`identify`] calls them unknown);
//! - work factors above [`limits`] are refused.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

mod hashers;
mod util;

pub use hashers::argon2::{HASH_BYTES, ITERATIONS, MEMORY_KIB, PARALLELISM, argon2};

use hashers::Parsed;

/// Django 5.2's PBKDF2 iteration count (`PBKDF2PasswordHasher.iterations`).
pub const DJANGO_PBKDF2_ITERATIONS: u32 = 1_000_000;

/// The largest work factors a stored encoding may ask for. An encoding above any of them never
/// matches and costs what a wrong password costs: a row with `m=4294967295` or ten billion
/// PBKDF2 iterations must not take a hashing thread for minutes or the machine's memory.
/// Each bound is far above what Django or jwtd has ever written.
pub mod limits {
    /// Longest encoding looked at, in bytes (Django's `password` column is 128 characters).
    pub const MAX_ENCODED_LEN: usize = 1024;
    /// PBKDF2 iterations: ten times Django 5.2's 1,000,000.
    pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
    /// argon2 memory, KiB: 1 GiB (Django 5.2 uses 100 MiB, jwtd 19 MiB).
    pub const MAX_ARGON2_MEMORY_KIB: u32 = 1024 * 1024;
    /// argon2 memory × passes, KiB: 4 GiB filled in all (Django 5.2: 200 MiB, jwtd: 38 MiB).
    pub const MAX_ARGON2_WORK_KIB: u64 = 4 * 1024 * 1024;
    /// scrypt memory, bytes, counted as OpenSSL counts it (`128·r·(N+2) + 128·r·p`): 32 MiB,
    /// OpenSSL's default `maxmem`, which Django's `hashlib.scrypt(..., maxmem=0)` runs under, so
    /// Django cannot verify anything above it either (Django 5.2's N=16384, r=8, p=5: 16 MiB).
    pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 32 * 1024 * 1024;
    /// scrypt work, bytes mixed (`128·N·r·p`): 1 GiB (Django 5.2: 80 MiB). The memory bound
    /// alone lets `p` grow to hundreds of thousands.
    pub const MAX_SCRYPT_WORK_BYTES: u64 = 1024 * 1024 * 1024;
    /// bcrypt cost (log2 of the rounds): 16, sixteen times Django's 12.
    pub const MAX_BCRYPT_COST: u32 = 16;
}

/// A password hashing algorithm: one of Django's hashers, or jwtd's own argon2id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// jwtd's own: a bare PHC string, `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, made with
    /// OWASP's minimum parameters ([`MEMORY_KIB`], [`ITERATIONS`], [`PARALLELISM`]). Bare
    /// `$argon2i$` and `$argon2d$` strings verify too, with their own variant, and are rehashed.
    Argon2id,
    /// Django's `PBKDF2PasswordHasher` (PBKDF2-HMAC-SHA256).
    Pbkdf2Sha256,
    /// Django's `PBKDF2SHA1PasswordHasher` (PBKDF2-HMAC-SHA1).
    Pbkdf2Sha1,
    /// Django's `Argon2PasswordHasher`: `argon2` followed by argon2-cffi's PHC string.
    Argon2,
    /// Django's `BCryptSHA256PasswordHasher`: bcrypt of the hex SHA-256 of the password.
    BcryptSha256,
    /// Django's `BCryptPasswordHasher`: plain bcrypt (passwords over 72 bytes never match).
    Bcrypt,
    /// Django's `ScryptPasswordHasher`.
    Scrypt,
    /// Django's `MD5PasswordHasher` (salted MD5; only for importing very old databases).
    Md5,
}

impl Algorithm {
    /// Every algorithm, in the order of [`Hashers::jwtd_default`] and then the rest.
    pub const ALL: [Algorithm; 8] = [
        Algorithm::Argon2id,
        Algorithm::Pbkdf2Sha256,
        Algorithm::Pbkdf2Sha1,
        Algorithm::Argon2,
        Algorithm::BcryptSha256,
        Algorithm::Scrypt,
        Algorithm::Bcrypt,
        Algorithm::Md5,
    ];

    /// The algorithm's name: Django's `algorithm` attribute (the encoding's prefix), or
    /// `argon2id` for jwtd's own.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Argon2id => "argon2id",
            Algorithm::Pbkdf2Sha256 => "pbkdf2_sha256",
            Algorithm::Pbkdf2Sha1 => "pbkdf2_sha1",
            Algorithm::Argon2 => "argon2",
            Algorithm::BcryptSha256 => "bcrypt_sha256",
            Algorithm::Bcrypt => "bcrypt",
            Algorithm::Scrypt => "scrypt",
            Algorithm::Md5 => "md5",
        }
    }
}

impl Algorithm {
    /// The algorithm of a Django `PASSWORD_HASHERS` entry, by its class name or dotted path
    /// (`django.contrib.auth.hashers.PBKDF2PasswordHasher` is `pbkdf2_sha256`).
    pub fn from_django_class(name: &str) -> Option<Algorithm> {
        Some(match name.rsplit('.').next()? {
            "PBKDF2PasswordHasher" => Algorithm::Pbkdf2Sha256,
            "PBKDF2SHA1PasswordHasher" => Algorithm::Pbkdf2Sha1,
            "Argon2PasswordHasher" => Algorithm::Argon2,
            "BCryptSHA256PasswordHasher" => Algorithm::BcryptSha256,
            "BCryptPasswordHasher" => Algorithm::Bcrypt,
            "ScryptPasswordHasher" => Algorithm::Scrypt,
            "MD5PasswordHasher" => Algorithm::Md5,
            _ => return None,
        })
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`Algorithm::name`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown password hasher {0:?}: the known ones are argon2id, pbkdf2_sha256, pbkdf2_sha1, \
     argon2, bcrypt_sha256, bcrypt, scrypt, md5"
)]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Algorithm, UnknownAlgorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|algorithm| algorithm.name() == name)
            .ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }
}

/// What an encoding is, by its form alone (whether it is well-formed is not looked at).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identified {
    /// An encoding of this algorithm.
    Algorithm(Algorithm),
    /// Django's unusable password (`set_unusable_password()`): it starts with `!`.
    Unusable,
    /// No algorithm this crate knows.
    Unknown,
}

/// The algorithm of an encoding, by Django's `identify_hasher` rule (the prefix before the first
/// `$`), plus jwtd's bare PHC strings (`$argon2id$...`, also `$argon2i$`/`$argon2d$`) as
/// [`Algorithm::Argon2id`]. Django's ancient unsalted MD5 and SHA-1 forms are
/// [`Identified::Unknown`]. For reports such as `jwtd user show`: it never looks at the hash.
pub fn identify(encoded: &str) -> Identified {
    if encoded.starts_with('!') {
        return Identified::Unusable;
    }
    // Django's `unsalted_md5` and `unsalted_sha1`, identified before the prefix rule.
    if (encoded.len() == 32 && !encoded.contains('$'))
        || (encoded.len() == 37 && encoded.starts_with("md5$$"))
        || (encoded.len() == 46 && encoded.starts_with("sha1$$"))
    {
        return Identified::Unknown;
    }
    if ["$argon2id$", "$argon2i$", "$argon2d$"]
        .iter()
        .any(|prefix| encoded.starts_with(prefix))
    {
        return Identified::Algorithm(Algorithm::Argon2id);
    }
    let prefix = encoded.split('$').next().unwrap_or_default();
    match prefix.parse() {
        // jwtd's argon2id has no prefix of its own: `argon2id$...` is nobody's.
        Ok(Algorithm::Argon2id) | Err(_) => Identified::Unknown,
        Ok(algorithm) => Identified::Algorithm(algorithm),
    }
}

/// Making a hash failed: the OS random source or the memory for argon2 was not there, or the
/// password cannot be hashed by the preferred hasher (plain bcrypt and over 72 bytes).
#[derive(Debug, Clone, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl HashError {
    pub(crate) fn new(reason: impl Into<String>) -> HashError {
        HashError(reason.into())
    }

    /// What failed, without the "password hashing failed" prefix.
    pub fn reason(&self) -> &str {
        &self.0
    }
}

/// A hasher list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashersError {
    /// The list is empty: there is no preferred hasher.
    #[error("the password hasher list is empty")]
    Empty,
    /// An algorithm is listed twice.
    #[error("the password hasher {0} is listed twice")]
    Duplicate(Algorithm),
    /// The PBKDF2 iteration count is 0 or above [`limits::MAX_PBKDF2_ITERATIONS`] (hashes made
    /// with it could not be verified).
    #[error(
        "pbkdf2 iterations must be between 1 and {max}, not {0}",
        max = limits::MAX_PBKDF2_ITERATIONS
    )]
    Pbkdf2Iterations(u32),
}

/// The outcome of [`Hashers::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// The password matches the encoding.
    pub matches: bool,
    /// The password matched and should be rehashed with the preferred hasher: the encoding's
    /// hasher is not the preferred one, or its work factor or salt differs from the preferred
    /// hasher's (Django's `must_update`). Always false when `matches` is.
    pub must_update: bool,
}

const NO_MATCH: Check = Check {
    matches: false,
    must_update: false,
};

/// The password the dummy hash is made of. Nothing compares against its result.
const DUMMY_PASSWORD: &str = "jwtd dummy password for unknown users";

/// Django's `PASSWORD_HASHERS`: an ordered list of algorithms, the first one preferred, with the
/// PBKDF2 iteration count new PBKDF2 hashes get (and anything else is rehashed to).
///
/// Cloning is cheap and shares the dummy hash.
#[derive(Clone)]
pub struct Hashers {
    list: Arc<[Algorithm]>,
    pbkdf2_iterations: NonZeroU32,
    /// The preferred hasher's hash of [`DUMMY_PASSWORD`], made on first use.
    dummy: Arc<OnceLock<String>>,
}

impl fmt::Debug for Hashers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hashers")
            .field("list", &self.list)
            .field("pbkdf2_iterations", &self.pbkdf2_iterations)
            .finish()
    }
}

impl Hashers {
    /// A list of hashers, the first one preferred. It must not be empty nor name an algorithm
    /// twice; `pbkdf2_iterations` must be between 1 and [`limits::MAX_PBKDF2_ITERATIONS`].
    pub fn new(list: Vec<Algorithm>, pbkdf2_iterations: u32) -> Result<Hashers, HashersError> {
        if list.is_empty() {
            return Err(HashersError::Empty);
        }
        for (n, algorithm) in list.iter().enumerate() {
            if list[..n].contains(algorithm) {
                return Err(HashersError::Duplicate(*algorithm));
            }
        }
        let iterations = NonZeroU32::new(pbkdf2_iterations)
            .filter(|n| n.get() <= limits::MAX_PBKDF2_ITERATIONS)
            .ok_or(HashersError::Pbkdf2Iterations(pbkdf2_iterations))?;
        Ok(Hashers {
            list: list.into(),
            pbkdf2_iterations: iterations,
            dummy: Arc::default(),
        })
    }

    /// Django 5.2's default list: `pbkdf2_sha256`, `pbkdf2_sha1`, `argon2`, `bcrypt_sha256`,
    /// `scrypt`. An iteration count out of range is clamped into it.
    pub fn django_default(pbkdf2_iterations: u32) -> Hashers {
        let iterations = pbkdf2_iterations.clamp(1, limits::MAX_PBKDF2_ITERATIONS);
        Hashers::new(DJANGO_DEFAULT.to_vec(), iterations).expect("a valid hasher list")
    }

    /// jwtd's default: its own argon2id first, then Django 5.2's default list, so that users
    /// imported from Django log in and have their hash moved to argon2id.
    pub fn jwtd_default() -> Hashers {
        let mut list = vec![Algorithm::Argon2id];
        list.extend(DJANGO_DEFAULT);
        Hashers::new(list, DJANGO_PBKDF2_ITERATIONS).expect("a valid hasher list")
    }

    /// The preferred hasher: the first of the list, which [`Hashers::make`] uses.
    pub fn preferred(&self) -> Algorithm {
        self.list[0]
    }

    /// The list, preferred first.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.list
    }

    /// The PBKDF2 iteration count.
    pub fn pbkdf2_iterations(&self) -> u32 {
        self.pbkdf2_iterations.get()
    }

    /// `password` encoded with the preferred hasher, a fresh salt from the OS and Django 5.2's
    /// parameters: PBKDF2 with [`Hashers::pbkdf2_iterations`] and a 22-character salt; Django's
    /// argon2 as argon2id m=102400, t=2, p=8 with a 22-character salt; bcrypt cost 12; scrypt
    /// N=16384, r=8, p=5; jwtd's argon2id m=19456, t=2, p=1 with a 16-byte salt.
    pub fn make(&self, password: &str) -> Result<String, HashError> {
        hashers::make(self.preferred(), password, self.pbkdf2_iterations)
    }

    /// Whether `password` matches `encoded`, and whether it must be rehashed (Django's
    /// `verify_password`). An encoding whose algorithm is not listed, unusable, unknown,
    /// malformed or beyond [`limits`] never matches, and costs one verification with the
    /// preferred hasher. A wrong password against an encoding of the preferred hasher with a
    /// lower PBKDF2 or bcrypt work factor runs the difference too (Django's `harden_runtime`).
    pub fn check(&self, password: &str, encoded: &str) -> Check {
        let Some((algorithm, parsed)) = self.parse(encoded) else {
            self.verify_dummy(password);
            return NO_MATCH;
        };
        let hasher_changed = algorithm != self.preferred();
        let must_update = hasher_changed || parsed.must_update(self.pbkdf2_iterations);
        let Some(matches) = parsed.verify(password) else {
            // Refused before any work (a password bcrypt cannot take): cost a wrong password.
            self.verify_dummy(password);
            return NO_MATCH;
        };
        if !matches && !hasher_changed && must_update {
            parsed.harden_runtime(password, self.pbkdf2_iterations);
        }
        Check {
            matches,
            must_update: matches && must_update,
        }
    }

    /// Whether a password matching `encoded` would be rehashed, without checking one: the
    /// encoding's hasher is not the preferred one, or the preferred hasher's `must_update` says
    /// so. False for what [`Hashers::check`] refuses outright: unusable, unknown, unlisted and
    /// malformed encodings, and work factors beyond [`limits`].
    pub fn must_update(&self, encoded: &str) -> bool {
        self.parse(encoded).is_some_and(|(algorithm, parsed)| {
            algorithm != self.preferred() || parsed.must_update(self.pbkdf2_iterations)
        })
    }

    /// The preferred hasher's hash of a fixed dummy password, made once per `Hashers` (and its
    /// clones) on first use. Checking a password against it costs what checking a wrong password
    /// costs; [`Hashers::check`] does so for encodings it refuses. If it cannot be made (the OS
    /// random source or argon2's memory failed) this is `"!"`, an unusable encoding, and it is
    /// tried again on the next call.
    pub fn dummy(&self) -> String {
        self.dummy_hash().unwrap_or("!").to_owned()
    }

    fn dummy_hash(&self) -> Option<&str> {
        if let Some(dummy) = self.dummy.get() {
            return Some(dummy);
        }
        let made = self.make(DUMMY_PASSWORD).ok()?;
        Some(self.dummy.get_or_init(|| made))
    }

    /// One verification with the preferred hasher, its result discarded.
    fn verify_dummy(&self, password: &str) {
        if let Some(dummy) = self.dummy_hash()
            && let Some(parsed) = Parsed::parse(self.preferred(), dummy)
        {
            std::hint::black_box(parsed.verify(password));
        }
    }

    /// The encoding's algorithm and fields, if it is listed, well-formed and within [`limits`].
    fn parse<'a>(&self, encoded: &'a str) -> Option<(Algorithm, Parsed<'a>)> {
        if encoded.len() > limits::MAX_ENCODED_LEN {
            return None;
        }
        let Identified::Algorithm(algorithm) = identify(encoded) else {
            return None;
        };
        if !self.list.contains(&algorithm) {
            return None; // Django refuses a hasher that is not installed.
        }
        Some((algorithm, Parsed::parse(algorithm, encoded)?))
    }
}

/// Django 5.2's `PASSWORD_HASHERS` default.
const DJANGO_DEFAULT: [Algorithm; 5] = [
    Algorithm::Pbkdf2Sha256,
    Algorithm::Pbkdf2Sha1,
    Algorithm::Argon2,
    Algorithm::BcryptSha256,
    Algorithm::Scrypt,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for algorithm in Algorithm::ALL {
            assert_eq!(algorithm.name().parse::<Algorithm>(), Ok(algorithm));
            assert_eq!(algorithm.to_string(), algorithm.name());
        }
        let error = "sha1".parse::<Algorithm>().unwrap_err().to_string();
        assert!(error.contains("\"sha1\""), "{error}");
        assert!(error.contains("pbkdf2_sha256"), "{error}");
    }

    #[test]
    fn identifies_by_prefix() {
        use Identified::{Algorithm as A, Unknown, Unusable};
        for (encoded, expected) in [
            (
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                A(Algorithm::Argon2id),
            ),
            (
                "$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA",
                A(Algorithm::Argon2id),
            ),
            (
                "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA",
                A(Algorithm::Argon2),
            ),
            (
                "pbkdf2_sha256$1000000$salt$hash",
                A(Algorithm::Pbkdf2Sha256),
            ),
            ("pbkdf2_sha1$1000000$salt$hash", A(Algorithm::Pbkdf2Sha1)),
            ("bcrypt_sha256$$2b$12$x", A(Algorithm::BcryptSha256)),
            ("bcrypt$$2b$12$x", A(Algorithm::Bcrypt)),
            ("scrypt$16384$salt$8$5$hash", A(Algorithm::Scrypt)),
            ("md5$salt$hash", A(Algorithm::Md5)),
            ("pbkdf2_sha256$", A(Algorithm::Pbkdf2Sha256)),
            ("!", Unusable),
            ("!abc", Unusable),
            ("", Unknown),
            ("$", Unknown),
            ("argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Unknown),
            ("sha1$salt$hash", Unknown),
            ("crypt$$abc", Unknown),
            // Django's unsalted forms.
            ("5f4dcc3b5aa765d61d8327deb882cf99", Unknown),
            ("md5$$5f4dcc3b5aa765d61d8327deb882cf99", Unknown),
            ("sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", Unknown),
        ] {
            assert_eq!(identify(encoded), expected, "{encoded}");
        }
    }

    #[test]
    fn lists_are_checked() {
        assert_eq!(Hashers::new(vec![], 1).unwrap_err(), HashersError::Empty);
        assert_eq!(
            Hashers::new(vec![Algorithm::Md5, Algorithm::Scrypt, Algorithm::Md5], 1).unwrap_err(),
            HashersError::Duplicate(Algorithm::Md5)
        );
        assert_eq!(
            Hashers::new(vec![Algorithm::Md5], 0).unwrap_err(),
            HashersError::Pbkdf2Iterations(0)
        );
        assert_eq!(
            Hashers::new(vec![Algorithm::Md5], limits::MAX_PBKDF2_ITERATIONS + 1).unwrap_err(),
            HashersError::Pbkdf2Iterations(limits::MAX_PBKDF2_ITERATIONS + 1)
        );
        let jwtd = Hashers::jwtd_default();
        assert_eq!(jwtd.preferred(), Algorithm::Argon2id);
        assert_eq!(&jwtd.algorithms()[1..], &DJANGO_DEFAULT);
        let django = Hashers::django_default(DJANGO_PBKDF2_ITERATIONS);
        assert_eq!(django.algorithms(), &DJANGO_DEFAULT);
        assert_eq!(django.pbkdf2_iterations(), DJANGO_PBKDF2_ITERATIONS);
    }
}

/// The revocation claim's value for a stored password column: the upper-case hex MD5 of its
/// text, exactly what simplejwt's `get_md5_hash_password(user.password)` puts in tokens when
/// `CHECK_REVOKE_TOKEN` is on. It only tells whether the column changed; it reveals nothing a
/// token holder could use (the column is itself a salted hash).
pub fn revoke_claim_value(stored: &str) -> String {
    hashers::md5::upper_hex_digest(stored)
}

/// Compares a token's revocation claim with the stored password column's, in constant time.
pub fn revoke_claim_matches(claim: Option<&str>, stored: &str) -> bool {
    claim.is_some_and(|claim| {
        util::constant_time_eq(claim.as_bytes(), revoke_claim_value(stored).as_bytes())
    })
}

#[cfg(test)]
mod revoke_claim_tests {
    use super::*;

    /// The values Python's `hashlib.md5(password.encode()).hexdigest().upper()` gives.
    #[test]
    fn revoke_claims_are_simplejwts_md5() {
        assert_eq!(revoke_claim_value(""), "D41D8CD98F00B204E9800998ECF8427E");
        assert_eq!(
            revoke_claim_value("pbkdf2_sha256$1000000$salt$hash"),
            "A1C86D99A9B04CAA4782947A89B21B4F"
        );
        assert!(revoke_claim_matches(
            Some("D41D8CD98F00B204E9800998ECF8427E"),
            ""
        ));
        assert!(!revoke_claim_matches(
            Some("d41d8cd98f00b204e9800998ecf8427e"),
            ""
        ));
        assert!(!revoke_claim_matches(None, ""));
    }
}
