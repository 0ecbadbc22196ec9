//! Protected views (`/hello/`, `/api/me/`) as DRF's `JWTAuthentication` guards them: the
//! `Authorization` header, every token check with its passing case beside it, user ids, and
//! method checks after authentication (G48-G87).

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_valid_access_token_reaches_the_views() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let (_, access) = app.obtain("alice", PASSWORD).await;
    let hello = hello_body("alice");
    let mut failures = Failures::default();

    // G48, G49
    failures.check(
        "G48",
        &app.hello(&access).await,
        200,
        &hello,
        View::Protected,
    );
    let reply = app
        .get_with_auth("/api/me/", &format!("Bearer {access}"))
        .await;
    failures.check(
        "G49",
        &reply,
        200,
        &format!(r#"{{"id":{id},"username":"alice"}}"#),
        View::Protected,
    );
    // G56: split on any whitespace. B9: the scheme is case-insensitive.
    let headers = [
        ("G56 two spaces", format!("Bearer  {access}")),
        ("B9 lowercase bearer", format!("bearer {access}")),
        ("uppercase BEARER", format!("BEARER {access}")),
        ("a tab", format!("Bearer\t{access}")),
    ];
    for (case, header) in headers {
        failures.check(
            case,
            &app.get_with_auth("/hello/", &header).await,
            200,
            &hello,
            View::Protected,
        );
    }
    // Tokens minted elsewhere in simplejwt's layout.
    let valid = claims("access", id.to_string());
    let minted = [
        ("G65 simplejwt layout", app.mint_claims(&valid)),
        ("G66 user_id as a JSON int", app.mint_claims(&claims("access", id))),
        ("G73 no iat", app.mint_claims(&without(&valid, "iat"))),
        ("G76 iss without ISSUER", app.mint_claims(&with(&valid, "iss", json!("https://elsewhere.example")))),
        ("G77 exp as a float", app.mint_claims(&with(&valid, "exp", json!(now() as f64 + 300.25)))),
        ("extra claims", app.mint_claims(&with(&valid, "scope", json!(["a", "b"])))),
        ("nbf in the past", app.mint_claims(&with(&valid, "nbf", json!(now() - 60)))),
        (
            "G84 kid and extra header fields",
            app.mint(&valid, &json!({ "alg": "HS256", "cty": "JWT", "kid": "key-1", "typ": "JWT", "x-extra": 1 })),
        ),
        ("no typ header", app.mint(&valid, &json!({ "alg": "HS256" }))),
    ];
    for (case, token) in minted {
        failures.check(case, &app.hello(&token).await, 200, &hello, View::Protected);
    }
    failures.assert_none();

    // G87: HEAD answers the GET's headers without a body.
    let reply = app
        .send(
            Method::HEAD,
            "/hello/",
            &[("Authorization", &format!("Bearer {access}"))],
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(
        reply.header("content-length"),
        Some("27"),
        "G87 Content-Length"
    );
}

#[tokio::test]
async fn authorization_headers_without_a_bearer_token_are_refused() {
    let app = spawn_app(&[]).await;
    let mut failures = Failures::default();
    // G50
    failures.check(
        "G50 no header",
        &app.get("/hello/").await,
        401,
        NOT_PROVIDED,
        View::Protected,
    );
    failures.check(
        "/api/me/ no header",
        &app.get("/api/me/").await,
        401,
        NOT_PROVIDED,
        View::Protected,
    );
    let cases = [
        ("G51 empty", "", NOT_PROVIDED),
        ("G52 Token x", "Token x", NOT_PROVIDED),
        ("Basic", "Basic YWxpY2U6c2VjcmV0", NOT_PROVIDED),
        ("G54 Bearer alone", "Bearer", BAD_HEADER),
        ("G55 Bearer a b", "Bearer a b", BAD_HEADER),
        (
            "G57 Bearer garbage",
            "Bearer garbage",
            &access_error("Token is invalid"),
        ),
    ];
    for (case, header, expected) in cases {
        let reply = app.get_with_auth("/hello/", header).await;
        failures.check(case, &reply, 401, expected, View::Protected);
    }
    failures.assert_none();
}

#[tokio::test]
async fn every_token_check_refuses_on_the_protected_endpoint() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let valid = claims("access", id.to_string());
    let now = now();
    // The passing case the refusals are variations of.
    app.hello(&app.mint_claims(&valid))
        .await
        .expect_protected(200, &hello_body("alice"));

    let invalid = access_error("Token is invalid");
    let cases: Vec<(&str, String, String)> = vec![
        // Signature and algorithm.
        (
            "G60 tampered signature",
            tamper_signature(&app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "G61 tampered payload",
            tampered_payload(&app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "G62 alg none",
            app.mint(&valid, &json!({ "alg": "none", "typ": "JWT" })),
            invalid.clone(),
        ),
        (
            "alg none with a signature",
            none_with_signature(&app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "G63 HS512, right secret",
            app.mint(&valid, &json!({ "alg": "HS512", "typ": "JWT" })),
            invalid.clone(),
        ),
        (
            "HS384, right secret",
            app.mint(&valid, &json!({ "alg": "HS384", "typ": "JWT" })),
            invalid.clone(),
        ),
        (
            "G64 another secret",
            sign(
                "HS256",
                b"another-secret-of-at-least-32-bytes!!",
                &header("HS256"),
                &valid.to_string(),
            ),
            invalid.clone(),
        ),
        (
            "empty signature",
            format!("{}.", app.mint_claims(&valid).rsplit_once('.').unwrap().0),
            invalid.clone(),
        ),
        (
            "G83 '=' padding",
            format!("{}=", app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "non-canonical base64url",
            non_canonical_signature(&app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "crit header",
            app.mint(
                &valid,
                &json!({ "alg": "HS256", "crit": ["exp"], "typ": "JWT" }),
            ),
            invalid.clone(),
        ),
        // Times.
        (
            "G59 expired 10 s ago",
            app.mint_claims(&with(&valid, "exp", json!(now - 10))),
            access_error("Token is expired"),
        ),
        (
            "exp == now",
            app.mint_claims(&with(&valid, "exp", json!(now))),
            access_error("Token is expired"),
        ),
        (
            "G74 nbf 1 h ahead",
            app.mint_claims(&with(&valid, "nbf", json!(now + 3600))),
            invalid.clone(),
        ),
        (
            "G72 iat 1 h ahead",
            app.mint_claims(&with(&valid, "iat", json!(now + 3600))),
            invalid.clone(),
        ),
        (
            "G71 no exp",
            app.mint_claims(&without(&valid, "exp")),
            access_error("Token has no 'exp' claim"),
        ),
        (
            "G78 B2 exp as a string",
            app.mint_claims(&with(&valid, "exp", json!((now + 3600).to_string()))),
            invalid.clone(),
        ),
        (
            "G79 B2 exp = 2**64",
            app.mint_raw(
                &header("HS256"),
                &raw_claims("access", "18446744073709551616", id),
            ),
            invalid.clone(),
        ),
        (
            "B2 nbf as a string",
            app.mint_claims(&with(&valid, "nbf", json!(now.to_string()))),
            invalid.clone(),
        ),
        // Audience (B7: refused when no audience is configured).
        (
            "G75 B7 aud without AUDIENCE",
            app.mint_claims(&with(&valid, "aud", json!("jwtd-clients"))),
            invalid.clone(),
        ),
        // Identity and type.
        (
            "G69 no jti",
            app.mint_claims(&without(&valid, "jti")),
            access_error("Token has no id"),
        ),
        (
            "G70 numeric jti",
            app.mint_claims(&with(&valid, "jti", json!(12345))),
            invalid.clone(),
        ),
        (
            "G58 a refresh token",
            app.mint_claims(&claims("refresh", id.to_string())),
            access_error("Token has wrong type"),
        ),
        (
            "G112 a sliding token",
            app.mint_claims(&claims("sliding", id.to_string())),
            access_error("Token has wrong type"),
        ),
        (
            "no token_type",
            app.mint_claims(&without(&valid, "token_type")),
            access_error("Token has no type"),
        ),
        (
            "token_type as a number",
            app.mint_claims(&with(&valid, "token_type", json!(1))),
            access_error("Token has wrong type"),
        ),
    ];
    let mut failures = Failures::default();
    for (case, token, expected) in cases {
        failures.check(
            case,
            &app.hello(&token).await,
            401,
            &expected,
            View::Protected,
        );
    }
    failures.assert_none();
}

#[tokio::test]
async fn tokens_without_a_usable_user_id_never_authenticate() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    assert_eq!(id, 1, "`true` would be looked up as user 1 by simplejwt");
    let valid = claims("access", id.to_string());
    let mut failures = Failures::default();
    // G67
    let reply = app
        .hello(&app.mint_claims(&without(&valid, "user_id")))
        .await;
    failures.check("G67 no user_id", &reply, 401, NO_USER_ID, View::Protected);
    // B2: G68 "abc", G81 true (simplejwt logs in as user 1), G82 "", and other non-ids.
    for bad in [
        json!("abc"),
        json!(true),
        json!(""),
        json!([1]),
        json!({ "id": 1 }),
        json!(1.0),
        json!(null),
        json!(" 1"),
    ] {
        let reply = app
            .hello(&app.mint_claims(&with(&valid, "user_id", bad.clone())))
            .await;
        failures.check(
            &format!("B2 user_id {bad}"),
            &reply,
            401,
            NO_USER_ID,
            View::Protected,
        );
        let reply = app
            .get_with_auth(
                "/api/me/",
                &format!(
                    "Bearer {}",
                    app.mint_claims(&with(&valid, "user_id", bad.clone()))
                ),
            )
            .await;
        failures.check(
            &format!("B2 /api/me/ user_id {bad}"),
            &reply,
            401,
            NO_USER_ID,
            View::Protected,
        );
    }
    // A well-formed id nobody has.
    let reply = app
        .hello(&app.mint_claims(&with(&valid, "user_id", json!("999"))))
        .await;
    failures.check("user 999", &reply, 401, USER_NOT_FOUND, View::Protected);
    failures.assert_none();
}

#[tokio::test]
async fn methods_are_checked_after_authentication() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let access = app.mint_claims(&claims("access", id.to_string()));
    let json_body = Some(b"{}".to_vec());
    // G85
    let auth = format!("Bearer {access}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let reply = app
        .send(Method::POST, "/hello/", &headers, json_body.clone())
        .await;
    reply.expect_protected(405, r#"{"detail":"Method \"POST\" not allowed."}"#);
    let reply = app
        .send(Method::DELETE, "/api/me/", &headers[..1], None)
        .await;
    reply.expect_protected(405, r#"{"detail":"Method \"DELETE\" not allowed."}"#);
    // G86
    let reply = app
        .send(
            Method::POST,
            "/hello/",
            &[("Content-Type", "application/json")],
            json_body,
        )
        .await;
    reply.expect_protected(401, NOT_PROVIDED);
    let reply = app
        .send(
            Method::PUT,
            "/hello/",
            &[("Authorization", "Bearer garbage")],
            None,
        )
        .await;
    reply.expect_protected(401, &access_error("Token is invalid"));
}

/// `token` with its payload's `user_id` changed and the old signature kept (G61).
fn tampered_payload(token: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let jwt = decode(token);
    let forged = with(
        &serde_json::Value::Object(jwt.claims),
        "user_id",
        json!("2"),
    );
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    )
}

/// `token` with its header switched to `alg: none`, keeping the HS256 signature.
fn none_with_signature(token: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1],
        parts[2]
    )
}

/// `token` with the unused low bits of its HS256 signature's last character set: the same
/// signature bytes under a second, non-canonical encoding (RFC 7515 allows only one).
fn non_canonical_signature(token: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (rest, signature) = token.rsplit_once('.').unwrap();
    assert_eq!(
        signature.len(),
        43,
        "a 32-byte signature leaves 2 unused bits in its last character"
    );
    let last = signature.chars().last().unwrap();
    let index = ALPHABET.find(last).unwrap() ^ 1;
    format!("{rest}.{}{}", &signature[..42], &ALPHABET[index..=index])
}
