//! `POST /api/token/verify/`: type-agnostic and user-agnostic (B14), but every signature, time
//! and structure check applies, and malformed claims are refused without a 500 (G38-G47, G80,
//! G103).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn verify_accepts_any_valid_token_whatever_its_type_or_user() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    app.create_user("bob", PASSWORD, false).await;
    let bob = app.user("bob").await.id;
    let (refresh, access) = app.obtain("alice", PASSWORD).await;
    let mut failures = Failures::default();
    let cases = [
        ("G38 issued access", access),
        ("G39 issued refresh", refresh),
        (
            "minted sliding",
            app.mint_claims(&claims("sliding", id.to_string())),
        ),
        (
            "G43 no token_type",
            app.mint_claims(&without(&claims("access", id.to_string()), "token_type")),
        ),
        (
            "G44 arbitrary token_type",
            app.mint_claims(&claims("whatever", id.to_string())),
        ),
        (
            "G47 user that does not exist",
            app.mint_claims(&claims("access", "999")),
        ),
        (
            "G103 inactive user",
            app.mint_claims(&claims("access", bob.to_string())),
        ),
        (
            "no user_id",
            app.mint_claims(&without(&claims("access", id.to_string()), "user_id")),
        ),
        (
            "no iat",
            app.mint_claims(&without(&claims("access", id.to_string()), "iat")),
        ),
        (
            "exp as a float",
            app.mint_claims(&with(
                &claims("access", id.to_string()),
                "exp",
                json!(now() as f64 + 300.5),
            )),
        ),
    ];
    for (case, token) in cases {
        failures.check(case, &app.verify(&token).await, 200, EMPTY, View::Token);
    }
    failures.assert_none();
}

#[tokio::test]
async fn verify_refuses_bad_tokens() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let valid = claims("access", id.to_string());
    let now = now();
    let invalid = token_error("Token is invalid");
    let cases: Vec<(&str, String, String)> = vec![
        ("G40 garbage", "garbage".to_owned(), invalid.clone()),
        (
            "G41 expired",
            app.mint_claims(&with(&valid, "exp", json!(now - 10))),
            token_error("Token is expired"),
        ),
        (
            "G45 no jti",
            app.mint_claims(&without(&valid, "jti")),
            token_error("Token has no id"),
        ),
        (
            "G46 no exp",
            app.mint_claims(&without(&valid, "exp")),
            token_error("Token has no 'exp' claim"),
        ),
        (
            "tampered signature",
            tamper_signature(&app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "alg none",
            app.mint(&valid, &json!({"alg": "none", "typ": "JWT"})),
            invalid.clone(),
        ),
        (
            "HS512",
            app.mint(&valid, &json!({"alg": "HS512", "typ": "JWT"})),
            invalid.clone(),
        ),
        (
            "nbf in the future",
            app.mint_claims(&with(&valid, "nbf", json!(now + 3600))),
            invalid.clone(),
        ),
        (
            "iat in the future",
            app.mint_claims(&with(&valid, "iat", json!(now + 3600))),
            invalid.clone(),
        ),
        (
            "numeric jti",
            app.mint_claims(&with(&valid, "jti", json!(1))),
            invalid.clone(),
        ),
        // B2 (G80): malformed times are invalid, never a 500.
        (
            "G80 exp as a numeric string",
            app.mint_claims(&with(&valid, "exp", json!((now + 3600).to_string()))),
            invalid.clone(),
        ),
        (
            "B2 exp = 2**64",
            app.mint_raw(
                &header("HS256"),
                &raw_claims("access", "18446744073709551616", id),
            ),
            invalid.clone(),
        ),
        (
            "B2 exp = true",
            app.mint_claims(&with(&valid, "exp", json!(true))),
            invalid.clone(),
        ),
        (
            "B2 iat as a string",
            app.mint_claims(&with(&valid, "iat", json!(now.to_string()))),
            invalid.clone(),
        ),
        // B7
        (
            "B7 unexpected aud",
            app.mint_claims(&with(&valid, "aud", json!("elsewhere"))),
            invalid.clone(),
        ),
        (
            "'=' padding",
            format!("{}=", app.mint_claims(&valid)),
            invalid.clone(),
        ),
        (
            "two parts",
            app.mint_claims(&valid)
                .rsplit_once('.')
                .unwrap()
                .0
                .to_owned(),
            invalid.clone(),
        ),
    ];
    let mut failures = Failures::default();
    for (case, token, expected) in cases {
        failures.check(case, &app.verify(&token).await, 401, &expected, View::Token);
    }
    // G42 and blank.
    let reply = app.post_json("/api/token/verify/", &json!({})).await;
    failures.check(
        "G42 missing",
        &reply,
        400,
        r#"{"token":["This field is required."]}"#,
        View::Token,
    );
    let reply = app
        .post_json("/api/token/verify/", &json!({ "token": "" }))
        .await;
    failures.check(
        "blank",
        &reply,
        400,
        r#"{"token":["This field may not be blank."]}"#,
        View::Token,
    );
    failures.assert_none();
}
