//! Tokens made from other tokens: `access_from`, `rotate`, sliding tokens and their renewal.

use super::*;

/// A decoded refresh token of user 7 with id [`JTI`], issued at [`NOW`], carrying a custom
/// `tenant` claim and then `extra`.
fn refresh_of_user_7<const N: usize>(engine: &TokenEngine, extra: [(&str, Value); N]) -> Decoded {
    let mut claims = json!({
        "token_type": "refresh",
        "exp": NOW + 86_400,
        "iat": NOW,
        "jti": JTI,
        "user_id": "7",
        "tenant": "acme",
    });
    for (name, value) in extra {
        claims = with(claims, name, value);
    }
    accepted(engine, &mint(engine, HEADER, &claims), NOW)
}

#[test]
fn access_from_copies_custom_claims_with_new_times_and_id() {
    let engine = hs256();
    let refresh = refresh_of_user_7(&engine, [("roles", json!(["a", "b"]))]);
    let later = NOW + 60;
    let access = engine.access_from(&refresh, later).unwrap();
    assert_ne!(access.jti, JTI);
    assert!(is_jti(&access.jti));
    assert_eq!((access.issued_at, access.expires_at), (later, later + 300));
    assert_eq!(
        payload_text(&access.token),
        format!(
            r#"{{"token_type":"access","exp":{},"iat":{later},"jti":"{}","user_id":"7","tenant":"acme","roles":["a","b"]}}"#,
            later + 300,
            access.jti
        )
    );
    let decoded = accepted(&engine, &access.token, later);
    decoded.check(Some(TokenType::Access)).unwrap();
    assert_eq!(decoded.user_id(), UserIdClaim::Id(7));

    // From an issued pair: same user, new id, access lifetime from the new instant.
    let pair = engine.issue_pair(5, NOW).unwrap();
    let refresh = accepted(&engine, &pair.refresh.token, NOW + 1000);
    let access = engine.access_from(&refresh, NOW + 1000).unwrap();
    assert_ne!(access.jti, pair.refresh.jti);
    assert_ne!(access.jti, pair.access.jti);
    let claims = payload_map(&access.token);
    assert_eq!(
        keys_in_order(&claims),
        ["token_type", "exp", "iat", "jti", "user_id"]
    );
    assert_eq!(claims["exp"], json!(NOW + 1300));
    assert_eq!(claims["user_id"], json!("5"));
}

#[test]
fn rotate_gives_a_new_id_and_times() {
    let engine = hs256_with(Policy {
        audience: Some("api".to_owned()),
        ..Policy::default()
    });
    let refresh = refresh_of_user_7(&engine, [("aud", json!("api"))]);
    let later = NOW + 3600;
    let rotated = engine.rotate(&refresh, later).unwrap();
    assert_ne!(rotated.jti, JTI);
    assert!(is_jti(&rotated.jti));
    assert_eq!(
        (rotated.issued_at, rotated.expires_at),
        (later, later + 86_400)
    );
    assert_eq!(
        payload_text(&rotated.token),
        format!(
            r#"{{"token_type":"refresh","exp":{},"iat":{later},"jti":"{}","user_id":"7","tenant":"acme","aud":"api"}}"#,
            later + 86_400,
            rotated.jti
        )
    );
    let decoded = accepted(&engine, &rotated.token, later);
    decoded.check(Some(TokenType::Refresh)).unwrap();
    // The session slides: the rotated token outlives the original.
    accepted(&engine, &rotated.token, NOW + 86_400);
}

#[test]
fn sliding_tokens_put_refresh_exp_before_the_user_id() {
    let engine = hs256();
    let sliding = engine.issue_sliding(5, NOW).unwrap();
    assert!(is_jti(&sliding.jti));
    assert_eq!(
        payload_text(&sliding.token),
        format!(
            r#"{{"token_type":"sliding","exp":{},"iat":{NOW},"jti":"{}","refresh_exp":{},"user_id":"5"}}"#,
            NOW + 300,
            sliding.jti,
            NOW + 86_400
        )
    );
    let decoded = accepted(&engine, &sliding.token, NOW);
    decoded.check(Some(TokenType::Sliding)).unwrap();
    assert_eq!(
        decoded.check(Some(TokenType::Access)),
        Err(TokenError::WrongType)
    );
    assert_eq!(
        decoded.check(Some(TokenType::Refresh)),
        Err(TokenError::WrongType)
    );
}

#[test]
fn renew_sliding_keeps_the_id_and_refresh_exp() {
    let engine = hs256();
    let sliding = engine.issue_sliding(5, NOW).unwrap();
    let decoded = accepted(&engine, &sliding.token, NOW + 100);
    let renewed = engine.renew_sliding(&decoded, NOW + 100).unwrap();
    assert_eq!(renewed.jti, sliding.jti);
    assert_eq!(
        (renewed.issued_at, renewed.expires_at),
        (NOW + 100, NOW + 400)
    );
    assert_eq!(
        payload_text(&renewed.token),
        format!(
            r#"{{"token_type":"sliding","exp":{},"iat":{},"jti":"{}","refresh_exp":{},"user_id":"5"}}"#,
            NOW + 400,
            NOW + 100,
            sliding.jti,
            NOW + 86_400
        )
    );
    let again = accepted(&engine, &renewed.token, NOW + 350);
    again.check(Some(TokenType::Sliding)).unwrap();

    // Renewal stops at refresh_exp (inclusive), whatever exp says.
    engine.renew_sliding(&decoded, NOW + 86_399).unwrap();
    assert_eq!(
        engine.renew_sliding(&decoded, NOW + 86_400).unwrap_err(),
        TokenError::RefreshExpExpired
    );
    assert_eq!(
        engine.renew_sliding(&decoded, NOW + 90_000).unwrap_err(),
        TokenError::RefreshExpExpired
    );
}

#[test]
fn renew_sliding_honours_leeway_and_refuses_bad_refresh_exp() {
    let engine = hs256_with(Policy {
        leeway: 10,
        ..Policy::default()
    });
    let sliding = engine.issue_sliding(5, NOW).unwrap();
    let decoded = accepted(&engine, &sliding.token, NOW);
    engine.renew_sliding(&decoded, NOW + 86_409).unwrap();
    assert_eq!(
        engine.renew_sliding(&decoded, NOW + 86_410).unwrap_err(),
        TokenError::RefreshExpExpired
    );

    let base = with(good(), "token_type", json!("sliding"));
    let missing = accepted(&engine, &mint(&engine, HEADER, &base), NOW);
    assert_eq!(
        engine.renew_sliding(&missing, NOW).unwrap_err(),
        TokenError::NoRefreshExp
    );
    for bad in [
        json!("1900000000"),
        json!(true),
        json!(null),
        json!(-5),
        json!(1e20),
    ] {
        let decoded = accepted(
            &engine,
            &mint(
                &engine,
                HEADER,
                with(base.clone(), "refresh_exp", bad.clone()),
            ),
            NOW,
        );
        assert_eq!(
            engine.renew_sliding(&decoded, NOW).unwrap_err(),
            TokenError::Invalid,
            "{bad}"
        );
    }
    let no_jti = with(without(base, "jti"), "refresh_exp", json!(NOW + 1000));
    let decoded = accepted(&engine, &mint(&engine, HEADER, &no_jti), NOW);
    assert_eq!(
        engine.renew_sliding(&decoded, NOW).unwrap_err(),
        TokenError::NoId
    );
}

#[test]
fn a_session_cap_shortens_the_refresh_tokens_it_reaches() {
    let engine = hs256();
    let refresh = refresh_of_user_7(&engine, []);
    let later = NOW + 3600;
    // A cap within the lifetime ends the successor (and its `exp` claim) there.
    let capped = engine
        .rotate_until(&refresh, later, Some(later + 60))
        .unwrap();
    assert_eq!(capped.expires_at, later + 60);
    assert!(payload_text(&capped.token).contains(&format!(r#""exp":{}"#, later + 60)));
    // A cap beyond it changes nothing.
    let uncapped = engine
        .rotate_until(&refresh, later, Some(later + 10 * 86_400))
        .unwrap();
    assert_eq!(uncapped.expires_at, later + 86_400);
    // At login too; the access token keeps its own lifetime.
    let pair = engine
        .issue_pair_until(&Subject::new("7"), NOW, Some(NOW + 100))
        .unwrap();
    assert_eq!(pair.refresh.expires_at, NOW + 100);
    assert_eq!(pair.access.expires_at, NOW + 300);
}
