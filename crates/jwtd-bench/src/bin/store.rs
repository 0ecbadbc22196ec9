//! The store side of a refresh with rotation and blacklisting, timed alone for `bench/run.sh`.
//!
//! Per refresh, the same calls in the same order as `crates/jwtd-server/src/tokens.rs`
//! (`refresh` with `rotate_refresh_tokens` and `blacklist_after_rotation` on):
//! `is_blacklisted(old jti)`, `user_by_id`, then `rotate` with `blacklist_old` (one transaction:
//! blacklist the old token, record the successor). No HTTP, no token crypto: the figure is the
//! most refreshes per second the store allows, which the HTTP path is compared against.
//!
//! Each task refreshes its own chain, as a client does: the successor of one refresh is the old
//! token of the next, and the first token is recorded beforehand as a login would. Tasks run on
//! a default multi-threaded tokio runtime, as `jwtd serve` does. An untimed warm-up at the
//! highest concurrency comes first, so pool connections are open before timing starts.
//!
//! ```text
//! jwtd-bench-store --database-url sqlite:///tmp/b.db --ops 3000 --tasks 1,32
//! # RESULT tasks=1 ops=3000 errors=0 ops_per_s=... p50_ms=... p99_ms=...
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use clap::Parser;
use jwtd_bench::{millis, percentile};
use jwtd_store::{NewUser, Rotation, RotationRequest, Store, TokenRecord, UserId};
use jwtd_store_postgres::{PostgresOptions, PostgresStore};
use jwtd_store_sqlite::SqliteStore;

/// Time refresh-with-rotation store transactions.
#[derive(Parser)]
struct Args {
    /// `sqlite://PATH` or `postgres://...`, as jwtd's `database_url`.
    #[arg(long)]
    database_url: String,
    /// Timed refreshes per concurrency level.
    #[arg(long, default_value_t = 3000)]
    ops: usize,
    /// Concurrency levels (tasks refreshing at once), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    tasks: Vec<usize>,
    /// PostgreSQL pool size; jwtd's `database_pool_size` default.
    #[arg(long, default_value_t = 16)]
    pool_size: usize,
}

/// jwtd's default refresh lifetime, one day.
const REFRESH_LIFETIME: i64 = 86_400;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Unique 32-hex-digit ids, like jwtd's `jti`s.
struct Jtis {
    prefix: u64,
    next: AtomicU64,
}

impl Jtis {
    fn record(&self, user_id: UserId, now: i64) -> TokenRecord {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        TokenRecord {
            jti: format!("{:016x}{n:016x}", self.prefix),
            user_id: Some(user_id),
            issued_at: now,
            expires_at: now + REFRESH_LIFETIME,
            token: String::new(),
        }
    }
}

fn open(args: &Args) -> anyhow::Result<Arc<dyn Store>> {
    let url = args.database_url.as_str();
    if PostgresStore::accepts_url(url) {
        let options = PostgresOptions {
            pool_size: args.pool_size,
            ..PostgresOptions::default()
        };
        return Ok(Arc::new(PostgresStore::connect(url, options)?));
    }
    let path = SqliteStore::path_from_url(url)
        .ok_or_else(|| anyhow!("--database-url: {url} is not sqlite://PATH or postgres://..."))?;
    Ok(Arc::new(SqliteStore::open(&path)?))
}

/// One refresh's store work, rotating `request.old` into `request.new`; `Ok(false)` when the
/// store refused (which must not happen here).
async fn refresh(
    store: &dyn Store,
    request: RotationRequest,
    user_id: UserId,
) -> anyhow::Result<bool> {
    if store.is_blacklisted(&request.old.jti).await? {
        return Ok(false);
    }
    match store.user_by_id(user_id).await? {
        Some(user) if user.is_active => {}
        _ => return Ok(false),
    }
    let outcome = store.rotate(request).await?;
    Ok(matches!(
        outcome,
        Rotation::Rotated {
            old_blacklisted: true
        }
    ))
}

struct Level {
    ops: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn level(
    store: Arc<dyn Store>,
    jtis: Arc<Jtis>,
    user_id: UserId,
    tasks: usize,
    ops: usize,
) -> anyhow::Result<Level> {
    let tasks = tasks.max(1);
    let now = unix_now();
    let mut firsts = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let first = jtis.record(user_id, now);
        store.record_issued(&first).await?;
        firsts.push(first);
    }
    let start = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for (i, first) in firsts.into_iter().enumerate() {
        let share = ops / tasks + usize::from(i < ops % tasks);
        let (store, jtis) = (store.clone(), jtis.clone());
        handles.push(tokio::spawn(async move {
            let mut old = first;
            let mut latencies = Vec::with_capacity(share);
            let mut errors = 0;
            for _ in 0..share {
                let now = unix_now();
                let new = jtis.record(user_id, now);
                // Built before the clock starts: a failed refresh keeps `old` for the next try.
                let request = RotationRequest {
                    old: old.clone(),
                    new: new.clone(),
                    blacklist_old: true,
                    at: now,
                    // Tokens of no session: the store's rotation as before sessions.
                    session: None,
                };
                let t0 = Instant::now();
                match refresh(store.as_ref(), request, user_id).await {
                    Ok(true) => {
                        latencies.push(t0.elapsed());
                        old = new;
                    }
                    Ok(false) => errors += 1,
                    Err(e) => {
                        errors += 1;
                        eprintln!("refresh failed: {e:#}");
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(ops);
    let mut errors = 0;
    for handle in handles {
        let (l, e) = handle.await.context("a task panicked")?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(Level {
        ops: latencies.len(),
        errors,
        elapsed,
        latencies,
    })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let store = open(&args)?;
    store.migrate().await.context("migrations")?;
    let now = unix_now();
    let user = store
        .create_user(NewUser {
            username: format!("bench-store-{}-{now}", std::process::id()),
            // Never checked here: no login happens.
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
            is_active: true,
            date_joined: now,
            email: None,
        })
        .await
        .context("creating the bench user")?;
    let jtis = Arc::new(Jtis {
        prefix: (u64::from(std::process::id()) << 32) | (now as u64 & 0xffff_ffff),
        next: AtomicU64::new(0),
    });
    // Warm-up, untimed: opens the pool's connections (PostgreSQL) and warms the page cache, as
    // the server's are by the time wrk's measurement runs.
    let most = args.tasks.iter().copied().max().unwrap_or(1).max(1);
    level(store.clone(), jtis.clone(), user.id, most, most * 10).await?;
    let mut failed = false;
    for &tasks in &args.tasks {
        let r = level(store.clone(), jtis.clone(), user.id, tasks, args.ops).await?;
        println!(
            "RESULT tasks={tasks} ops={} errors={} ops_per_s={:.1} p50_ms={:.3} p99_ms={:.3}",
            r.ops,
            r.errors,
            r.ops as f64 / r.elapsed.as_secs_f64(),
            millis(percentile(&r.latencies, 50.0)),
            millis(percentile(&r.latencies, 99.0)),
        );
        failed |= r.errors > 0;
    }
    if failed {
        bail!("some refreshes failed (see above)");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run(args))
}
