//! The JWKS cache against a server that rotates, floods, fails and recovers.

use std::time::Duration;

use jwtd_token::Algorithm;
use jwtd_verify::{BuildError, ErrorKind, FetchError, Verifier};
use serde_json::json;

use crate::helpers::{Issuer, JwksServer, base64_url, jwks_of, wait_until, with_header, with_kid};

const WITHIN: Duration = Duration::from_secs(5);

/// A way to break the JWKS server's answer.
type Break = Box<dyn Fn(&mut crate::helpers::Served)>;

#[tokio::test]
async fn a_new_kid_refetches_once_and_old_kids_keep_passing() {
    let old = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&old])).await;
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .build()
        .await
        .unwrap();
    assert_eq!(verifier.fetch_count(), 1);
    assert!(verifier.verify(&old.access(1)).await.is_ok());
    assert_eq!(verifier.fetch_count(), 1);

    // The issuer publishes a new key and signs with it.
    let new = Issuer::new(Algorithm::ES256);
    server.serve(&jwks_of(&[&old, &new]));
    let verified = verifier.verify(&new.access(2)).await.unwrap();
    assert_eq!(verified.user_id(), "2");
    assert_eq!(verifier.fetch_count(), 2);
    assert_eq!(server.requests(), 2);
    // Both keys verify from the cache now.
    assert!(verifier.verify(&old.access(3)).await.is_ok());
    assert!(verifier.verify(&new.access(4)).await.is_ok());
    assert_eq!(verifier.fetch_count(), 2);
    assert_eq!(verifier.key_ids(), vec![old.kid(), new.kid()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_unknown_kids_costs_one_fetch() {
    let issuer = Issuer::new(Algorithm::ES256);
    let other = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&issuer, &other])).await;
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .build()
        .await
        .unwrap();
    let token = issuer.access(1);
    let before = verifier.fetch_count();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let verifier = verifier.clone();
            let forged = with_header(
                &token,
                &json!({"alg": "ES256", "kid": format!("random-{i}")}),
            );
            tokio::spawn(async move { verifier.verify(&forged).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnknownKey);
        assert_eq!(error.status(), 401);
    }
    let fetched = verifier.fetch_count() - before;
    assert!(
        (1..=2).contains(&fetched),
        "{fetched} fetches for 200 random kids"
    );
    // Within the interval, more unknown kids fetch nothing; good tokens still pass.
    let forged = with_header(&token, &json!({"alg": "ES256", "kid": "yet-another"}));
    assert_eq!(
        verifier.verify(&forged).await.unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(verifier.fetch_count() - before, fetched);
    assert_eq!(server.requests(), verifier.fetch_count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_for_a_new_kid_share_one_fetch() {
    let old = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&old])).await;
    // No interval: only single flight keeps the fetches down.
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .unknown_kid_interval(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let new = Issuer::new(Algorithm::ES256);
    server.serve(&jwks_of(&[&old, &new]));
    // A slow issuer: every request meets the unknown kid while the first fetch is under way.
    server.set(|s| s.delay = Duration::from_millis(300));
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let verifier = verifier.clone();
            let token = new.access(i);
            tokio::spawn(async move {
                verifier
                    .verify(&token)
                    .await
                    .map(|v| v.user_id().to_owned())
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), i.to_string());
    }
    assert_eq!(verifier.fetch_count(), 2);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn unknown_kid_fetches_are_spaced_by_the_interval() {
    let issuer = Issuer::new(Algorithm::ES256);
    let other = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&issuer, &other])).await;
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .unknown_kid_interval(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    let forged = with_header(&issuer.access(1), &json!({"alg": "ES256", "kid": "nope"}));
    assert!(verifier.verify(&forged).await.is_err());
    assert!(verifier.verify(&forged).await.is_err());
    assert_eq!(verifier.fetch_count(), 2);
    // Once the interval has passed, the next unknown kid fetches again.
    wait_until(WITHIN, "a third fetch after the interval", || async {
        let _ = verifier.verify(&forged).await;
        verifier.fetch_count() == 3
    })
    .await;
}

#[tokio::test]
async fn a_failing_jwks_keeps_the_last_good_keys_and_recovery_brings_new_ones() {
    let issuer = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&issuer])).await;
    server.set(|s| s.cache_control = Some("max-age=0".to_owned()));
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .min_refresh(Duration::from_millis(20))
        .max_refresh(Duration::from_millis(200))
        .max_jwks_size(64 * 1024)
        .build()
        .await
        .unwrap();
    let token = issuer.access(1);
    let failures: [(&str, Break); 5] = [
        ("HTTP 500", Box::new(|s| s.status = 500)),
        ("not JSON", Box::new(|s| s.body = "<html>".to_owned())),
        (
            "not a JWKS",
            Box::new(|s| s.body = "{\"keys\":{}}".to_owned()),
        ),
        (
            "no usable key",
            Box::new(|s| s.body = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string()),
        ),
        (
            "too large",
            Box::new(|s| s.body = format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000))),
        ),
    ];
    for (what, break_it) in failures {
        server.serve(&jwks_of(&[&issuer]));
        server.set(|s| break_it(s));
        let seen = server.requests();
        wait_until(WITHIN, what, || async { server.requests() >= seen + 2 }).await;
        let verified = verifier.verify(&token).await;
        assert!(verified.is_ok(), "{what}: {verified:?}");
    }
    // Recovery with a rotated key: the background refresh picks it up, no unknown kid needed.
    let new = Issuer::new(Algorithm::ES256);
    server.serve(&jwks_of(&[&new]));
    wait_until(WITHIN, "the new key", || async {
        verifier.key_ids() == vec![new.kid()]
    })
    .await;
    let fetches = verifier.fetch_count();
    assert!(verifier.verify(&new.access(5)).await.is_ok());
    assert!(verifier.fetch_count() - fetches <= 1);
}

#[tokio::test]
async fn a_server_that_is_gone_leaves_the_cached_keys_in_force() {
    let issuer = Issuer::new(Algorithm::EdDSA);
    let mut server = JwksServer::start(&jwks_of(&[&issuer])).await;
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .unknown_kid_interval(Duration::ZERO)
        .fetch_timeout(Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    server.shut_down();
    // Once nothing listens, an unknown kid makes a fetch that the server never sees.
    let forged = with_header(
        &issuer.access(1),
        &json!({"alg": "EdDSA", "kid": "unknown"}),
    );
    wait_until(WITHIN, "a failed fetch", || async {
        let refused = verifier.verify(&forged).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::UnknownKey);
        verifier.fetch_count() > server.requests()
    })
    .await;
    assert_eq!(verifier.key_ids(), vec![issuer.kid()]);
    assert_eq!(
        verifier.verify(&issuer.access(2)).await.unwrap().user_id(),
        "2"
    );
}

#[tokio::test]
async fn unusable_keys_are_skipped_and_the_others_used() {
    let es = Issuer::new(Algorithm::ES256);
    let rsa = Issuer::new(Algorithm::RS256);
    let encryption = Issuer::new(Algorithm::RS256);
    let hmac = Issuer::new(Algorithm::HS256);
    let secret = hmac.material().to_owned();
    let mut mislabelled = Issuer::new(Algorithm::ES256).jwk();
    mislabelled["alg"] = json!("RS256");
    mislabelled["kid"] = json!("mislabelled");
    let mut enc = encryption.jwk();
    enc["use"] = json!("enc");
    let oct = json!({
        "kty": "oct", "alg": "HS256", "kid": "oct", "use": "sig",
        "k": base64_url(secret.as_bytes()),
    });
    let mut rsa_without_alg = rsa.jwk();
    rsa_without_alg.as_object_mut().unwrap().remove("alg");
    let jwks = json!({ "keys": [
        oct, mislabelled, enc, es.jwk(), rsa_without_alg,
        {"kty": "EC", "crv": "P-999", "x": "AA", "y": "AA", "kid": "bad-curve"},
        "not an object",
    ]});
    let server = JwksServer::start(&jwks).await;
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .build()
        .await
        .unwrap();
    assert_eq!(verifier.key_ids(), vec![es.kid(), rsa.kid()]);
    assert!(verifier.verify(&es.access(1)).await.is_ok());
    assert!(verifier.verify(&rsa.access(2)).await.is_ok());
    // The skipped keys verify nothing: an unknown kid, refetched and still unknown.
    let fetches = verifier.fetch_count();
    let enc_token = encryption.access(3);
    assert_eq!(
        verifier.verify(&enc_token).await.unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
    assert_eq!(verifier.fetch_count(), fetches + 1);
    // A token MACed with the oct key's secret, naming it.
    let hmac_token = with_kid(&hmac.access(4), "HS256", "oct", secret.as_bytes());
    assert_eq!(
        verifier.verify(&hmac_token).await.unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
    // The JWKS allow-list: restricting to ES256 drops the RSA key too.
    let es_only = Verifier::builder()
        .jwks_url(server.url())
        .algorithms([Algorithm::ES256, Algorithm::HS256])
        .build()
        .await
        .unwrap();
    assert_eq!(es_only.key_ids(), vec![es.kid()]);
}

#[tokio::test]
async fn an_hmac_token_naming_an_rsa_key_is_refused() {
    let rsa = Issuer::new(Algorithm::RS256);
    let server = JwksServer::start(&jwks_of(&[&rsa])).await;
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .build()
        .await
        .unwrap();
    // The classic confusion: HS256 keyed with the public key the verifier holds.
    let jwk = rsa.jwk();
    for secret in [jwk.to_string(), jwk["n"].as_str().unwrap().to_owned()] {
        let forged = with_kid(&rsa.access(1), "HS256", &rsa.kid(), secret.as_bytes());
        let error = verifier.verify(&forged).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Algorithm);
        assert_eq!(error.body()["messages"][0]["message"], "Token is invalid");
    }
    assert_eq!(verifier.fetch_count(), 1);
}

#[tokio::test]
async fn max_age_schedules_the_background_refresh() {
    let old = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&old])).await;
    server.set(|s| s.cache_control = Some("public, max-age=1".to_owned()));
    let started = tokio::time::Instant::now();
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .min_refresh(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let new = Issuer::new(Algorithm::ES256);
    server.serve(&jwks_of(&[&new]));
    wait_until(WITHIN, "the refreshed key set", || async {
        verifier.key_ids() == vec![new.kid()]
    })
    .await;
    // 80 % of max-age=1, not min_refresh's 50 ms; and no token asked for it.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(750), "{elapsed:?}");
    assert_eq!(verifier.fetch_count(), 2);
    assert!(verifier.verify(&new.access(1)).await.is_ok());
    assert_eq!(verifier.fetch_count(), 2);
}

#[tokio::test]
async fn the_first_fetch_must_succeed_unless_allowed_otherwise() {
    let issuer = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&issuer])).await;
    server.set(|s| s.status = 503);
    let error = Verifier::builder()
        .jwks_url(server.url())
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BuildError::Fetch(FetchError::Status(503))),
        "{error}"
    );

    server.set(|s| s.status = 200);
    let error = Verifier::builder()
        .jwks_url(server.url())
        .max_jwks_size(100)
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BuildError::Fetch(FetchError::TooLarge(100))),
        "{error}"
    );

    server.set(|s| s.status = 503);
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .allow_start_without_keys(true)
        .unknown_kid_interval(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let token = issuer.access(8);
    let error = verifier.verify(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoKeys);
    assert_eq!(error.status(), 503);
    assert_eq!(
        error.body(),
        json!({"detail": "Service temporarily unavailable."})
    );
    assert!(error.challenge().is_none());
    // The issuer is back: the next request fetches and passes.
    server.set(|s| s.status = 200);
    assert_eq!(verifier.verify(&token).await.unwrap().user_id(), "8");
}

#[tokio::test]
async fn a_slow_jwks_times_out() {
    let issuer = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&issuer])).await;
    server.set(|s| s.delay = Duration::from_secs(10));
    let started = tokio::time::Instant::now();
    let error = Verifier::builder()
        .jwks_url(server.url())
        .fetch_timeout(Duration::from_millis(200))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BuildError::Fetch(FetchError::Http(_))),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_refresh_task_ends_with_the_last_verifier() {
    let issuer = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&issuer])).await;
    server.set(|s| s.cache_control = Some("max-age=0".to_owned()));
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .min_refresh(Duration::from_millis(10))
        .build()
        .await
        .unwrap();
    let clone = verifier.clone();
    wait_until(WITHIN, "background refreshes", || async {
        server.requests() >= 4
    })
    .await;
    drop(verifier);
    let seen = server.requests();
    wait_until(WITHIN, "refreshes while a clone lives", || async {
        server.requests() >= seen + 3
    })
    .await;
    drop(clone);
    // Refreshes ran every ~8 ms; quiet for 150 ms means the task is gone.
    let mut last = (server.requests(), tokio::time::Instant::now());
    wait_until(WITHIN, "no more refreshes", || {
        let now = (server.requests(), tokio::time::Instant::now());
        if now.0 != last.0 {
            last = now;
        }
        let quiet = now.1 - last.1;
        async move { quiet >= Duration::from_millis(150) }
    })
    .await;
}
