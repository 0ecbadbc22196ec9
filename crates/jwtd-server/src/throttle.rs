//! Login throttling per client address and per username (decision B15).
//!
//! Each key gets a GCRA bucket from `governor`: a rate of `N/min` allows a burst of N attempts,
//! then one more every minute/N. Every attempt counts, failed or successful, and the username
//! key is the name as typed, so a throttled answer says nothing about whether the user exists.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jwtd_store::{Store, StoreError};

/// A rate such as `10/min`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Attempts allowed per period (also the burst).
    pub count: NonZeroU32,
    /// The period.
    pub per: Duration,
}

impl Rate {
    /// Parses `N/s`, `N/min`, `N/h` (also `N/second`, `N/m`, `N/hour`, `N/d`), or `off` (`None`).
    pub fn parse_setting(text: &str) -> Result<Option<Rate>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let error = || format!("{text:?}: use N/s, N/min, N/h or off");
        let (count, unit) = text.split_once('/').ok_or_else(error)?;
        let count: u32 = count.trim().parse().map_err(|_| error())?;
        let count = NonZeroU32::new(count).ok_or_else(error)?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(error()),
        };
        Ok(Some(Rate {
            count,
            per: Duration::from_secs(seconds),
        }))
    }

    fn quota(self) -> Quota {
        // count >= 1, so the interval is at least per/u32::MAX > 0 for any period of a second or
        // more; Quota::with_period only refuses zero.
        let interval = self.per / self.count.get();
        Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(self.count)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            3600 => "h",
            _ => "d",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// The username as a shared counter's key: at most 256 bytes (on a character boundary), so a
/// client cannot make the database keep arbitrarily long keys.
fn shared_name(username: &str) -> &str {
    let mut end = username.len().min(256);
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    &username[..end]
}

/// How often stale keys are dropped from memory, in checks.
const SWEEP_EVERY: u64 = 4096;

struct Limiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(rate: Rate) -> Limiter<K> {
        Limiter {
            limiter: RateLimiter::keyed(rate.quota()),
        }
    }

    fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The login throttles.
pub struct LoginThrottle {
    per_address: Option<Limiter<IpAddr>>,
    per_username: Option<Limiter<String>>,
    rates: (Option<Rate>, Option<Rate>),
    checks: AtomicU64,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("per_address", &self.per_address.is_some())
            .field("per_username", &self.per_username.is_some())
            .finish()
    }
}

impl LoginThrottle {
    /// Throttles at these rates (`None` = off).
    pub fn new(per_address: Option<Rate>, per_username: Option<Rate>) -> LoginThrottle {
        LoginThrottle {
            per_address: per_address.map(Limiter::new),
            per_username: per_username.map(Limiter::new),
            rates: (per_address, per_username),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one login attempt in this process ([`check`](Self::check)) and, when the store
    /// shares counters between instances (PostgreSQL), in the database too, so that N instances
    /// do not give an attacker N times the attempts. The shared count is a fixed window of the
    /// rate's period (at most twice the rate across a window boundary); the per-process bucket
    /// still smooths bursts. `Ok(Err(wait))` when throttled.
    pub async fn check_shared(
        &self,
        store: &dyn Store,
        address: Option<IpAddr>,
        username: &str,
        now: i64,
    ) -> Result<Result<(), Duration>, StoreError> {
        if let Err(wait) = self.check(address, username) {
            return Ok(Err(wait));
        }
        let keys = [
            (
                self.rates.0,
                address.map(|address| format!("address:{address}")),
            ),
            (
                self.rates.1,
                Some(format!("username:{}", shared_name(username))),
            ),
        ];
        let mut longest: Option<i64> = None;
        for (rate, key) in keys {
            let (Some(rate), Some(key)) = (rate, key) else {
                continue;
            };
            let period = i64::try_from(rate.per.as_secs()).unwrap_or(i64::MAX).max(1);
            let window_start = now - now.rem_euclid(period);
            match store.count_attempt(&key, window_start).await? {
                // The store keeps no shared counters: this process's bucket is the throttle.
                None => return Ok(Ok(())),
                Some(attempts) if attempts > u64::from(rate.count.get()) => {
                    let wait = window_start + period - now;
                    longest = Some(longest.map_or(wait, |longest| longest.max(wait)));
                }
                Some(_) => {}
            }
        }
        Ok(match longest {
            Some(wait) => Err(Duration::from_secs(u64::try_from(wait).unwrap_or(1).max(1))),
            None => Ok(()),
        })
    }

    /// Counts one login attempt. `Err(wait)` when either limit is exhausted: how long until the
    /// attempt would be allowed.
    pub fn check(&self, address: Option<IpAddr>, username: &str) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        let by_address = match (&self.per_address, address) {
            (Some(limiter), Some(address)) => limiter.check(&address),
            _ => Ok(()),
        };
        let by_username = match &self.per_username {
            Some(limiter) => limiter.check(&username.to_owned()),
            None => Ok(()),
        };
        match (by_address, by_username) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), _) | (_, Err(wait)) => Err(wait),
        }
    }

    fn sweep(&self) {
        if let Some(limiter) = &self.per_address {
            limiter.sweep();
        }
        if let Some(limiter) = &self.per_username {
            limiter.sweep();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        let rate = |n, s| {
            Some(Rate {
                count: NonZeroU32::new(n).unwrap(),
                per: Duration::from_secs(s),
            })
        };
        assert_eq!(Rate::parse_setting("10/min").unwrap(), rate(10, 60));
        assert_eq!(Rate::parse_setting(" 5 / s ").unwrap(), rate(5, 1));
        assert_eq!(Rate::parse_setting("100/h").unwrap(), rate(100, 3600));
        assert_eq!(Rate::parse_setting("OFF").unwrap(), None);
        for bad in ["", "10", "0/min", "-1/min", "10/week", "x/min", "10/"] {
            assert!(Rate::parse_setting(bad).is_err(), "{bad:?}");
        }
        assert_eq!(rate(10, 60).unwrap().to_string(), "10/min");
    }

    #[test]
    fn a_burst_then_refusal_with_a_wait_per_key() {
        let throttle = LoginThrottle::new(
            Rate::parse_setting("3/min").unwrap(),
            Rate::parse_setting("2/min").unwrap(),
        );
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        let there: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(throttle.check(Some(here), "alice").is_ok());
        assert!(throttle.check(Some(here), "alice").is_ok());
        // alice's username budget (2) is spent; the address still has one.
        let wait = throttle.check(Some(there), "alice").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        // Another name from the first address: its third attempt is allowed, the fourth not.
        assert!(throttle.check(Some(here), "bob").is_ok());
        assert!(throttle.check(Some(here), "carol").is_err());
        // Unknown and known names are throttled alike: the key is the text.
        assert!(throttle.check(Some(there), "nobody-at-all").is_ok());
    }

    #[test]
    fn off_never_throttles() {
        let throttle = LoginThrottle::new(None, None);
        for _ in 0..1000 {
            assert!(throttle.check(None, "alice").is_ok());
        }
    }
}
