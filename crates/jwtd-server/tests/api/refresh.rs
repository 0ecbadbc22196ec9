//! `POST /api/token/refresh/` with rotation off: new access tokens, reuse, tokens minted
//! elsewhere, and every refusal, including jwtd's fixes B2, B3 and B8 (G29-G37, G108, G109).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_refresh_token_buys_new_access_tokens_and_stays_reusable() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let (refresh, access) = app.obtain("alice", PASSWORD).await;

    // G29
    let reply = app.refresh(&refresh).await;
    let first = reply.tokens(&["access"]);
    assert_eq!(reply.body.len(), 244, "G29 Content-Length");
    let jwt = assert_layout(&first[0], "HS256", "access", 300, id, &[]);
    assert_ne!(jwt.str("jti"), decode(&access).str("jti"), "a new jti");
    app.hello(&first[0])
        .await
        .expect_protected(200, &hello_body("alice"));

    // G30: rotation off, the same refresh token works again.
    let second = app.refresh(&refresh).await.tokens(&["access"]);
    assert_ne!(decode(&second[0]).str("jti"), jwt.str("jti"));
}

#[tokio::test]
async fn refresh_tokens_minted_elsewhere_are_accepted_and_custom_claims_propagate() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;

    // G36
    let minted = app.mint_claims(&claims("refresh", id.to_string()));
    let access = app.refresh(&minted).await.tokens(&["access"]);
    assert_layout(&access[0], "HS256", "access", 300, id, &[]);

    // Every claim but token_type, exp, iat and jti is copied into the access token.
    let custom = with(
        &claims("refresh", id.to_string()),
        "scope",
        json!("read write"),
    );
    let access = app
        .refresh(&app.mint_claims(&custom))
        .await
        .tokens(&["access"]);
    let jwt = assert_layout(&access[0], "HS256", "access", 300, id, &["scope"]);
    assert_eq!(jwt.str("scope"), "read write");

    // Older simplejwt issued integer user ids.
    let integer = app.mint_claims(&claims("refresh", id));
    let access = app.refresh(&integer).await.tokens(&["access"]);
    app.hello(&access[0])
        .await
        .expect_protected(200, &hello_body("alice"));
}

#[tokio::test]
async fn bad_refresh_tokens_are_refused() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let valid = claims("refresh", id.to_string());
    let now = now();
    let invalid = token_error("Token is invalid");
    let cases: Vec<(&str, String, String)> = vec![
        (
            "G31 an access token",
            app.mint_claims(&claims("access", id.to_string())),
            token_error("Token has wrong type"),
        ),
        (
            "a sliding token",
            app.mint_claims(&claims("sliding", id.to_string())),
            token_error("Token has wrong type"),
        ),
        ("G32 garbage", "garbage".to_owned(), invalid.clone()),
        (
            "G35 expired 10 s ago",
            app.mint_claims(&with(&valid, "exp", json!(now - 10))),
            token_error("Token is expired"),
        ),
        (
            "G37 tampered signature",
            tamper_signature(&app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "another secret",
            sign(
                "HS256",
                b"another-secret-of-at-least-32-bytes!!",
                &header("HS256"),
                &valid.to_string(),
            ),
            invalid.clone(),
        ),
        (
            "HS512 with the right secret",
            app.mint(&valid, &json!({"alg": "HS512", "typ": "JWT"})),
            invalid.clone(),
        ),
        (
            "alg none",
            app.mint(&valid, &json!({"alg": "none", "typ": "JWT"})),
            invalid.clone(),
        ),
        (
            "'=' padding",
            format!("{}=", app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "no token_type",
            app.mint_claims(&without(&valid, "token_type")),
            token_error("Token has no type"),
        ),
        (
            "no exp",
            app.mint_claims(&without(&valid, "exp")),
            token_error("Token has no 'exp' claim"),
        ),
        // B3: no 500, "Token has no id".
        (
            "B3 no jti",
            app.mint_claims(&without(&valid, "jti")),
            token_error("Token has no id"),
        ),
        (
            "numeric jti",
            app.mint_claims(&with(&valid, "jti", json!(12345))),
            invalid.clone(),
        ),
        // B2: malformed time claims are invalid, never a 500.
        (
            "B2 exp as a numeric string",
            app.mint_claims(&with(&valid, "exp", json!((now + 3600).to_string()))),
            invalid.clone(),
        ),
        (
            "B2 exp = 2**64",
            app.mint_raw(
                &header("HS256"),
                &raw_claims("refresh", "18446744073709551616", id),
            ),
            invalid.clone(),
        ),
        (
            "iat in the future",
            app.mint_claims(&with(&valid, "iat", json!(now + 3600))),
            invalid.clone(),
        ),
        // B7: an `aud` when no audience is configured.
        (
            "B7 unexpected aud",
            app.mint_claims(&with(&valid, "aud", json!("elsewhere"))),
            invalid.clone(),
        ),
    ];
    let mut failures = Failures::default();
    for (case, token, expected) in cases {
        failures.check(
            case,
            &app.refresh(&token).await,
            401,
            &expected,
            View::Token,
        );
    }
    // G33, G34 and null.
    let field_cases = [
        (json!({}), r#"{"refresh":["This field is required."]}"#),
        (
            json!({ "refresh": "" }),
            r#"{"refresh":["This field may not be blank."]}"#,
        ),
        (
            json!({ "refresh": null }),
            r#"{"refresh":["This field may not be null."]}"#,
        ),
    ];
    for (body, expected) in field_cases {
        let reply = app.post_json("/api/token/refresh/", &body).await;
        failures.check(&body.to_string(), &reply, 400, expected, View::Token);
    }
    failures.assert_none();
}

#[tokio::test]
async fn refresh_tokens_without_a_usable_user_id_are_refused() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let valid = claims("refresh", id.to_string());
    let mut failures = Failures::default();
    // B8 (G109): no user id is refused instead of issuing an unusable access token.
    let reply = app
        .refresh(&app.mint_claims(&without(&valid, "user_id")))
        .await;
    failures.check("B8 no user_id", &reply, 401, NO_USER_ID, View::Token);
    // B2 (G108 and friends): never a 500, never user 1 for `true`.
    for bad in [
        json!("abc"),
        json!(true),
        json!(""),
        json!([1]),
        json!({ "id": 1 }),
        json!(1.0),
        json!(-1),
    ] {
        let reply = app
            .refresh(&app.mint_claims(&with(&valid, "user_id", bad.clone())))
            .await;
        failures.check(
            &format!("B2 user_id {bad}"),
            &reply,
            401,
            NO_USER_ID,
            View::Token,
        );
    }
    // A well-formed id nobody has.
    let reply = app
        .refresh(&app.mint_claims(&with(&valid, "user_id", json!("999"))))
        .await;
    failures.check("user 999", &reply, 401, NO_ACTIVE_ACCOUNT, View::Token);
    failures.assert_none();
}
