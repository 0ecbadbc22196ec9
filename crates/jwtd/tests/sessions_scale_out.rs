//! Sessions (`shared/spec/sessions.md`) across several `jwtd serve` processes on one PostgreSQL
//! database: reuse detected on one instance for a token rotated on another, logout-all on one
//! instance refusing access tokens on the other, concurrent reuse counted exactly once, a reuse
//! racing a logout-all, and login throttling shared through the database. Runs when
//! `JWTD_TEST_DATABASE_URL` names a PostgreSQL server (each test makes and drops its own
//! database there); with `JWTD_REQUIRE_POSTGRES=1` (CI) a missing or unreachable server fails
//! the tests instead of skipping them.
//!
//! Nothing here is asynchronous: every revocation is committed before its answer, so the other
//! instance must refuse at its very next request, and nothing is waited for.

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jwtd_store_tests::postgres::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use support::{PASSWORD, Server, Workdir, login};

const REUSE_METRIC: &str = "jwtd_refresh_token_reuse_detected_total";
const BLACKLISTED: &str = r#"{"detail":"Token is blacklisted","code":"token_not_valid"}"#;
const ACCESS_BLACKLISTED: &str = r#"{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is blacklisted"}]}"#;
const BAD_CREDENTIALS: &str = r#"{"detail":"No active account found with the given credentials"}"#;

/// Long enough for any answer on a loaded machine; a request that gets none is a hang (a
/// deadlock between the instances), reported as such rather than waited for forever.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// A runtime for the shared PostgreSQL test helpers (database set-up and drop).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// Rotation, blacklisting and reuse detection on `db`, with one shared signing key, and the
/// per-username login throttle at `per_username` (per-address off).
fn workdir(db: &str, per_username: &str) -> Workdir {
    Workdir::new()
        .with("JWTD_DATABASE_URL", db)
        .with(
            "JWTD_SIGNING_KEY",
            "sessions-scale-out-shared-secret-0123456789abcdefghij",
        )
        .with("JWTD_ROTATE_REFRESH_TOKENS", "true")
        .with("JWTD_BLACKLIST_AFTER_ROTATION", "true")
        .with("JWTD_REFRESH_TOKEN_REUSE_DETECTION", "true")
        .with("JWTD_LOGIN_RATE_PER_ADDRESS", "off")
        .with("JWTD_LOGIN_RATE_PER_USERNAME", per_username)
}

/// A migrated database with alice, and two instances A and B serving it.
fn two_instances(db: &TestDatabase, per_username: &str) -> (Workdir, Server, Server) {
    let work = workdir(db.url(), per_username);
    work.ok(&["migrate"]);
    work.create_user("alice");
    let a = Server::start(&work);
    let b = Server::start(&work);
    (work, a, b)
}

/// One answer: status, body text and `Retry-After`. Status 0 means no answer (the error is
/// the body).
#[derive(Debug)]
struct Reply {
    status: u16,
    body: String,
    retry_after: Option<String>,
}

impl Reply {
    #[track_caller]
    fn expect(&self, status: u16, body: &str, what: &str) {
        assert_eq!(
            (self.status, self.body.as_str()),
            (status, body),
            "{what}: {self:?}"
        );
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap()
}

/// `method base+path`, with a Bearer token and a JSON body when given.
fn send(
    client: &reqwest::blocking::Client,
    base: &str,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut request = client.request(method, format!("{base}{path}"));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    match request.send() {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_owned());
            Reply {
                status,
                body: response.text().unwrap_or_else(|e| format!("<body: {e}>")),
                retry_after,
            }
        }
        Err(e) => Reply {
            status: 0,
            body: format!("no answer: {e}"),
            retry_after: None,
        },
    }
}

fn refresh(server: &Server, token: &str) -> Reply {
    send(
        &client(),
        &server.base,
        Method::POST,
        "/api/token/refresh/",
        None,
        Some(&json!({ "refresh": token })),
    )
}

/// A rotating refresh that must succeed; returns `(access, successor)`.
#[track_caller]
fn rotate(server: &Server, token: &str) -> (String, String) {
    let reply = refresh(server, token);
    assert_eq!(reply.status, 200, "rotation on {}: {reply:?}", server.base);
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    (
        body["access"].as_str().unwrap().to_owned(),
        body["refresh"].as_str().unwrap().to_owned(),
    )
}

fn hello(server: &Server, access: &str) -> Reply {
    send(
        &client(),
        &server.base,
        Method::GET,
        "/hello/",
        Some(access),
        None,
    )
}

fn logout_all(server: &Server, access: &str) -> Reply {
    send(
        &client(),
        &server.base,
        Method::POST,
        "/api/sessions/logout-all/",
        Some(access),
        None,
    )
}

fn sessions(server: &Server, access: &str) -> Vec<Value> {
    let reply = send(
        &client(),
        &server.base,
        Method::GET,
        "/api/sessions/",
        Some(access),
        None,
    );
    assert_eq!(reply.status, 200, "GET /api/sessions/: {reply:?}");
    serde_json::from_str::<Value>(&reply.body)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn ids(sessions: &[Value]) -> Vec<String> {
    sessions
        .iter()
        .map(|session| session["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The reuse counter of one instance (0 when not exported yet).
fn reuse_count(server: &Server) -> f64 {
    let (status, text) = server.get("/metrics");
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|line| {
            line.strip_prefix(REUSE_METRIC)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// The reuse counter summed over `servers`.
fn reuse_total(servers: &[&Server]) -> f64 {
    servers.iter().map(|server| reuse_count(server)).sum()
}

/// Every refresh token in `refresh` and every access token in `access` is refused on every
/// instance, refresh tokens as blacklisted, access tokens as simplejwt's blacklisted access.
#[track_caller]
fn all_refused(servers: &[&Server], refresh_tokens: &[&str], access_tokens: &[&str], when: &str) {
    for server in servers {
        for (n, token) in refresh_tokens.iter().enumerate() {
            refresh(server, token).expect(
                401,
                BLACKLISTED,
                &format!("{when}: refresh token #{n} on {}", server.base),
            );
        }
        for (n, token) in access_tokens.iter().enumerate() {
            hello(server, token).expect(
                401,
                ACCESS_BLACKLISTED,
                &format!("{when}: access token #{n} on {}/hello/", server.base),
            );
        }
    }
}

/// One request of [`at_once`], sent with the thread's own client.
type Request = Box<dyn FnOnce(&reqwest::blocking::Client) -> Reply + Send>;

/// Runs `requests` at once (released together by a barrier), each on its own thread, and
/// returns their answers in order. Every one must answer: a hang fails as status 0.
fn at_once(requests: Vec<Request>) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let threads: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let client = client();
                barrier.wait();
                request(&client)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect()
}

#[test]
fn a_token_rotated_on_one_instance_and_reused_on_the_other_ends_the_session_on_both() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let (_work, a, b) = two_instances(&db, "off");

    let (parent, login_access) = login(&a, "alice");
    let (other_refresh, other_access) = login(&b, "alice");
    let (successor_access, successor) = rotate(&a, &parent);
    // Both access tokens work on both instances before the reuse.
    for server in [&a, &b] {
        for access in [&login_access, &successor_access] {
            hello(server, access).expect(200, r#"{"message":"Hello, alice!"}"#, "before the reuse");
        }
    }
    assert_eq!(reuse_total(&[&a, &b]), 0.0);

    // The parent, rotated on A, presented on B: theft.
    refresh(&b, &parent).expect(401, BLACKLISTED, "the rotated parent on B");
    assert_eq!(reuse_count(&b), 1.0, "B detected the reuse");
    assert_eq!(reuse_count(&a), 0.0);

    // The successor and both access tokens of the session are dead on both instances.
    all_refused(
        &[&a, &b],
        &[&successor, &parent],
        &[&login_access, &successor_access],
        "after the reuse",
    );
    // Presenting the dead tokens again counts nothing more.
    assert_eq!(reuse_total(&[&a, &b]), 1.0);

    // The user's other session is untouched, on either instance.
    for server in [&a, &b] {
        hello(server, &other_access).expect(
            200,
            r#"{"message":"Hello, alice!"}"#,
            "the other session's access token",
        );
    }
    let (other_next_access, _) = rotate(&a, &other_refresh);
    let listed = sessions(&b, &other_next_access);
    assert_eq!(
        listed.len(),
        1,
        "only the other session is left: {listed:?}"
    );
    assert_eq!(listed[0]["current"], true, "{listed:?}");
}

#[test]
fn logout_all_on_one_instance_refuses_every_access_token_on_the_other() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let (_work, a, b) = two_instances(&db, "off");

    let (caller_refresh, caller_access) = login(&a, "alice");
    let (other_refresh, other_access) = login(&b, "alice");
    let (rotated_access, rotated) = rotate(&b, &other_refresh);
    // B has served the other session's tokens (and read alice's row) before the logout.
    for access in [&other_access, &rotated_access, &caller_access] {
        hello(&b, access).expect(200, r#"{"message":"Hello, alice!"}"#, "before the logout");
    }
    let before = ids(&sessions(&b, &rotated_access));
    assert_eq!(before.len(), 2, "{before:?}");

    logout_all(&a, &caller_access).expect(204, "", "logout-all on A");

    let c = client();
    for access in [&other_access, &rotated_access, &caller_access] {
        hello(&b, access).expect(401, ACCESS_BLACKLISTED, "an access token on B's /hello/");
        send(
            &c,
            &b.base,
            Method::GET,
            "/api/auth/check/",
            Some(access),
            None,
        )
        .expect(
            401,
            ACCESS_BLACKLISTED,
            "an access token on B's /api/auth/check/",
        );
        send(
            &c,
            &b.base,
            Method::POST,
            "/api/token/verify/",
            None,
            Some(&json!({ "token": access })),
        )
        .expect(
            401,
            BLACKLISTED,
            "an access token on B's /api/token/verify/",
        );
        hello(&a, access).expect(401, ACCESS_BLACKLISTED, "an access token on A's /hello/");
    }
    all_refused(
        &[&b, &a],
        &[&rotated, &caller_refresh, &other_refresh],
        &[],
        "after logout-all",
    );
    // Ending sessions is not reuse.
    assert_eq!(reuse_total(&[&a, &b]), 0.0);

    // A fresh login on B works at once, and is the only session left.
    let (fresh_refresh, fresh_access) = login(&b, "alice");
    hello(&b, &fresh_access).expect(200, r#"{"message":"Hello, alice!"}"#, "fresh on B");
    hello(&a, &fresh_access).expect(200, r#"{"message":"Hello, alice!"}"#, "fresh on A");
    let after = sessions(&b, &fresh_access);
    assert_eq!(after.len(), 1, "only the fresh session: {after:?}");
    assert_eq!(after[0]["current"], true, "{after:?}");
    assert!(
        !before.contains(&ids(&after)[0]),
        "the fresh session is new: {before:?} {after:?}"
    );
    rotate(&a, &fresh_refresh);
}

#[test]
fn the_same_rotated_token_presented_at_once_on_both_instances_is_one_reuse() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let (_work, a, b) = two_instances(&db, "off");
    const RACERS: usize = 8;

    for round in 0..4 {
        let (parent, login_access) = login(&a, "alice");
        let (successor_access, successor) = rotate(&b, &parent);
        let requests = (0..RACERS)
            .map(|n| {
                let base = if n % 2 == 0 {
                    a.base.clone()
                } else {
                    b.base.clone()
                };
                let parent = parent.clone();
                Box::new(move |client: &reqwest::blocking::Client| {
                    send(
                        client,
                        &base,
                        Method::POST,
                        "/api/token/refresh/",
                        None,
                        Some(&json!({ "refresh": parent })),
                    )
                }) as Request
            })
            .collect();
        let replies = at_once(requests);
        for (n, reply) in replies.iter().enumerate() {
            reply.expect(
                401,
                BLACKLISTED,
                &format!("round {round}, racer {n}: {replies:?}"),
            );
        }
        assert_eq!(
            reuse_total(&[&a, &b]),
            (round + 1) as f64,
            "round {round}: exactly one reuse is counted per round ({replies:?})"
        );
        all_refused(
            &[&a, &b],
            &[&successor],
            &[&login_access, &successor_access],
            &format!("round {round}"),
        );
    }
}

#[test]
fn a_reuse_racing_a_logout_all_leaves_nothing_of_the_user_alive() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let (_work, a, b) = two_instances(&db, "off");

    for round in 0..5 {
        let counted = reuse_total(&[&a, &b]);
        // Session S1: logged in and rotated on A; its parent is the token reused.
        let (parent, login_access) = login(&a, "alice");
        let (successor_access, successor) = rotate(&a, &parent);
        // Session S2 on B: its access token asks for the logout.
        let (caller_refresh, caller_access) = login(&b, "alice");

        let (a_base, b_base) = (a.base.clone(), b.base.clone());
        let reused = parent.clone();
        let caller = caller_access.clone();
        let replies = at_once(vec![
            Box::new(move |client: &reqwest::blocking::Client| {
                send(
                    client,
                    &a_base,
                    Method::POST,
                    "/api/token/refresh/",
                    None,
                    Some(&json!({ "refresh": reused })),
                )
            }),
            Box::new(move |client: &reqwest::blocking::Client| {
                send(
                    client,
                    &b_base,
                    Method::POST,
                    "/api/sessions/logout-all/",
                    Some(&caller),
                    None,
                )
            }),
        ]);
        replies[0].expect(
            401,
            BLACKLISTED,
            &format!("round {round}: the reused parent on A"),
        );
        replies[1].expect(204, "", &format!("round {round}: logout-all on B"));
        let increase = reuse_total(&[&a, &b]) - counted;
        assert!(
            increase == 0.0 || increase == 1.0,
            "round {round}: the reuse counted {increase} times"
        );

        all_refused(
            &[&a, &b],
            &[&parent, &successor, &caller_refresh],
            &[&login_access, &successor_access, &caller_access],
            &format!("round {round}, after the race"),
        );
    }
}

/// The current fixed throttling window of `period` seconds (the shared counter's, whose
/// windows start at multiples of the period in Unix time).
fn window(period: u64) -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / period
}

#[test]
fn login_throttling_is_shared_between_instances() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    let (work, a, b) = two_instances(&db, "4/min");
    let c = client();
    let attempt = |server: &Server, username: &str, password: &str| {
        send(
            &c,
            &server.base,
            Method::POST,
            "/api/token/",
            None,
            Some(&json!({ "username": username, "password": password })),
        )
    };

    // The shared count is a fixed one-minute window: a run that crosses a window boundary
    // starts the count again and proves nothing, so it is run again for a fresh user (twice
    // in a row is impossible for a run of a few seconds).
    for tries in 0.. {
        assert!(tries < 3, "every run crossed a minute boundary");
        let username = format!("user{tries}");
        work.create_user(&username);
        let started = window(60);
        let mut replies = Vec::new();
        // Alternating A, B, A, B: each instance sees two attempts, well within its own
        // per-process budget of 4, so only the shared count can throttle.
        for n in 0..4 {
            let server = if n % 2 == 0 { &a } else { &b };
            replies.push(attempt(server, &username, "wrong password"));
        }
        // The fifth in total, on A (its third), then on B (its third), and then the right
        // password on B (its fourth): all throttled.
        let fifth = attempt(&a, &username, "wrong password");
        let sixth = attempt(&b, &username, "wrong password");
        let right = attempt(&b, &username, PASSWORD);
        if window(60) != started {
            continue;
        }
        for (n, reply) in replies.iter().enumerate() {
            reply.expect(401, BAD_CREDENTIALS, &format!("wrong password #{}", n + 1));
        }
        for (what, reply) in [
            ("the fifth attempt, on A", &fifth),
            ("the sixth attempt, on B", &sixth),
            ("the right password, on B", &right),
        ] {
            assert_eq!(reply.status, 429, "{what}: {reply:?}");
            let wait: u64 = reply
                .retry_after
                .as_deref()
                .unwrap_or_else(|| panic!("{what}: no Retry-After: {reply:?}"))
                .parse()
                .unwrap_or_else(|e| panic!("{what}: Retry-After: {e}: {reply:?}"));
            assert!((1..=60).contains(&wait), "{what}: Retry-After {wait}");
            let unit = if wait == 1 { "second" } else { "seconds" };
            assert_eq!(
                reply.body,
                format!(
                    r#"{{"detail":"Request was throttled. Expected available in {wait} {unit}."}}"#
                ),
                "{what}"
            );
        }
        // Another username is not affected, on either instance.
        login(&a, "alice");
        login(&b, "alice");
        break;
    }
}
