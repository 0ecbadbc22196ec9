//! The layout of issued tokens (contract 1.2): simplejwt's exact member order, lifetimes,
//! `aud` and `iss` from the policy, and custom claim names.

use super::*;

#[test]
fn issued_tokens_have_simplejwts_exact_layout() {
    let engine = hs256();
    let pair = engine.issue_pair(42, NOW).unwrap();
    for (issued, ty, lifetime) in [
        (&pair.access, "access", 300),
        (&pair.refresh, "refresh", 86_400),
    ] {
        let parts = segments(&issued.token);
        assert_eq!(parts.len(), 3);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(parts[0]).unwrap(),
            br#"{"alg":"HS256","typ":"JWT"}"#
        );
        assert!(is_jti(&issued.jti), "{}", issued.jti);
        assert_eq!(
            payload_text(&issued.token),
            format!(
                r#"{{"token_type":"{ty}","exp":{},"iat":{NOW},"jti":"{}","user_id":"42"}}"#,
                NOW + lifetime,
                issued.jti
            )
        );
        assert_eq!(issued.issued_at, NOW);
        assert_eq!(issued.expires_at, NOW + lifetime);
        let claims = payload_map(&issued.token);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            lifetime
        );
        assert!(claims["user_id"].is_string());
    }
    assert_ne!(pair.access.jti, pair.refresh.jti);
    // Fresh ids every time.
    let again = engine.issue_pair(42, NOW).unwrap();
    assert_ne!(again.access.jti, pair.access.jti);
    assert_ne!(again.refresh.jti, pair.refresh.jti);
}

#[test]
fn configured_lifetimes_are_exact() {
    let engine = hs256_with(Policy {
        access_lifetime: 61,
        refresh_lifetime: 7 * 86_400 + 1,
        sliding_lifetime: 17,
        sliding_refresh_lifetime: 99,
        ..Policy::default()
    });
    let pair = engine.issue_pair(1, NOW).unwrap();
    assert_eq!(pair.access.expires_at - pair.access.issued_at, 61);
    assert_eq!(
        pair.refresh.expires_at - pair.refresh.issued_at,
        7 * 86_400 + 1
    );
    let claims = payload_map(&pair.access.token);
    assert_eq!(claims["exp"], json!(NOW + 61));
    let sliding = engine.issue_sliding(1, NOW).unwrap();
    let claims = payload_map(&sliding.token);
    assert_eq!(claims["exp"], json!(NOW + 17));
    assert_eq!(claims["refresh_exp"], json!(NOW + 99));
}

#[test]
fn aud_and_iss_are_appended_when_configured() {
    let engine = hs256_with(Policy {
        audience: Some("api".to_owned()),
        issuer: Some("jwtd".to_owned()),
        ..Policy::default()
    });
    let pair = engine.issue_pair(7, NOW).unwrap();
    for issued in [&pair.access, &pair.refresh] {
        let claims = payload_map(&issued.token);
        assert_eq!(
            keys_in_order(&claims),
            ["token_type", "exp", "iat", "jti", "user_id", "aud", "iss"]
        );
        assert_eq!(claims["aud"], json!("api"));
        assert_eq!(claims["iss"], json!("jwtd"));
        accepted(&engine, &issued.token, NOW);
    }
    // Only one of them configured.
    let engine = hs256_with(Policy {
        issuer: Some("jwtd".to_owned()),
        ..Policy::default()
    });
    let pair = engine.issue_pair(7, NOW).unwrap();
    let claims = payload_map(&pair.access.token);
    assert_eq!(
        keys_in_order(&claims),
        ["token_type", "exp", "iat", "jti", "user_id", "iss"]
    );
}

#[test]
fn custom_claim_names_are_used() {
    let engine = hs256_with(Policy {
        claims: ClaimNames {
            token_type: "kind".to_owned(),
            jti: "id".to_owned(),
            user_id: "uid".to_owned(),
            refresh_exp: "rexp".to_owned(),
        },
        ..Policy::default()
    });
    let pair = engine.issue_pair(9, NOW).unwrap();
    let claims = payload_map(&pair.access.token);
    assert_eq!(keys_in_order(&claims), ["kind", "exp", "iat", "id", "uid"]);
    let decoded = accepted(&engine, &pair.access.token, NOW);
    decoded.check(Some(TokenType::Access)).unwrap();
    assert_eq!(decoded.user_id(), UserIdClaim::Id(9));
    assert_eq!(decoded.jti(), Some(pair.access.jti.as_str()));
    let sliding = engine.issue_sliding(9, NOW).unwrap();
    let claims = payload_map(&sliding.token);
    assert_eq!(
        keys_in_order(&claims),
        ["kind", "exp", "iat", "id", "rexp", "uid"]
    );
    // simplejwt's default names mean nothing to this engine.
    let foreign = accepted(&engine, &mint(&engine, HEADER, good()), NOW);
    assert_eq!(
        foreign.check(Some(TokenType::Access)),
        Err(TokenError::NoId)
    );
    assert_eq!(foreign.user_id(), UserIdClaim::Missing);
    // A non-string "jti" is not this engine's id claim; a non-string "id" is.
    accepted(
        &engine,
        &mint(&engine, HEADER, with(good(), "jti", json!(1))),
        NOW,
    );
    let token = mint(&engine, HEADER, with(good(), "id", json!(1)));
    assert_invalid(&engine, &token);
}
