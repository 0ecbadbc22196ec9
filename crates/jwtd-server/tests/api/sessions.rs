//! Sessions (`shared/spec/sessions.md`): refresh-token families and reuse detection, the retry
//! interval, the session caps, listing and ending sessions, logging out everywhere, changing a
//! password, RFC 7009 revocation and RFC 7662 introspection, and a store that fails in the
//! middle of a revocation.
//!
//! Time is never waited for: where a check depends on it, the session's rows are moved into the
//! past through the SQLite file, or tokens are minted with explicit times.

use std::collections::BTreeMap;
use std::sync::Arc;

use jwtd_server::config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const BLACKLISTED: &str = "Token is blacklisted";
const UNAVAILABLE: &str = r#"{"detail":"Service temporarily unavailable."}"#;
const NOT_FOUND: &str = r#"{"detail":"Not found."}"#;
const INACTIVE: &str = r#"{"active":false}"#;
const REUSE_METRIC: &str = "jwtd_refresh_token_reuse_detected_total";
/// A 32-byte introspection secret.
const INTROSPECTION_SECRET: &str = "introspection-secret-0123456789abcdef";

/// Rotation with blacklisting, the mode reuse detection needs.
const ROTATE: [(&str, &str); 2] = [
    ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
    ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
];

/// [`ROTATE`] plus reuse detection.
const DETECT: [(&str, &str); 3] = [
    ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
    ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
    ("JWTD_REFRESH_TOKEN_REUSE_DETECTION", "true"),
];

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `GET /api/sessions/` as the holder of `access`.
async fn list_sessions(app: &TestApp, access: &str) -> Reply {
    app.get_with_auth("/api/sessions/", &bearer(access)).await
}

/// `DELETE path` as the holder of `access`.
async fn delete(app: &TestApp, access: &str, path: &str) -> Reply {
    app.send(
        Method::DELETE,
        path,
        &[("Authorization", &bearer(access))],
        None,
    )
    .await
}

/// `POST /api/sessions/logout-all/` as the holder of `access`.
async fn logout_all(app: &TestApp, access: &str) -> Reply {
    app.send(
        Method::POST,
        "/api/sessions/logout-all/",
        &[("Authorization", &bearer(access))],
        None,
    )
    .await
}

/// `POST /api/password/change/` with a JSON body as the holder of `access`.
async fn change_password(app: &TestApp, access: &str, body: &Value) -> Reply {
    app.send(
        Method::POST,
        "/api/password/change/",
        &[
            ("Authorization", &bearer(access)),
            ("Content-Type", "application/json"),
        ],
        Some(serde_json::to_vec(body).expect("JSON body")),
    )
    .await
}

/// `POST /api/token/revoke/` with `{"token": token}`.
async fn revoke(app: &TestApp, token: &str) -> Reply {
    app.post_json("/api/token/revoke/", &json!({ "token": token }))
        .await
}

/// `POST /api/token/revoke/` with the form `token=<token>` (a JWT needs no escaping).
async fn revoke_form(app: &TestApp, token: &str) -> Reply {
    app.post_raw(
        "/api/token/revoke/",
        Some("application/x-www-form-urlencoded"),
        format!("token={token}&token_type_hint=access_token"),
    )
    .await
}

/// `POST /api/token/introspect/` with `{"token": token}` and `Authorization: <authorization>`.
async fn introspect(app: &TestApp, authorization: Option<&str>, token: &str) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(value) = authorization {
        headers.push(("Authorization", value));
    }
    let body = serde_json::to_vec(&json!({ "token": token })).expect("JSON body");
    app.send(Method::POST, "/api/token/introspect/", &headers, Some(body))
        .await
}

/// [`introspect`] with the configured secret.
async fn introspect_ok(app: &TestApp, token: &str) -> Reply {
    introspect(app, Some(&bearer(INTROSPECTION_SECRET)), token).await
}

/// A 204 with no body.
#[track_caller]
fn expect_no_content(reply: &Reply) {
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (204, ""),
        "expected an empty 204"
    );
}

/// A rotating refresh; returns `(access, successor)`.
async fn rotate(app: &TestApp, refresh: &str) -> (String, String) {
    let tokens = app.refresh(refresh).await.tokens(&["access", "refresh"]);
    (tokens[0].clone(), tokens[1].clone())
}

/// Logs in with extra request headers (a `User-Agent`, `X-Forwarded-For`); returns
/// `(refresh, access)`.
async fn login_with_headers(
    app: &TestApp,
    username: &str,
    headers: &[(&str, &str)],
) -> (String, String) {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    let body = serde_json::to_vec(&json!({ "username": username, "password": PASSWORD }))
        .expect("JSON body");
    let reply = app
        .send(Method::POST, "/api/token/", &all, Some(body))
        .await;
    let tokens = reply.tokens(&["refresh", "access"]);
    (tokens[0].clone(), tokens[1].clone())
}

/// Another connection to the server's SQLite file.
fn sql(app: &TestApp) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(&app.db).expect("database opens");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    conn
}

/// Runs one statement on the server's database; returns the rows changed.
#[track_caller]
fn exec(app: &TestApp, statement: &str, params: impl rusqlite::Params) -> usize {
    sql(app)
        .execute(statement, params)
        .unwrap_or_else(|e| panic!("{statement}: {e}"))
}

/// The session a refresh token issued by the server belongs to, as the store recorded it.
#[track_caller]
fn session_of(app: &TestApp, refresh: &str) -> String {
    let jti = decode(refresh).str("jti").to_owned();
    sql(app)
        .query_row(
            "SELECT session_id FROM issued_tokens WHERE jti = ?1",
            [&jti],
            |row| row.get::<_, Option<String>>(0),
        )
        .expect("issued token row")
        .expect("the token has a session")
}

/// The value of `series` on `/metrics` (0 when absent).
async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.body;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// A session as `GET /api/sessions/` lists it.
fn listed(
    id: &str,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    user_agent: Option<&str>,
    current: bool,
) -> Value {
    json!({
        "id": id,
        "created_at": created_at,
        "last_used_at": last_used_at,
        "expires_at": expires_at,
        "user_agent": user_agent,
        "ip": "127.0.0.1",
        "current": current,
    })
}

fn text(value: &Value) -> String {
    serde_json::to_string(value).expect("JSON")
}

/// The ids `GET /api/sessions/` lists, in order.
#[track_caller]
fn ids(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let list: Vec<Value> = serde_json::from_str(&reply.body).expect("a JSON list");
    list.iter()
        .map(|s| s["id"].as_str().expect("id is text").to_owned())
        .collect()
}

// 1. Defaults keep simplejwt.

#[tokio::test]
async fn without_reuse_detection_a_rotated_token_is_refused_and_nothing_is_revoked() {
    let app = spawn_app(&ROTATE).await;
    app.create_user("alice", PASSWORD, true).await;
    let (parent, login_access) = app.obtain("alice", PASSWORD).await;
    let (successor_access, successor) = rotate(&app, &parent).await;

    for _ in 0..2 {
        app.refresh(&parent)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
    }
    // Nothing of the family was touched: the successor rotates, every access token works.
    let (next_access, _) = rotate(&app, &successor).await;
    let hello = hello_body("alice");
    for access in [&login_access, &successor_access, &next_access] {
        app.hello(access).await.expect_protected(200, &hello);
    }
    assert_eq!(metric(&app, REUSE_METRIC).await, 0.0);
}

// 2. Reuse detection.

#[tokio::test]
async fn a_reused_rotated_token_revokes_its_whole_session_and_nothing_else() {
    let app = spawn_app(&DETECT).await;
    app.create_user("alice", PASSWORD, true).await;
    let (first, login_access) = app.obtain("alice", PASSWORD).await;
    let (other_refresh, other_access) = app.obtain("alice", PASSWORD).await;
    let (second_access, second) = rotate(&app, &first).await;
    let (third_access, third) = rotate(&app, &second).await;
    assert_eq!(metric(&app, REUSE_METRIC).await, 0.0);

    // The first token of the family, presented again after two rotations: theft.
    app.refresh(&first)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    assert_eq!(metric(&app, REUSE_METRIC).await, 1.0);

    // Every refresh token of the family is dead, the newest included.
    for refresh in [&second, &third] {
        app.refresh(refresh)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
        app.verify(refresh)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
    }
    // And so is every access token handed out in it.
    for access in [&login_access, &second_access, &third_access] {
        app.hello(access)
            .await
            .expect_protected(401, &access_error(BLACKLISTED));
        app.verify(access)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
    }
    // Presenting it again revokes nothing more and is not counted twice.
    app.refresh(&first)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    assert_eq!(metric(&app, REUSE_METRIC).await, 1.0);

    // The user's other session is untouched.
    app.hello(&other_access)
        .await
        .expect_protected(200, &hello_body("alice"));
    let (other_next_access, _) = rotate(&app, &other_refresh).await;
    let sessions = list_sessions(&app, &other_next_access).await;
    assert_eq!(ids(&sessions), [session_of(&app, &other_refresh)]);
}

#[tokio::test]
async fn a_logged_out_token_presented_again_is_not_reuse() {
    let app = spawn_app(&DETECT).await;
    app.create_user("alice", PASSWORD, true).await;
    let (refresh, access) = app.obtain("alice", PASSWORD).await;
    app.blacklist(&refresh).await.expect_token(200, EMPTY);
    app.refresh(&refresh)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    assert_eq!(metric(&app, REUSE_METRIC).await, 0.0);
    // With reuse detection on, the logout ended the session, access token included (without
    // it, simplejwt's blacklist leaves the access token alive: blacklist.rs).
    app.hello(&access)
        .await
        .expect_protected(401, &access_error(BLACKLISTED));
}

#[test]
fn reuse_detection_needs_rotation_and_blacklisting() {
    let dir = tempfile::tempdir().unwrap();
    let load = |vars: &[(&str, &str)]| {
        let mut env = BTreeMap::new();
        env.insert("JWTD_DATA_DIR".to_owned(), dir.path().display().to_string());
        env.insert("JWTD_SIGNING_KEY".to_owned(), SECRET.to_owned());
        for (name, value) in vars {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        config::load(None, &env)
    };
    let needs = "refresh_token_reuse_detection: needs rotate_refresh_tokens = true and \
                 blacklist_after_rotation = true";
    for (rotate, blacklist) in [("false", "false"), ("true", "false"), ("false", "true")] {
        let error = load(&[
            ("JWTD_REFRESH_TOKEN_REUSE_DETECTION", "true"),
            ("JWTD_ROTATE_REFRESH_TOKENS", rotate),
            ("JWTD_BLACKLIST_AFTER_ROTATION", blacklist),
        ])
        .expect_err("reuse detection without rotation and blacklisting");
        assert_eq!(
            error.to_string(),
            needs,
            "rotate {rotate}, blacklist {blacklist}"
        );
    }
    let (config, _) = load(&DETECT).expect("reuse detection with rotation and blacklisting");
    assert!(config.sessions.reuse_detection);

    // The defaults keep simplejwt's behaviour.
    let (config, _) = load(&[]).expect("defaults load");
    let sessions = &config.sessions;
    assert!(!sessions.reuse_detection);
    assert_eq!(sessions.reuse_interval, 0);
    assert_eq!((sessions.lifetime, sessions.idle_timeout), (None, None));
    assert!(sessions.introspection_token.is_none());
    assert_eq!(sessions.password_min_length, 8);

    // Limits of zero and a short introspection secret are refused.
    for (var, value, message) in [
        (
            "JWTD_SESSION_LIFETIME",
            "0",
            "session_lifetime: must be longer than 0 s (unset it for no limit)",
        ),
        (
            "JWTD_SESSION_IDLE_TIMEOUT",
            "0s",
            "session_idle_timeout: must be longer than 0 s (unset it for no limit)",
        ),
        (
            "JWTD_INTROSPECTION_TOKEN",
            "too-short-0123456789abcdef01234",
            "introspection_token: is shorter than 32 bytes; use e.g. `openssl rand -base64 32`",
        ),
        (
            "JWTD_PASSWORD_MIN_LENGTH",
            "0",
            "password_min_length: must be at least 1",
        ),
    ] {
        let error = load(&[(var, value)]).expect_err(var);
        assert_eq!(error.to_string(), message, "{var}={value}");
    }
}

// 3. The reuse interval.

#[tokio::test]
async fn within_the_reuse_interval_a_retry_gets_a_fresh_pair_of_the_same_session() {
    let mut vars = DETECT.to_vec();
    vars.push(("JWTD_REFRESH_TOKEN_REUSE_INTERVAL", "1h"));
    let app = spawn_app(&vars).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let (parent, login_access) = app.obtain("alice", PASSWORD).await;
    let (first_access, first) = rotate(&app, &parent).await;

    // The response was lost; the client presents the parent again.
    let reply = app.refresh(&parent).await;
    let retried = reply.tokens(&["access", "refresh"]);
    let (retry_access, retry) = (retried[0].clone(), retried[1].clone());
    assert_layout(&retry, "HS256", "refresh", 86_400, id, &[]);
    assert_ne!(retry, first, "a fresh successor");
    assert_ne!(decode(&retry).str("jti"), decode(&first).str("jti"));

    // Nothing was revoked: both successors and every access token work.
    let hello = hello_body("alice");
    for access in [&login_access, &first_access, &retry_access] {
        app.hello(access).await.expect_protected(200, &hello);
    }
    let session = session_of(&app, &parent);
    assert_eq!(session_of(&app, &first), session);
    assert_eq!(session_of(&app, &retry), session);
    let (first_next_access, _) = rotate(&app, &first).await;
    let (retry_next_access, _) = rotate(&app, &retry).await;
    assert_eq!(metric(&app, REUSE_METRIC).await, 0.0);

    // One session, the caller's.
    for access in [&retry_access, &first_next_access, &retry_next_access] {
        let sessions = list_sessions(&app, access).await;
        assert_eq!(ids(&sessions), std::slice::from_ref(&session));
        let list: Value = serde_json::from_str(&sessions.body).unwrap();
        assert_eq!(list[0]["current"], json!(true), "{}", sessions.body);
    }

    // Past the interval (the rotation, which is when its blacklist row was written, moved two
    // hours back), the same presentation is theft.
    let jti = decode(&parent).str("jti").to_owned();
    let moved = exec(
        &app,
        "UPDATE blacklisted_tokens SET blacklisted_at = blacklisted_at - 7200 WHERE jti = ?1",
        [&jti],
    );
    assert_eq!(moved, 1);
    app.refresh(&parent)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    assert_eq!(metric(&app, REUSE_METRIC).await, 1.0);
    app.hello(&retry_next_access)
        .await
        .expect_protected(401, &access_error(BLACKLISTED));
}

// 4. Concurrency.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reuse_is_refused_every_time_and_revokes_once() {
    let app = Arc::new(spawn_app(&DETECT).await);
    app.create_user("alice", PASSWORD, true).await;
    for trial in 1..=5 {
        let (parent, _) = app.obtain("alice", PASSWORD).await;
        let (successor_access, successor) = rotate(&app, &parent).await;
        let presentations: Vec<_> = (0..8)
            .map(|_| {
                let app = Arc::clone(&app);
                let parent = parent.clone();
                tokio::spawn(async move { app.refresh(&parent).await })
            })
            .collect();
        for presentation in presentations {
            presentation
                .await
                .unwrap()
                .expect_token(401, &token_error(BLACKLISTED));
        }
        assert_eq!(
            metric(&app, REUSE_METRIC).await,
            f64::from(trial),
            "trial {trial}: one revocation per reused family"
        );
        app.refresh(&successor)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
        app.hello(&successor_access)
            .await
            .expect_protected(401, &access_error(BLACKLISTED));
    }
}

// 5. The session caps.

#[tokio::test]
async fn no_refresh_token_outlives_the_session_lifetime() {
    let mut vars = ROTATE.to_vec();
    vars.extend([
        ("JWTD_SESSION_LIFETIME", "1h"),
        ("JWTD_REFRESH_TOKEN_LIFETIME", "1d"),
    ]);
    let app = spawn_app(&vars).await;
    app.create_user("alice", PASSWORD, true).await;
    let (refresh, _) = app.obtain("alice", PASSWORD).await;
    let session = session_of(&app, &refresh);
    let started: i64 = sql(&app)
        .query_row(
            "SELECT created_at FROM sessions WHERE id = ?1",
            [&session],
            |row| row.get(0),
        )
        .unwrap();
    let login = decode(&refresh);
    assert_eq!(login.int("iat"), started, "the session starts at the login");
    assert_eq!(login.int("exp"), started + 3_600, "capped, not iat + 1 day");

    let (_, successor) = rotate(&app, &refresh).await;
    let rotated = decode(&successor);
    assert!(
        rotated.int("exp") <= started + 3_600,
        "{}",
        rotated.claims_json
    );
    let (access, successor) = rotate(&app, &successor).await;
    assert!(decode(&successor).int("exp") <= started + 3_600);
    let sessions = list_sessions(&app, &access).await;
    let list: Value = serde_json::from_str(&sessions.body).unwrap();
    assert_eq!(list[0]["expires_at"], json!(started + 3_600));

    // Past the cap (the session moved an hour back), the session ends: log in again.
    exec(
        &app,
        "UPDATE sessions SET created_at = created_at - 3600 WHERE id = ?1",
        [&session],
    );
    app.refresh(&successor)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    app.hello(&access)
        .await
        .expect_protected(401, &access_error(BLACKLISTED));
    let (_, fresh) = app.obtain("alice", PASSWORD).await;
    assert_eq!(ids(&list_sessions(&app, &fresh).await).len(), 1);
}

#[tokio::test]
async fn a_session_idle_for_too_long_is_ended() {
    let app = spawn_app(&[("JWTD_SESSION_IDLE_TIMEOUT", "1h")]).await;
    app.create_user("alice", PASSWORD, true).await;
    let (refresh, access) = app.obtain("alice", PASSWORD).await;
    let (other_refresh, other_access) = app.obtain("alice", PASSWORD).await;
    let session = session_of(&app, &refresh);
    let idle = |seconds: i64| {
        exec(
            &app,
            "UPDATE sessions SET last_used_at = last_used_at - ?2 WHERE id = ?1",
            rusqlite::params![session, seconds],
        )
    };

    // Each refresh counts as use: 50 minutes idle twice is never an hour.
    for _ in 0..2 {
        assert_eq!(idle(3_000), 1);
        app.refresh(&refresh).await.tokens(&["access"]);
    }
    // An hour and a second without a refresh.
    idle(3_601);
    app.refresh(&refresh)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    app.refresh(&refresh)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    app.hello(&access)
        .await
        .expect_protected(401, &access_error(BLACKLISTED));
    // Gone from the list; the other session lives on.
    let sessions = list_sessions(&app, &other_access).await;
    assert_eq!(ids(&sessions), [session_of(&app, &other_refresh)]);
    app.refresh(&other_refresh).await.tokens(&["access"]);
}

// 6. GET /api/sessions/.

#[tokio::test]
async fn sessions_are_listed_newest_first_with_the_callers_marked_current() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    app.create_user("bob", PASSWORD, true).await;
    let (phone_refresh, phone_access) =
        login_with_headers(&app, "alice", &[("User-Agent", "Phone/1.0")]).await;
    let (laptop_refresh, laptop_access) =
        login_with_headers(&app, "alice", &[("User-Agent", "Laptop/2.0 (X11)")]).await;
    let (bare_refresh, _) = login_with_headers(&app, "alice", &[]).await;
    let (_, bob_access) = login_with_headers(&app, "bob", &[("User-Agent", "Bob")]).await;
    let (phone, laptop, bare) = (
        session_of(&app, &phone_refresh),
        session_of(&app, &laptop_refresh),
        session_of(&app, &bare_refresh),
    );
    for id in [&phone, &laptop, &bare] {
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "session id {id}"
        );
    }
    // Each login in its own second, oldest first, so "newest first" has one answer.
    for (id, back) in [(&phone, 20), (&laptop, 10)] {
        exec(
            &app,
            "UPDATE sessions SET created_at = created_at - ?2, last_used_at = last_used_at - ?2 \
             WHERE id = ?1",
            rusqlite::params![id, back],
        );
    }
    let times = |refresh: &str, back: i64| {
        let jwt = decode(refresh);
        (jwt.int("iat") - back, jwt.int("exp"))
    };
    let (phone_at, phone_exp) = times(&phone_refresh, 20);
    let (laptop_at, laptop_exp) = times(&laptop_refresh, 10);
    let (bare_at, bare_exp) = times(&bare_refresh, 0);
    let expected = |current: &str| {
        text(&json!([
            listed(&bare, bare_at, bare_at, bare_exp, None, current == bare),
            listed(
                &laptop,
                laptop_at,
                laptop_at,
                laptop_exp,
                Some("Laptop/2.0 (X11)"),
                current == laptop
            ),
            listed(
                &phone,
                phone_at,
                phone_at,
                phone_exp,
                Some("Phone/1.0"),
                current == phone
            ),
        ]))
    };
    list_sessions(&app, &laptop_access)
        .await
        .expect(200, &expected(&laptop));
    // Without the trailing slash too.
    app.get_with_auth("/api/sessions", &bearer(&phone_access))
        .await
        .expect(200, &expected(&phone));

    // A refresh stamps last_used_at, and its access token belongs to the same session.
    let before = now();
    let refreshed = app.refresh(&phone_refresh).await.tokens(&["access"]);
    let used = decode(&refreshed[0]).int("iat");
    assert!(used >= before);
    let reply = list_sessions(&app, &refreshed[0]).await;
    let list: Vec<Value> = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(list[2]["id"], json!(phone));
    assert_eq!(list[2]["last_used_at"], json!(used), "{}", reply.body);
    assert_eq!(list[2]["created_at"], json!(phone_at), "{}", reply.body);
    let current: Vec<bool> = list.iter().map(|s| s["current"] == json!(true)).collect();
    assert_eq!(current, [false, false, true], "{}", reply.body);

    // Bob sees his own session only.
    let bob = list_sessions(&app, &bob_access).await;
    let list: Vec<Value> = serde_json::from_str(&bob.body).unwrap();
    assert_eq!(list.len(), 1, "{}", bob.body);
    assert_eq!(list[0]["user_agent"], json!("Bob"));
    assert_eq!(list[0]["current"], json!(true));

    // An access token that belongs to no session (minted elsewhere) marks none current.
    let id = app.user("alice").await.id;
    let minted = app.mint_claims(&claims("access", id.to_string()));
    let reply = list_sessions(&app, &minted).await;
    let list: Vec<Value> = serde_json::from_str(&reply.body).unwrap();
    assert!(
        list.iter().all(|s| s["current"] == json!(false)),
        "{}",
        reply.body
    );

    // Authentication is required.
    app.get("/api/sessions/").await.expect(401, NOT_PROVIDED);
    list_sessions(&app, &phone_refresh)
        .await
        .expect(401, &access_error("Token has wrong type"));
}

/// Logins within one second (ties of `created_at`) are still listed newest first.
#[tokio::test]
async fn sessions_started_in_the_same_second_are_listed_newest_first() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    let mut started = Vec::new();
    let mut access = String::new();
    for _ in 0..6 {
        let (refresh, a) = app.obtain("alice", PASSWORD).await;
        started.push(session_of(&app, &refresh));
        access = a;
    }
    // Force the tie: every session started in the same second.
    exec(
        &app,
        "UPDATE sessions SET created_at = (SELECT max(created_at) FROM sessions)",
        [],
    );
    started.reverse();
    assert_eq!(ids(&list_sessions(&app, &access).await), started);
}

#[tokio::test]
async fn a_session_keeps_the_attributed_client_address_and_a_bounded_user_agent() {
    let app = spawn_app(&[("JWTD_TRUSTED_PROXIES", "127.0.0.1, ::1")]).await;
    app.create_user("alice", PASSWORD, true).await;
    let long = "A".repeat(600);
    let (_, access) = login_with_headers(
        &app,
        "alice",
        &[
            ("X-Forwarded-For", "203.0.113.7"),
            ("User-Agent", long.as_str()),
        ],
    )
    .await;
    let reply = list_sessions(&app, &access).await;
    let list: Vec<Value> = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(list[0]["ip"], json!("203.0.113.7"), "{}", reply.body);
    assert_eq!(list[0]["user_agent"], json!("A".repeat(512)));
}

// 7. DELETE /api/sessions/{id}/.

#[tokio::test]
async fn ending_a_session_kills_its_tokens_and_only_the_owners_session() {
    let app = spawn_app(&ROTATE).await;
    app.create_user("alice", PASSWORD, true).await;
    app.create_user("bob", PASSWORD, true).await;
    let (first, first_access) = app.obtain("alice", PASSWORD).await;
    let (rotated_access, rotated) = rotate(&app, &first).await;
    let (second, second_access) = app.obtain("alice", PASSWORD).await;
    let (bob_refresh, bob_access) = app.obtain("bob", PASSWORD).await;
    let (one, two, bobs) = (
        session_of(&app, &first),
        session_of(&app, &second),
        session_of(&app, &bob_refresh),
    );

    expect_no_content(&delete(&app, &second_access, &format!("/api/sessions/{one}/")).await);
    // Every refresh token of the family and every access token handed out in it.
    app.refresh(&rotated)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    app.refresh(&first)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    for access in [&first_access, &rotated_access] {
        app.hello(access)
            .await
            .expect_protected(401, &access_error(BLACKLISTED));
    }
    assert_eq!(
        ids(&list_sessions(&app, &second_access).await),
        std::slice::from_ref(&two)
    );
    // Ended already.
    delete(&app, &second_access, &format!("/api/sessions/{one}/"))
        .await
        .expect(404, NOT_FOUND);

    // Another user's session is not found, and lives on.
    delete(&app, &second_access, &format!("/api/sessions/{bobs}/"))
        .await
        .expect(404, NOT_FOUND);
    app.hello(&bob_access)
        .await
        .expect_protected(200, &hello_body("bob"));
    let (bob_next_access, _) = rotate(&app, &bob_refresh).await;
    assert_eq!(ids(&list_sessions(&app, &bob_next_access).await), [bobs]);

    // Unknown ids.
    for id in [new_jti().as_str(), "x", "%20"] {
        delete(&app, &second_access, &format!("/api/sessions/{id}/"))
            .await
            .expect(404, NOT_FOUND);
    }
    // Authentication is required.
    app.send(Method::DELETE, &format!("/api/sessions/{two}/"), &[], None)
        .await
        .expect(401, NOT_PROVIDED);

    // Without the trailing slash; ending the caller's own session logs the caller out.
    expect_no_content(&delete(&app, &second_access, &format!("/api/sessions/{two}")).await);
    app.refresh(&second)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    app.hello(&second_access)
        .await
        .expect_protected(401, &access_error(BLACKLISTED));
}

// 8. POST /api/sessions/logout-all/.

#[tokio::test]
async fn logout_all_kills_every_token_issued_so_far() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    app.create_user("bob", PASSWORD, true).await;
    let (first, first_access) = app.obtain("alice", PASSWORD).await;
    let refreshed = app.refresh(&first).await.tokens(&["access"]).remove(0);
    let (second, second_access) = app.obtain("alice", PASSWORD).await;
    let login = json!({ "username": "alice", "password": PASSWORD });
    let sliding = app
        .post_json("/api/token/sliding/", &login)
        .await
        .tokens(&["token"])
        .remove(0);
    let (bob_refresh, bob_access) = app.obtain("bob", PASSWORD).await;

    expect_no_content(&logout_all(&app, &second_access).await);

    for refresh in [&first, &second] {
        app.refresh(refresh)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
    }
    app.renew_sliding(&sliding)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    for access in [&first_access, &refreshed, &second_access] {
        app.hello(access)
            .await
            .expect_protected(401, &access_error(BLACKLISTED));
        app.get_with_auth("/api/auth/check/", &bearer(access))
            .await
            .expect(401, &access_error(BLACKLISTED));
        app.verify(access)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
    }
    // A token minted before the logout (by another service sharing the key) is refused too.
    let tokens_valid_after = app.user("alice").await.tokens_valid_after;
    assert!(tokens_valid_after >= decode(&second_access).int("iat"));
    let earlier = with(
        &claims("access", id.to_string()),
        "iat",
        json!(tokens_valid_after - 1),
    );
    app.hello(&app.mint_claims(&earlier))
        .await
        .expect_protected(401, &access_error(BLACKLISTED));

    // A new login works at once, even in the second of the logout.
    let (fresh, fresh_access) = app.obtain("alice", PASSWORD).await;
    assert!(decode(&fresh_access).int("iat") >= tokens_valid_after);
    app.hello(&fresh_access)
        .await
        .expect_protected(200, &hello_body("alice"));
    app.get_with_auth("/api/auth/check/", &bearer(&fresh_access))
        .await
        .expect(200, EMPTY);
    app.verify(&fresh_access).await.expect_token(200, EMPTY);
    app.refresh(&fresh).await.tokens(&["access"]);
    let same_second = with(
        &claims("access", id.to_string()),
        "iat",
        json!(tokens_valid_after),
    );
    // A token minted elsewhere in the logout's own second cannot show it is newer than the
    // logout (`iat` has whole seconds, and it was handed out in no session): refused.
    app.hello(&app.mint_claims(&same_second))
        .await
        .expect_protected(401, &access_error(BLACKLISTED));
    assert_eq!(ids(&list_sessions(&app, &fresh_access).await).len(), 1);

    // Bob is untouched.
    app.hello(&bob_access)
        .await
        .expect_protected(200, &hello_body("bob"));
    app.refresh(&bob_refresh).await.tokens(&["access"]);

    // Authentication is required.
    app.send(Method::POST, "/api/sessions/logout-all", &[], None)
        .await
        .expect(401, NOT_PROVIDED);
}

/// Tokens issued in the very second of a logout-all (which whole-second `tokens_valid_after`
/// cannot tell from later ones) die too. The second is forced: the user's `tokens_valid_after`
/// is set back to the tokens' `iat` after the logout, as if both had happened in one second.
#[tokio::test]
async fn logout_all_kills_tokens_issued_in_its_own_second() {
    let app = spawn_app(&[("JWTD_AUTH_TOKEN_CLASSES", "AccessToken,SlidingToken")]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let (_, access) = app.obtain("alice", PASSWORD).await;
    let login = json!({ "username": "alice", "password": PASSWORD });
    let sliding = app
        .post_json("/api/token/sliding/", &login)
        .await
        .tokens(&["token"])
        .remove(0);
    let (_, caller) = app.obtain("alice", PASSWORD).await;
    expect_no_content(&logout_all(&app, &caller).await);
    let issued = decode(&access).int("iat").min(decode(&sliding).int("iat"));
    exec(
        &app,
        "UPDATE users SET tokens_valid_after = ?2 WHERE id = ?1",
        [id, issued],
    );

    let refused = r#"{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is blacklisted"},{"token_class":"SlidingToken","token_type":"sliding","message":"Token is blacklisted"}]}"#;
    for (what, token) in [("access", &access), ("sliding", &sliding)] {
        let reply = app.hello(token).await;
        assert!(
            reply.problems(401, refused, View::Protected).is_empty(),
            "{what} token on /hello/: {} {}",
            reply.status,
            reply.body
        );
        let reply = app.verify(token).await;
        assert!(
            reply
                .problems(401, &token_error(BLACKLISTED), View::Token)
                .is_empty(),
            "{what} token on verify: {} {}",
            reply.status,
            reply.body
        );
    }
}

// 9. POST /api/password/change/.

#[tokio::test]
async fn changing_the_password_revokes_everything_else_and_answers_a_fresh_pair() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alexander", PASSWORD, true).await;
    let (first, first_access) = app.obtain("alexander", PASSWORD).await;
    let (second, second_access) = app.obtain("alexander", PASSWORD).await;
    let new_password = "a new and long passphrase";
    let change = |old: &str, new: &str| json!({ "old_password": old, "new_password": new });
    let hello = hello_body("alexander");

    // Refusals change nothing.
    change_password(&app, &second_access, &change("wrong", new_password))
        .await
        .expect(
            400,
            r#"{"old_password":["Your old password was entered incorrectly. Please enter it again."]}"#,
        );
    change_password(&app, &second_access, &change(PASSWORD, "short"))
        .await
        .expect(
            400,
            r#"{"new_password":["This password is too short. It must contain at least 8 characters."]}"#,
        );
    for like_username in ["alexander", "Alexander"] {
        change_password(&app, &second_access, &change(PASSWORD, like_username))
            .await
            .expect(
                400,
                r#"{"new_password":["The password is too similar to the username."]}"#,
            );
    }
    change_password(&app, &second_access, &json!({}))
        .await
        .expect(
            400,
            r#"{"old_password":["This field is required."],"new_password":["This field is required."]}"#,
        );
    change_password(&app, &second_access, &json!({ "old_password": PASSWORD }))
        .await
        .expect(400, r#"{"new_password":["This field is required."]}"#);
    change_password(
        &app,
        &second_access,
        &json!({ "old_password": "", "new_password": new_password }),
    )
    .await
    .expect(400, r#"{"old_password":["This field may not be blank."]}"#);
    // Authentication is required.
    app.post_json("/api/password/change/", &change(PASSWORD, new_password))
        .await
        .expect(401, NOT_PROVIDED);
    for access in [&first_access, &second_access] {
        app.hello(access).await.expect_protected(200, &hello);
    }
    app.refresh(&first).await.tokens(&["access"]);
    app.obtain("alexander", PASSWORD).await;
    assert_eq!(app.user("alexander").await.tokens_valid_after, 0);

    // The change.
    let reply = change_password(&app, &second_access, &change(PASSWORD, new_password)).await;
    let pair = reply.tokens(&["refresh", "access"]);
    let (refresh, access) = (pair[0].clone(), pair[1].clone());
    assert_layout(&refresh, "HS256", "refresh", 86_400, id, &[]);
    assert_layout(&access, "HS256", "access", 300, id, &[]);
    app.hello(&access).await.expect_protected(200, &hello);
    app.refresh(&refresh).await.tokens(&["access"]);
    assert_eq!(
        ids(&list_sessions(&app, &access).await),
        [session_of(&app, &refresh)]
    );

    // Every other session and every earlier access token is refused, the caller's included.
    for old in [&first, &second] {
        app.refresh(old)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
    }
    for old in [&first_access, &second_access] {
        app.hello(old)
            .await
            .expect_protected(401, &access_error(BLACKLISTED));
    }
    // The new password logs in, the old one does not.
    app.login("alexander", PASSWORD)
        .await
        .expect_token(401, BAD_CREDENTIALS);
    let (_, fresh) = app.obtain("alexander", new_password).await;
    app.hello(&fresh).await.expect_protected(200, &hello);
}

#[tokio::test]
async fn the_new_passwords_minimum_length_is_configurable() {
    let app = spawn_app(&[("JWTD_PASSWORD_MIN_LENGTH", "30")]).await;
    app.create_user("alice", PASSWORD, true).await;
    let (_, access) = app.obtain("alice", PASSWORD).await;
    let body = json!({ "old_password": PASSWORD, "new_password": "twenty-nine characters long!!" });
    change_password(&app, &access, &body).await.expect(
        400,
        r#"{"new_password":["This password is too short. It must contain at least 30 characters."]}"#,
    );
    let body =
        json!({ "old_password": PASSWORD, "new_password": "thirty characters long, at last" });
    change_password(&app, &access, &body)
        .await
        .tokens(&["refresh", "access"]);
}

#[tokio::test]
async fn guessing_the_old_password_is_throttled_like_a_login() {
    let app = spawn_app(&[("JWTD_LOGIN_RATE_PER_USERNAME", "3/min")]).await;
    app.create_user("alice", PASSWORD, true).await;
    let (_, access) = app.obtain("alice", PASSWORD).await;
    let guess = json!({ "old_password": "guess", "new_password": "a new and long passphrase" });
    for _ in 0..2 {
        change_password(&app, &access, &guess).await.expect(
            400,
            r#"{"old_password":["Your old password was entered incorrectly. Please enter it again."]}"#,
        );
    }
    let reply = change_password(&app, &access, &guess).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
}

// 10. POST /api/token/revoke/.

#[tokio::test]
async fn revoking_a_token_kills_it_and_answers_the_same_for_anything_else() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let hello = hello_body("alice");

    // An access token, as JSON and as a form (with a wrong hint: the token says what it is).
    for form in [false, true] {
        let (refresh, access) = app.obtain("alice", PASSWORD).await;
        let reply = if form {
            revoke_form(&app, &access).await
        } else {
            revoke(&app, &access).await
        };
        reply.expect(200, EMPTY);
        app.hello(&access)
            .await
            .expect_protected(401, &access_error(BLACKLISTED));
        app.verify(&access)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
        // Only that token: its refresh token still works.
        let renewed = app.refresh(&refresh).await.tokens(&["access"]).remove(0);
        app.hello(&renewed).await.expect_protected(200, &hello);
        // Revoking again answers the same.
        revoke(&app, &access).await.expect(200, EMPTY);
    }

    // A refresh token, as JSON and as a form.
    for form in [false, true] {
        let (refresh, _) = app.obtain("alice", PASSWORD).await;
        let reply = if form {
            revoke_form(&app, &refresh).await
        } else {
            revoke(&app, &refresh).await
        };
        reply.expect(200, EMPTY);
        app.refresh(&refresh)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
        revoke(&app, &refresh).await.expect(200, EMPTY);
    }

    // A sliding token.
    let login = json!({ "username": "alice", "password": PASSWORD });
    let sliding = app
        .post_json("/api/token/sliding/", &login)
        .await
        .tokens(&["token"])
        .remove(0);
    revoke(&app, &sliding).await.expect(200, EMPTY);
    app.renew_sliding(&sliding)
        .await
        .expect_token(401, &token_error(BLACKLISTED));

    // Anything that is not a valid token of this server: 200 {} and nothing revoked.
    let (refresh, access) = app.obtain("alice", PASSWORD).await;
    let other = spawn_app(&[(
        "JWTD_SIGNING_KEY",
        "another-server-with-its-own-secret-0123456789",
    )])
    .await;
    other.create_user("alice", PASSWORD, true).await;
    let (other_refresh, other_access) = other.obtain("alice", PASSWORD).await;
    let own_refresh = claims("refresh", id.to_string());
    let own_access = claims("access", id.to_string());
    let now = now();
    let expired = with(
        &with(&own_refresh, "iat", json!(now - 90_000)),
        "exp",
        json!(now - 3_600),
    );
    let expired_access = with(
        &with(&own_access, "iat", json!(now - 900)),
        "exp",
        json!(now - 600),
    );
    // The live tokens' jtis under another key: a forgery of a real token.
    let forged_refresh = sign(
        "HS256",
        b"not-the-server-key-0123456789abcdef0123456789",
        &header("HS256"),
        &decode(&refresh).claims_json,
    );
    let forged_access = sign(
        "HS256",
        b"not-the-server-key-0123456789abcdef0123456789",
        &header("HS256"),
        &decode(&access).claims_json,
    );
    let ignored = [
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        tamper_signature(&refresh),
        tamper_signature(&access),
        forged_refresh,
        forged_access,
        app.mint_claims(&expired),
        app.mint_claims(&expired_access),
        other_refresh.clone(),
        other_access.clone(),
    ];
    for token in &ignored {
        revoke(&app, token).await.expect(200, EMPTY);
        revoke_form(&app, token).await.expect(200, EMPTY);
    }
    app.hello(&access).await.expect_protected(200, &hello);
    app.refresh(&refresh).await.tokens(&["access"]);
    other
        .hello(&other_access)
        .await
        .expect_protected(200, &hello);
    other.refresh(&other_refresh).await.tokens(&["access"]);

    // No token.
    let required = r#"{"token":["This field is required."]}"#;
    app.post_json("/api/token/revoke/", &json!({}))
        .await
        .expect(400, required);
    app.post_json(
        "/api/token/revoke/",
        &json!({ "token_type_hint": "refresh_token" }),
    )
    .await
    .expect(400, required);
    app.post_raw(
        "/api/token/revoke/",
        Some("application/x-www-form-urlencoded"),
        "token_type_hint=access_token",
    )
    .await
    .expect(400, required);
}

// 11. POST /api/token/introspect/.

#[tokio::test]
async fn introspection_is_not_served_without_a_secret() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    let (_, access) = app.obtain("alice", PASSWORD).await;
    for authorization in [None, Some(bearer(INTROSPECTION_SECRET)), Some(bearer(""))] {
        introspect(&app, authorization.as_deref(), &access)
            .await
            .expect(404, NOT_FOUND);
    }
}

#[tokio::test]
async fn introspection_answers_whether_a_token_is_active() {
    let app = spawn_app(&[("JWTD_INTROSPECTION_TOKEN", INTROSPECTION_SECRET)]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    app.create_user("carol", PASSWORD, true).await;
    let (refresh, access) = app.obtain("alice", PASSWORD).await;

    // The introspection secret is required.
    let refused = r#"{"detail":"Invalid introspection credentials."}"#;
    let wrong = [
        None,
        Some(bearer("introspection-secret-0123456789abcdeX")),
        Some(bearer(&INTROSPECTION_SECRET[..31])),
        Some(bearer(&format!("{INTROSPECTION_SECRET}x"))),
        Some(bearer(&access)),
        Some(format!("Basic {INTROSPECTION_SECRET}")),
        Some(INTROSPECTION_SECRET.to_owned()),
        Some("Bearer".to_owned()),
    ];
    for authorization in &wrong {
        introspect(&app, authorization.as_deref(), &access)
            .await
            .expect(401, refused);
    }

    // An active access token.
    let claims_of = |token: &str| {
        let jwt = decode(token);
        (jwt.int("exp"), jwt.int("iat"), jwt.str("jti").to_owned())
    };
    let (exp, iat, jti) = claims_of(&access);
    let expected = format!(
        r#"{{"active":true,"sub":"{id}","token_type":"access","user_id":"{id}","username":"alice","exp":{exp},"iat":{iat},"jti":"{jti}","session_id":null}}"#
    );
    introspect_ok(&app, &access).await.expect(200, &expected);
    // As a form too.
    app.send(
        Method::POST,
        "/api/token/introspect/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &bearer(INTROSPECTION_SECRET)),
        ],
        Some(format!("token={access}&token_type_hint=access_token").into_bytes()),
    )
    .await
    .expect(200, &expected);

    // A refresh token names its session.
    let (exp, iat, jti) = claims_of(&refresh);
    let session = session_of(&app, &refresh);
    introspect_ok(&app, &refresh).await.expect(
        200,
        &format!(
            r#"{{"active":true,"sub":"{id}","token_type":"refresh","user_id":"{id}","username":"alice","exp":{exp},"iat":{iat},"jti":"{jti}","session_id":"{session}"}}"#
        ),
    );

    // Inactive: revoked, blacklisted, expired, garbage, forged, a deactivated user's.
    let (revoked_refresh, revoked_access) = app.obtain("alice", PASSWORD).await;
    revoke(&app, &revoked_access).await.expect(200, EMPTY);
    revoke(&app, &revoked_refresh).await.expect(200, EMPTY);
    let (logged_out, _) = app.obtain("alice", PASSWORD).await;
    app.blacklist(&logged_out).await.expect_token(200, EMPTY);
    let now = now();
    let expired = with(
        &with(&claims("access", id.to_string()), "iat", json!(now - 900)),
        "exp",
        json!(now - 600),
    );
    let inactive = [
        revoked_access,
        revoked_refresh,
        logged_out,
        app.mint_claims(&expired),
        "garbage".to_owned(),
        tamper_signature(&access),
        app.mint_claims(&claims("access", "999")),
        app.mint_claims(&claims("id_token", id.to_string())),
    ];
    for token in &inactive {
        introspect_ok(&app, token).await.expect(200, INACTIVE);
    }
    let (carol_refresh, carol_access) = app.obtain("carol", PASSWORD).await;
    app.deactivate("carol").await;
    for token in [&carol_access, &carol_refresh] {
        introspect_ok(&app, token).await.expect(200, INACTIVE);
    }
    // A logged-out-everywhere user's earlier tokens.
    let (_, caller) = app.obtain("alice", PASSWORD).await;
    expect_no_content(&logout_all(&app, &caller).await);
    for token in [&access, &refresh] {
        introspect_ok(&app, token).await.expect(200, INACTIVE);
    }

    // No token: the field error, after the secret.
    let required = r#"{"token":["This field is required."]}"#;
    app.send(
        Method::POST,
        "/api/token/introspect/",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &bearer(INTROSPECTION_SECRET)),
        ],
        Some(b"{}".to_vec()),
    )
    .await
    .expect(400, required);
    app.post_json("/api/token/introspect/", &json!({}))
        .await
        .expect(401, refused);
}

// 12. A store that fails in the middle of a revocation.

/// SQLite on a full disk (a real tmpfs filled up, as in `production.rs`): every revocation
/// answers 503 and leaves nothing half-done, so once space is back every old token still works
/// and the password is unchanged. Mounting needs root (as in CI); an ordinary user's run says so
/// and returns.
#[tokio::test]
async fn a_revocation_the_store_cannot_write_answers_503_and_changes_nothing() {
    use jwtd_store_tests::disk::{SmallDisk, fill, is_root};
    if !is_root() {
        eprintln!("SKIPPED: the full-disk check mounts a small tmpfs, which needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("small"), "2m");
    let db = disk.path().join("jwtd.db");
    let url = format!("sqlite://{}", db.display());
    let mut vars = DETECT.to_vec();
    vars.push(("JWTD_DATABASE_URL", &url));
    let app = spawn_app(&vars).await;
    app.create_user("alice", PASSWORD, true).await;
    let (first, first_access) = app.obtain("alice", PASSWORD).await;
    let (rotated_access, rotated) = rotate(&app, &first).await;
    let (second, second_access) = app.obtain("alice", PASSWORD).await;
    let two = session_of(&app, &second);
    let new_password = "a new and long passphrase";

    // An empty write-ahead log, then no space: the next commit must grow the log and cannot.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    let (busy, log_frames): (i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!((busy, log_frames), (0, 0), "the log was not emptied");
    drop(conn);
    let filler = disk.path().join("filler");
    fill(&filler);

    logout_all(&app, &second_access)
        .await
        .expect(503, UNAVAILABLE);
    change_password(
        &app,
        &second_access,
        &json!({ "old_password": PASSWORD, "new_password": new_password }),
    )
    .await
    .expect(503, UNAVAILABLE);
    delete(&app, &second_access, &format!("/api/sessions/{two}/"))
        .await
        .expect(503, UNAVAILABLE);
    revoke(&app, &first_access).await.expect(503, UNAVAILABLE);
    revoke(&app, &second).await.expect(503, UNAVAILABLE);
    // The reuse of a rotated token cannot be acted on: refused as unavailable, not counted.
    app.refresh(&first).await.expect(503, UNAVAILABLE);
    assert_eq!(metric(&app, REUSE_METRIC).await, 0.0);
    // Reads need no space.
    let hello = hello_body("alice");
    app.hello(&second_access)
        .await
        .expect_protected(200, &hello);
    assert_eq!(ids(&list_sessions(&app, &second_access).await).len(), 2);

    // Space is back: nothing of the refused revocations was written.
    std::fs::remove_file(&filler).unwrap();
    for access in [&first_access, &rotated_access, &second_access] {
        app.hello(access).await.expect_protected(200, &hello);
    }
    assert_eq!(app.user("alice").await.tokens_valid_after, 0);
    app.login("alice", new_password)
        .await
        .expect_token(401, BAD_CREDENTIALS);
    app.obtain("alice", PASSWORD).await;
    let (second_next_access, _) = rotate(&app, &second).await;
    assert_eq!(
        ids(&list_sessions(&app, &second_next_access).await).len(),
        3
    );

    // And the revocations now happen: the reuse is still detected.
    app.refresh(&first)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    assert_eq!(metric(&app, REUSE_METRIC).await, 1.0);
    app.refresh(&rotated)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    expect_no_content(&logout_all(&app, &second_next_access).await);
    app.hello(&second_next_access)
        .await
        .expect_protected(401, &access_error(BLACKLISTED));
}

/// A refresh token issued before sessions existed (recorded, but in no session) still
/// refreshes; an access token it gave in the very second of a logout-all dies with the others.
/// The second is forced as in [`logout_all_kills_tokens_issued_in_its_own_second`].
#[tokio::test]
async fn logout_all_kills_access_tokens_of_pre_session_refresh_tokens_in_its_own_second() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let (old, _) = app.obtain("alice", PASSWORD).await;
    let jti = decode(&old).str("jti").to_owned();
    assert_eq!(
        exec(
            &app,
            "UPDATE issued_tokens SET session_id = NULL WHERE jti = ?1",
            [&jti],
        ),
        1
    );
    let access = app.refresh(&old).await.tokens(&["access"]).remove(0);
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("alice"));
    let (_, caller) = app.obtain("alice", PASSWORD).await;
    expect_no_content(&logout_all(&app, &caller).await);
    app.refresh(&old)
        .await
        .expect_token(401, &token_error(BLACKLISTED));
    exec(
        &app,
        "UPDATE users SET tokens_valid_after = ?2 WHERE id = ?1",
        [id, decode(&access).int("iat")],
    );
    app.hello(&access)
        .await
        .expect_protected(401, &access_error(BLACKLISTED));
}

/// `DELETE /api/sessions/{id}/` answers 404 for any id that is not a live session of the
/// caller's: one past its expiry (no longer listed) included.
#[tokio::test]
async fn a_session_past_its_expiry_is_not_found() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    let (expired, _) = app.obtain("alice", PASSWORD).await;
    let (live, access) = app.obtain("alice", PASSWORD).await;
    let gone = session_of(&app, &expired);
    exec(
        &app,
        "UPDATE sessions SET expires_at = ?2 WHERE id = ?1",
        rusqlite::params![gone, now() - 10],
    );
    assert_eq!(
        ids(&list_sessions(&app, &access).await),
        [session_of(&app, &live)]
    );
    delete(&app, &access, &format!("/api/sessions/{gone}/"))
        .await
        .expect(404, NOT_FOUND);
}

/// With `check_revoke_token`, the pair a password change answers carries the new password's
/// claim (it works), and the earlier tokens fail on the claim first.
#[tokio::test]
async fn a_password_change_with_check_revoke_token_answers_a_working_pair() {
    let app = spawn_app(&[("JWTD_CHECK_REVOKE_TOKEN", "true")]).await;
    app.create_user("alice", PASSWORD, true).await;
    let (old_refresh, old_access) = app.obtain("alice", PASSWORD).await;
    let body = json!({ "old_password": PASSWORD, "new_password": "a new and long passphrase" });
    let pair = change_password(&app, &old_access, &body)
        .await
        .tokens(&["refresh", "access"]);
    app.hello(&pair[1])
        .await
        .expect_protected(200, &hello_body("alice"));
    app.refresh(&pair[0]).await.tokens(&["access"]);
    app.hello(&old_access).await.expect_protected(
        401,
        r#"{"detail":"The user's password has been changed.","code":"password_changed"}"#,
    );
    let reply = app.refresh(&old_refresh).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
}

/// Review findings, each once a way past a revocation.
mod escapes {
    use super::*;

    /// A sliding token renewed after its first row's `exp` (the row logout-all blacklists no
    /// longer covers it) is still refused after a logout-all: `tokens_valid_after` applies to
    /// sliding refresh too.
    #[tokio::test]
    async fn a_renewed_sliding_token_does_not_outlive_logout_all() {
        let app = spawn_app(&[("JWTD_AUTH_TOKEN_CLASSES", "AccessToken,SlidingToken")]).await;
        let id = app.create_user("alice", PASSWORD, true).await;
        let (_, access) = app.obtain("alice", PASSWORD).await;
        // A sliding token as another service sharing the key would mint it: never recorded.
        let sliding = app.mint_claims(&with(
            &with(
                &claims("sliding", id.to_string()),
                "iat",
                json!(now() - 600),
            ),
            "refresh_exp",
            json!(now() + 86_400),
        ));
        expect_no_content(&logout_all(&app, &access).await);
        app.renew_sliding(&sliding)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
    }

    /// A refresh token the store never recorded (minted by a Django service sharing the key)
    /// is refused after a logout-all, and so is every access token it could mint.
    #[tokio::test]
    async fn an_unrecorded_refresh_token_does_not_outlive_logout_all() {
        let app = spawn_app(&[]).await;
        let id = app.create_user("alice", PASSWORD, true).await;
        let (_, access) = app.obtain("alice", PASSWORD).await;
        let minted = app.mint_claims(&with(
            &claims("refresh", id.to_string()),
            "iat",
            json!(now() - 60),
        ));
        app.refresh(&minted).await.tokens(&["access"]);
        expect_no_content(&logout_all(&app, &access).await);
        app.refresh(&minted)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
    }

    /// simplejwt's logout (blacklisting the newest refresh token) ends the session, so a retry
    /// of its parent within the reuse interval cannot reopen it.
    #[tokio::test]
    async fn a_logout_is_not_undone_by_a_retry_within_the_reuse_interval() {
        let mut vars = DETECT.to_vec();
        vars.push(("JWTD_REFRESH_TOKEN_REUSE_INTERVAL", "1h"));
        let app = spawn_app(&vars).await;
        app.create_user("alice", PASSWORD, true).await;
        let (parent, _) = app.obtain("alice", PASSWORD).await;
        let (access, newest) = rotate(&app, &parent).await;
        app.blacklist(&newest).await.expect_token(200, EMPTY);
        app.refresh(&parent)
            .await
            .expect_token(401, &token_error(BLACKLISTED));
        app.hello(&access)
            .await
            .expect_protected(401, &access_error(BLACKLISTED));
        let (_, other_access) = app.obtain("alice", PASSWORD).await;
        assert_eq!(ids(&list_sessions(&app, &other_access).await).len(), 1);
    }
}
