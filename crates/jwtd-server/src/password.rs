//! Password hashing with argon2id on a bounded pool.
//!
//! A hash costs tens of milliseconds of CPU by design. Running it on the async workers would let
//! a burst of logins stall every other request, so hashes run on tokio's blocking threads, at
//! most `concurrency` at a time; the rest wait their turn without holding a thread.
//!
//! Unknown users are checked against a dummy hash made at start-up with the same parameters, so
//! "no such user" costs exactly what "wrong password" costs and cannot be told apart by timing.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// OWASP's argon2id minimum: 19 MiB, two passes, one lane.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

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

/// Hashes and verifies passwords on a bounded pool.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

impl Passwords {
    /// A pool running at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Result<Passwords, HashError> {
        let dummy_hash = hash_now("jwtd dummy password for unknown users")?;
        Ok(Passwords {
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: dummy_hash.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .await
            .map_err(|e| HashError(e.to_string()))
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
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self.run(move || verify_now(&password, &stored)).await?;
        Ok(known && matches)
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
