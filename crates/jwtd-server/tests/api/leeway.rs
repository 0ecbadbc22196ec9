//! `LEEWAY=5` with a 1 s access lifetime: skew tolerated on `exp`, `iat` and `nbf`, and no
//! further (G152-G155).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn leeway_tolerates_clock_skew_and_no_more() {
    let app = spawn_app(&[("JWTD_LEEWAY", "5"), ("JWTD_ACCESS_TOKEN_LIFETIME", "1")]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    // G152
    let (refresh, access) = app.obtain("alice", PASSWORD).await;
    assert_layout(&access, "HS256", "access", 1, id, &[]);
    assert_layout(&refresh, "HS256", "refresh", 86_400, id, &[]);

    let now = now();
    let access = claims("access", id.to_string());
    let refresh = claims("refresh", id.to_string());
    let hello = hello_body("alice");
    let mut failures = Failures::default();
    // G153: expired 2 s ago, inside the leeway.
    let late = app.mint_claims(&with(
        &with(&access, "iat", json!(now - 3)),
        "exp",
        json!(now - 2),
    ));
    failures.check(
        "G153 expired inside leeway",
        &app.hello(&late).await,
        200,
        &hello,
        View::Protected,
    );
    failures.check(
        "verify inside leeway",
        &app.verify(&late).await,
        200,
        EMPTY,
        View::Token,
    );
    let late_refresh = app.mint_claims(&with(&refresh, "exp", json!(now - 2)));
    let reply = app.refresh(&late_refresh).await;
    if reply.status == 200 {
        reply.tokens(&["access"]);
    } else {
        failures.check(
            "refresh inside leeway",
            &reply,
            200,
            r#"{"access":"<jwt>"}"#,
            View::Token,
        );
    }
    // G154: expired 10 s ago, outside it.
    let stale = app.mint_claims(&with(&access, "exp", json!(now - 10)));
    let reply = app.hello(&stale).await;
    failures.check(
        "G154 expired outside leeway",
        &reply,
        401,
        &access_error("Token is expired"),
        View::Protected,
    );
    let stale_refresh = app.mint_claims(&with(&refresh, "exp", json!(now - 10)));
    let reply = app.refresh(&stale_refresh).await;
    failures.check(
        "refresh outside leeway",
        &reply,
        401,
        &token_error("Token is expired"),
        View::Token,
    );
    // G155: iat 3 s ahead, inside the leeway; nbf likewise.
    let early = app.mint_claims(&with(&access, "iat", json!(now + 3)));
    failures.check(
        "G155 iat inside leeway",
        &app.hello(&early).await,
        200,
        &hello,
        View::Protected,
    );
    let early = app.mint_claims(&with(&access, "nbf", json!(now + 3)));
    failures.check(
        "nbf inside leeway",
        &app.hello(&early).await,
        200,
        &hello,
        View::Protected,
    );
    // Beyond it.
    let invalid = access_error("Token is invalid");
    let future = app.mint_claims(&with(&access, "iat", json!(now + 60)));
    failures.check(
        "iat outside leeway",
        &app.hello(&future).await,
        401,
        &invalid,
        View::Protected,
    );
    let future = app.mint_claims(&with(&access, "nbf", json!(now + 60)));
    failures.check(
        "nbf outside leeway",
        &app.hello(&future).await,
        401,
        &invalid,
        View::Protected,
    );
    failures.assert_none();
}
