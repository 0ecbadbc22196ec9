//! The rotation and blacklist matrix (contract 1.5) for the four combinations of
//! `ROTATE_REFRESH_TOKENS` and `BLACKLIST_AFTER_ROTATION`, as amended by B4 (verify always
//! refuses a blacklisted token with 401) and B5 (rotation is atomic) (G115-G144).

use std::sync::Arc;

use serde_json::json;

use crate::helpers::*;

fn flag(on: bool) -> &'static str {
    if on { "true" } else { "false" }
}

async fn matrix(rotate: bool, blacklist_after_rotation: bool) {
    let app = spawn_app(&[
        ("JWTD_ROTATE_REFRESH_TOKENS", flag(rotate)),
        (
            "JWTD_BLACKLIST_AFTER_ROTATION",
            flag(blacklist_after_rotation),
        ),
    ])
    .await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let blacklisted = token_error("Token is blacklisted");
    let refresh_keys: &[&str] = if rotate {
        &["access", "refresh"]
    } else {
        &["access"]
    };

    // G115, G124, G134
    let (original, original_access) = app.obtain("alice", PASSWORD).await;
    // G116, G125, G135
    let reply = app.refresh(&original).await;
    let tokens = reply.tokens(refresh_keys);
    assert_eq!(
        reply.body.len(),
        if rotate { 489 } else { 244 },
        "Content-Length"
    );
    assert_layout(&tokens[0], "HS256", "access", 300, id, &[]);
    let successor = rotate.then(|| {
        // Same claims, new jti, iat = now, exp = now + lifetime.
        let jwt = assert_layout(&tokens[1], "HS256", "refresh", 86_400, id, &[]);
        assert_ne!(
            jwt.str("jti"),
            decode(&original).str("jti"),
            "the successor has a new jti"
        );
        tokens[1].clone()
    });

    // G117, G126, G136: reuse of the original.
    let reuse = app.refresh(&original).await;
    if rotate && blacklist_after_rotation {
        reuse.expect_token(401, &blacklisted);
    } else {
        // B6: without blacklisting, a rotated token stays valid (configuration, kept compatible).
        reuse.tokens(refresh_keys);
    }
    // G127, G137: the successor works.
    if let Some(successor) = &successor {
        app.refresh(successor).await.tokens(refresh_keys);
    }
    // G118, G128, G138 (B4: 401, not 400 non_field_errors).
    let verify = app.verify(&original).await;
    if rotate && blacklist_after_rotation {
        verify.expect_token(401, &blacklisted);
    } else {
        verify.expect_token(200, EMPTY);
    }
    // G119, G129, G139: the original pair's access token keeps working.
    app.hello(&original_access)
        .await
        .expect_protected(200, &hello_body("alice"));

    // G120, G130, G140
    let (logout, logout_access) = app.obtain("alice", PASSWORD).await;
    // G121, G131, G141
    app.blacklist(&logout).await.expect_token(200, EMPTY);
    // G122, G132, G142, B4: 401 in every mode (simplejwt: 400 or even 200).
    app.verify(&logout).await.expect_token(401, &blacklisted);
    // G123, G133, G143
    app.verify(&logout_access).await.expect_token(200, EMPTY);
    // In every mode: blacklist then refresh, blacklist twice.
    app.refresh(&logout).await.expect_token(401, &blacklisted);
    app.blacklist(&logout).await.expect_token(401, &blacklisted);
    if rotate && blacklist_after_rotation {
        // A token blacklisted by rotation cannot be logged out twice either.
        app.blacklist(&original)
            .await
            .expect_token(401, &blacklisted);
    }
}

#[tokio::test]
async fn rotation_off_blacklist_off() {
    matrix(false, false).await;
}

#[tokio::test]
async fn rotation_off_blacklist_on() {
    matrix(false, true).await;
}

#[tokio::test]
async fn rotation_on_blacklist_off() {
    matrix(true, false).await;
}

#[tokio::test]
async fn rotation_on_blacklist_on() {
    matrix(true, true).await;
}

/// B5 (G144): of concurrent refreshes of one token, exactly one rotates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_rotate_it_exactly_once() {
    const REQUESTS: usize = 16;
    const TRIALS: usize = 5;
    let app = Arc::new(
        spawn_app(&[
            ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
            ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
        ])
        .await,
    );
    app.create_user("alice", PASSWORD, true).await;
    let (mut refresh, _) = app.obtain("alice", PASSWORD).await;
    let blacklisted = token_error("Token is blacklisted");
    for trial in 1..=TRIALS {
        let barrier = Arc::new(tokio::sync::Barrier::new(REQUESTS));
        let tasks: Vec<_> = (0..REQUESTS)
            .map(|_| {
                let (app, token, barrier) = (app.clone(), refresh.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    app.refresh(&token).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let reply = task.await.expect("request task");
            if reply.status == 200 {
                winners.push(reply);
            } else {
                reply.expect_token(401, &blacklisted);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "trial {trial}: successful refreshes of one token"
        );
        // The winner's successor is the next trial's token.
        refresh = winners[0].tokens(&["access", "refresh"])[1].clone();
    }
}

#[tokio::test]
async fn rotation_keeps_custom_claims_and_slides_the_expiry() {
    let app = spawn_app(&[
        ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
        ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
    ])
    .await;
    let id = app.create_user("alice", PASSWORD, true).await;
    // A refresh token an hour from its end, with a custom claim.
    let now = now();
    let old = with(
        &claims("refresh", id.to_string()),
        "iat",
        json!(now - 82_800),
    );
    let old = with(
        &with(&old, "exp", json!(now + 3_600)),
        "scope",
        json!("read"),
    );
    let tokens = app
        .refresh(&app.mint_claims(&old))
        .await
        .tokens(&["access", "refresh"]);
    let access = assert_layout(&tokens[0], "HS256", "access", 300, id, &["scope"]);
    assert_eq!(access.str("scope"), "read");
    // B6: same claims, new jti, iat = now and exp = now + lifetime.
    let successor = assert_layout(&tokens[1], "HS256", "refresh", 86_400, id, &["scope"]);
    assert_eq!(successor.str("scope"), "read");
    assert_ne!(successor.str("jti"), old["jti"].as_str().unwrap());
    assert!(successor.int("exp") >= now + 86_400);
}
