//! Several keys at once over HTTP: `[[keys]]` next and retired keys published and verifying,
//! the `kid` choosing the key and the key its algorithm, a rotation by reloading the key set
//! without logging anybody out, and the OpenID discovery document.

use jwtd_server::config;
use jwtd_token::Algorithm;
use serde_json::{Value, json};

use crate::helpers::*;

/// A key file in `dir`.
fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn jwks_kids(body: &str) -> Vec<String> {
    let jwks: Value = serde_json::from_str(body).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn header_kid(token: &str) -> Option<String> {
    let header: Value = serde_json::from_str(&decode(token).header_json).unwrap();
    header["kid"].as_str().map(str::to_owned)
}

/// The default kid of a PEM private key (its RFC 7638 thumbprint).
fn kid_of(alg: Algorithm, pem: &str) -> String {
    jwtd_token::Keys::new(alg, pem.as_bytes(), None)
        .unwrap()
        .default_kid()
        .to_owned()
}

#[tokio::test]
async fn next_and_retired_keys_are_published_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let active = jwtd_token::generate(Algorithm::ES256).unwrap();
    let retired_rsa = jwtd_token::generate(Algorithm::RS256).unwrap();
    let next = jwtd_token::generate(Algorithm::ES256).unwrap();
    let retired_public = write(
        dir.path(),
        "old-rsa.pub.pem",
        &public_key_pem("RS256", &retired_rsa),
    );
    let next_file = write(dir.path(), "next.pem", &next);
    let keys = json!([
        {"file": next_file, "state": "next"},
        {"file": retired_public, "algorithm": "RS256"},
        {"secret": SECRET, "algorithm": "HS256", "kid": "old-secret"},
    ])
    .to_string();
    let app = spawn_app(&[
        ("JWTD_ALGORITHM", "ES256"),
        ("JWTD_SIGNING_KEY", &active),
        ("JWTD_KEYS", &keys),
        ("JWTD_JWKS_MAX_AGE", "2m"),
    ])
    .await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let (active_kid, next_kid, rsa_kid) = (
        kid_of(Algorithm::ES256, &active),
        kid_of(Algorithm::ES256, &next),
        kid_of(Algorithm::RS256, &retired_rsa),
    );

    // Published: active first, then next and retired public keys; never the secret.
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=120"));
    assert_eq!(
        jwks_kids(&jwks.body),
        [active_kid.clone(), next_kid.clone(), rsa_kid.clone()]
    );
    assert!(!jwks.body.contains(SECRET) && !jwks.body.contains("\"k\""));

    // New tokens are signed by the active key and name it.
    let (_, access) = app.obtain("alice", PASSWORD).await;
    assert_eq!(header_kid(&access), Some(active_kid));
    app.hello(&access).await.expect(200, &hello_body("alice"));

    let valid = claims("access", id.to_string()).to_string();
    let hello = hello_body("alice");
    let invalid = access_error("Token is invalid");
    let with_kid = |alg: &str, kid: &str| json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string();
    // A retired key's tokens, by its kid.
    let by_retired = sign(
        "RS256",
        retired_rsa.as_bytes(),
        &with_kid("RS256", &rsa_kid),
        &valid,
    );
    app.hello(&by_retired).await.expect(200, &hello);
    // A next key's tokens (an instance that rotated already).
    let by_next = sign(
        "ES256",
        next.as_bytes(),
        &with_kid("ES256", &next_kid),
        &valid,
    );
    app.hello(&by_next).await.expect(200, &hello);
    app.verify(&by_next).await.expect(200, EMPTY);
    // A retired HMAC secret's tokens as simplejwt mints them: no kid at all.
    let simplejwt = sign("HS256", SECRET.as_bytes(), &header("HS256"), &valid);
    app.hello(&simplejwt).await.expect(200, &hello);

    // A kid no key has; the HMAC key's kid on an RS256 token; the RSA key's kid on an HS256
    // token MACed with its public key; a next key's kid on a token of another key.
    let stranger = jwtd_token::generate(Algorithm::ES256).unwrap();
    for token in [
        sign(
            "ES256",
            stranger.as_bytes(),
            &with_kid("ES256", "no-such-key"),
            &valid,
        ),
        sign(
            "RS256",
            retired_rsa.as_bytes(),
            &with_kid("RS256", "old-secret"),
            &valid,
        ),
        sign(
            "HS256",
            public_key_pem("RS256", &retired_rsa).as_bytes(),
            &with_kid("HS256", &rsa_kid),
            &valid,
        ),
        sign(
            "ES256",
            stranger.as_bytes(),
            &with_kid("ES256", &next_kid),
            &valid,
        ),
    ] {
        app.hello(&token).await.expect(401, &invalid);
        app.verify(&token)
            .await
            .expect(401, &token_error("Token is invalid"));
    }
}

/// What a reload does, as `SIGHUP` runs it: the key settings read again and put in force.
fn reload(app: &TestApp, vars: &[(&str, &str)]) {
    let mut env = std::collections::BTreeMap::new();
    env.insert(
        "JWTD_DATABASE_URL".to_owned(),
        format!("sqlite://{}", app.db.display()),
    );
    for (name, value) in vars {
        env.insert((*name).to_owned(), (*value).to_owned());
    }
    let (config, _) = config::load(None, &env).expect("configuration loads");
    app.state
        .replace_keys(config.load_keys(|_| {}).expect("keys load"));
}

#[tokio::test]
async fn a_rotation_logs_nobody_out() {
    let dir = tempfile::tempdir().unwrap();
    let old = jwtd_token::generate(Algorithm::EdDSA).unwrap();
    let new = jwtd_token::generate(Algorithm::EdDSA).unwrap();
    let old_file = write(dir.path(), "old.pem", &old);
    let app = spawn_app(&[("JWTD_ALGORITHM", "EdDSA"), ("JWTD_SIGNING_KEY", &old)]).await;
    app.create_user("alice", PASSWORD, true).await;
    let (refresh_old, access_old) = app.obtain("alice", PASSWORD).await;
    let hello = hello_body("alice");

    // Step 1: the new key is signing, the old one retired.
    let retired = json!([{"file": old_file, "state": "retired"}]).to_string();
    reload(
        &app,
        &[
            ("JWTD_ALGORITHM", "EdDSA"),
            ("JWTD_SIGNING_KEY", &new),
            ("JWTD_KEYS", &retired),
        ],
    );
    let (_, access_new) = app.obtain("alice", PASSWORD).await;
    assert_eq!(
        header_kid(&access_new),
        Some(kid_of(Algorithm::EdDSA, &new))
    );
    app.hello(&access_old).await.expect(200, &hello);
    app.hello(&access_new).await.expect(200, &hello);
    // The old refresh token buys an access token signed by the new key.
    let refreshed = app.refresh(&refresh_old).await.tokens(&["access"]);
    assert_eq!(
        header_kid(&refreshed[0]),
        Some(kid_of(Algorithm::EdDSA, &new))
    );
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(
        jwks_kids(&jwks.body),
        [
            kid_of(Algorithm::EdDSA, &new),
            kid_of(Algorithm::EdDSA, &old)
        ]
    );

    // Step 2: the old key removed: its tokens are refused, the new ones still pass.
    reload(
        &app,
        &[("JWTD_ALGORITHM", "EdDSA"), ("JWTD_SIGNING_KEY", &new)],
    );
    app.hello(&access_old)
        .await
        .expect(401, &access_error("Token is invalid"));
    app.refresh(&refresh_old)
        .await
        .expect(401, &token_error("Token is invalid"));
    app.hello(&access_new).await.expect(200, &hello);
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks_kids(&jwks.body), [kid_of(Algorithm::EdDSA, &new)]);
}

#[tokio::test]
async fn an_hmac_to_es256_migration_keeps_the_secrets_tokens() {
    // simplejwt's tokens (HS256, no kid) keep working while jwtd moves to ES256.
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    let (refresh_hs, access_hs) = app.obtain("alice", PASSWORD).await;
    assert_eq!(header_kid(&access_hs), None, "a lone secret sets no kid");
    let es256 = jwtd_token::generate(Algorithm::ES256).unwrap();
    let old_secret = json!([{"secret": SECRET, "algorithm": "HS256"}]).to_string();
    reload(
        &app,
        &[
            ("JWTD_ALGORITHM", "ES256"),
            ("JWTD_SIGNING_KEY", &es256),
            ("JWTD_KEYS", &old_secret),
        ],
    );
    let hello = hello_body("alice");
    app.hello(&access_hs).await.expect(200, &hello);
    let refreshed = app.refresh(&refresh_hs).await.tokens(&["access"]);
    assert!(decode(&refreshed[0]).header_json.contains("ES256"));
    app.hello(&refreshed[0]).await.expect(200, &hello);
    // The JWKS now has the ES256 key and still no secret.
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks_kids(&jwks.body), [kid_of(Algorithm::ES256, &es256)]);
}

#[tokio::test]
async fn discovery_is_built_from_the_public_url_never_the_host_header() {
    let es256 = jwtd_token::generate(Algorithm::ES256).unwrap();
    let app = spawn_app(&[
        ("JWTD_ALGORITHM", "ES256"),
        ("JWTD_SIGNING_KEY", &es256),
        ("JWTD_ISSUER", "https://auth.example.com"),
        ("JWTD_PUBLIC_URL", "https://auth.example.com/"),
    ])
    .await;
    let reply = app
        .client
        .get(format!("{}/.well-known/openid-configuration", app.address))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let document: Value = reply.json().await.unwrap();
    assert_eq!(document["issuer"], "https://auth.example.com");
    assert_eq!(
        document["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        document["token_endpoint"],
        "https://auth.example.com/api/token/"
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    assert_eq!(document["subject_types_supported"], json!(["public"]));
    assert!(!document.to_string().contains("evil"));

    // The issuer alone, when it is a URL, is the base.
    let app = spawn_app(&[
        ("JWTD_ALGORITHM", "ES256"),
        ("JWTD_SIGNING_KEY", &es256),
        ("JWTD_ISSUER", "https://id.example.org"),
    ])
    .await;
    let document: Value =
        serde_json::from_str(&app.get("/.well-known/openid-configuration").await.body).unwrap();
    assert_eq!(
        document["jwks_uri"],
        "https://id.example.org/.well-known/jwks.json"
    );

    // No issuer, or an issuer that is no URL and no public URL: nothing to discover.
    for vars in [vec![], vec![("JWTD_ISSUER", "jwtd")]] {
        let app = spawn_app(&vars).await;
        app.get("/.well-known/openid-configuration")
            .await
            .expect(404, r#"{"detail":"Not found."}"#);
    }
}

#[test]
fn a_bad_key_set_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pem = write(
        dir.path(),
        "k.pem",
        &jwtd_token::generate(Algorithm::ES256).unwrap(),
    );
    let cases: [(Value, &str); 6] = [
        (json!([{"file": pem, "state": "active"}]), "next or retired"),
        (
            json!([{"file": pem, "secret": "x"}]),
            "exactly one of file, secret or jwk",
        ),
        (json!([{"file": pem, "state": "old"}]), "unknown state"),
        (
            json!([{"secret": "short", "algorithm": "HS256"}]),
            "at least 32 bytes",
        ),
        (
            json!([{"file": "/nonexistent/k.pem"}]),
            "/nonexistent/k.pem",
        ),
        (
            json!([{"secret": SECRET, "kid": "a"}, {"secret": SECRET, "kid": "a"}]),
            "two keys have the kid \"a\"",
        ),
    ];
    for (keys, reason) in cases {
        let mut env = std::collections::BTreeMap::new();
        env.insert("JWTD_DATA_DIR".to_owned(), dir.path().display().to_string());
        env.insert("JWTD_SIGNING_KEY".to_owned(), SECRET.to_owned());
        env.insert("JWTD_KEYS".to_owned(), keys.to_string());
        let error = match config::load(None, &env) {
            Err(e) => e.to_string(),
            Ok((config, _)) => config.load_keys(|_| {}).unwrap_err().to_string(),
        };
        assert!(error.contains(reason), "{keys}: {error}");
        assert!(!error.contains(SECRET), "a secret in an error: {error}");
    }
}

/// Managed keys: a flood of tokens with random kids gets 401 each and costs one re-read of the
/// key set per interval, not one per request.
#[tokio::test]
async fn a_flood_of_unknown_kids_costs_one_reload_per_interval() {
    use jwtd_server::managed_keys::{ManagedKeys, keep_fresh};
    let app = spawn_app(&[]).await;
    app.create_user("alice", PASSWORD, true).await;
    let store: std::sync::Arc<dyn jwtd_store::Store> = app.store.clone();
    let managed = std::sync::Arc::new(ManagedKeys::new(
        store,
        Algorithm::ES256,
        None,
        86_400,
        None,
        300,
    ));
    app.state.replace_keys(managed.load(now()).await.unwrap());
    tokio::spawn(keep_fresh(
        app.state.clone(),
        managed.clone(),
        std::time::Duration::from_secs(3600),
    ));
    let (_, access) = app.obtain("alice", PASSWORD).await;
    app.hello(&access).await.expect(200, &hello_body("alice"));
    let valid = claims("access", "1").to_string();
    let stranger = jwtd_token::generate(Algorithm::ES256).unwrap();
    let flood = || async {
        for i in 0..200 {
            let header =
                json!({"alg": "ES256", "kid": format!("random-{i}-{}", new_jti()), "typ": "JWT"});
            let token = sign("ES256", stranger.as_bytes(), &header.to_string(), &valid);
            app.hello(&token)
                .await
                .expect(401, &access_error("Token is invalid"));
        }
    };
    let before = managed.reloads();
    flood().await;
    // The hint is heard: one re-read, after the rate limit's interval.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while managed.reloads() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload after the flood"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        managed.reloads(),
        before + 1,
        "one reload for 200 unknown kids"
    );
    // A second flood right after it: nothing more until the interval has passed.
    flood().await;
    assert_eq!(managed.reloads(), before + 1);
    app.hello(&access).await.expect(200, &hello_body("alice"));
}
