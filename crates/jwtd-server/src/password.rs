//! Password hashing with argon2id on its own small pool of low-priority threads.
//!
//! A hash costs tens of milliseconds of CPU by design. Running it on the async workers would let
//! a burst of logins stall every other request, so hashes run on `concurrency` dedicated
//! threads, each lowered to nice 19 on Linux: when logins and token checks compete for the CPU,
//! the scheduler gives the token checks most of it, and a login flood cannot starve
//! verification. Waiting hashes cost a queue slot, not a thread; a hash whose requester has
//! gone away (client disconnected, request timed out) is skipped.
//!
//! Unknown users are checked against a dummy hash made at start-up with the same parameters, so
//! "no such user" costs exactly what "wrong password" costs and cannot be told apart by timing.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2_rust::params::{Memory, TagLen};
use argon2_rust::{Algorithm, Argon2, Hasher, Params, Version};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// OWASP's argon2id minimum: 19 MiB, two passes, one lane.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;
/// The hashing threads' nice value (Linux): the lowest, so request workers always come first.
pub const HASH_THREAD_NICE: i32 = 19;

/// Bytes of derived hash in a PHC string, as Django's argon2-cffi and the `argon2` crate write.
pub const HASH_BYTES: u64 = 32;

/// argon2id at jwtd's parameters, as the hashing threads use it (and the benchmarks time it).
pub fn argon2() -> Argon2 {
    // The parameters are constants inside argon2's accepted ranges.
    let params = Params::builder()
        .memory(Memory::kib(u64::from(MEMORY_KIB)))
        .passes(ITERATIONS)
        .lanes(PARALLELISM)
        .tag_len(TagLen::bytes(HASH_BYTES))
        .build()
        .expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

thread_local! {
    /// Each hashing thread keeps its 19 MiB of argon2 memory between hashes (wiped after each):
    /// mapping and faulting it in afresh adds about a third to every hash (BENCHMARKS.md,
    /// "Password hashing"). The start-up dummy hash uses a hasher of its own, freed at once. A
    /// stored string with a larger `m` runs on memory of its own, freed after the call.
    static HASHER: RefCell<Hasher> = RefCell::new(argon2().hasher());
}

/// Hashing failed (the pool is gone, or argon2 refused its input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on a bounded pool.
#[derive(Clone)]
pub struct Passwords(Arc<Pool>);

struct Pool {
    jobs: mpsc::Sender<Job>,
    queued: Gauge,
    wait: Histogram,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("queued", &self.0.queued.get())
            .finish()
    }
}

impl Passwords {
    /// A pool of `concurrency` hashing threads.
    pub fn new(concurrency: usize) -> Result<Passwords, HashError> {
        // On a hasher of its own, freed at once: the calling thread is not a hashing thread and
        // must not keep 19 MiB resident for the life of the process.
        let dummy_hash = hash_with(
            &mut argon2().hasher(),
            "jwtd dummy password for unknown users",
        )?;
        let (jobs, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..concurrency.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("jwtd-hash-{n}"))
                .spawn(move || hashing_thread(&receiver))
                .map_err(|e| HashError(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Passwords(Arc::new(Pool {
            jobs,
            queued: Gauge::default(),
            // 1 ms .. ~33 s.
            wait: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            dummy_hash: dummy_hash.into(),
        })))
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

    /// A PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `stored` (a PHC string). `None` checks against the dummy hash
    /// and returns false, at the same cost.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.0.dummy_hash.to_string());
        let matches = self.run(move || verify_now(&password, &stored)).await?;
        Ok(known && matches)
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

// argon2-rust rather than the `argon2` crate: the same PHC strings both ways, and about half the
// CPU per hash on x86-64 (AVX2/AVX-512 picked at run time), which caps logins per second
// (BENCHMARKS.md, "Password hashing").
fn hash_now(password: &str) -> Result<String, HashError> {
    HASHER.with_borrow_mut(|hasher| hash_with(hasher, password))
}

fn hash_with(hasher: &mut Hasher, password: &str) -> Result<String, HashError> {
    // A 16-byte salt from the OS, as the `argon2` crate and argon2-cffi draw.
    hasher
        .hash_password_with_random_salt(password.as_bytes())
        .map_err(|e| HashError(e.to_string()))
}

fn verify_now(password: &str, stored: &str) -> bool {
    // The variant is the string's own, as with the `argon2` crate: Django before 3.2 stored
    // argon2i. A malformed stored hash never matches; digests are compared in constant time.
    let algorithm = if stored.starts_with("$argon2id$") {
        Algorithm::Argon2id
    } else if stored.starts_with("$argon2i$") {
        Algorithm::Argon2i
    } else if stored.starts_with("$argon2d$") {
        Algorithm::Argon2d
    } else {
        return false;
    };
    HASHER.with_borrow_mut(|hasher| {
        hasher
            .verify_encoded(stored, password.as_bytes(), algorithm)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{
        PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
    };

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

    #[test]
    fn hashes_from_the_argon2_crate_verify() {
        let jwtd_params = argon2::Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap();
        let stored = rustcrypto_hash("correct horse", argon2::Algorithm::Argon2id, jwtd_params);
        assert!(verify_now("correct horse", &stored), "{stored}");
        assert!(!verify_now("correct hors", &stored));

        // Other parameters and the older variant, as imported Django users may have: the string's
        // own parameters and variant are used.
        let other = argon2::Params::new(4096, 3, 4, None).unwrap();
        let stored = rustcrypto_hash("correct horse", argon2::Algorithm::Argon2i, other);
        assert!(
            stored.starts_with("$argon2i$v=19$m=4096,t=3,p=4$"),
            "{stored}"
        );
        assert!(verify_now("correct horse", &stored));
        assert!(!verify_now("wrong", &stored));
    }

    #[test]
    fn new_hashes_verify_with_the_argon2_crate() {
        let stored = hash_now("correct horse").unwrap();
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
        let again = hash_now("correct horse").unwrap();
        assert_ne!(stored, again);
        assert!(verify_now("correct horse", &again));
    }

    #[test]
    fn malformed_or_foreign_strings_never_match() {
        let stored = hash_now("pw").unwrap();
        let truncated = &stored[..stored.len() - 4];
        for bad in [
            "",
            "not a phc string",
            truncated,
            &stored.replacen("$argon2id$", "$argon2x$", 1),
            &stored.replacen("$argon2id$", "$scrypt$", 1),
            // The right digest under the wrong variant.
            &stored.replacen("$argon2id$", "$argon2i$", 1),
        ] {
            assert!(!verify_now("pw", bad), "{bad}");
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
}
