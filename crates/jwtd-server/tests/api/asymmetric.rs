//! RS256 and ES256 with PEM keys: the issued layout, an independent signature check, tokens
//! signed elsewhere with the private key, and algorithm confusion (G166-G177).

use jwtd_token::Algorithm;
use serde_json::json;

use crate::helpers::*;

async fn asymmetric(algorithm: Algorithm, pair_length: usize) {
    let alg = algorithm.as_str();
    let pem = jwtd_token::generate(algorithm).expect("key generated");
    let app = spawn_app(&[("JWTD_ALGORITHM", alg), ("JWTD_SIGNING_KEY", &pem)]).await;
    let id = app.create_user("alice", PASSWORD, true).await;

    // The public key is published, with the id every token's header carries.
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    let jwks: serde_json::Value = serde_json::from_str(&jwks.body).expect("JWKS JSON");
    let kid = jwks["keys"][0]["kid"].as_str().expect("a kid").to_owned();
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{jwks}");
    assert_eq!(jwks["keys"][0]["alg"], alg);

    // G166, G172: simplejwt's pair, plus the `kid` jwtd adds to each header.
    let reply = app.login("alice", PASSWORD).await;
    let tokens = reply.tokens(&["refresh", "access"]);
    let b64_len = |text: String| (4 * text.len()).div_ceil(3);
    let kid_bytes = b64_len(format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#))
        - b64_len(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
    assert_eq!(
        reply.body.len(),
        pair_length + 2 * kid_bytes,
        "Content-Length of the pair"
    );
    for token in &tokens {
        assert!(
            decode(token)
                .header_json
                .contains(&format!(r#""kid":"{kid}""#))
        );
    }
    assert_layout(&tokens[0], alg, "refresh", 86_400, id, &[]);
    assert_layout(&tokens[1], alg, "access", 300, id, &[]);
    // G167, G173: the signatures check out with the public key, outside jwtd.
    for token in &tokens {
        assert!(
            signature_verifies(alg, &pem, token),
            "{alg} signature of {token}"
        );
    }
    let refreshed = app.refresh(&tokens[0]).await.tokens(&["access"]);
    assert_layout(&refreshed[0], alg, "access", 300, id, &[]);
    assert!(signature_verifies(alg, &pem, &refreshed[0]));

    let valid = claims("access", id.to_string());
    let public_pem = public_key_pem(alg, &pem);
    let hello = hello_body("alice");
    let invalid = access_error("Token is invalid");
    let mut failures = Failures::default();
    // G168, G174
    failures.check(
        "issued",
        &app.hello(&tokens[1]).await,
        200,
        &hello,
        View::Protected,
    );
    failures.check(
        "verify issued",
        &app.verify(&tokens[1]).await,
        200,
        EMPTY,
        View::Token,
    );
    // G169, G175
    failures.check(
        "signed elsewhere",
        &app.hello(&app.mint_claims(&valid)).await,
        200,
        &hello,
        View::Protected,
    );
    // G170, G176: HS256 keyed with the public key PEM.
    let confused = sign(
        "HS256",
        public_pem.as_bytes(),
        &header("HS256"),
        &valid.to_string(),
    );
    failures.check(
        "HS256 with the public key",
        &app.hello(&confused).await,
        401,
        &invalid,
        View::Protected,
    );
    let confused = sign(
        "HS256",
        public_pem.trim_end().as_bytes(),
        &header("HS256"),
        &valid.to_string(),
    );
    failures.check(
        "HS256 with the trimmed public key",
        &app.hello(&confused).await,
        401,
        &invalid,
        View::Protected,
    );
    let confused = sign(
        "HS256",
        pem.as_bytes(),
        &header("HS256"),
        &valid.to_string(),
    );
    failures.check(
        "HS256 with the private key",
        &app.hello(&confused).await,
        401,
        &invalid,
        View::Protected,
    );
    // ... and the same header claiming the server's algorithm.
    let header_json = header(alg);
    let lying = sign(
        "HS256",
        public_pem.as_bytes(),
        &header("HS256"),
        &valid.to_string(),
    );
    let (_, rest) = lying.split_once('.').unwrap();
    let lying = format!("{}.{rest}", base64_url(&header_json));
    failures.check(
        "HMAC signature under an asymmetric alg",
        &app.hello(&lying).await,
        401,
        &invalid,
        View::Protected,
    );
    // G171, G177
    let none = app.mint(&valid, &json!({ "alg": "none", "typ": "JWT" }));
    failures.check(
        "alg none",
        &app.hello(&none).await,
        401,
        &invalid,
        View::Protected,
    );
    // A key of the right kind that is not ours.
    let stranger = jwtd_token::generate(algorithm).expect("key generated");
    let foreign = sign(alg, stranger.as_bytes(), &header_json, &valid.to_string());
    failures.check(
        "another key pair",
        &app.hello(&foreign).await,
        401,
        &invalid,
        View::Protected,
    );
    failures.check(
        "tampered",
        &app.hello(&tamper_signature(&tokens[1])).await,
        401,
        &invalid,
        View::Protected,
    );
    failures.assert_none();
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn rs256() {
    asymmetric(Algorithm::RS256, 1087).await;
}

#[tokio::test]
async fn es256() {
    asymmetric(Algorithm::ES256, 575).await;
}
