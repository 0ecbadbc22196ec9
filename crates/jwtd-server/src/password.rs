//! Password hashing on its own small pool of low-priority threads, with `jwtd-password`'s
//! hashers: jwtd's argon2id preferred, Django's encodings verified (and moved to argon2id at a
//! successful login) by default.
//!
//! A hash costs tens of milliseconds of CPU by design. Running it on the async workers would let
//! a burst of logins stall every other request, so hashes run on `concurrency` dedicated
//! threads, each lowered to nice 19 on Linux: when logins and token checks compete for the CPU,
//! the scheduler gives the token checks most of it, and a login flood cannot starve
//! verification. Waiting hashes cost a queue slot, not a thread; a hash whose requester has
//! gone away (client disconnected, request timed out) is skipped.
//!
//! Unknown users are checked against a dummy hash made at start-up with the preferred hasher, so
//! "no such user" costs exactly what "wrong password" costs and cannot be told apart by timing.
//! So are unusable (`!`), unknown and malformed stored hashes.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use jwtd_password::{Hashers, Identified};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// jwtd's argon2id parameters and hasher, from `jwtd-password` (the benchmarks time them).
pub use jwtd_password::{HASH_BYTES, ITERATIONS, MEMORY_KIB, PARALLELISM, argon2};

/// The hashing threads' nice value (Linux): the lowest, so request workers always come first.
pub const HASH_THREAD_NICE: i32 = 19;

/// Hashing failed (the pool is gone, or the hasher refused its input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl From<jwtd_password::HashError> for HashError {
    fn from(e: jwtd_password::HashError) -> HashError {
        HashError(e.reason().to_owned())
    }
}

/// The outcome of [`Passwords::verify_and_upgrade`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The password matches the stored hash.
    pub matches: bool,
    /// When it matched and the stored hash is not the preferred hasher's, or not at its work
    /// factor (Django's `must_update`): a fresh hash of the password with the preferred hasher,
    /// to store in its place. `None` otherwise, or if making it failed (logged).
    pub upgraded: Option<String>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on a bounded pool.
#[derive(Clone)]
pub struct Passwords(Arc<Pool>);

struct Pool {
    jobs: mpsc::Sender<Job>,
    queued: Gauge,
    wait: Histogram,
    hashers: Hashers,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("hashers", &self.0.hashers.algorithms())
            .field("queued", &self.0.queued.get())
            .finish()
    }
}

impl Passwords {
    /// A pool of `concurrency` hashing threads with jwtd's default hashers
    /// ([`Hashers::jwtd_default`]: argon2id, then Django's defaults).
    pub fn new(concurrency: usize) -> Result<Passwords, HashError> {
        Passwords::with_hashers(concurrency, Hashers::jwtd_default())
    }

    /// A pool of `concurrency` hashing threads with these hashers (Django's `PASSWORD_HASHERS`).
    /// The dummy hash for unknown users is made here, on a hashing thread.
    pub fn with_hashers(concurrency: usize, hashers: Hashers) -> Result<Passwords, HashError> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..concurrency.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("jwtd-hash-{n}"))
                .spawn(move || hashing_thread(&receiver))
                .map_err(|e| HashError(format!("cannot start a hashing thread: {e}")))?;
        }
        // On a hashing thread, whose argon2 memory is kept for the next hash anyway: the calling
        // thread is not one and must not keep 19 MiB resident for the life of the process.
        let (done, dummy) = mpsc::channel();
        let warm = hashers.clone();
        jobs.send(Box::new(move || {
            let _ = done.send(warm.dummy());
        }))
        .map_err(|_| HashError("the hashing threads are gone".to_owned()))?;
        let dummy = dummy
            .recv()
            .map_err(|_| HashError("a hashing thread failed".to_owned()))?;
        if jwtd_password::identify(&dummy) == Identified::Unusable {
            return Err(HashError(format!(
                "cannot make the dummy {} hash for unknown users",
                hashers.preferred()
            )));
        }
        Ok(Passwords(Arc::new(Pool {
            jobs,
            queued: Gauge::default(),
            // 1 ms .. ~33 s.
            wait: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            hashers,
        })))
    }

    /// The hashers: their list, preferred first.
    pub fn hashers(&self) -> &Hashers {
        &self.0.hashers
    }

    /// Hashes waiting for a thread (a metric).
    pub fn queue_gauge(&self) -> Gauge {
        self.0.queued.clone()
    }

    /// How long hashes waited for a thread (a metric).
    pub fn wait_histogram(&self) -> Histogram {
        self.0.wait.clone()
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let queued = self.0.queued.clone();
        let wait = self.0.wait.clone();
        let span = tracing::Span::current();
        let enqueued = Instant::now();
        queued.inc();
        let job: Job = Box::new(move || {
            queued.dec();
            wait.observe(enqueued.elapsed().as_secs_f64());
            if done.is_closed() {
                return; // Nobody is waiting for this answer any more.
            }
            let _ = done.send(span.in_scope(work));
        });
        self.0
            .jobs
            .send(job)
            .map_err(|_| HashError("the hashing threads are gone".to_owned()))?;
        result
            .await
            .map_err(|_| HashError("a hashing thread failed".to_owned()))
    }

    /// `password` hashed with the preferred hasher (jwtd's argon2id PHC string by default).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let hashers = self.0.hashers.clone();
        Ok(self.run(move || hashers.make(&password)).await??)
    }

    /// Whether `password` matches `stored` (any encoding the hashers list). `None` (an unknown
    /// user) checks against the dummy hash and returns false, at the same cost.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        Ok(self.check(password, stored, false).await?.matches)
    }

    /// As [`Passwords::verify`], and when the password matched a hash that must be updated, a
    /// fresh preferred hash of it, made in the same job.
    pub async fn verify_and_upgrade(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        self.check(password, stored, true).await
    }

    async fn check(
        &self,
        password: String,
        stored: Option<String>,
        upgrade: bool,
    ) -> Result<Verified, HashError> {
        let hashers = self.0.hashers.clone();
        self.run(move || check_now(&hashers, &password, stored.as_deref(), upgrade))
            .await
    }
}

fn check_now(hashers: &Hashers, password: &str, stored: Option<&str>, upgrade: bool) -> Verified {
    let Some(stored) = stored else {
        // An unknown user: one verification with the preferred hasher, and never a match (not
        // even with the dummy's own password).
        std::hint::black_box(hashers.check(password, &hashers.dummy()));
        return Verified {
            matches: false,
            upgraded: None,
        };
    };
    let check = hashers.check(password, stored);
    let upgraded = if upgrade && check.must_update {
        hashers
            .make(password)
            .inspect_err(|e| tracing::warn!(error = %e, "cannot rehash a password"))
            .ok()
    } else {
        None
    };
    Verified {
        matches: check.matches,
        upgraded,
    }
}

fn hashing_thread(receiver: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        // A poisoned lock only means another hashing thread panicked while waiting; the
        // receiver itself is intact.
        let job = match receiver.lock() {
            Ok(guard) => guard.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else {
            return; // Every `Passwords` handle is gone.
        };
        // A panicking job drops its answer channel (the caller gets an error); the thread lives on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Lowers the calling thread's scheduling priority. On Linux `setpriority` with a thread id
/// affects that thread only; elsewhere it would renice the whole process, so it is not done.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(tid), HASH_THREAD_NICE) {
            tracing::debug!(error = %e, "cannot lower the hashing thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{
        PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
    };
    use jwtd_password::Algorithm;

    use super::*;

    /// A PHC string made by the `argon2` crate (jwtd's hasher before argon2-rust).
    fn rustcrypto_hash(
        password: &str,
        algorithm: argon2::Algorithm,
        params: argon2::Params,
    ) -> String {
        argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    fn verify_now(password: &str, stored: &str) -> bool {
        check_now(&Hashers::jwtd_default(), password, Some(stored), false).matches
    }

    fn hash_now(password: &str) -> String {
        Hashers::jwtd_default().make(password).unwrap()
    }

    #[test]
    fn hashes_from_the_argon2_crate_verify() {
        let jwtd_params = argon2::Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap();
        let stored = rustcrypto_hash("correct horse", argon2::Algorithm::Argon2id, jwtd_params);
        assert!(verify_now("correct horse", &stored), "{stored}");
        assert!(!verify_now("correct hors", &stored));

        // Other parameters and the older variant, as imported Django users may have: the string's
        // own parameters and variant are used, and the hash is moved to jwtd's.
        let other = argon2::Params::new(4096, 3, 4, None).unwrap();
        let stored = rustcrypto_hash("correct horse", argon2::Algorithm::Argon2i, other);
        assert!(
            stored.starts_with("$argon2i$v=19$m=4096,t=3,p=4$"),
            "{stored}"
        );
        assert!(verify_now("correct horse", &stored));
        assert!(!verify_now("wrong", &stored));
        let upgraded = check_now(
            &Hashers::jwtd_default(),
            "correct horse",
            Some(&stored),
            true,
        );
        assert!(upgraded.matches);
        assert!(
            upgraded
                .upgraded
                .unwrap()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
    }

    #[test]
    fn new_hashes_verify_with_the_argon2_crate() {
        let stored = hash_now("correct horse");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        let parsed = PasswordHash::new(&stored).unwrap();
        assert_eq!(parsed.salt.unwrap().len(), 22, "a 16-byte salt: {stored}");
        assert_eq!(parsed.hash.unwrap().len(), 32, "{stored}");
        let rustcrypto = argon2::Argon2::default();
        assert!(
            rustcrypto
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(rustcrypto.verify_password(b"wrong", &parsed).is_err());
        // Two hashes of one password differ (fresh salt) and both verify.
        let again = hash_now("correct horse");
        assert_ne!(stored, again);
        assert!(verify_now("correct horse", &again));
    }

    #[test]
    fn malformed_or_foreign_strings_never_match() {
        let stored = hash_now("pw");
        let truncated = &stored[..stored.len() - 4];
        for bad in [
            "",
            "!",
            "not a phc string",
            truncated,
            &stored.replacen("$argon2id$", "$argon2x$", 1),
            &stored.replacen("$argon2id$", "$scrypt$", 1),
            // The right digest under the wrong variant.
            &stored.replacen("$argon2id$", "$argon2i$", 1),
        ] {
            assert!(!verify_now("pw", bad), "{bad}");
            assert_eq!(
                check_now(&Hashers::jwtd_default(), "pw", Some(bad), true),
                Verified {
                    matches: false,
                    upgraded: None
                },
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let passwords = Passwords::new(2).unwrap();
        let hash = passwords.hash("correct horse".to_owned()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            passwords
                .verify("correct horse".to_owned(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong".to_owned(), Some(hash))
                .await
                .unwrap()
        );
        // The dummy's own password must not log in as an unknown user.
        assert!(
            !passwords
                .verify("jwtd dummy password for unknown users".to_owned(), None)
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("x".to_owned(), Some("not a phc string".to_owned()))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn django_hashes_are_upgraded_to_argon2id() {
        let passwords = Passwords::new(1).unwrap();
        // A Django PBKDF2 hash (1,000 iterations: quick to make here).
        let django = Hashers::new(vec![Algorithm::Pbkdf2Sha256], 1000)
            .unwrap()
            .make("correct horse")
            .unwrap();
        let verified = passwords
            .verify_and_upgrade("correct horse".to_owned(), Some(django.clone()))
            .await
            .unwrap();
        assert!(verified.matches);
        let upgraded = verified.upgraded.unwrap();
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{upgraded}"
        );
        // The new hash is current: nothing more to upgrade.
        assert_eq!(
            passwords
                .verify_and_upgrade("correct horse".to_owned(), Some(upgraded))
                .await
                .unwrap(),
            Verified {
                matches: true,
                upgraded: None
            }
        );
        // A wrong password, an unknown user, an unusable password: no match, nothing to store.
        for (password, stored) in [
            ("wrong", Some(django.clone())),
            ("correct horse", None),
            ("correct horse", Some("!unusable".to_owned())),
        ] {
            assert_eq!(
                passwords
                    .verify_and_upgrade(password.to_owned(), stored)
                    .await
                    .unwrap(),
                Verified {
                    matches: false,
                    upgraded: None
                }
            );
        }
        // `verify` checks only.
        assert!(
            passwords
                .verify("correct horse".to_owned(), Some(django))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn other_hasher_lists() {
        let hashers = Hashers::new(vec![Algorithm::Md5, Algorithm::Argon2id], 1).unwrap();
        let passwords = Passwords::with_hashers(1, hashers).unwrap();
        assert_eq!(passwords.hashers().preferred(), Algorithm::Md5);
        let md5 = passwords.hash("pw".to_owned()).await.unwrap();
        assert!(md5.starts_with("md5$"), "{md5}");
        assert!(passwords.verify("pw".to_owned(), Some(md5)).await.unwrap());
        // jwtd's argon2id is listed but not preferred: it matches and is moved to md5.
        let verified = passwords
            .verify_and_upgrade("pw".to_owned(), Some(hash_now("pw")))
            .await
            .unwrap();
        assert!(verified.matches);
        assert!(verified.upgraded.unwrap().starts_with("md5$"));
    }
}
