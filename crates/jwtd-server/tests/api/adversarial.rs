//! The adversarial catalogue (issue 5, RFC 8725) against a real server, for each algorithm
//! family: every hostile token of `jwtd-token/tests/attacks/catalogue.rs` is sent as a Bearer
//! token to `/hello/`, in a body to `/api/token/verify/`, and (minted as a refresh token) to
//! `/api/token/refresh/`. Each must get its exact documented answer: 401 with simplejwt's body,
//! 413 for a body over the limit, never a 5xx, never a success for anything but a control.
//!
//! The catalogue is shared with the token crate's suite by `#[path]`, so both run the same
//! cases; only the mapping from "what the engine does" to "what HTTP answers" lives here.

#[path = "../../../jwtd-token/tests/attacks/catalogue.rs"]
mod catalogue;

use std::time::Duration;

use catalogue::{AUDIENCE, Case, Expect, Group, ISSUER, Target};
use jwtd_token::{Algorithm, TokenError};
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use crate::helpers::*;

/// A server for `alg` with a fresh key, requiring an audience and issuer when `aud_iss`; its
/// key, and the id of its one user, `alice`.
async fn server(alg: Algorithm, aud_iss: bool) -> (TestApp, Vec<u8>, i64) {
    let key = match alg.family() {
        jwtd_token::Family::Hmac => jwtd_token::random_secret(),
        _ => jwtd_token::generate(alg).expect("key generated"),
    };
    let mut vars = vec![("JWTD_ALGORITHM", alg.as_str()), ("JWTD_SIGNING_KEY", &key)];
    if aud_iss {
        vars.push(("JWTD_AUDIENCE", AUDIENCE));
        vars.push(("JWTD_ISSUER", ISSUER));
    }
    let app = spawn_app(&vars).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    (app, key.into_bytes(), id)
}

fn target(alg: Algorithm, key: &[u8], id: i64, token_type: &'static str, aud_iss: bool) -> Target {
    Target {
        alg,
        key: key.to_vec(),
        // The server reads its own clock, which only moves forward from here; the catalogue
        // leaves out sub-second cases for that reason (`exact_clock: false`).
        now: now(),
        user_id: id,
        token_type,
        aud_iss,
        exact_clock: false,
    }
}

fn message(error: TokenError) -> String {
    error.to_string()
}

/// What `/hello/` must answer for an access-token case sent as `Authorization: Bearer <token>`,
/// or `None` when the token cannot travel in a header at all (control characters, non-ASCII).
fn hello_expectation(case: &Case) -> Option<(u16, String)> {
    let header = format!("Bearer {}", case.token);
    HeaderValue::from_str(&header).ok()?;
    if case.token.len() > 512 * 1024 {
        return None; // over hyper's header limit: see `oversized_tokens_get_a_4xx`
    }
    if case.token.trim().is_empty() || case.token.contains(char::is_whitespace) {
        // DRF splits the header on any whitespace (Python's `str.split()`, Unicode included):
        // `Bearer a b` is not one token.
        return Some((401, BAD_HEADER.to_owned()));
    }
    Some(match case.expect {
        Expect::Decode(e) | Expect::Check(e) => (401, access_error(&message(e))),
        Expect::NoUser => (401, NO_USER_ID.to_owned()),
        Expect::Oversized => (401, access_error("Token is invalid")),
        Expect::Accepted => (200, hello_body("alice")),
    })
}

/// What `/api/token/verify/` must answer (it checks any purpose, and no user).
fn verify_expectation(case: &Case) -> (u16, String) {
    if case.token.trim().is_empty() {
        return (
            400,
            r#"{"token":["This field may not be blank."]}"#.to_owned(),
        );
    }
    match case.expect {
        Expect::Decode(e) => (401, token_error(&message(e))),
        Expect::Check(e @ (TokenError::NoExp | TokenError::NoId)) => {
            (401, token_error(&message(e)))
        }
        Expect::Check(_) | Expect::NoUser | Expect::Accepted => (200, EMPTY.to_owned()),
        Expect::Oversized => (413, r#"{"detail":"Request body is too large."}"#.to_owned()),
    }
}

/// What `/api/token/refresh/` must answer for a refresh-token case; `None` body for a success,
/// whose new access token cannot be known in advance.
fn refresh_expectation(case: &Case) -> (u16, Option<String>) {
    if case.token.trim().is_empty() {
        return (
            400,
            Some(r#"{"refresh":["This field may not be blank."]}"#.to_owned()),
        );
    }
    match case.expect {
        Expect::Decode(e) | Expect::Check(e) => (401, Some(token_error(&message(e)))),
        Expect::NoUser => (401, Some(NO_USER_ID.to_owned())),
        Expect::Oversized => (
            413,
            Some(r#"{"detail":"Request body is too large."}"#.to_owned()),
        ),
        Expect::Accepted => (200, None),
    }
}

/// Sends every case of the catalogue for `alg` to a fresh server and checks every answer.
async fn attack(alg: Algorithm, aud_iss: bool) {
    let (app, key, id) = server(alg, aud_iss).await;
    let mut failures = Failures::default();
    let mut sent = 0;
    let mut never_5xx = Vec::new();

    let access = target(alg, &key, id, "access", aud_iss);
    for case in catalogue::catalogue(&access) {
        let label = format!("{alg} access [{:?}] {}", case.group, case.name);
        if let Some((status, body)) = hello_expectation(&case) {
            let reply = app
                .send(
                    Method::GET,
                    "/hello/",
                    &[("Authorization", &format!("Bearer {}", case.token))],
                    None,
                )
                .await;
            if reply.status >= 500 {
                never_5xx.push(format!("{label} /hello/: {}", reply.status));
            }
            failures.check(
                &format!("{label} /hello/"),
                &reply,
                status,
                &body,
                View::Protected,
            );
            sent += 1;
        }
        let (status, body) = verify_expectation(&case);
        let reply = app.verify(&case.token).await;
        if reply.status >= 500 {
            never_5xx.push(format!("{label} /verify/: {}", reply.status));
        }
        failures.check(
            &format!("{label} /verify/"),
            &reply,
            status,
            &body,
            View::Token,
        );
        sent += 1;
    }

    let refresh = target(alg, &key, id, "refresh", aud_iss);
    for case in catalogue::catalogue(&refresh) {
        let label = format!("{alg} refresh [{:?}] {}", case.group, case.name);
        let reply = app.refresh(&case.token).await;
        if reply.status >= 500 {
            never_5xx.push(format!("{label}: {}", reply.status));
        }
        match refresh_expectation(&case) {
            (status, Some(body)) => failures.check(&label, &reply, status, &body, View::Token),
            (_, None) => {
                let keys: Vec<String> =
                    serde_json::from_str::<serde_json::Map<String, Value>>(&reply.body)
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default();
                if reply.status != 200 || keys != ["access"] {
                    failures.check(&label, &reply, 200, r#"{"access":"<jwt>"}"#, View::Token);
                }
            }
        }
        sent += 1;
    }
    eprintln!("{alg} (aud/iss {aud_iss}): {sent} requests");
    assert!(
        never_5xx.is_empty(),
        "5xx answers:\n{}",
        never_5xx.join("\n")
    );
    assert!(sent >= 900, "only {sent} requests");
    failures.assert_none();
}

#[tokio::test]
async fn hs256_refuses_the_catalogue() {
    attack(Algorithm::HS256, true).await;
    attack(Algorithm::HS256, false).await;
}

#[tokio::test]
async fn hs512_refuses_the_catalogue() {
    attack(Algorithm::HS512, true).await;
}

#[tokio::test]
async fn rs256_refuses_the_catalogue() {
    attack(Algorithm::RS256, true).await;
}

#[tokio::test]
async fn ps256_refuses_the_catalogue() {
    attack(Algorithm::PS256, false).await;
}

#[tokio::test]
async fn es256_refuses_the_catalogue() {
    attack(Algorithm::ES256, true).await;
}

#[tokio::test]
async fn es384_refuses_the_catalogue() {
    attack(Algorithm::ES384, false).await;
}

#[tokio::test]
async fn eddsa_refuses_the_catalogue() {
    attack(Algorithm::EdDSA, true).await;
    attack(Algorithm::EdDSA, false).await;
}

/// The catalogue's 1 MB tokens in an `Authorization` header: refused by the HTTP layer with a
/// 4xx before any handler runs (hyper's header size limit), never a 5xx, never accepted.
#[tokio::test]
async fn oversized_tokens_get_a_4xx() {
    let (app, key, id) = server(Algorithm::ES256, false).await;
    let access = target(Algorithm::ES256, &key, id, "access", false);
    let oversized: Vec<Case> = catalogue::cases(&access, Group::Structure)
        .into_iter()
        .filter(|c| c.expect == Expect::Oversized)
        .collect();
    assert_eq!(oversized.len(), 3);
    for case in oversized {
        let response = app
            .client
            .get(format!("{}/hello/", app.address))
            .header("Authorization", format!("Bearer {}", case.token))
            .send()
            .await;
        match response {
            Ok(response) => {
                let status = response.status().as_u16();
                eprintln!("{} in a header: {status}", case.name);
                assert!(
                    (400..500).contains(&status),
                    "{}: answered {status}",
                    case.name
                );
            }
            // The server may close the connection once the head is too large, before the
            // client has finished writing it: refused all the same.
            Err(e) => eprintln!("{}: connection closed ({e})", case.name),
        }
        let reply = app.verify(&case.token).await;
        reply.expect_token(413, r#"{"detail":"Request body is too large."}"#);
    }
    // Still serving.
    let (_, access_token) = app.obtain("alice", PASSWORD).await;
    app.hello(&access_token)
        .await
        .expect_protected(200, &hello_body("alice"));
}

/// DRF trims body fields and splits the header on whitespace: whitespace around a token is the
/// transport's, inside it the token's (and refused).
#[tokio::test]
async fn whitespace_around_a_token_is_the_transports_and_inside_refused() {
    let (app, key, id) = server(Algorithm::HS256, false).await;
    let t = target(Algorithm::HS256, &key, id, "access", false);
    let token = t.token(&Value::Object(t.claims()).to_string());
    for padded in [format!(" {token} "), format!("\n{token}\t")] {
        app.verify(&padded).await.expect_token(200, EMPTY);
    }
    app.get_with_auth("/hello/", &format!("Bearer   {token}  "))
        .await
        .expect_protected(200, &hello_body("alice"));
    let (h, rest) = token.split_once('.').unwrap();
    for inner in [
        format!("{h} .{rest}"),
        format!("{h}.\n{rest}"),
        format!("{h}\u{a0}.{rest}"),
    ] {
        app.verify(&inner)
            .await
            .expect_token(401, &token_error("Token is invalid"));
    }
}

/// A request body nested deeper than serde_json's recursion limit is a 400 parse error, not a
/// crash; the same inside a field is "Not a valid string".
#[tokio::test]
async fn deeply_nested_request_bodies_are_400() {
    let app = spawn_app(&[]).await;
    for depth in [129, 10_000, 30_000] {
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let reply = app
            .post_raw("/api/token/verify/", Some("application/json"), body)
            .await;
        assert_eq!(reply.status, 400, "{depth}: {}", reply.body);
        assert!(
            reply.body.starts_with(r#"{"detail":"JSON parse error - "#),
            "{}",
            reply.body
        );
        let body = format!(r#"{{"token":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let reply = app
            .post_raw("/api/token/verify/", Some("application/json"), body)
            .await;
        assert_eq!(reply.status, 400, "{depth}: {}", reply.body);
    }
    let reply = app
        .post_json("/api/token/verify/", &json!({ "token": [[["a.b.c"]]] }))
        .await;
    reply.expect_token(400, r#"{"token":["Not a valid string."]}"#);
}

/// `jku` and `x5u` pointing at a listener the test owns: jwtd never connects to it (it never
/// fetches keys named by a token), and the token is refused.
#[tokio::test]
async fn keys_named_by_a_token_are_never_fetched() {
    let (app, key, id) = server(Algorithm::RS256, false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let t = target(Algorithm::RS256, &key, id, "access", false);
    let claims = Value::Object(t.claims()).to_string();
    let attacker = catalogue::attacker_key(Algorithm::RS256);
    for header in [
        json!({ "alg": "RS256", "typ": "JWT", "jku": format!("{url}/jwks.json") }),
        json!({ "alg": "RS256", "typ": "JWT", "x5u": format!("{url}/cert.pem") }),
        json!({ "alg": "RS256", "typ": "JWT", "kid": format!("{url}/key") }),
    ] {
        let input = format!(
            "{}.{}",
            catalogue::b64(header.to_string()),
            catalogue::b64(&claims)
        );
        let token = format!(
            "{input}.{}",
            catalogue::b64(catalogue::sign(
                Algorithm::RS256,
                &attacker,
                input.as_bytes()
            ))
        );
        app.hello(&token)
            .await
            .expect_protected(401, &access_error("Token is invalid"));
        app.verify(&token)
            .await
            .expect_token(401, &token_error("Token is invalid"));
    }
    let connection = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(
        connection.is_err(),
        "jwtd connected to the URL a token named"
    );
}

/// ECDSA signatures are malleable: (r, n - s) verifies like (r, s). jwtd identifies a token by
/// its `jti`, never by its signature bytes, so the malleated twin of a blacklisted refresh
/// token is blacklisted too.
#[tokio::test]
async fn a_malleated_ecdsa_signature_does_not_escape_the_blacklist() {
    for alg in [Algorithm::ES256, Algorithm::ES384] {
        let (app, key, id) = server(alg, false).await;
        let t = target(alg, &key, id, "refresh", false);
        let twin = catalogue::cases(&t, Group::Signature)
            .into_iter()
            .find(|c| c.name.starts_with("ignored: ECDSA malleated"))
            .expect("the malleated case");
        // The same header and claims (so the same `jti`) under an ordinary signature.
        let (input, _) = twin.token.rsplit_once('.').unwrap();
        let original = t.sign_input(input);
        assert_ne!(original, twin.token);
        app.verify(&twin.token).await.expect_token(200, EMPTY);
        app.blacklist(&original).await.expect_token(200, EMPTY);
        let blacklisted = token_error("Token is blacklisted");
        app.refresh(&twin.token)
            .await
            .expect_token(401, &blacklisted);
        app.verify(&twin.token)
            .await
            .expect_token(401, &blacklisted);
        app.blacklist(&twin.token)
            .await
            .expect_token(401, &blacklisted);
    }
}

/// Secrets at rest: after logins, a rotation with blacklisting, a logout and a sliding token,
/// the SQLite files (database, WAL and shared memory) hold each refresh token's `jti` but no
/// token, signature or payload: a copy of the database gives an attacker no usable token.
#[tokio::test]
async fn refresh_tokens_are_never_stored_whole() {
    let app = spawn_app(&[
        ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
        ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
    ])
    .await;
    app.create_user("alice", PASSWORD, true).await;
    let (refresh, access) = app.obtain("alice", PASSWORD).await;
    let rotated = app.refresh(&refresh).await.tokens(&["access", "refresh"]);
    app.blacklist(&rotated[1]).await.expect_token(200, EMPTY);
    let sliding = app
        .post_json(
            "/api/token/sliding/",
            &json!({ "username": "alice", "password": PASSWORD }),
        )
        .await
        .tokens(&["token"])
        .remove(0);
    let issued = [&refresh, &access, &rotated[0], &rotated[1], &sliding];

    let db = app.store.path().to_owned();
    let mut stored = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = db.clone().into_os_string();
        path.push(suffix);
        if let Ok(bytes) = std::fs::read(&path) {
            stored.extend(bytes);
        }
    }
    // Everything the tables hold, as text, too (a page could in theory be compressed away).
    let connection = rusqlite::Connection::open(&db).unwrap();
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in &tables {
        let mut statement = connection
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let value: rusqlite::types::Value = row.get(i).unwrap();
                stored.extend(format!("{value:?}\n").into_bytes());
            }
        }
    }
    let contains = |needle: &str| stored.windows(needle.len()).any(|w| w == needle.as_bytes());
    for token in issued {
        let parts: Vec<&str> = token.split('.').collect();
        assert!(!contains(token), "a whole token is stored");
        assert!(!contains(parts[1]), "a token's payload is stored");
        assert!(!contains(parts[2]), "a token's signature is stored");
    }
    // The files searched are the right ones: the refresh tokens' ids are there.
    for token in [&refresh, &rotated[1], &sliding] {
        let jti = decode(token).str("jti").to_owned();
        assert!(contains(&jti), "jti {jti} not found: wrong files searched");
    }
}
