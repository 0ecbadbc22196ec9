//! Chooses jwtd's PostgreSQL driver by timing the refresh-with-rotation path on each candidate:
//! tokio-postgres behind a deadpool-postgres pool, and sqlx's `PgPool` (no macros, no TLS).
//!
//! One refresh is what the server asks of the store when `rotate_refresh_tokens` and
//! `blacklist_after_rotation` are on: is the old `jti` blacklisted, look the user up, then one
//! transaction that records the old token (if unknown), blacklists it (checking it won), records
//! the successor, and commits. Both drivers run the same SQL on the same schema (jwtd's own
//! `crates/jwtd-store-postgres/migrations/`), each in a fresh database it creates and drops, with
//! the same pool size, first with one task and then with several at once, alternating drivers
//! over several rounds so that drift of the machine hits both alike.
//!
//! ```text
//! cargo run --release -- [--url postgres://postgres@127.0.0.1:5432/postgres] [--pool 16]
//!     [--ops 2000] [--rounds 3] [--tasks 1,16] [--async-commit]
//! ```
//!
//! `--async-commit` sets `synchronous_commit = off` on every connection, which takes the WAL
//! flush out of each commit so that what is left is mostly the driver and the round trips.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// The store's own schema, so both drivers run on exactly what jwtd runs on.
const SCHEMA: &str =
    include_str!("../../../crates/jwtd-store-postgres/migrations/0001_initial.sql");
/// The one user every refresh looks up.
const SEED: &str =
    "INSERT INTO users (username, password_hash, date_joined) VALUES ('alice', '$argon2id$x', 0);";

const IS_BLACKLISTED: &str = "SELECT EXISTS (SELECT 1 FROM blacklisted_tokens WHERE jti = $1)";
const USER_BY_ID: &str = "SELECT id, username, password_hash, is_active, date_joined, last_login
                          FROM users WHERE id = $1";
const INSERT_ISSUED: &str = "INSERT INTO issued_tokens (jti, user_id, issued_at, expires_at)
                             VALUES ($1, (SELECT id FROM users WHERE id = $2), $3, $4)
                             ON CONFLICT (jti) DO NOTHING";
const INSERT_BLACKLISTED: &str = "INSERT INTO blacklisted_tokens (jti, blacklisted_at)
                                  VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING";

struct Args {
    url: String,
    pool: usize,
    ops: usize,
    rounds: usize,
    tasks: Vec<usize>,
    async_commit: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        url: "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
        pool: 16,
        ops: 2000,
        rounds: 3,
        tasks: vec![1, 16],
        async_commit: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value(),
            "--pool" => args.pool = value().parse().expect("--pool"),
            "--ops" => args.ops = value().parse().expect("--ops"),
            "--rounds" => args.rounds = value().parse().expect("--rounds"),
            "--tasks" => {
                args.tasks = value()
                    .split(',')
                    .map(|n| n.parse().expect("--tasks"))
                    .collect()
            }
            "--async-commit" => args.async_commit = true,
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

/// The refresh path, for one driver.
trait Driver: Send + Sync + 'static {
    fn refresh(&self, old: String, new: String, at: i64) -> impl Future<Output = bool> + Send;
}

mod tp {
    //! tokio-postgres + deadpool-postgres, statements prepared once per connection.
    use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

    use super::*;

    pub struct TokioPostgres {
        pub pool: Pool,
    }

    impl TokioPostgres {
        pub fn new(url: &str, size: usize, async_commit: bool) -> Self {
            let mut config: tokio_postgres::Config = url.parse().expect("url");
            if async_commit {
                config.options("-c synchronous_commit=off");
            }
            let manager = Manager::from_config(
                config,
                tokio_postgres::NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            let pool = Pool::builder(manager).max_size(size).build().expect("pool");
            TokioPostgres { pool }
        }
    }

    impl Driver for TokioPostgres {
        async fn refresh(&self, old: String, new: String, at: i64) -> bool {
            let mut client = self.pool.get().await.expect("connection");
            let stmt = client.prepare_cached(IS_BLACKLISTED).await.unwrap();
            let blacklisted: bool = client.query_one(&stmt, &[&old]).await.unwrap().get(0);
            assert!(!blacklisted);
            let stmt = client.prepare_cached(USER_BY_ID).await.unwrap();
            let row = client.query_opt(&stmt, &[&1i64]).await.unwrap();
            let user = row.expect("user");
            let _: (i64, String, String, bool, i64, Option<i64>) = (
                user.get(0),
                user.get(1),
                user.get(2),
                user.get(3),
                user.get(4),
                user.get(5),
            );

            let issued = client.prepare_cached(INSERT_ISSUED).await.unwrap();
            let black = client.prepare_cached(INSERT_BLACKLISTED).await.unwrap();
            let tx = client.transaction().await.unwrap();
            tx.execute(&issued, &[&old, &1i64, &at, &(at + 86_400)])
                .await
                .unwrap();
            if tx.execute(&black, &[&old, &at]).await.unwrap() != 1 {
                return false; // rolled back on drop
            }
            tx.execute(&issued, &[&new, &1i64, &at, &(at + 86_400)])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            true
        }
    }
}

mod sx {
    //! sqlx's `PgPool`; sqlx prepares and caches each statement per connection by itself.
    use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
    use sqlx::{ConnectOptions, Row};

    use super::*;

    pub struct Sqlx {
        pub pool: PgPool,
    }

    impl Sqlx {
        pub fn new(url: &str, size: usize, async_commit: bool) -> Self {
            let mut options: PgConnectOptions = url.parse().expect("url");
            options = options.disable_statement_logging();
            if async_commit {
                options = options.options([("synchronous_commit", "off")]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(size as u32)
                .connect_lazy_with(options);
            Sqlx { pool }
        }
    }

    impl Driver for Sqlx {
        async fn refresh(&self, old: String, new: String, at: i64) -> bool {
            let mut conn = self.pool.acquire().await.expect("connection");
            let blacklisted: bool = sqlx::query_scalar(IS_BLACKLISTED)
                .bind(&old)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert!(!blacklisted);
            let user = sqlx::query(USER_BY_ID)
                .bind(1i64)
                .fetch_optional(&mut *conn)
                .await
                .unwrap()
                .expect("user");
            let _: (i64, String, String, bool, i64, Option<i64>) = (
                user.get(0),
                user.get(1),
                user.get(2),
                user.get(3),
                user.get(4),
                user.get(5),
            );

            let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
            sqlx::query(INSERT_ISSUED)
                .bind(&old)
                .bind(1i64)
                .bind(at)
                .bind(at + 86_400)
                .execute(&mut *tx)
                .await
                .unwrap();
            let won = sqlx::query(INSERT_BLACKLISTED)
                .bind(&old)
                .bind(at)
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
            if won != 1 {
                return false;
            }
            sqlx::query(INSERT_ISSUED)
                .bind(&new)
                .bind(1i64)
                .bind(at)
                .bind(at + 86_400)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            true
        }
    }
}

struct Figures {
    ops_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// `ops` refreshes split over `tasks` tasks; each task rotates its own chain of tokens.
async fn run<D: Driver>(driver: Arc<D>, tag: &str, ops: usize, tasks: usize) -> Figures {
    let per_task = ops / tasks;
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let driver = Arc::clone(&driver);
            let tag = tag.to_owned();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_task);
                for i in 0..per_task {
                    let old = format!("{tag}-{t}-{i}");
                    let new = format!("{tag}-{t}-{}", i + 1);
                    let began = Instant::now();
                    assert!(driver.refresh(old, new, 1_700_000_000).await);
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(ops);
    for handle in handles {
        latencies.extend(handle.await.expect("task"));
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        ops_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

/// Creates a fresh database with the schema; returns its URL.
async fn create_database(admin_url: &str, name: &str) -> String {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(conn);
    // Two statements: a multi-statement string would run as one implicit transaction, and
    // neither DROP nor CREATE DATABASE may run inside one.
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .expect("drop stale database");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let mut config: tokio_postgres::Config = admin_url.parse().expect("url");
    config.dbname(name);
    let (db, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    db.batch_execute(SCHEMA).await.expect("schema");
    db.batch_execute(SEED).await.expect("seed");
    let base = admin_url.rsplit_once('/').expect("url has a database").0;
    format!("{base}/{name}")
}

async fn drop_database(admin_url: &str, name: &str) {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop database");
}

/// CPU time this process has used so far (user + system, all threads), from `/proc/self/stat`
/// in clock ticks of 10 ms: summed over every round it measures what each driver costs the
/// client, which the load of other processes on the machine hardly changes.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let suffix = std::process::id();
    let tp_db = format!("jwtd_bench_tp_{suffix}");
    let sx_db = format!("jwtd_bench_sqlx_{suffix}");
    let tp_url = create_database(&args.url, &tp_db).await;
    let sx_url = create_database(&args.url, &sx_db).await;

    let tp = Arc::new(tp::TokioPostgres::new(
        &tp_url,
        args.pool,
        args.async_commit,
    ));
    let sx = Arc::new(sx::Sqlx::new(&sx_url, args.pool, args.async_commit));

    // Warm-up: open every connection and prepare the statements on both.
    let warm = args.pool.max(16);
    run(Arc::clone(&tp), "warm", warm * 10, warm).await;
    run(Arc::clone(&sx), "warm", warm * 10, warm).await;

    println!(
        "pool {} connections, {} refreshes per run, {} rounds, synchronous_commit {}",
        args.pool,
        args.ops,
        args.rounds,
        if args.async_commit { "off" } else { "on" }
    );
    println!("| driver | tasks | refreshes/s | p50 ms | p99 ms | client CPU µs/refresh |");
    println!("|---|---|---|---|---|---|");
    for &tasks in &args.tasks {
        let mut results: [(Vec<f64>, Vec<f64>, Vec<f64>); 2] = Default::default();
        let mut cpu = [Duration::ZERO; 2];
        for round in 0..args.rounds {
            // Alternate which driver goes first.
            for k in 0..2 {
                let which = (k + round) % 2;
                let tag = format!("r{round}-t{tasks}");
                let cpu_before = cpu_time();
                let figures = if which == 0 {
                    run(Arc::clone(&tp), &tag, args.ops, tasks).await
                } else {
                    run(Arc::clone(&sx), &tag, args.ops, tasks).await
                };
                cpu[which] += cpu_time().saturating_sub(cpu_before);
                results[which].0.push(figures.ops_per_sec);
                results[which].1.push(figures.p50.as_secs_f64() * 1e3);
                results[which].2.push(figures.p99.as_secs_f64() * 1e3);
            }
        }
        for (which, name) in ["tokio-postgres + deadpool", "sqlx"].iter().enumerate() {
            let (ops, p50, p99) = results[which].clone();
            let refreshes = (args.rounds * (args.ops / tasks) * tasks) as f64;
            println!(
                "| {name} | {tasks} | {:.0} | {:.2} | {:.2} | {:.0} |",
                median(ops),
                median(p50),
                median(p99),
                cpu[which].as_secs_f64() * 1e6 / refreshes
            );
        }
    }

    drop(tp);
    sx.pool.close().await;
    drop(sx);
    drop_database(&args.url, &tp_db).await;
    drop_database(&args.url, &sx_db).await;
}
