//! argon2id timing for `bench/run.sh`: how long one password check costs at jwtd's parameters
//! (m=19456 KiB, t=2, p=1, version 0x13: `jwtd_server::password`'s constants and hasher)
//! on one thread, with each argon2 implementation in the workspace:
//!
//! - `argon2-rust`, which the server uses, with one reused `Hasher` as each hashing thread keeps;
//! - the RustCrypto `argon2` crate.
//!
//! A login costs one verification, so `cores ÷ the fastest time` bounds logins per second.
//!
//! ```text
//! jwtd-bench-argon2 --rounds 15
//! # RESULT impl=argon2-rust rounds=15 hash_median_ms=.. hash_min_ms=.. verify_median_ms=.. verify_min_ms=..
//! # RESULT impl=argon2 ...
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
}

/// Runs `hash` and `verify` `rounds` times each, alternating, after one untimed warm-up of each
/// (first-touch page faults are not what a running server pays), and prints one line.
fn time(
    name: &str,
    rounds: usize,
    mut hash: impl FnMut() -> anyhow::Result<()>,
    mut verify: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    hash()?;
    verify()?;
    let (mut hashes, mut verifies) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        hash()?;
        hashes.push(start.elapsed());
        let start = Instant::now();
        verify()?;
        verifies.push(start.elapsed());
    }
    hashes.sort();
    verifies.sort();
    let min = |v: &[Duration]| v.first().copied().unwrap_or_default();
    println!(
        "RESULT impl={name} rounds={} hash_median_ms={:.2} hash_min_ms={:.2} verify_median_ms={:.2} verify_min_ms={:.2}",
        verifies.len(),
        millis(percentile(&hashes, 50.0)),
        millis(min(&hashes)),
        millis(percentile(&verifies, 50.0)),
        millis(min(&verifies)),
    );
    Ok(())
}

fn argon2_rust(rounds: usize) -> anyhow::Result<()> {
    use argon2_rust::Algorithm;
    // The server's own configured hasher, one reused `Hasher` as each hashing thread keeps.
    let hasher = std::cell::RefCell::new(jwtd_server::password::argon2().hasher());
    let phc = hasher
        .borrow_mut()
        .hash_password_with_random_salt(PASSWORD)
        .map_err(|e| anyhow!("argon2-rust hash: {e}"))?;
    time(
        "argon2-rust",
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

fn argon2_rustcrypto(rounds: usize) -> anyhow::Result<()> {
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
        "argon2",
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
    argon2_rust(args.rounds)?;
    argon2_rustcrypto(args.rounds)
}
