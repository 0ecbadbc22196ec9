//! `POST /api/token/`: the pair's layout, credential failures and DRF field validation
//! (G1-G10, G13, G17, G18).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_login_issues_a_pair_in_simplejwt_layout() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    assert_eq!(id, 1, "the first user is user 1");

    // G1
    let reply = app.login("alice", PASSWORD).await;
    let tokens = reply.tokens(&["refresh", "access"]);
    assert_eq!(reply.body.len(), 489, "G1 Content-Length");
    let refresh = assert_layout(&tokens[0], "HS256", "refresh", 86_400, id, &[]);
    // jwtd-decisions: an access token's exp - iat is exactly the lifetime.
    let access = assert_layout(&tokens[1], "HS256", "access", 300, id, &[]);
    assert_eq!(
        access.int("exp"),
        refresh.int("iat") + 300,
        "access.exp == refresh.iat + lifetime"
    );
    assert_ne!(access.str("jti"), refresh.str("jti"));
    app.hello(&tokens[1])
        .await
        .expect_protected(200, &hello_body("alice"));

    // Every login is a new pair.
    let (again, _) = app.obtain("alice", PASSWORD).await;
    assert_ne!(decode(&again).str("jti"), refresh.str("jti"));
}

#[tokio::test]
async fn failed_logins_are_indistinguishable() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    app.create_user("sleepy", PASSWORD, false).await;
    app.create_user("12345", PASSWORD, true).await;

    // G2 wrong password, G3 unknown user, G4 inactive user with the right password.
    for (username, password) in [
        ("alice", "nope"),
        ("nobody", PASSWORD),
        ("sleepy", PASSWORD),
    ] {
        app.login(username, password)
            .await
            .expect_token(401, BAD_CREDENTIALS);
    }
    // G10: numbers are coerced to strings (`12345` is the user "12345").
    let numeric = json!({ "username": 12345, "password": "nope" });
    app.post_json("/api/token/", &numeric)
        .await
        .expect_token(401, BAD_CREDENTIALS);
    let numeric = json!({ "username": 12345, "password": PASSWORD });
    app.post_json("/api/token/", &numeric)
        .await
        .tokens(&["refresh", "access"]);
}

#[tokio::test]
async fn invalid_fields_get_drf_validation_errors() {
    let app = spawn_app(&[]).await;
    let cases = [
        // G5
        (
            json!({}),
            r#"{"username":["This field is required."],"password":["This field is required."]}"#,
        ),
        // G6
        (
            json!({ "username": "alice" }),
            r#"{"password":["This field is required."]}"#,
        ),
        (
            json!({ "password": PASSWORD }),
            r#"{"username":["This field is required."]}"#,
        ),
        // G7
        (
            json!({ "username": "", "password": "" }),
            r#"{"username":["This field may not be blank."],"password":["This field may not be blank."]}"#,
        ),
        // G8
        (
            json!({ "username": null, "password": null }),
            r#"{"username":["This field may not be null."],"password":["This field may not be null."]}"#,
        ),
        // G9
        (
            json!({ "username": ["alice"], "password": true }),
            r#"{"username":["Not a valid string."],"password":["Not a valid string."]}"#,
        ),
    ];
    let mut failures = Failures::default();
    for (body, expected) in cases {
        let reply = app.post_json("/api/token/", &body).await;
        failures.check(&body.to_string(), &reply, 400, expected, View::Token);
    }
    // G13: an empty body with a JSON content type is an empty object.
    let reply = app
        .post_raw("/api/token/", Some("application/json"), "")
        .await;
    failures.check(
        "G13 empty body",
        &reply,
        400,
        r#"{"username":["This field is required."],"password":["This field is required."]}"#,
        View::Token,
    );
    failures.assert_none();
}

#[tokio::test]
async fn extra_fields_and_authorization_headers_are_ignored() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;

    // G17
    let body = json!({ "username": "alice", "password": PASSWORD, "admin": true });
    app.post_json("/api/token/", &body)
        .await
        .tokens(&["refresh", "access"]);

    // G18
    let body = serde_json::to_vec(&json!({ "username": "alice", "password": PASSWORD })).unwrap();
    let headers = [
        ("Authorization", "Bearer garbage"),
        ("Content-Type", "application/json"),
    ];
    let reply = app
        .send(reqwest::Method::POST, "/api/token/", &headers, Some(body))
        .await;
    reply.tokens(&["refresh", "access"]);
}
