//! Paths and methods: 405s with `Allow`, DRF's `OPTIONS` metadata, paths without the trailing
//! slash (B16: served, no redirect), JSON 404s and the demo views (G19-G28, G88).

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

const TOKEN_PATHS: [&str; 6] = [
    "/api/token/",
    "/api/token/refresh/",
    "/api/token/verify/",
    "/api/token/blacklist/",
    "/api/token/sliding/",
    "/api/token/sliding/refresh/",
];

#[tokio::test]
async fn token_views_accept_only_post_and_options() {
    let app = spawn_app(&[]).await;
    let mut failures = Failures::default();
    // G19-G23, and PATCH/DELETE as section 1.4 says.
    for path in TOKEN_PATHS {
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let body = (method != Method::GET).then(|| b"{}".to_vec());
            let headers: &[(&str, &str)] = if body.is_some() {
                &[("Content-Type", "application/json")]
            } else {
                &[]
            };
            let reply = app.send(method.clone(), path, headers, body).await;
            let expected = format!(r#"{{"detail":"Method \"{method}\" not allowed."}}"#);
            failures.check(
                &format!("{method} {path}"),
                &reply,
                405,
                &expected,
                View::Token,
            );
        }
    }
    failures.assert_none();
}

#[tokio::test]
async fn options_describes_the_obtain_view_like_drf() {
    let app = spawn_app(&[]).await;
    // G24, byte for byte.
    let reply = app.send(Method::OPTIONS, "/api/token/", &[], None).await;
    reply.expect_token(
        200,
        r#"{"name":"Token Obtain Pair","description":"Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.","renders":["application/json"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"],"actions":{"POST":{"username":{"type":"string","required":true,"read_only":false,"label":"Username"},"password":{"type":"string","required":true,"read_only":false,"label":"Password"}}}}"#,
    );
    assert_eq!(reply.body.len(), 485, "G24 Content-Length");
}

#[tokio::test]
async fn paths_without_the_trailing_slash_are_served() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    // G25 (jwtd-decisions: no 301, the POST is served).
    let reply = app
        .post_json(
            "/api/token",
            &json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(reply.header("location"), None);
    let tokens = reply.tokens(&["refresh", "access"]);
    // G26
    app.post_json("/api/token/refresh", &json!({ "refresh": tokens[0] }))
        .await
        .tokens(&["access"]);
    app.post_json("/api/token/verify", &json!({ "token": tokens[1] }))
        .await
        .expect_token(200, EMPTY);
    // G27
    app.get_with_auth("/hello", &format!("Bearer {}", tokens[1]))
        .await
        .expect_protected(200, &hello_body("alice"));
    app.get_with_auth("/api/me", &format!("Bearer {}", tokens[1]))
        .await
        .expect_protected(200, r#"{"id":1,"username":"alice"}"#);
    app.post_json("/api/token/blacklist", &json!({ "refresh": tokens[0] }))
        .await
        .expect_token(200, EMPTY);
    let reply = app.post_json("/api/token/sliding", &json!({})).await;
    reply.expect_token(
        400,
        r#"{"username":["This field is required."],"password":["This field is required."]}"#,
    );
    let reply = app
        .post_json("/api/token/sliding/refresh", &json!({}))
        .await;
    reply.expect_token(400, r#"{"token":["This field is required."]}"#);
}

#[tokio::test]
async fn unknown_paths_are_json_404s() {
    let app = spawn_app(&[]).await;
    // G28 (jwtd-decisions: every body is JSON).
    app.get("/api/nothing/")
        .await
        .expect(404, r#"{"detail":"Not found."}"#);
    app.post_json("/api/token/extra/", &json!({}))
        .await
        .expect(404, r#"{"detail":"Not found."}"#);
    app.get("/").await.expect(404, r#"{"detail":"Not found."}"#);
}

#[tokio::test]
async fn ping_answers_without_authentication() {
    let app = spawn_app(&[]).await;
    // G88
    app.get("/ping/")
        .await
        .expect_protected(200, r#"{"ping":"pong"}"#);
}

#[tokio::test]
async fn responses_carry_the_reference_sites_security_headers() {
    let app = spawn_app(&[]).await;
    for reply in [
        app.get("/hello/").await,
        app.post_json("/api/token/", &json!({})).await,
    ] {
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("same-origin"));
        assert_eq!(
            reply.header("cross-origin-opener-policy"),
            Some("same-origin")
        );
    }
}

#[tokio::test]
async fn server_errors_are_generic_json() {
    let app = spawn_app(&[]).await;
    // B10: break the schema behind the server's back so the store fails.
    let connection = rusqlite::Connection::open(app.store.path()).expect("database opens");
    connection
        .execute_batch("DROP TABLE blacklisted_tokens; DROP TABLE issued_tokens; DROP TABLE users;")
        .unwrap();
    drop(connection);
    let reply = app.login("alice", PASSWORD).await;
    reply.expect_token(500, r#"{"detail":"A server error occurred."}"#);
    let reply = app.hello(&app.mint_claims(&claims("access", "1"))).await;
    reply.expect_protected(500, r#"{"detail":"A server error occurred."}"#);
}
