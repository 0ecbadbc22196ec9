//! `POST /api/token/blacklist/` (logout) in the default configuration: blacklisting, reuse of a
//! blacklisted token everywhere, tokens never issued here, and refusals (G89-G98; B3, B4).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_blacklisted_refresh_token_is_dead_everywhere_but_its_access_token_lives() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    // G89
    let (refresh, access) = app.obtain("alice", PASSWORD).await;
    let blacklisted = token_error("Token is blacklisted");
    let mut failures = Failures::default();
    // G90
    failures.check(
        "G90 blacklist",
        &app.blacklist(&refresh).await,
        200,
        EMPTY,
        View::Token,
    );
    // G91
    failures.check(
        "G91 again",
        &app.blacklist(&refresh).await,
        401,
        &blacklisted,
        View::Token,
    );
    // G92
    failures.check(
        "G92 refresh",
        &app.refresh(&refresh).await,
        401,
        &blacklisted,
        View::Token,
    );
    // G93, B4: verify consults the blacklist in every mode.
    failures.check(
        "G93 B4 verify",
        &app.verify(&refresh).await,
        401,
        &blacklisted,
        View::Token,
    );
    // G94: access tokens are never checked against the blacklist.
    failures.check(
        "G94 hello",
        &app.hello(&access).await,
        200,
        &hello_body("alice"),
        View::Protected,
    );
    failures.check(
        "verify access",
        &app.verify(&access).await,
        200,
        EMPTY,
        View::Token,
    );
    // G95
    let reply = app.blacklist(&access).await;
    failures.check(
        "G95 an access token",
        &reply,
        401,
        &token_error("Token has wrong type"),
        View::Token,
    );
    // G96
    failures.check(
        "G96 garbage",
        &app.blacklist("x").await,
        401,
        &token_error("Token is invalid"),
        View::Token,
    );
    // G97 and blank.
    let reply = app.post_json("/api/token/blacklist/", &json!({})).await;
    failures.check(
        "G97 missing",
        &reply,
        400,
        r#"{"refresh":["This field is required."]}"#,
        View::Token,
    );
    let reply = app
        .post_json("/api/token/blacklist/", &json!({ "refresh": "" }))
        .await;
    failures.check(
        "blank",
        &reply,
        400,
        r#"{"refresh":["This field may not be blank."]}"#,
        View::Token,
    );
    failures.assert_none();
}

#[tokio::test]
async fn refresh_tokens_never_issued_here_can_be_blacklisted() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let blacklisted = token_error("Token is blacklisted");
    let mut failures = Failures::default();
    // G98
    let minted = app.mint_claims(&claims("refresh", id.to_string()));
    failures.check(
        "G98 blacklist",
        &app.blacklist(&minted).await,
        200,
        EMPTY,
        View::Token,
    );
    failures.check(
        "then refresh",
        &app.refresh(&minted).await,
        401,
        &blacklisted,
        View::Token,
    );
    failures.check(
        "then verify",
        &app.verify(&minted).await,
        401,
        &blacklisted,
        View::Token,
    );
    // Naming a user that does not exist, or none at all: still a logout, not a 500.
    let nobody = app.mint_claims(&claims("refresh", "999"));
    failures.check(
        "unknown user",
        &app.blacklist(&nobody).await,
        200,
        EMPTY,
        View::Token,
    );
    let anonymous = app.mint_claims(&without(&claims("refresh", "1"), "user_id"));
    failures.check(
        "no user_id",
        &app.blacklist(&anonymous).await,
        200,
        EMPTY,
        View::Token,
    );
    failures.assert_none();
}

#[tokio::test]
async fn malformed_refresh_tokens_cannot_be_blacklisted() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let valid = claims("refresh", id.to_string());
    let cases: Vec<(&str, String, String)> = vec![
        // B3: no 500.
        (
            "B3 no jti",
            app.mint_claims(&without(&valid, "jti")),
            token_error("Token has no id"),
        ),
        (
            "expired",
            app.mint_claims(&with(&valid, "exp", json!(now() - 10))),
            token_error("Token is expired"),
        ),
        (
            "no exp",
            app.mint_claims(&without(&valid, "exp")),
            token_error("Token has no 'exp' claim"),
        ),
        (
            "no token_type",
            app.mint_claims(&without(&valid, "token_type")),
            token_error("Token has no type"),
        ),
        (
            "G114 a sliding token",
            app.mint_claims(&claims("sliding", id.to_string())),
            token_error("Token has wrong type"),
        ),
        (
            "tampered",
            tamper_signature(&app.mint_claims(&valid)),
            token_error("Token is invalid"),
        ),
        (
            "B2 exp as a string",
            app.mint_claims(&with(&valid, "exp", json!((now() + 60).to_string()))),
            token_error("Token is invalid"),
        ),
    ];
    let mut failures = Failures::default();
    for (case, token, expected) in cases {
        failures.check(
            case,
            &app.blacklist(&token).await,
            401,
            &expected,
            View::Token,
        );
    }
    failures.assert_none();
}
