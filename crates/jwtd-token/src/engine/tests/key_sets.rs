//! Several keys at once: the `kid` picks the key, the key fixes the algorithm, retired keys
//! verify until their window ends, next keys verify before they sign, and a lone secret keeps
//! simplejwt's bytes.

use super::*;

fn keys(alg: Algorithm, second: bool) -> Keys {
    keys_of(alg, &material(alg, second))
}

/// Keys from `material` (only RSA material is shared between calls of [`material`]).
fn keys_of(alg: Algorithm, material: &str) -> Keys {
    Keys::new(alg, material.as_bytes(), None).unwrap()
}

fn hmac_keys(secret: &[u8]) -> Keys {
    Keys::new(Algorithm::HS256, secret, None).unwrap()
}

fn engine_of(entries: Vec<KeyEntry>) -> TokenEngine {
    TokenEngine::new(KeySet::new(entries).unwrap(), Policy::default())
}

fn header_of(token: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD.decode(segments(token)[0]).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `claims` under `header`, signed by the key `kid` of `engine` whatever the header says.
fn signed_by(engine: &TokenEngine, kid: &str, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = engine
        .keys()
        .get(kid)
        .unwrap()
        .keys()
        .sign(input.as_bytes())
        .unwrap();
    format!("{input}.{signature}")
}

#[test]
fn a_lone_secret_keeps_simplejwts_header_and_ignores_kid() {
    let engine = hs256();
    let pair = engine.issue_pair(1, NOW).unwrap();
    assert_eq!(
        segments(&pair.access.token)[0],
        b64(HEADER),
        "byte for byte simplejwt's header"
    );
    // A Django service minting with PyJWT may add any kid: simplejwt ignores it, so does jwtd.
    let token = mint(
        &engine,
        json!({"alg": "HS256", "typ": "JWT", "kid": "whatever"}),
        good(),
    );
    accepted(&engine, &token, NOW);
}

#[test]
fn with_several_keys_an_hmac_key_signs_with_its_kid() {
    let secret = hmac_keys(SECRET);
    let kid = secret.default_kid().to_owned();
    let engine = engine_of(vec![
        KeyEntry::new(secret, KeyState::Active),
        KeyEntry::new(hmac_keys(&[7; 32]), KeyState::Retired),
    ]);
    let pair = engine.issue_pair(1, NOW).unwrap();
    assert_eq!(
        header_of(&pair.access.token),
        json!({"alg": "HS256", "kid": kid, "typ": "JWT"})
    );
    accepted(&engine, &pair.access.token, NOW);
    // The kid is a keyed digest: not the secret, not a plain hash of it, stable across
    // instances.
    assert_eq!(kid, hmac_keys(SECRET).default_kid());
    assert_ne!(kid, hmac_keys(&[7; 32]).default_kid());
    assert!(!kid.contains("jwtd unit-test"));
}

#[test]
fn a_rotation_keeps_old_tokens_until_the_window_ends() {
    let (old, new) = (
        material(Algorithm::ES256, false),
        material(Algorithm::ES256, false),
    );
    let before = engine_for(Algorithm::ES256, &old);
    let old_token = before.issue_pair(1, NOW).unwrap().access.token;
    let old_kid = before.keys().active().unwrap().kid().to_owned();
    let window_end = NOW + 1_000;
    let after = engine_of(vec![
        KeyEntry::new(keys_of(Algorithm::ES256, &new), KeyState::Active),
        KeyEntry::new(keys_of(Algorithm::ES256, &old), KeyState::Retired)
            .verifying_until(window_end),
    ]);
    let new_token = after.issue_pair(1, NOW).unwrap().access.token;
    assert_ne!(
        header_of(&new_token)["kid"],
        json!(old_kid),
        "new tokens carry the new kid"
    );
    accepted(&after, &old_token, NOW);
    // Long-lived claims would pass: only the key's window refuses.
    let policy = Policy {
        access_lifetime: 10_000,
        ..Policy::default()
    };
    let long = TokenEngine::new(keys_of(Algorithm::ES256, &old), policy)
        .issue_pair(1, NOW)
        .unwrap()
        .access
        .token;
    accepted(&after, &long, window_end);
    assert_eq!(refused(&after, &long, window_end + 1), TokenError::Invalid);
    // Removed: the kid is unknown.
    let removed = engine_of(vec![KeyEntry::new(
        keys_of(Algorithm::ES256, &new),
        KeyState::Active,
    )]);
    assert_eq!(refused(&removed, &old_token, NOW), TokenError::UnknownKey);
    accepted(&removed, &new_token, NOW);
}

#[test]
fn a_next_key_verifies_before_it_signs() {
    let next_material = material(Algorithm::EdDSA, false);
    let next = keys_of(Algorithm::EdDSA, &next_material);
    let next_kid = next.default_kid().to_owned();
    let engine = engine_of(vec![
        KeyEntry::new(hmac_keys(SECRET), KeyState::Active),
        KeyEntry::new(next, KeyState::Next),
    ]);
    let elsewhere = engine_for(Algorithm::EdDSA, &next_material);
    let token = elsewhere.issue_pair(1, NOW).unwrap().access.token;
    assert_eq!(header_of(&token)["kid"], json!(next_kid));
    accepted(&engine, &token, NOW);
    // Tokens are signed by the active key only.
    let own = engine.issue_pair(1, NOW).unwrap().access.token;
    assert_eq!(header_of(&own)["alg"], "HS256");
}

#[test]
fn an_unknown_or_forged_kid_is_refused() {
    let engine = engine_of(vec![
        KeyEntry::new(keys(Algorithm::RS256, false), KeyState::Active).with_kid("rsa"),
        KeyEntry::new(hmac_keys(SECRET), KeyState::Retired).with_kid("secret"),
    ]);
    let header = |alg: &str, kid: &str| json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let good_token = signed_by(&engine, "rsa", &header("RS256", "rsa"), &good());
    accepted(&engine, &good_token, NOW);
    // A kid no key has.
    let unknown = signed_by(&engine, "rsa", &header("RS256", "nobody"), &good());
    assert_eq!(refused(&engine, &unknown, NOW), TokenError::UnknownKey);
    // A kid naming the HMAC key on an RS256 token: the key's algorithm wins.
    let crossed = signed_by(&engine, "rsa", &header("RS256", "secret"), &good());
    assert_eq!(refused(&engine, &crossed, NOW), TokenError::Invalid);
    // An HS256 token naming the RSA key, MACed with the RSA public key (the classic confusion).
    let public_pem = {
        let jwk = engine
            .keys()
            .get("rsa")
            .unwrap()
            .keys()
            .public_jwk()
            .unwrap();
        jwk.to_json().to_string()
    };
    let confused = mint(
        Key::Hmac(hmac::HMAC_SHA256, public_pem.as_bytes()),
        header("HS256", "rsa"),
        good(),
    );
    assert_eq!(refused(&engine, &confused, NOW), TokenError::Invalid);
    // The HMAC key's own tokens, by its kid or without one (as simplejwt mints them).
    let hmac_token = signed_by(&engine, "secret", &header("HS256", "secret"), &good());
    accepted(&engine, &hmac_token, NOW);
    let simplejwt = mint(Key::Hmac(hmac::HMAC_SHA256, SECRET), HEADER, good());
    accepted(&engine, &simplejwt, NOW);
    // A non-string kid.
    let odd = signed_by(
        &engine,
        "rsa",
        &json!({"alg": "RS256", "kid": 1, "typ": "JWT"}),
        &good(),
    );
    assert_eq!(refused(&engine, &odd, NOW), TokenError::Invalid);
}

#[test]
fn a_token_without_kid_is_tried_against_the_keys_of_its_algorithm() {
    let old = hmac_keys(&[9; 32]);
    let engine = engine_of(vec![
        KeyEntry::new(hmac_keys(SECRET), KeyState::Active),
        KeyEntry::new(old, KeyState::Retired).verifying_until(NOW),
    ]);
    let by_old = mint(Key::Hmac(hmac::HMAC_SHA256, &[9; 32]), HEADER, good());
    accepted(&engine, &by_old, NOW);
    assert_eq!(refused(&engine, &by_old, NOW + 1), TokenError::Invalid);
    let by_stranger = mint(Key::Hmac(hmac::HMAC_SHA256, &[8; 32]), HEADER, good());
    assert_eq!(refused(&engine, &by_stranger, NOW), TokenError::Invalid);
}

#[test]
fn the_jwks_publishes_public_keys_inside_their_window() {
    let engine = engine_of(vec![
        KeyEntry::new(keys(Algorithm::ES256, false), KeyState::Active),
        KeyEntry::new(keys(Algorithm::ES384, false), KeyState::Next).with_kid("next-key"),
        KeyEntry::new(keys(Algorithm::RS256, false), KeyState::Retired).verifying_until(NOW),
        KeyEntry::new(hmac_keys(SECRET), KeyState::Retired),
    ]);
    let kids = |now| -> Vec<String> {
        engine.jwks(now)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let active_kid = engine.keys().active().unwrap().kid().to_owned();
    let rsa_kid = keys(Algorithm::RS256, false).default_kid().to_owned();
    assert_eq!(kids(NOW), [active_kid.clone(), "next-key".into(), rsa_kid]);
    assert_eq!(kids(NOW + 1), [active_kid, "next-key".to_owned()]);
    for key in engine.jwks(NOW)["keys"].as_array().unwrap() {
        assert!(key.get("k").is_none() && key.get("d").is_none(), "{key}");
    }
}

#[test]
fn a_bad_set_is_refused() {
    let active = || KeyEntry::new(hmac_keys(SECRET), KeyState::Active);
    let error = |entries| KeySet::new(entries).unwrap_err().to_string();
    assert!(error(vec![active(), active().with_kid("b")]).contains("2 keys are active"));
    assert!(
        error(vec![
            active(),
            KeyEntry::new(hmac_keys(SECRET), KeyState::Next)
        ])
        .contains("kid")
    );
    assert!(error(vec![KeyEntry::new(hmac_keys(SECRET), KeyState::Next)]).contains("no active"));
    assert!(error(vec![active().with_kid("")]).contains("empty kid"));
    let public = Keys::from_jwk(
        &keys(Algorithm::ES256, false)
            .public_jwk()
            .unwrap()
            .to_json(),
        None,
    )
    .unwrap();
    assert!(error(vec![KeyEntry::new(public, KeyState::Active)]).contains("cannot sign"));
}

#[test]
fn public_jwks_verify_and_never_sign() {
    for alg in Algorithm::ALL
        .into_iter()
        .filter(|a| a.family() != Family::Hmac)
    {
        let private = material(alg, false);
        let signer = engine_for(alg, &private);
        let jwk = signer
            .keys()
            .active()
            .unwrap()
            .keys()
            .public_jwk()
            .unwrap()
            .to_json();
        let public = Keys::from_jwk(&jwk, None).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert!(!public.can_sign());
        assert_eq!(public.algorithm(), alg);
        assert_eq!(public.default_kid(), jwk["kid"].as_str().unwrap(), "{alg}");
        let verifier = TokenEngine::new(
            KeySet::verifying(vec![KeyEntry::new(public, KeyState::Active)]).unwrap(),
            Policy::default(),
        );
        let token = signer.issue_pair(1, NOW).unwrap().access.token;
        accepted(&verifier, &token, NOW);
        assert_eq!(
            verifier.issue_pair(1, NOW).unwrap_err(),
            TokenError::Signing
        );
        // The same key read from a public PEM: the same key id, verifying only.
        let from_pem = Keys::from_public_pem(alg, public_pem(alg, &private).as_bytes()).unwrap();
        assert!(!from_pem.can_sign());
        assert_eq!(
            from_pem.default_kid(),
            jwk["kid"].as_str().unwrap(),
            "{alg}"
        );
        assert_eq!(from_pem.public_jwk().unwrap().to_json(), jwk, "{alg}");
    }
}

#[test]
fn a_jwk_that_does_not_fit_its_algorithm_is_refused() {
    let ec = keys(Algorithm::ES256, false)
        .public_jwk()
        .unwrap()
        .to_json();
    let rsa = keys(Algorithm::RS256, false)
        .public_jwk()
        .unwrap()
        .to_json();
    let with_alg = |mut jwk: Value, alg: &str| {
        jwk["alg"] = json!(alg);
        jwk
    };
    for (jwk, given) in [
        (with_alg(ec.clone(), "RS256"), None),
        (with_alg(ec.clone(), "ES384"), None),
        (with_alg(rsa.clone(), "ES256"), None),
        (with_alg(rsa.clone(), "HS256"), None),
        (ec.clone(), Some(Algorithm::ES384)),
        (rsa.clone(), Some(Algorithm::PS256)),
        (with_alg(ec.clone(), "none"), None),
    ] {
        assert!(
            matches!(Keys::from_jwk(&jwk, given), Err(crate::KeyError::Jwk(_))),
            "{jwk} {given:?}"
        );
    }
    let mut no_alg = rsa.clone();
    no_alg.as_object_mut().unwrap().shift_remove("alg");
    assert!(
        Keys::from_jwk(&no_alg, None).is_err(),
        "RSA without alg is ambiguous"
    );
    assert!(Keys::from_jwk(&no_alg, Some(Algorithm::PS256)).is_ok());
    let mut encryption = ec.clone();
    encryption["use"] = json!("enc");
    assert!(Keys::from_jwk(&encryption, None).is_err());
    let mut off_curve = ec;
    off_curve["x"] = json!(b64([1u8; 32]));
    assert!(Keys::from_jwk(&off_curve, None).is_err());
}

/// RFC 8037 appendix A.1's Ed25519 private JWK, and A.4's signature over A.4's input.
#[test]
fn the_rfc_8037_private_jwk_signs_as_the_rfc_says() {
    let jwk = json!({
        "kty": "OKP", "crv": "Ed25519",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    });
    let keys = Keys::from_jwk(&jwk, None).unwrap();
    assert!(keys.can_sign());
    // RFC 8037 A.3's thumbprint.
    assert_eq!(
        keys.default_kid(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    assert_eq!(
        keys.sign(input.as_bytes()).unwrap(),
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
    let mismatched = json!({
        "kty": "OKP", "crv": "Ed25519",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x": b64([3u8; 32]),
    });
    assert!(Keys::from_jwk(&mismatched, None).is_err());
}
