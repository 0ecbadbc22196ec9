//! `username_field = "email"` in jwtd's own schema: users log in by their unique email, with
//! the body field named after it, as simplejwt's serializer does for a custom `USERNAME_FIELD`.

use jwtd_store::{NewUser, Store};
use serde_json::json;

use crate::helpers::{BAD_CREDENTIALS, PASSWORD, spawn_app};

#[tokio::test]
async fn jwtds_own_users_log_in_by_email_when_it_is_the_username_field() {
    let app = spawn_app(&[("JWTD_USERNAME_FIELD", "email")]).await;
    let hash = app
        .state
        .passwords()
        .hash(PASSWORD.to_owned())
        .await
        .unwrap();
    let alice = app
        .store
        .create_user(NewUser {
            username: "alice".to_owned(),
            password_hash: hash.clone(),
            is_active: true,
            date_joined: 0,
            email: Some("alice@example.com".to_owned()),
        })
        .await
        .unwrap();

    let reply = app
        .post_json(
            "/api/token/",
            &json!({ "email": "alice@example.com", "password": PASSWORD }),
        )
        .await;
    let tokens = reply.tokens(&["refresh", "access"]);
    let me = app
        .get_with_auth("/api/me/", &format!("Bearer {}", tokens[1]))
        .await;
    me.expect(200, &format!(r#"{{"id":{},"username":"alice"}}"#, alice.id));

    // The username is not a login name any more, and the field is named after the setting.
    app.post_json(
        "/api/token/",
        &json!({ "email": "alice", "password": PASSWORD }),
    )
    .await
    .expect(401, BAD_CREDENTIALS);
    app.post_json(
        "/api/token/",
        &json!({ "email": "alice@example.com", "password": "wrong" }),
    )
    .await
    .expect(401, BAD_CREDENTIALS);
    app.post_json(
        "/api/token/",
        &json!({ "email": "nobody@example.com", "password": PASSWORD }),
    )
    .await
    .expect(401, BAD_CREDENTIALS);
    app.login("alice", PASSWORD)
        .await
        .expect(400, r#"{"email":["This field is required."]}"#);
}
