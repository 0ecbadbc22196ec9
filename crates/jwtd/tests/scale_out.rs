//! Several `jwtd serve` processes on one PostgreSQL database, and PostgreSQL going away under a
//! running jwtd. Runs when `JWTD_TEST_DATABASE_URL` names a PostgreSQL server (each test makes
//! and drops its own database there); with `JWTD_REQUIRE_POSTGRES=1` (CI) a missing or
//! unreachable server fails the tests instead of skipping them.

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use jwtd_store_tests::postgres::TestDatabase;
use jwtd_store_tests::proxy::{ProxyState, TcpProxy, upstream, via};
use serde_json::json;
use support::{PASSWORD, Server, Workdir, login, wait_until};

/// A runtime for the shared PostgreSQL test helpers (database set-up, the relay), which keeps
/// their tasks running while the test talks to jwtd with blocking calls.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn workdir(db: &str) -> Workdir {
    Workdir::new()
        .with("JWTD_DATABASE_URL", db)
        .with(
            "JWTD_SIGNING_KEY",
            "scale-out-shared-secret-0123456789abcdefghijklmnop",
        )
        .with("JWTD_ROTATE_REFRESH_TOKENS", "true")
        .with("JWTD_BLACKLIST_AFTER_ROTATION", "true")
        .with("JWTD_LOGIN_RATE_PER_ADDRESS", "off")
        .with("JWTD_LOGIN_RATE_PER_USERNAME", "off")
}

#[test]
fn two_instances_share_users_tokens_and_the_blacklist() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let work = workdir(db.url());
    work.ok(&["migrate"]);
    work.create_user("alice");
    let a = Server::start(&work);
    let b = Server::start(&work);

    // Log in on A, refresh on B (rotating), reuse the old token on A and on B.
    let (refresh, access) = login(&a, "alice");
    let (status, rotated) = b.post("/api/token/refresh/", json!({ "refresh": refresh }));
    assert_eq!(status, 200, "{rotated}");
    let newer = rotated["refresh"].as_str().unwrap().to_owned();
    for server in [&a, &b] {
        let (status, body) = server.post("/api/token/refresh/", json!({ "refresh": refresh }));
        assert_eq!(status, 401);
        assert_eq!(body["detail"], "Token is blacklisted");
    }
    // Rotate on A, then the old one on B.
    let (status, _) = a.post("/api/token/refresh/", json!({ "refresh": newer }));
    assert_eq!(status, 200);
    let (status, body) = b.post("/api/token/refresh/", json!({ "refresh": newer }));
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("Token is blacklisted"))
    );

    // 16 concurrent refreshes of one token, spread over both: exactly one wins.
    for round in 0..3 {
        let (refresh, _) = login(&a, "alice");
        let barrier = Arc::new(Barrier::new(16));
        let racers: Vec<_> = (0..16)
            .map(|n| {
                let base = if n % 2 == 0 {
                    a.base.clone()
                } else {
                    b.base.clone()
                };
                let refresh = refresh.clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::new();
                    barrier.wait();
                    let response = client
                        .post(format!("{base}/api/token/refresh/"))
                        .json(&json!({ "refresh": refresh }))
                        .send()
                        .unwrap();
                    let status = response.status().as_u16();
                    (status, response.text().unwrap())
                })
            })
            .collect();
        let results: Vec<(u16, String)> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let winners = results.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(*status, 401, "{body}");
            assert!(body.contains("Token is blacklisted"), "{body}");
        }
    }

    // Deactivated with the CLI: both instances refuse at once.
    assert_eq!(a.get_auth("/hello/", &access).0, 200);
    work.ok(&["user", "deactivate", "alice"]);
    for server in [&a, &b] {
        let (status, body) = server.get_auth("/hello/", &access);
        assert_eq!(status, 401);
        assert!(body.contains("User is inactive"), "{body}");
        let (status, _) = server.post(
            "/api/token/",
            json!({ "username": "alice", "password": PASSWORD }),
        );
        assert_eq!(status, 401);
    }
    work.ok(&["user", "activate", "alice"]);

    // flush-expired while both serve; they keep serving.
    let flushed = work.ok(&["flush-expired"]);
    assert!(flushed.starts_with("removed "), "{flushed}");
    let (refresh, _) = login(&b, "alice");
    assert_eq!(
        a.post("/api/token/refresh/", json!({ "refresh": refresh }))
            .0,
        200
    );
}

#[test]
fn a_database_outage_is_503_within_the_timeout_and_jwtd_recovers_by_itself() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let relay = runtime
        .block_on(TcpProxy::start(upstream(db.url())))
        .unwrap();
    let work = workdir(&via(db.url(), relay.addr())).with("JWTD_DATABASE_CONNECT_TIMEOUT", "2");
    work.ok(&["migrate"]);
    work.create_user("alice");
    let mut server = Server::start(&work);
    let (refresh, access) = login(&server, "alice");
    let (status, rotated) = server.post("/api/token/refresh/", json!({ "refresh": refresh }));
    assert_eq!(status, 200);

    // The network goes away: open connections are closed, then new ones are accepted and never
    // answered (a black hole), so jwtd must rely on its own timeouts.
    relay.set(ProxyState::Cut);
    wait_until_relay_closed(&runtime, &db);
    relay.set(ProxyState::Frozen);
    let unavailable = json!({ "detail": "Service temporarily unavailable." });
    for (path, body) in [
        (
            "/api/token/",
            json!({ "username": "alice", "password": PASSWORD }),
        ),
        (
            "/api/token/refresh/",
            json!({ "refresh": rotated["refresh"] }),
        ),
        ("/api/token/verify/", json!({ "token": access })),
    ] {
        let started = Instant::now();
        let (status, answer) = server.post(path, body);
        let took = started.elapsed();
        assert_eq!((status, &answer), (503, &unavailable), "{path}");
        assert!(took < Duration::from_secs(8), "{path} took {took:?}");
    }
    let (status, ready) = server.get("/readyz");
    assert_eq!(status, 503, "{ready}");
    assert!(ready.contains(r#""store":"unavailable""#), "{ready}");
    assert_eq!(server.get("/healthz").0, 200);

    // Back: no restart needed, and what was acknowledged before the outage is still there.
    relay.set(ProxyState::Open);
    server.wait_until_ok(Duration::from_secs(20), "/readyz");
    let (status, body) = server.post("/api/token/refresh/", json!({ "refresh": refresh }));
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("Token is blacklisted"))
    );
    let (status, _) = server.post(
        "/api/token/refresh/",
        json!({ "refresh": rotated["refresh"] }),
    );
    assert_eq!(status, 200);
    login(&server, "alice");
}

/// Waits until `db` has no session left but the one asking: the relay has closed every
/// connection it carried, at both ends (it closes its two sides of a connection together, and
/// drops new ones without opening a session while cut).
fn wait_until_relay_closed(runtime: &tokio::runtime::Runtime, db: &TestDatabase) {
    let client = runtime.block_on(db.client());
    wait_until(
        Duration::from_secs(10),
        "the relay to close its database connections",
        || {
            let sessions: i64 = runtime
                .block_on(client.query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&db.name()],
                ))
                .unwrap()
                .get(0);
            match sessions {
                0 => Ok(()),
                open => Err(format!("{open} sessions still open on {}", db.name())),
            }
        },
    );
}

/// `jwtd copy-store` moves an SQLite installation to PostgreSQL: users keep their ids and
/// state, a refresh token spent before the move stays spent, the live one keeps working, access
/// tokens issued before the move are accepted after it, and deleted ids stay retired.
#[test]
fn copy_store_moves_an_sqlite_installation_to_postgresql() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let sqlite = workdir("sqlite://jwtd-data/jwtd.db");
    sqlite.ok(&["migrate"]);
    let alice = sqlite.create_user("alice");
    let carol = sqlite.create_user("carol");
    sqlite.ok(&["user", "deactivate", "carol"]);
    // The newest user is deleted: only the id sequence remembers that id.
    let bob = sqlite.create_user("bob");
    sqlite.ok(&["user", "delete", "bob"]);
    assert!(alice < carol && carol < bob);

    let mut server = Server::start(&sqlite);
    let (spent, access) = login(&server, "alice");
    let (status, rotated) = server.post("/api/token/refresh/", json!({ "refresh": spent }));
    assert_eq!(status, 200, "{rotated}");
    let live = rotated["refresh"].as_str().unwrap().to_owned();
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).success());

    let copy = |target: &str| {
        sqlite
            .command(&["copy-store"])
            .env("JWTD_COPY_TO", target)
            .output()
            .unwrap()
    };
    let output = copy(db.url());
    assert!(output.status.success(), "{}", support::stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).lines().next(),
        Some(
            format!(
                "copied 2 users, 2 issued tokens and 1 blacklist entries from \
                 sqlite://jwtd-data/jwtd.db to {}",
                db.url()
            )
            .as_str()
        ),
    );
    let again = copy(db.url());
    assert!(!again.status.success(), "a second copy must be refused");
    assert!(
        support::stderr(&again).contains("not empty"),
        "{}",
        support::stderr(&again)
    );

    let postgres = workdir(db.url());
    let server = Server::start(&postgres);
    let (status, body) = server.post("/api/token/refresh/", json!({ "refresh": spent }));
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["detail"], "Token is blacklisted");
    let (status, body) = server.post("/api/token/refresh/", json!({ "refresh": live }));
    assert_eq!(status, 200, "{body}");
    let response = Server::client()
        .get(format!("{}/api/auth/check", server.base))
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-auth-user-id"].to_str().unwrap(),
        alice.to_string(),
        "alice keeps her id"
    );
    login(&server, "alice");
    let (status, body) = server.post(
        "/api/token/",
        json!({ "username": "carol", "password": PASSWORD }),
    );
    assert_eq!(status, 401, "carol is still inactive: {body}");
    let dave = postgres.create_user("dave");
    assert!(dave > bob, "new id {dave} reuses bob's deleted id {bob}");
}
