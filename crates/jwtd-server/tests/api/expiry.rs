//! Short lifetimes (access 2 s, refresh 4 s): exact stamping and expiry everywhere, with times
//! passed in through minted claims instead of sleeping (G145-G151).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn lifetimes_are_stamped_exactly_and_expiry_is_enforced_everywhere() {
    let app = spawn_app(&[
        ("JWTD_ACCESS_TOKEN_LIFETIME", "2"),
        ("JWTD_REFRESH_TOKEN_LIFETIME", "4"),
    ])
    .await;
    let id = app.create_user("alice", PASSWORD, true).await;
    // G145
    let (refresh, _) = app.obtain("alice", PASSWORD).await;
    assert_layout(&refresh, "HS256", "refresh", 4, id, &[]);
    // G148, G149: the new access token's exp is now + the access lifetime.
    let access = app.refresh(&refresh).await.tokens(&["access"]);
    assert_layout(&access[0], "HS256", "access", 2, id, &[]);

    // The same tokens 2.2 s and 4.4 s later, as another signer with the same key would make them.
    let now = now();
    let old_access = with(
        &with(&claims("access", id.to_string()), "iat", json!(now - 3)),
        "exp",
        json!(now - 1),
    );
    let old_refresh = with(
        &with(&claims("refresh", id.to_string()), "iat", json!(now - 5)),
        "exp",
        json!(now - 1),
    );
    let (old_access, old_refresh) = (app.mint_claims(&old_access), app.mint_claims(&old_refresh));
    let expired = token_error("Token is expired");
    let mut failures = Failures::default();
    // G146
    let reply = app.hello(&old_access).await;
    failures.check(
        "G146 hello",
        &reply,
        401,
        &access_error("Token is expired"),
        View::Protected,
    );
    // G147
    failures.check(
        "G147 verify",
        &app.verify(&old_access).await,
        401,
        &expired,
        View::Token,
    );
    // G150
    failures.check(
        "G150 refresh",
        &app.refresh(&old_refresh).await,
        401,
        &expired,
        View::Token,
    );
    // G151
    failures.check(
        "G151 blacklist",
        &app.blacklist(&old_refresh).await,
        401,
        &expired,
        View::Token,
    );
    failures.check(
        "verify refresh",
        &app.verify(&old_refresh).await,
        401,
        &expired,
        View::Token,
    );
    failures.assert_none();
}
