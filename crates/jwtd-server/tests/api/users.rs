//! What happens to tokens when their user changes after issuance (G99-G107, B1), and what a
//! login records (`UPDATE_LAST_LOGIN`, G178-G184).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn tokens_of_deactivated_and_deleted_users() {
    let app = spawn_app(&[]).await;
    app.create_user("bob", PASSWORD, true).await;
    app.create_user("carol", PASSWORD, true).await;
    // G99, G104
    let (bob_refresh, bob_access) = app.obtain("bob", PASSWORD).await;
    let (carol_refresh, carol_access) = app.obtain("carol", PASSWORD).await;
    // G100, G105
    app.deactivate("bob").await;
    app.delete("carol").await;

    let mut failures = Failures::default();
    // G101
    failures.check(
        "G101 hello, inactive",
        &app.hello(&bob_access).await,
        401,
        USER_INACTIVE,
        View::Protected,
    );
    // G102
    failures.check(
        "G102 refresh, inactive",
        &app.refresh(&bob_refresh).await,
        401,
        NO_ACTIVE_ACCOUNT,
        View::Token,
    );
    // G103: verify never looks at the user.
    failures.check(
        "G103 verify, inactive",
        &app.verify(&bob_access).await,
        200,
        EMPTY,
        View::Token,
    );
    // G106
    failures.check(
        "G106 hello, deleted",
        &app.hello(&carol_access).await,
        401,
        USER_NOT_FOUND,
        View::Protected,
    );
    // G107, B1: the deactivated user's answer, not a 500.
    failures.check(
        "G107 B1 refresh, deleted",
        &app.refresh(&carol_refresh).await,
        401,
        NO_ACTIVE_ACCOUNT,
        View::Token,
    );
    failures.check(
        "verify, deleted",
        &app.verify(&carol_access).await,
        200,
        EMPTY,
        View::Token,
    );
    // Neither can log in any more.
    failures.check(
        "login, inactive",
        &app.login("bob", PASSWORD).await,
        401,
        BAD_CREDENTIALS,
        View::Token,
    );
    failures.check(
        "login, deleted",
        &app.login("carol", PASSWORD).await,
        401,
        BAD_CREDENTIALS,
        View::Token,
    );
    // Logging out still works for both (the blacklist does not need the user).
    failures.check(
        "blacklist, inactive",
        &app.blacklist(&bob_refresh).await,
        200,
        EMPTY,
        View::Token,
    );
    failures.check(
        "blacklist, deleted",
        &app.blacklist(&carol_refresh).await,
        200,
        EMPTY,
        View::Token,
    );
    failures.assert_none();
}

#[tokio::test]
async fn last_login_is_left_alone_by_default() {
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    // G178, G179
    app.obtain("alice", PASSWORD).await;
    assert_eq!(app.user("alice").await.last_login, None);
}

#[tokio::test]
async fn update_last_login_stamps_logins_but_not_refreshes() {
    let app = spawn_app(&[("JWTD_UPDATE_LAST_LOGIN", "true")]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    // G180, G181
    let (refresh, _) = app.obtain("alice", PASSWORD).await;
    let stamped = app
        .user("alice")
        .await
        .last_login
        .expect("last_login set by the login");
    assert!((stamped - now()).abs() <= 5, "last_login {stamped} is now");

    // G183, G184: a refresh leaves it alone (an old stamp makes any write visible).
    app.set_last_login(id, 1_000).await;
    app.refresh(&refresh).await.tokens(&["access"]);
    assert_eq!(
        app.user("alice").await.last_login,
        Some(1_000),
        "refresh must not touch last_login"
    );

    // G182, and a sliding login is a login too.
    app.obtain("alice", PASSWORD).await;
    assert!(app.user("alice").await.last_login.unwrap() > 1_000);
    app.set_last_login(id, 1_000).await;
    let body = json!({ "username": "alice", "password": PASSWORD });
    app.post_json("/api/token/sliding/", &body)
        .await
        .tokens(&["token"]);
    assert!(
        app.user("alice").await.last_login.unwrap() > 1_000,
        "sliding login stamps last_login"
    );

    // A failed login does not.
    app.set_last_login(id, 1_000).await;
    app.login("alice", "nope")
        .await
        .expect_token(401, BAD_CREDENTIALS);
    assert_eq!(app.user("alice").await.last_login, Some(1_000));
}
