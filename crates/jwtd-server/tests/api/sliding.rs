//! Sliding tokens: obtain, renew (same `jti` and `refresh_exp`), refusals, and
//! `AUTH_TOKEN_CLASSES` letting them authenticate (G110-G114, contract 1.8).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn sliding_tokens_are_issued_and_renewed() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;

    // G110
    let body = json!({ "username": "alice", "password": PASSWORD });
    let reply = app.post_json("/api/token/sliding/", &body).await;
    let token = reply.tokens(&["token"]).remove(0);
    assert_eq!(reply.body.len(), 277, "G110 Content-Length");
    let issued = assert_layout(&token, "HS256", "sliding", 300, id, &[]);
    assert_eq!(
        issued.int("refresh_exp") - issued.int("iat"),
        86_400,
        "refresh_exp"
    );

    // G111
    let renewed = app.renew_sliding(&token).await.tokens(&["token"]);
    let jwt = assert_layout(&renewed[0], "HS256", "sliding", 300, id, &[]);
    assert_eq!(jwt.str("jti"), issued.str("jti"), "renewal keeps the jti");
    assert_eq!(
        jwt.int("refresh_exp"),
        issued.int("refresh_exp"),
        "renewal keeps refresh_exp"
    );

    // Renewal resets iat and exp (a token issued 100 s ago).
    let now = now();
    let old = with(
        &with(&claims("sliding", id.to_string()), "iat", json!(now - 100)),
        "exp",
        json!(now + 200),
    );
    let old = with(&old, "refresh_exp", json!(now + 1_000));
    let minted = app.mint_claims(&old);
    let renewed = app.renew_sliding(&minted).await.tokens(&["token"]);
    let jwt = assert_layout(&renewed[0], "HS256", "sliding", 300, id, &[]);
    assert_eq!(jwt.str("jti"), old["jti"].as_str().unwrap());
    assert_eq!(jwt.int("refresh_exp"), now + 1_000);
    assert!(jwt.int("iat") >= now, "iat reset to now");

    // Failed sliding logins look like failed pair logins.
    let reply = app
        .post_json(
            "/api/token/sliding/",
            &json!({ "username": "alice", "password": "nope" }),
        )
        .await;
    reply.expect_token(401, BAD_CREDENTIALS);
    let reply = app.post_json("/api/token/sliding/", &json!({})).await;
    reply.expect_token(
        400,
        r#"{"username":["This field is required."],"password":["This field is required."]}"#,
    );
}

#[tokio::test]
async fn sliding_tokens_are_refused_where_they_do_not_belong() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let sliding = claims("sliding", id.to_string());
    let token = app.mint_claims(&sliding);
    let wrong_type = token_error("Token has wrong type");
    let now = now();
    let mut failures = Failures::default();

    // G112
    let reply = app.hello(&token).await;
    failures.check(
        "G112 hello",
        &reply,
        401,
        &access_error("Token has wrong type"),
        View::Protected,
    );
    // G113
    let refresh = app.mint_claims(&claims("refresh", id.to_string()));
    failures.check(
        "G113 refresh token renewed",
        &app.renew_sliding(&refresh).await,
        401,
        &wrong_type,
        View::Token,
    );
    let access = app.mint_claims(&claims("access", id.to_string()));
    failures.check(
        "access token renewed",
        &app.renew_sliding(&access).await,
        401,
        &wrong_type,
        View::Token,
    );
    // G114
    failures.check(
        "G114 blacklist",
        &app.blacklist(&token).await,
        401,
        &wrong_type,
        View::Token,
    );
    failures.check(
        "pair refresh",
        &app.refresh(&token).await,
        401,
        &wrong_type,
        View::Token,
    );
    failures.check("verify", &app.verify(&token).await, 200, EMPTY, View::Token);
    // Past refresh_exp, even with a live exp.
    let stale = app.mint_claims(&with(&sliding, "refresh_exp", json!(now - 10)));
    let expected = token_error("Token 'refresh_exp' claim has expired");
    failures.check(
        "refresh_exp passed",
        &app.renew_sliding(&stale).await,
        401,
        &expected,
        View::Token,
    );
    let expired = app.mint_claims(&with(&sliding, "exp", json!(now - 10)));
    failures.check(
        "exp passed",
        &app.renew_sliding(&expired).await,
        401,
        &token_error("Token is expired"),
        View::Token,
    );
    let reply = app
        .post_json("/api/token/sliding/refresh/", &json!({}))
        .await;
    failures.check(
        "missing",
        &reply,
        400,
        r#"{"token":["This field is required."]}"#,
        View::Token,
    );
    failures.assert_none();
}

#[tokio::test]
async fn auth_token_classes_can_admit_sliding_tokens() {
    let app = spawn_app(&[("JWTD_AUTH_TOKEN_CLASSES", "AccessToken,SlidingToken")]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let body = json!({ "username": "alice", "password": PASSWORD });
    let sliding = app
        .post_json("/api/token/sliding/", &body)
        .await
        .tokens(&["token"])
        .remove(0);
    let hello = hello_body("alice");
    app.hello(&sliding).await.expect_protected(200, &hello);
    app.hello(&app.mint_claims(&claims("access", id.to_string())))
        .await
        .expect_protected(200, &hello);
    // A refusal lists every class tried, in order.
    let refresh = app.mint_claims(&claims("refresh", id.to_string()));
    app.hello(&refresh).await.expect_protected(
        401,
        r#"{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token has wrong type"},{"token_class":"SlidingToken","token_type":"sliding","message":"Token has wrong type"}]}"#,
    );
}
