//! `AUDIENCE` and `ISSUER`: stamped after `user_id` on every token, carried through refresh,
//! and required on every token presented (G156-G165).

use serde_json::json;

use crate::helpers::*;

const AUDIENCE: &str = "jwtd-clients";
const ISSUER: &str = "https://auth.example";

#[tokio::test]
async fn audience_and_issuer_are_stamped_and_required() {
    let app = spawn_app(&[("JWTD_AUDIENCE", AUDIENCE), ("JWTD_ISSUER", ISSUER)]).await;
    let id = app.create_user("alice", PASSWORD, true).await;

    // G156
    let reply = app.login("alice", PASSWORD).await;
    let tokens = reply.tokens(&["refresh", "access"]);
    assert_eq!(reply.body.len(), 622, "G156 Content-Length");
    for (token, token_type, lifetime) in
        [(&tokens[0], "refresh", 86_400), (&tokens[1], "access", 300)]
    {
        let jwt = assert_layout(token, "HS256", token_type, lifetime, id, &["aud", "iss"]);
        assert_eq!((jwt.str("aud"), jwt.str("iss")), (AUDIENCE, ISSUER));
    }
    // G157
    let reply = app.refresh(&tokens[0]).await;
    let access = reply.tokens(&["access"]);
    assert_eq!(reply.body.len(), 310, "G157 Content-Length");
    let jwt = assert_layout(&access[0], "HS256", "access", 300, id, &["aud", "iss"]);
    assert_eq!((jwt.str("aud"), jwt.str("iss")), (AUDIENCE, ISSUER));

    let hello = hello_body("alice");
    let valid = with(
        &with(&claims("access", id.to_string()), "aud", json!(AUDIENCE)),
        "iss",
        json!(ISSUER),
    );
    let invalid = access_error("Token is invalid");
    let mut failures = Failures::default();
    // G158
    failures.check(
        "G158 issued",
        &app.hello(&tokens[1]).await,
        200,
        &hello,
        View::Protected,
    );
    // G159
    failures.check(
        "G159 minted",
        &app.hello(&app.mint_claims(&valid)).await,
        200,
        &hello,
        View::Protected,
    );
    // G160
    let listed = app.mint_claims(&with(&valid, "aud", json!(["other", AUDIENCE])));
    failures.check(
        "G160 aud list",
        &app.hello(&listed).await,
        200,
        &hello,
        View::Protected,
    );
    let refusals = [
        ("G161 no aud", without(&valid, "aud")),
        ("G162 wrong aud", with(&valid, "aud", json!("other"))),
        (
            "aud list without ours",
            with(&valid, "aud", json!(["other", "another"])),
        ),
        ("aud empty list", with(&valid, "aud", json!([]))),
        ("aud as a number", with(&valid, "aud", json!(1))),
        ("G163 no iss", without(&valid, "iss")),
        (
            "G164 wrong iss",
            with(&valid, "iss", json!("https://evil.example")),
        ),
        ("iss as a list", with(&valid, "iss", json!([ISSUER]))),
    ];
    for (case, claims) in &refusals {
        failures.check(
            case,
            &app.hello(&app.mint_claims(claims)).await,
            401,
            &invalid,
            View::Protected,
        );
    }
    // G165, and the same rules on the token endpoints.
    let wrong_aud = app.mint_claims(&with(&valid, "aud", json!("other")));
    let reply = app.verify(&wrong_aud).await;
    failures.check(
        "G165 verify wrong aud",
        &reply,
        401,
        &token_error("Token is invalid"),
        View::Token,
    );
    let refresh = with(
        &with(&claims("refresh", id.to_string()), "aud", json!(AUDIENCE)),
        "iss",
        json!(ISSUER),
    );
    let reply = app
        .refresh(&app.mint_claims(&without(&refresh, "aud")))
        .await;
    failures.check(
        "refresh without aud",
        &reply,
        401,
        &token_error("Token is invalid"),
        View::Token,
    );
    let reply = app
        .refresh(&app.mint_claims(&without(&refresh, "iss")))
        .await;
    failures.check(
        "refresh without iss",
        &reply,
        401,
        &token_error("Token is invalid"),
        View::Token,
    );
    failures.assert_none();
    app.refresh(&app.mint_claims(&refresh))
        .await
        .tokens(&["access"]);
}
