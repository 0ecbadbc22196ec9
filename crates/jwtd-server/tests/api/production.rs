//! The production server's behaviour on a real port: limits, timeouts, load shedding, login
//! throttling, health, metrics, forward-auth, CORS, security headers, request ids and HTTP/2
//! in clear text. (TLS, signals and logs are tested on the real binary in `crates/jwtd`.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jwtd_server::config;
use jwtd_store::{Blacklisting, Flushed, NewUser, Snapshot, Store, StoreError, TokenRecord, User};
use jwtd_store_sqlite::SqliteStore;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

const THROTTLED: &str = "Request was throttled. Expected available in";

#[tokio::test]
async fn bodies_over_the_limit_are_413_json() {
    let app = spawn_app(&[("JWTD_MAX_BODY_BYTES", "1024")]).await;
    let big = json!({ "username": "a".repeat(2000), "password": "x" });
    app.post_json("/api/token/", &big)
        .await
        .expect_token(413, r#"{"detail":"Request body is too large."}"#);
    // Form and multipart bodies are held to the same limit.
    let form = format!("username={}&password=x", "a".repeat(2000));
    app.post_raw(
        "/api/token/",
        Some("application/x-www-form-urlencoded"),
        form,
    )
    .await
    .expect_token(413, r#"{"detail":"Request body is too large."}"#);
    // Just under the limit is read normally.
    app.post_json(
        "/api/token/",
        &json!({ "username": "a".repeat(900), "password": "x" }),
    )
    .await
    .expect_token(401, BAD_CREDENTIALS);

    // The default is 64 KiB.
    let app = spawn_app(&[]).await;
    let big = json!({ "username": "a".repeat(70 * 1024), "password": "x" });
    app.post_json("/api/token/", &big)
        .await
        .expect_token(413, r#"{"detail":"Request body is too large."}"#);
}

/// Reads until the server closes the connection; returns what it sent and how long it took.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            stream.read(&mut buffer),
        )
        .await
        {
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return (received, started.elapsed()),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let app = spawn_app(&[("JWTD_HEADER_READ_TIMEOUT", "1")]).await;
    let address = app.address.trim_start_matches("http://").to_owned();

    // Headers trickling in and never finished.
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, waited) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(waited >= Duration::from_millis(900), "{waited:?}");

    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(&address).await.unwrap();
    let (received, _) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(received.is_empty() || received.starts_with(b"HTTP/1.1 408"));

    // A well-behaved client on the same server is unaffected.
    app.get("/healthz").await.expect(200, r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn requests_over_the_time_limit_are_503_json() {
    // One hashing thread and many logins: the last ones wait longer than a second.
    let app = Arc::new(
        spawn_app(&[
            ("JWTD_REQUEST_TIMEOUT", "1"),
            ("JWTD_PASSWORD_HASH_CONCURRENCY", "1"),
        ])
        .await,
    );
    app.create_user("alice", PASSWORD, true).await;
    let attempts: Vec<_> = (0..400)
        .map(|_| {
            let app = Arc::clone(&app);
            tokio::spawn(async move { app.login("alice", PASSWORD).await })
        })
        .collect();
    let mut timed_out = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        match reply.status {
            200 => {}
            503 => {
                reply.expect(503, r#"{"detail":"Request timed out."}"#);
                timed_out += 1;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert!(timed_out > 0, "no request ran out of time");
    let metrics = app.get("/metrics").await;
    assert!(
        metric(&metrics.body, "jwtd_http_request_timeouts_total") >= timed_out as f64,
        "{}",
        metrics.body
    );
}

#[tokio::test]
async fn beyond_the_concurrency_cap_requests_are_shed_with_retry_after() {
    let app = Arc::new(
        spawn_app(&[
            ("JWTD_MAX_CONCURRENT_REQUESTS", "2"),
            ("JWTD_PASSWORD_HASH_CONCURRENCY", "1"),
        ])
        .await,
    );
    app.create_user("alice", PASSWORD, true).await;
    let attempts: Vec<_> = (0..12)
        .map(|_| {
            let app = Arc::clone(&app);
            tokio::spawn(async move { app.login("alice", PASSWORD).await })
        })
        .collect();
    // While the cap is full, health and the key set still answer.
    app.get("/healthz").await.expect(200, r#"{"status":"ok"}"#);
    // HS256: a secret is never published, so the set is empty.
    app.get("/.well-known/jwks.json")
        .await
        .expect(200, r#"{"keys":[]}"#);
    let mut shed = 0;
    let mut served = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        match reply.status {
            200 => served += 1,
            503 => {
                reply.expect(503, r#"{"detail":"Service temporarily unavailable."}"#);
                assert_eq!(reply.header("retry-after"), Some("1"));
                shed += 1;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert!(served >= 2, "served {served}");
    assert!(shed > 0, "nothing was shed");
    let metrics = app.get("/metrics").await.body;
    assert_eq!(
        metric(&metrics, "jwtd_http_requests_shed_total"),
        shed as f64
    );
}

#[tokio::test]
async fn logins_are_throttled_per_username_without_revealing_users() {
    let app = spawn_app(&[("JWTD_LOGIN_RATE_PER_USERNAME", "3/min")]).await;
    app.create_user("alice", PASSWORD, true).await;
    // Failed and successful attempts both count.
    app.login("alice", "wrong")
        .await
        .expect_token(401, BAD_CREDENTIALS);
    app.obtain("alice", PASSWORD).await;
    app.login("alice", "wrong")
        .await
        .expect_token(401, BAD_CREDENTIALS);
    let refused = app.login("alice", PASSWORD).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let wait: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let unit = if wait == 1 { "second" } else { "seconds" };
    refused.expect_token(
        429,
        &format!(r#"{{"detail":"{THROTTLED} {wait} {unit}."}}"#),
    );

    // A name that does not exist is throttled exactly alike.
    for _ in 0..3 {
        app.login("nobody", PASSWORD)
            .await
            .expect_token(401, BAD_CREDENTIALS);
    }
    let ghost = app.login("nobody", PASSWORD).await;
    assert_eq!(ghost.status, 429);
    assert_eq!(ghost.header("retry-after"), refused.header("retry-after"));

    // Other users are not affected, and the sliding login shares the budget.
    app.create_user("bob", PASSWORD, true).await;
    app.obtain("bob", PASSWORD).await;
    let sliding = app
        .post_json(
            "/api/token/sliding/",
            &json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(sliding.status, 429);

    let metrics = app.get("/metrics").await.body;
    assert_eq!(
        metric(&metrics, r#"jwtd_logins_total{outcome="throttled"}"#),
        3.0
    );
}

#[tokio::test]
async fn per_address_throttling_believes_only_trusted_proxies() {
    // Without trusted proxies, X-Forwarded-For is the client's own claim and is ignored.
    let app = spawn_app(&[("JWTD_LOGIN_RATE_PER_ADDRESS", "2/min")]).await;
    for n in 0..2 {
        let forged = format!("198.51.100.{n}");
        login_from(&app, &forged)
            .await
            .expect_token(401, BAD_CREDENTIALS);
    }
    assert_eq!(login_from(&app, "198.51.100.9").await.status, 429);

    // Behind a trusted proxy, each forwarded client has its own budget.
    let app = spawn_app(&[
        ("JWTD_LOGIN_RATE_PER_ADDRESS", "2/min"),
        ("JWTD_TRUSTED_PROXIES", "127.0.0.1, ::1"),
    ])
    .await;
    for _ in 0..2 {
        login_from(&app, "198.51.100.1")
            .await
            .expect_token(401, BAD_CREDENTIALS);
    }
    assert_eq!(login_from(&app, "198.51.100.1").await.status, 429);
    login_from(&app, "198.51.100.2")
        .await
        .expect_token(401, BAD_CREDENTIALS);
    // A client cannot escape by prepending addresses: the proxy's entry is the rightmost.
    assert_eq!(
        login_from(&app, "203.0.113.5, 198.51.100.1").await.status,
        429
    );
}

async fn login_from(app: &TestApp, forwarded_for: &str) -> Reply {
    let body = serde_json::to_vec(&json!({ "username": "x", "password": "y" })).unwrap();
    app.send(
        Method::POST,
        "/api/token/",
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", forwarded_for),
        ],
        Some(body),
    )
    .await
}

/// The value of the first sample of `series` (a name, or a name with labels) in `text`.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(series)?;
            if series.contains('{') {
                rest.trim().parse().ok()
            } else {
                rest.strip_prefix(' ')?.trim().parse().ok()
            }
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_logins_tokens_and_requests() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    let before = app.get("/metrics").await;
    assert_eq!(before.status, 200);
    assert!(
        before
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert_eq!(
        metric(&before.body, r#"jwtd_logins_total{outcome="succeeded"}"#),
        0.0
    );

    let (refresh, access) = app.obtain("alice", PASSWORD).await;
    app.login("alice", "wrong")
        .await
        .expect_token(401, BAD_CREDENTIALS);
    assert_eq!(app.refresh(&refresh).await.status, 200);
    assert_eq!(app.refresh(&refresh).await.status, 200);
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("alice"));
    app.hello("garbage").await;

    let text = app.get("/metrics").await.body;
    let expect = |series: &str, value: f64| {
        assert_eq!(metric(&text, series), value, "{series} in\n{text}");
    };
    expect(r#"jwtd_logins_total{outcome="succeeded"}"#, 1.0);
    expect(r#"jwtd_logins_total{outcome="failed"}"#, 1.0);
    expect(r#"jwtd_tokens_issued_total{token_type="refresh"}"#, 1.0);
    expect(r#"jwtd_tokens_issued_total{token_type="access"}"#, 3.0);
    expect("jwtd_tokens_refreshed_total", 2.0);
    expect("jwtd_tokens_verified_total", 1.0);
    expect(r#"jwtd_tokens_rejected_total{reason="invalid"}"#, 1.0);
    expect(
        r#"jwtd_http_requests_total{route="/api/token/",method="POST",status="200"}"#,
        1.0,
    );
    expect(
        r#"jwtd_http_requests_total{route="/api/token/",method="POST",status="401"}"#,
        1.0,
    );
    assert!(text.contains("jwtd_http_request_duration_seconds_bucket{"));
    assert!(text.contains("jwtd_password_hash_queue_length"));

    // Made-up methods share one series, so a client cannot grow the registry without bound.
    for made_up in ["BREW", "WHEN", "PROPFIND"] {
        let method = reqwest::Method::from_bytes(made_up.as_bytes()).unwrap();
        let reply = app.send(method, "/api/token/", &[], None).await;
        assert_eq!(reply.status, 405, "{made_up}");
    }
    let text = app.get("/metrics").await.body;
    assert_eq!(
        metric(
            &text,
            r#"jwtd_http_requests_total{route="/api/token/",method="other",status="405"}"#
        ),
        3.0,
        "{text}"
    );
    assert!(!text.contains("BREW"), "{text}");
    // The two logins (and the test's own user set-up) waited for a hashing thread.
    assert!(
        metric(&text, "jwtd_password_hash_wait_seconds_count") >= 2.0,
        "{text}"
    );
    // Every series is jwtd's own.
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        assert!(line.starts_with("jwtd_"), "{line}");
    }
}

#[tokio::test]
async fn metrics_can_move_to_their_own_listener() {
    let app = spawn_app(&[("JWTD_METRICS_LISTEN", "127.0.0.1:9")]).await;
    app.get("/metrics")
        .await
        .expect(404, r#"{"detail":"Not found."}"#);
}

#[tokio::test]
async fn forward_auth_names_the_user_or_answers_like_a_protected_endpoint() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let (refresh, access) = app.obtain("alice", PASSWORD).await;

    for method in [Method::GET, Method::HEAD, Method::POST] {
        let ok = app
            .send(
                method.clone(),
                "/api/auth/check",
                &[("Authorization", &format!("Bearer {access}"))],
                None,
            )
            .await;
        assert_eq!(ok.status, 200, "{method}: {}", ok.body);
        assert_eq!(ok.header("x-auth-user-id"), Some(id.to_string().as_str()));
        assert_eq!(ok.header("x-auth-username"), Some("alice"));
        assert_eq!(ok.header("cache-control"), Some("no-store"));
    }

    // Refusals are exactly /hello/'s.
    for (case, header) in [
        ("no header", None),
        ("garbage", Some("Bearer garbage".to_owned())),
        ("refresh token", Some(format!("Bearer {refresh}"))),
        ("two values", Some("Bearer a b".to_owned())),
    ] {
        let headers: Vec<(&str, &str)> = header
            .as_deref()
            .map(|h| ("Authorization", h))
            .into_iter()
            .collect();
        let check = app
            .send(Method::GET, "/api/auth/check", &headers, None)
            .await;
        let hello = app.send(Method::GET, "/hello/", &headers, None).await;
        assert_eq!(check.status, 401, "{case}");
        assert_eq!(check.body, hello.body, "{case}");
        assert_eq!(
            check.header("www-authenticate"),
            Some(r#"Bearer realm="api""#),
            "{case}"
        );
        assert_eq!(check.header("x-auth-user-id"), None, "{case}");
    }
    app.deactivate("alice").await;
    let inactive = app
        .get_with_auth("/api/auth/check", &format!("Bearer {access}"))
        .await;
    assert_eq!(inactive.status, 401);
    assert_eq!(inactive.body, USER_INACTIVE);
}

#[tokio::test]
async fn cors_answers_preflight_for_allowed_origins_only() {
    let app = spawn_app(&[(
        "JWTD_CORS_ALLOWED_ORIGINS",
        "https://app.example.com, http://localhost:5173",
    )])
    .await;
    let preflight = async |origin: &'static str| {
        app.send(
            Method::OPTIONS,
            "/api/token/",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "content-type, authorization",
                ),
            ],
            None,
        )
        .await
    };
    let allowed = preflight("https://app.example.com").await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let methods = allowed.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = allowed
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"));
    assert_eq!(allowed.header("access-control-allow-credentials"), None);

    let denied = preflight("https://evil.example").await;
    assert_eq!(denied.header("access-control-allow-origin"), None);

    // Actual requests carry the header too; without Origin nothing changes.
    let login = app
        .send(
            Method::POST,
            "/api/token/",
            &[("Origin", "http://localhost:5173")],
            None,
        )
        .await;
    assert_eq!(
        login.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    // Without CORS configured, no CORS headers at all.
    let plain = spawn_app(&[]).await;
    let reply = plain
        .send(
            Method::OPTIONS,
            "/api/token/",
            &[
                ("Origin", "https://app.example.com"),
                ("Access-Control-Request-Method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(reply.header("access-control-allow-origin"), None);

    let with_credentials = spawn_app(&[
        ("JWTD_CORS_ALLOWED_ORIGINS", "https://app.example.com"),
        ("JWTD_CORS_ALLOW_CREDENTIALS", "true"),
    ])
    .await;
    let reply = with_credentials
        .send(
            Method::GET,
            "/healthz",
            &[("Origin", "https://app.example.com")],
            None,
        )
        .await;
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_a_request_id() {
    let app = spawn_app(&[]).await;
    let access = {
        app.create_user("alice", PASSWORD, true).await;
        app.obtain("alice", PASSWORD).await.1
    };
    let replies = [
        app.get("/healthz").await,
        app.get("/readyz").await,
        app.get("/metrics").await,
        app.get("/no/such/path").await,
        app.hello(&access).await,
        app.login("alice", "wrong").await,
        app.get("/api/token/").await,
    ];
    for reply in &replies {
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("referrer-policy"), Some("same-origin"));
        // Plain HTTP: no HSTS (browsers ignore it there, and it would be a lie).
        assert_eq!(reply.header("strict-transport-security"), None);
        let id = reply.header("x-request-id").expect("a request id");
        assert!(!id.is_empty());
    }
    // Token responses are never cached (RFC 6749 5.1).
    assert_eq!(replies[5].header("cache-control"), Some("no-store"));

    // A usable id from the client is echoed; an unusable one is replaced.
    let echoed = app
        .send(
            Method::GET,
            "/healthz",
            &[("X-Request-Id", "abc-123.x_y:z")],
            None,
        )
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("abc-123.x_y:z"));
    let long = "a".repeat(200);
    let replaced = app
        .send(Method::GET, "/healthz", &[("X-Request-Id", &long)], None)
        .await;
    let id = replaced.header("x-request-id").unwrap();
    assert_ne!(id, long);
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

#[tokio::test]
async fn plain_http2_with_prior_knowledge_is_served() {
    let app = spawn_app(&[]).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = h2
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    app.create_user("alice", PASSWORD, true).await;
    let login = h2
        .post(format!("{}/api/token/", app.address))
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.version(), reqwest::Version::HTTP_2);
    assert_eq!(login.status(), 200);
}

/// A real SQLite store that can be switched off, as a database outage looks to jwtd; and that
/// can make a hash upgrade lose a race: with `upgrade_race` set, another upgrade (to that hash)
/// lands just before the server's own compare-and-set.
struct Switchable {
    inner: SqliteStore,
    down: AtomicBool,
    upgrade_race: Option<String>,
}

impl Switchable {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable(
                "switched off by the test".to_owned(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for Switchable {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.migrate().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.ping().await
    }
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.check()?;
        self.inner.create_user(user).await
    }
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.check()?;
        self.inner.user_by_username(username).await
    }
    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.check()?;
        self.inner.user_by_id(id).await
    }
    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.check()?;
        self.inner.list_users().await
    }
    async fn set_password(&self, username: &str, hash: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.set_password(username, hash).await
    }
    async fn set_active(&self, username: &str, active: bool) -> Result<(), StoreError> {
        self.check()?;
        self.inner.set_active(username, active).await
    }
    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.delete_user(username).await
    }
    async fn record_login(&self, id: i64, at: i64) -> Result<(), StoreError> {
        self.check()?;
        self.inner.record_login(id, at).await
    }
    async fn upgrade_password(&self, id: i64, old: &str, new: &str) -> Result<bool, StoreError> {
        self.check()?;
        if let Some(first) = &self.upgrade_race {
            assert!(self.inner.upgrade_password(id, old, first).await?);
        }
        self.inner.upgrade_password(id, old, new).await
    }
    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.record_issued(token).await
    }
    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.is_blacklisted(jti).await
    }
    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError> {
        self.check()?;
        self.inner.blacklist(token, at).await
    }
    async fn rotate(
        &self,
        request: jwtd_store::RotationRequest,
    ) -> Result<jwtd_store::Rotation, StoreError> {
        self.check()?;
        self.inner.rotate(request).await
    }
    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError> {
        self.check()?;
        self.inner.flush_expired(now).await
    }
    async fn export(&self) -> Result<Snapshot, StoreError> {
        self.check()?;
        self.inner.export().await
    }
    async fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.check()?;
        self.inner.import(snapshot).await
    }
}

#[tokio::test]
async fn readyz_turns_503_while_the_store_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jwtd.db");
    let mut env = BTreeMap::new();
    env.insert(
        "JWTD_DATABASE_URL".to_owned(),
        format!("sqlite://{}", db.display()),
    );
    env.insert("JWTD_SIGNING_KEY".to_owned(), SECRET.to_owned());
    let (config, _) = config::load(None, &env).unwrap();
    let store = Arc::new(Switchable {
        inner: SqliteStore::open(&db).unwrap(),
        down: AtomicBool::new(false),
        upgrade_race: None,
    });
    store.migrate().await.unwrap();
    let state =
        jwtd_server::app_state(&config, store.clone(), config.load_keys(|_| {}).unwrap()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(jwtd_server::serve(
        jwtd_server::Listeners {
            api: listener,
            metrics: None,
        },
        state,
        config.server.limits,
        None,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let get = |path: &'static str| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(
        get("/readyz").await,
        (
            200,
            r#"{"status":"ok","checks":{"store":"ok","keys":"ok"}}"#.to_owned()
        )
    );
    store.down.store(true, Ordering::SeqCst);
    assert_eq!(
        get("/readyz").await,
        (
            503,
            r#"{"detail":"Service temporarily unavailable.","status":"unavailable","checks":{"store":"unavailable","keys":"ok"}}"#
                .to_owned()
        )
    );
    // Alive all the same; a login answers 503 rather than hanging or failing as 500.
    assert_eq!(get("/healthz").await.0, 200);
    let login = client
        .post(format!("{base}/api/token/"))
        .json(&json!({ "username": "a", "password": "b" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 503);
    assert_eq!(
        login.text().await.unwrap(),
        r#"{"detail":"Service temporarily unavailable."}"#
    );
    let metrics = get("/metrics").await.1;
    assert_eq!(
        metric(&metrics, r#"jwtd_store_errors_total{kind="unavailable"}"#),
        1.0
    );
    store.down.store(false, Ordering::SeqCst);
    assert_eq!(get("/readyz").await.0, 200);
}

/// A login whose hash upgrade loses to another one (two logins of one user at once, or a new
/// password set meanwhile): the login stands only if the password matches the hash that won,
/// and its tokens carry that hash's revocation claim, so they are not refused as "password
/// changed" on first use.
#[tokio::test]
async fn a_hash_upgrade_that_loses_a_race_checks_the_hash_that_won() {
    for (winner_password, status) in [(PASSWORD, 200), ("another password", 401)] {
        let winner = jwtd_password::Hashers::jwtd_default()
            .make(winner_password)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("jwtd.db");
        let mut env = BTreeMap::new();
        env.insert(
            "JWTD_DATABASE_URL".to_owned(),
            format!("sqlite://{}", db.display()),
        );
        env.insert("JWTD_SIGNING_KEY".to_owned(), SECRET.to_owned());
        env.insert("JWTD_CHECK_REVOKE_TOKEN".to_owned(), "true".to_owned());
        let (config, _) = config::load(None, &env).unwrap();
        let store = Arc::new(Switchable {
            inner: SqliteStore::open(&db).unwrap(),
            down: AtomicBool::new(false),
            upgrade_race: Some(winner.clone()),
        });
        store.migrate().await.unwrap();
        // A Django hash at 1,000 iterations: a login must upgrade it.
        store
            .create_user(NewUser {
                username: "alice".to_owned(),
                password_hash: django_hash("pbkdf2_sha256$1000$"),
                is_active: true,
                date_joined: 0,
                email: None,
            })
            .await
            .unwrap();
        let state =
            jwtd_server::app_state(&config, store.clone(), config.load_keys(|_| {}).unwrap())
                .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(jwtd_server::serve(
            jwtd_server::Listeners {
                api: listener,
                metrics: None,
            },
            state,
            config.server.limits,
            None,
            std::future::pending(),
        ));
        let client = reqwest::Client::new();
        let login = client
            .post(format!("{base}/api/token/"))
            .json(&json!({ "username": "alice", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status().as_u16(), status, "winner: {winner_password}");
        let stored = store.user_by_id(1).await.unwrap().unwrap().password_hash;
        assert_eq!(stored, winner, "the hash that won stays");
        if status != 200 {
            continue;
        }
        let body: serde_json::Value = login.json().await.unwrap();
        let access = body["access"].as_str().unwrap();
        assert_eq!(
            decode(access).claims["hash_password"],
            json!(jwtd_password::revoke_claim_value(&winner))
        );
        let hello = client
            .get(format!("{base}/hello/"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(hello.status().as_u16(), 200);
    }
}

/// SQLite on a full disk, through HTTP: every request that must write answers 503 with the
/// documented body (never 500, never a panic), requests that only read keep working, nothing is
/// half-written, and once space is back the same server writes again without a restart.
///
/// The disk is real: a 2 MiB tmpfs filled up, so SQLite meets ENOSPC from the kernel. Mounting
/// needs root (as in CI); an ordinary user's run says so and returns.
#[tokio::test]
async fn a_full_disk_answers_503_and_jwtd_writes_again_when_space_returns() {
    use jwtd_store_tests::disk::{SmallDisk, fill, is_root};
    if !is_root() {
        eprintln!("SKIPPED: the full-disk check mounts a small tmpfs, which needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("small"), "2m");
    let db = disk.path().join("jwtd.db");
    let url = format!("sqlite://{}", db.display());
    let app = spawn_app(&[
        ("JWTD_DATABASE_URL", &url),
        ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
        ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
    ])
    .await;
    app.create_user("alice", "pw", true).await;
    let (refresh, access) = app.obtain("alice", "pw").await;

    // An empty write-ahead log, then no space: the next commit must grow the log and cannot.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let (busy, log_frames): (i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!((busy, log_frames), (0, 0), "the log was not emptied");
    drop(conn);
    let filler = disk.path().join("filler");
    fill(&filler);

    let unavailable = r#"{"detail":"Service temporarily unavailable."}"#;
    app.login("alice", "pw").await.expect(503, unavailable);
    app.refresh(&refresh).await.expect(503, unavailable);
    app.blacklist(&refresh).await.expect(503, unavailable);
    // Reads need no space.
    app.hello(&access).await.expect(200, &hello_body("alice"));
    app.verify(&refresh).await.expect(200, "{}");
    let metrics = app.get("/metrics").await.body;
    assert_eq!(
        metric(&metrics, r#"jwtd_store_errors_total{kind="unavailable"}"#),
        3.0,
        "{metrics}"
    );

    // Nothing of the refused rotation was written: the refresh token is still good, once.
    std::fs::remove_file(&filler).unwrap();
    let rotated = app.refresh(&refresh).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    app.refresh(&refresh)
        .await
        .expect(401, &token_error("Token is blacklisted"));
    app.obtain("alice", "pw").await;
}
