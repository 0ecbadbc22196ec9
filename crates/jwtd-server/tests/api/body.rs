//! Request bodies as DRF parses them: JSON, form-urlencoded and multipart logins; refused media
//! types, malformed JSON, non-object JSON and oversized bodies (G11, G12, G14-G16).

use crate::helpers::*;

#[tokio::test]
async fn form_and_multipart_logins_succeed() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;

    // G14, byte for byte.
    let reply = app
        .post_raw(
            "/api/token/",
            Some("application/x-www-form-urlencoded"),
            "username=alice&password=correct+horse+battery+staple",
        )
        .await;
    let tokens = reply.tokens(&["refresh", "access"]);
    assert_layout(&tokens[0], "HS256", "refresh", 86_400, id, &[]);

    // G15 with the recorded boundary.
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--XyZ\r\n\
                     Content-Disposition: form-data; name=\"password\"\r\n\r\ncorrect horse battery staple\r\n--XyZ--\r\n";
    let reply = app
        .post_raw(
            "/api/token/",
            Some("multipart/form-data; boundary=XyZ"),
            multipart,
        )
        .await;
    let tokens = reply.tokens(&["refresh", "access"]);
    assert_layout(&tokens[1], "HS256", "access", 300, id, &[]);

    // Media type parameters are allowed.
    let body = serde_json::json!({ "username": "alice", "password": PASSWORD }).to_string();
    let reply = app
        .post_raw("/api/token/", Some("application/json; charset=utf-8"), body)
        .await;
    reply.tokens(&["refresh", "access"]);

    // The same through a client's own encoders.
    let url = format!("{}/api/token/", app.address);
    let response = app
        .client
        .post(&url)
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "reqwest form");
    let form = reqwest::multipart::Form::new()
        .text("username", "alice")
        .text("password", PASSWORD);
    let response = app.client.post(&url).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200, "reqwest multipart");
}

#[tokio::test]
async fn unreadable_bodies_are_refused_in_drf_words() {
    let app = spawn_app(&[]).await;
    let mut failures = Failures::default();

    // G16
    let reply = app
        .post_raw("/api/token/", Some("text/plain"), r#"{"username":"alice"}"#)
        .await;
    failures.check(
        "G16 text/plain",
        &reply,
        415,
        r#"{"detail":"Unsupported media type \"text/plain\" in request."}"#,
        View::Token,
    );
    // G12
    let reply = app
        .post_raw("/api/token/", Some("application/json"), "username=alice")
        .await;
    failures.check(
        "G12 malformed JSON",
        &reply,
        400,
        r#"{"detail":"JSON parse error - Expecting value: line 1 column 1 (char 0)"}"#,
        View::Token,
    );
    // G11
    let reply = app
        .post_raw(
            "/api/token/",
            Some("application/json"),
            r#"["alice", "correct horse battery staple"]"#,
        )
        .await;
    failures.check(
        "G11 JSON array",
        &reply,
        400,
        r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#,
        View::Token,
    );
    // The same rules on the other token views.
    let reply = app
        .post_raw("/api/token/refresh/", Some("text/plain"), "x")
        .await;
    failures.check(
        "refresh text/plain",
        &reply,
        415,
        r#"{"detail":"Unsupported media type \"text/plain\" in request."}"#,
        View::Token,
    );
    let reply = app
        .post_raw("/api/token/verify/", Some("application/json"), "[]")
        .await;
    failures.check(
        "verify JSON array",
        &reply,
        400,
        r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#,
        View::Token,
    );
    failures.assert_none();
}

#[tokio::test]
async fn a_one_megabyte_body_is_too_large() {
    let app = spawn_app(&[]).await;
    let body = format!(
        r#"{{"username":"{}","password":"x"}}"#,
        "a".repeat(1024 * 1024)
    );
    let reply = app
        .post_raw("/api/token/", Some("application/json"), body)
        .await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    serde_json::from_str::<serde_json::Value>(&reply.body).expect("a JSON body");
}
