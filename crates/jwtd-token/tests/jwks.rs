//! The published public keys, checked against `jsonwebtoken`, an independent implementation:
//! for every asymmetric algorithm, the JWK jwtd publishes verifies jwtd's tokens there, its `kid`
//! is the token header's, and a key of another pair does not verify them. HMAC publishes
//! nothing and puts no `kid` in its header.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use jwtd_token::{Algorithm, Keys, Policy, TokenEngine, dangerous_decode_unverified, generate};
use serde_json::Value;

const NOW: i64 = 1_800_000_000;

fn engine(algorithm: Algorithm) -> TokenEngine {
    let material = generate(algorithm).unwrap();
    let keys = Keys::new(algorithm, material.as_bytes(), None).unwrap();
    TokenEngine::new(keys, Policy::default())
}

fn only_key(engine: &TokenEngine) -> Value {
    let jwks = engine.jwks(0);
    let keys = jwks["keys"].as_array().expect("a keys array");
    assert_eq!(keys.len(), 1, "{jwks}");
    keys[0].clone()
}

fn verifies(jwk: &Value, algorithm: Algorithm, token: &str) -> bool {
    let jwk: Jwk = serde_json::from_value(jwk.clone()).expect("jsonwebtoken reads the JWK");
    let key = DecodingKey::from_jwk(&jwk).expect("a decoding key from the JWK");
    let alg: jsonwebtoken::Algorithm = algorithm.as_str().parse().unwrap();
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

#[test]
fn every_asymmetric_key_is_published_and_verifies_elsewhere() {
    for algorithm in Algorithm::ALL {
        // jsonwebtoken has no ES512 or ES256K: jwt-simple checks ES256K (cross_verify), PyJWT
        // both (the JWKS end-to-end test).
        if algorithm.as_str().starts_with("HS")
            || matches!(algorithm, Algorithm::ES512 | Algorithm::ES256K)
        {
            continue;
        }
        let engine = engine(algorithm);
        let jwk = only_key(&engine);
        assert_eq!(jwk["alg"], algorithm.as_str(), "{jwk}");
        assert_eq!(jwk["use"], "sig", "{jwk}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                jwk.get(private).is_none(),
                "{algorithm}: {private} published: {jwk}"
            );
        }

        let token = engine.issue_pair(7, NOW).unwrap().access.token;
        let (header, _) = dangerous_decode_unverified(&token).unwrap();
        assert_eq!(
            header.keys().map(String::as_str).collect::<Vec<_>>(),
            ["alg", "kid", "typ"]
        );
        assert_eq!(header["kid"], jwk["kid"], "{algorithm}");
        assert!(verifies(&jwk, algorithm, &token), "{algorithm}");

        let other = only_key(&self::engine(algorithm));
        assert_ne!(other["kid"], jwk["kid"], "{algorithm}: two keys, one id");
        assert!(!verifies(&other, algorithm, &token), "{algorithm}");
    }
}

#[test]
fn hmac_publishes_nothing_and_sets_no_kid() {
    for algorithm in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let engine = engine(algorithm);
        assert_eq!(engine.jwks(0), serde_json::json!({ "keys": [] }));
        let token = engine.issue_pair(7, NOW).unwrap().access.token;
        let (header, _) = dangerous_decode_unverified(&token).unwrap();
        assert_eq!(
            Value::Object(header),
            serde_json::json!({"alg": algorithm.as_str(), "typ": "JWT"})
        );
    }
}

/// The same key gives the same id every time (a restart must not change it).
#[test]
fn the_key_id_is_stable() {
    let material = generate(Algorithm::ES256).unwrap();
    let kid = |_| {
        let keys = Keys::new(Algorithm::ES256, material.as_bytes(), None).unwrap();
        keys.public_jwk().unwrap().kid().to_owned()
    };
    assert_eq!(kid(1), kid(2));
}
