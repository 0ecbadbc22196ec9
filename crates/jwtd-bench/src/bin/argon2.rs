//! argon2id timing for `bench/run.sh`: how long one password check costs at jwtd's parameters
//! (m=19456 KiB, t=2, p=1, version 0x13: `jwtd_server::password`'s constants and hasher)
//! on one thread, with each argon2 implementation in the workspace:
//!
//! - `argon2-rust`, which the server uses, with one reused `Hasher` as each hashing thread keeps;
//! - the RustCrypto `argon2` crate.
//!
//! A login costs one verification, so `cores ÷ the fastest time` bounds logins per second.
//! `--threads N` times `argon2-rust` on N threads at once instead, as N hashing threads run
//! during a login flood: hashes that share the memory bus and caches are slower than one alone.
//!
//! ```text
//! jwtd-bench-argon2 --rounds 15
//! # RESULT impl=argon2-rust rounds=15 hash_median_ms=.. hash_min_ms=.. verify_median_ms=.. verify_min_ms=..
//! # RESULT impl=argon2 ...
//! jwtd-bench-argon2 --rounds 15 --threads 2
//! # RESULT impl=argon2-rust threads=2 rounds=30 ... (every thread's timings together)
//! ```

use std::time::{Duration, Instant};

use anyhow::anyhow;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use clap::Parser;
use jwtd_bench::{millis, percentile};
use jwtd_server::password::{ITERATIONS, MEMORY_KIB, PARALLELISM};

const PASSWORD: &[u8] = b"bench-password";

/// Time argon2id hashing and verification at jwtd's parameters.
#[derive(Parser)]
struct Args {
    /// Timed hashes and verifications per implementation, each.
    #[arg(long, default_value_t = 15)]
    rounds: usize,
    /// Time `argon2-rust` alone, on this many threads at once (each `--rounds` times).
    #[arg(long)]
    threads: Option<usize>,
}

/// One implementation's timings.
#[derive(Default)]
struct Timings {
    hashes: Vec<Duration>,
    verifies: Vec<Duration>,
}

impl Timings {
    fn print(mut self, label: &str) {
        self.hashes.sort();
        self.verifies.sort();
        let min = |v: &[Duration]| v.first().copied().unwrap_or_default();
        println!(
            "RESULT {label} rounds={} hash_median_ms={:.2} hash_min_ms={:.2} verify_median_ms={:.2} verify_min_ms={:.2}",
            self.verifies.len(),
            millis(percentile(&self.hashes, 50.0)),
            millis(min(&self.hashes)),
            millis(percentile(&self.verifies, 50.0)),
            millis(min(&self.verifies)),
        );
    }
}

/// Runs `hash` and `verify` `rounds` times each, alternating, after one untimed warm-up of each
/// (first-touch page faults are not what a running server pays).
fn time(
    rounds: usize,
    mut hash: impl FnMut() -> anyhow::Result<()>,
    mut verify: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Timings> {
    hash()?;
    verify()?;
    let mut timings = Timings::default();
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        hash()?;
        timings.hashes.push(start.elapsed());
        let start = Instant::now();
        verify()?;
        timings.verifies.push(start.elapsed());
    }
    Ok(timings)
}

fn argon2_rust(rounds: usize) -> anyhow::Result<Timings> {
    use argon2_rust::Algorithm;
    // The server's own configured hasher, one reused `Hasher` as each hashing thread keeps.
    let hasher = std::cell::RefCell::new(jwtd_server::password::argon2().hasher());
    let phc = hasher
        .borrow_mut()
        .hash_password_with_random_salt(PASSWORD)
        .map_err(|e| anyhow!("argon2-rust hash: {e}"))?;
    time(
        rounds,
        || {
            hasher
                .borrow_mut()
                .hash_password_with_random_salt(PASSWORD)
                .map(drop)
                .map_err(|e| anyhow!("argon2-rust hash: {e}"))
        },
        || {
            hasher
                .borrow_mut()
                .verify_encoded(&phc, PASSWORD, Algorithm::Argon2id)
                .map(drop)
                .map_err(|e| anyhow!("argon2-rust verify: {e}"))
        },
    )
}

fn argon2_rustcrypto(rounds: usize) -> anyhow::Result<Timings> {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| anyhow!("argon2 parameters: {e}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    let phc = argon2
        .hash_password(PASSWORD, &salt)
        .map_err(|e| anyhow!("argon2 hash: {e}"))?
        .to_string();
    let parsed = PasswordHash::new(&phc).map_err(|e| anyhow!("argon2 parse: {e}"))?;
    time(
        rounds,
        || {
            argon2
                .hash_password(PASSWORD, &salt)
                .map(drop)
                .map_err(|e| anyhow!("argon2 hash: {e}"))
        },
        || {
            argon2
                .verify_password(PASSWORD, &parsed)
                .map_err(|e| anyhow!("argon2 verify: {e}"))
        },
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let Some(threads) = args.threads else {
        argon2_rust(args.rounds)?.print("impl=argon2-rust");
        argon2_rustcrypto(args.rounds)?.print("impl=argon2");
        return Ok(());
    };
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| std::thread::spawn(move || argon2_rust(args.rounds)))
        .collect();
    let mut all = Timings::default();
    for worker in workers {
        let timings = worker
            .join()
            .map_err(|_| anyhow!("a hashing thread panicked"))??;
        all.hashes.extend(timings.hashes);
        all.verifies.extend(timings.verifies);
    }
    all.print(&format!("impl=argon2-rust threads={threads}"));
    Ok(())
}
