//! PBKDF2-HMAC-SHA256 timing for `bench/django.sh`: the bare primitive (aws-lc-rs, which
//! `jwtd-password` uses) at Django 5.2's 1,000,000 iterations, on N threads at once, as jwtd's
//! hashing threads run during a login flood in Django mode.
//!
//! A Django-mode login costs one PBKDF2 verification, so `threads ÷ the median time` bounds
//! logins per second on this machine; the benchmark compares jwtd's logins with that bound.
//!
//! ```text
//! jwtd-bench-pbkdf2 --rounds 5 --threads 2
//! # RESULT impl=aws-lc-rs iterations=1000000 threads=2 rounds=10 median_ms=.. min_ms=..
//! ```

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use aws_lc_rs::pbkdf2;
use clap::Parser;
use jwtd_bench::{millis, percentile};

/// Time bare PBKDF2-HMAC-SHA256 verifications.
#[derive(Parser)]
struct Args {
    /// Timed verifications per thread.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Threads verifying at once.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// PBKDF2 iterations (Django 5.2's default).
    #[arg(long, default_value_t = 1_000_000)]
    iterations: u32,
}

fn verify_times(rounds: usize, iterations: NonZeroU32) -> Vec<Duration> {
    let (salt, password) = (b"benchsaltbenchsalt22ch", b"bench-password");
    let mut derived = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        password,
        &mut derived,
    );
    // One untimed warm-up, then the timed verifications (what a login does: derive and compare).
    let mut times = Vec::with_capacity(rounds);
    for round in 0..=rounds {
        let start = Instant::now();
        let ok = pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            salt,
            password,
            &derived,
        )
        .is_ok();
        assert!(ok, "the derived key verifies");
        if round > 0 {
            times.push(start.elapsed());
        }
    }
    times
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let iterations =
        NonZeroU32::new(args.iterations).ok_or_else(|| anyhow!("--iterations must be >= 1"))?;
    let workers: Vec<_> = (0..args.threads.max(1))
        .map(|_| std::thread::spawn(move || verify_times(args.rounds, iterations)))
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(
            worker
                .join()
                .map_err(|_| anyhow!("a hashing thread panicked"))?,
        );
    }
    all.sort();
    println!(
        "RESULT impl=aws-lc-rs iterations={} threads={} rounds={} median_ms={:.1} min_ms={:.1}",
        args.iterations,
        args.threads.max(1),
        all.len(),
        millis(percentile(&all, 50.0)),
        millis(all.first().copied().unwrap_or_default()),
    );
    Ok(())
}
