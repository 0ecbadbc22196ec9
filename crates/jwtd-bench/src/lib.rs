//! Helpers shared by the `bench/run.sh` binaries (issue 6). Nothing here ships in jwtd.
//!
//! - `jwtd-bench-ceiling`: a bare axum "hello" on the same runtime and HTTP server setup as
//!   `jwtd serve`, the upper bound for any request jwtd answers.
//! - `jwtd-bench-store`: the store work of one refresh with rotation and blacklisting, timed
//!   alone through the `Store` trait, without HTTP or token crypto.
//! - `jwtd-bench-argon2`: the cost of one argon2id hash at jwtd's parameters with the `argon2`
//!   crate the server uses.

use std::time::Duration;

/// Latency percentile (`p` in 0..=100) of sorted samples, nearest rank; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds as a float, for printing.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
