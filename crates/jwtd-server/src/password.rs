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

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
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

fn argon2() -> Argon2<'static> {
    // The parameters are constants inside argon2's accepted ranges.
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
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
        let dummy_hash = hash_now("jwtd dummy password for unknown users")?;
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

fn hash_now(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

fn verify_now(password: &str, stored: &str) -> bool {
    // A malformed stored hash never matches; argon2 compares digests in constant time.
    PasswordHash::new(stored)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

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
