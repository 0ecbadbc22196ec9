//! Login oracles (issue 5, point 4): does a failed login tell an unknown user from a wrong
//! password or an inactive account, by its answer or by its time?
//!
//! A real server (the library's router over TCP, SQLite store, the real argon2id hasher, login
//! throttling off) answers `POST /api/token/` for four kinds of failure, interleaved in a fresh
//! random order each round so drift and noise hit every kind alike:
//!
//! - `unknown`: a username that does not exist;
//! - `wrong-password`: an active user, wrong password;
//! - `inactive-right`: an inactive user, *correct* password (the strongest oracle);
//! - `inactive-wrong`: an inactive user, wrong password.
//!
//! Every answer must be byte-identical (status, body, every header but `date` and
//! `x-request-id`), and the median and mean times of each kind are compared with
//! `wrong-password`'s; the run fails if any differs by more than 10 %. Not a CI test (timings
//! belong to the machine): run it by hand and record the figures in SECURITY.md.
//!
//! ```text
//! cargo bench -p jwtd-server --bench login_oracle -- [ATTEMPTS_PER_KIND, default 300]
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jwtd_server::config;
use jwtd_store::{NewUser, Store};
use jwtd_store_sqlite::SqliteStore;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
const KINDS: [&str; 4] = [
    "unknown",
    "wrong-password",
    "inactive-right",
    "inactive-wrong",
];
/// Headers that differ between any two responses by design.
const VARYING_HEADERS: [&str; 2] = ["date", "x-request-id"];

fn credentials(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "unknown" => ("mallory", "wrong password"),
        "wrong-password" => ("alice", "wrong password"),
        "inactive-right" => ("bob", PASSWORD),
        _ => ("bob", "wrong password"),
    }
}

/// What a client can see of an answer, minus what varies by design.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

struct Stats {
    median: f64,
    mean: f64,
    p10: f64,
    p90: f64,
    stddev: f64,
}

fn stats(samples: &mut [f64]) -> Stats {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let at = |q: f64| samples[((n - 1) as f64 * q).round() as usize];
    let mean = samples.iter().sum::<f64>() / n as f64;
    let variance = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n as f64;
    Stats {
        median: at(0.5),
        mean,
        p10: at(0.1),
        p90: at(0.9),
        stddev: variance.sqrt(),
    }
}

/// A small xorshift generator: the order of kinds in each round, nothing cryptographic.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[tokio::main]
async fn main() {
    let attempts: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(300);
    assert!(attempts >= 200, "at least 200 attempts per kind");

    // A server as `jwtd serve` builds it, over a fresh SQLite file.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("jwtd.db");
    let env: BTreeMap<String, String> = [
        ("JWTD_DATABASE_URL", format!("sqlite://{}", db.display())),
        ("JWTD_DATA_DIR", dir.path().display().to_string()),
        ("JWTD_SIGNING_KEY", jwtd_token::random_secret()),
        ("JWTD_LOGIN_RATE_PER_ADDRESS", "off".to_owned()),
        ("JWTD_LOGIN_RATE_PER_USERNAME", "off".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let (config, warnings) = config::load(None, &env).expect("configuration loads");
    for warning in warnings {
        eprintln!("configuration warning: {warning}");
    }
    let keys = config.load_keys(|_| {}).expect("keys load");
    let store = Arc::new(SqliteStore::open(&db).expect("store opens"));
    store.migrate().await.expect("migrations run");
    let state = jwtd_server::app_state(&config, store.clone(), keys).expect("state builds");
    let hash = state
        .passwords()
        .hash(PASSWORD.to_owned())
        .await
        .expect("password hashes");
    for (username, is_active) in [("alice", true), ("bob", false)] {
        store
            .create_user(NewUser {
                username: username.to_owned(),
                password_hash: hash.clone(),
                is_active,
                date_joined: 0,
                email: None,
            })
            .await
            .expect("user created");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/api/token/",
        listener.local_addr().expect("address")
    );
    let app =
        jwtd_server::router::router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let login = |kind: &'static str| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let (username, password) = credentials(kind);
            let started = Instant::now();
            let response = client
                .post(&url)
                .json(&json!({ "username": username, "password": password }))
                .send()
                .await
                .expect("request sent");
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter(|(name, _)| !VARYING_HEADERS.contains(&name.as_str()))
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = response.text().await.expect("body");
            (
                started.elapsed(),
                Answer {
                    status,
                    headers,
                    body,
                },
            )
        }
    };

    // Warm-up: connections, caches, the allocator, the CPU's clock.
    for _ in 0..10 {
        for kind in KINDS {
            login(kind).await;
        }
    }
    let (_, reference) = login("wrong-password").await;
    let mut samples: BTreeMap<&str, Vec<f64>> = KINDS.iter().map(|k| (*k, Vec::new())).collect();
    let mut mismatches = Vec::new();
    let mut order = KINDS;
    let mut rng = Shuffle(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    for _ in 0..attempts {
        rng.shuffle(&mut order);
        for kind in order {
            let (elapsed, answer) = login(kind).await;
            if answer != reference {
                mismatches.push(format!("{kind}: {answer:?}"));
            }
            samples
                .get_mut(kind)
                .expect("kind")
                .push(elapsed.as_secs_f64() * 1e3);
        }
    }
    let total = started.elapsed();

    println!(
        "login oracle: {attempts} attempts per kind, interleaved, {} logins in {:.1} s",
        attempts * KINDS.len(),
        total.as_secs_f64()
    );
    println!(
        "every answer: {} {} (headers: {})",
        reference.status,
        reference.body,
        reference
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "kind", "median", "mean", "p10", "p90", "stddev", "Δmedian", "Δmean"
    );
    let mut baseline = None;
    let mut worst: f64 = 0.0;
    for kind in [
        "wrong-password",
        "unknown",
        "inactive-right",
        "inactive-wrong",
    ] {
        let s = stats(samples.get_mut(kind).expect("kind"));
        let (base_median, base_mean) = *baseline.get_or_insert((s.median, s.mean));
        let d_median = (s.median - base_median) / base_median * 100.0;
        let d_mean = (s.mean - base_mean) / base_mean * 100.0;
        worst = worst.max(d_median.abs()).max(d_mean.abs());
        println!(
            "{kind:<16} {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>+9.2}% {:>+9.2}%",
            s.median, s.mean, s.p10, s.p90, s.stddev, d_median, d_mean
        );
    }
    println!("largest difference from wrong-password: {worst:.2} % (limit 10 %)");
    if !mismatches.is_empty() {
        eprintln!(
            "{} answers differ from the wrong-password answer {reference:?}:\n{}",
            mismatches.len(),
            mismatches
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::process::exit(1);
    }
    println!(
        "status, body and headers: identical across all {} logins",
        attempts * KINDS.len()
    );
    if worst > 10.0 {
        eprintln!("timings differ by more than 10 %");
        std::process::exit(2);
    }
    // Give the server task a moment to finish the last connection before the runtime drops.
    tokio::time::sleep(Duration::from_millis(10)).await;
}
