//! The claims checked after the signature: `iss` and `aud` against the policy, `jti`, `exp` and
//! `token_type` in [`Decoded::check`], the user id, and the order of all checks (contract 1.3).

use super::*;

#[test]
fn a_configured_issuer_is_required() {
    let engine = hs256_with(Policy {
        issuer: Some("https://jwtd.example".to_owned()),
        ..Policy::default()
    });
    let token = mint(
        &engine,
        HEADER,
        with(good(), "iss", json!("https://jwtd.example")),
    );
    accepted(&engine, &token, NOW);
    for bad in [
        None,
        Some(json!("https://other.example")),
        Some(json!("https://jwtd.example/")),
        Some(json!("HTTPS://JWTD.EXAMPLE")),
        Some(json!("")),
        Some(json!(["https://jwtd.example"])),
        Some(json!(1)),
        Some(json!(null)),
    ] {
        let claims = match &bad {
            None => good(),
            Some(value) => with(good(), "iss", value.clone()),
        };
        let token = mint(&engine, HEADER, &claims);
        assert_invalid(&engine, &token);
    }
}

#[test]
fn an_unconfigured_issuer_is_ignored() {
    let engine = hs256();
    accepted(&engine, &mint(&engine, HEADER, good()), NOW);
    let token = mint(
        &engine,
        HEADER,
        with(good(), "iss", json!("https://anyone.example")),
    );
    accepted(&engine, &token, NOW);
}

#[test]
fn a_configured_audience_is_required() {
    let engine = hs256_with(Policy {
        audience: Some("api".to_owned()),
        ..Policy::default()
    });
    for ok in [
        json!("api"),
        json!(["api"]),
        json!(["other", "api"]),
        json!(["api", "api"]),
    ] {
        let token = mint(&engine, HEADER, with(good(), "aud", ok.clone()));
        accepted(&engine, &token, NOW)
            .check(Some(TokenType::Access))
            .unwrap();
    }
    let missing = mint(&engine, HEADER, good());
    assert_invalid(&engine, &missing);
    for bad in [
        json!("other"),
        json!("ap"),
        json!("apis"),
        json!("xapi"),
        json!("API"),
        json!(""),
        json!([]),
        json!(["other"]),
        json!(["ap", "pi"]),
        json!(["api", 1]),
        json!([["api"]]),
        json!({"aud": "api"}),
        json!(1),
        json!(null),
        json!(true),
    ] {
        let token = mint(&engine, HEADER, with(good(), "aud", bad.clone()));
        assert_invalid(&engine, &token);
    }
}

#[test]
fn aud_without_a_configured_audience_is_invalid() {
    let engine = hs256();
    for aud in [
        json!("api"),
        json!(["api"]),
        json!([]),
        json!(""),
        json!(null),
    ] {
        let token = mint(&engine, HEADER, with(good(), "aud", aud.clone()));
        assert_invalid(&engine, &token);
    }
}

#[test]
fn a_non_string_jti_is_invalid() {
    let engine = hs256();
    for jti in [
        json!(123),
        json!(null),
        json!(true),
        json!([JTI]),
        json!({"id": JTI}),
        json!(1.5),
    ] {
        let token = mint(&engine, HEADER, with(good(), "jti", jti.clone()));
        assert_invalid(&engine, &token);
    }
    // Any string is an id as far as decoding goes.
    let token = mint(&engine, HEADER, with(good(), "jti", json!("not-hex")));
    assert_eq!(accepted(&engine, &token, NOW).jti(), Some("not-hex"));
}

#[test]
fn check_requires_exp_then_jti_then_the_type() {
    let engine = hs256();
    let decode = |claims: Value| accepted(&engine, &mint(&engine, HEADER, &claims), NOW);

    let no_jti = decode(without(good(), "jti"));
    assert_eq!(no_jti.jti(), None);
    assert_eq!(no_jti.check(Some(TokenType::Access)), Err(TokenError::NoId));
    assert_eq!(no_jti.check(None), Err(TokenError::NoId));

    let no_exp = decode(without(good(), "exp"));
    assert_eq!(
        no_exp.check(Some(TokenType::Access)),
        Err(TokenError::NoExp)
    );
    assert_eq!(no_exp.check(None), Err(TokenError::NoExp));

    let neither = decode(without(without(good(), "exp"), "jti"));
    assert_eq!(
        neither.check(Some(TokenType::Access)),
        Err(TokenError::NoExp)
    );

    let no_type = decode(without(good(), "token_type"));
    assert_eq!(
        no_type.check(Some(TokenType::Access)),
        Err(TokenError::NoType)
    );
    assert_eq!(
        no_type.check(Some(TokenType::Refresh)),
        Err(TokenError::NoType)
    );
    assert_eq!(no_type.check(None), Ok(()));

    let no_jti_no_type = decode(without(without(good(), "jti"), "token_type"));
    assert_eq!(
        no_jti_no_type.check(Some(TokenType::Access)),
        Err(TokenError::NoId)
    );
}

#[test]
fn check_compares_the_token_type() {
    let engine = hs256();
    let decode = |ty: Value| {
        accepted(
            &engine,
            &mint(&engine, HEADER, with(good(), "token_type", ty)),
            NOW,
        )
    };

    for (name, ty) in [
        ("access", TokenType::Access),
        ("refresh", TokenType::Refresh),
        ("sliding", TokenType::Sliding),
    ] {
        let decoded = decode(json!(name));
        decoded.check(Some(ty)).unwrap();
        decoded.check(None).unwrap();
        for other in [TokenType::Access, TokenType::Refresh, TokenType::Sliding] {
            if other != ty {
                assert_eq!(
                    decoded.check(Some(other)),
                    Err(TokenError::WrongType),
                    "{name} as {other:?}"
                );
            }
        }
    }
    for odd in [
        json!("ACCESS"),
        json!("access "),
        json!(""),
        json!("AccessToken"),
        json!(1),
        json!(null),
        json!(["access"]),
        json!(true),
    ] {
        let decoded = decode(odd.clone());
        assert_eq!(
            decoded.check(Some(TokenType::Access)),
            Err(TokenError::WrongType),
            "{odd}"
        );
        // /api/token/verify/ accepts any purpose.
        assert_eq!(decoded.check(None), Ok(()), "{odd}");
    }
}

#[test]
fn user_ids_are_read_strictly() {
    let engine = hs256();
    let decode = |claims: Value| accepted(&engine, &mint(&engine, HEADER, &claims), NOW);
    for (value, expected) in [
        (json!("1"), UserIdClaim::Id(1)),
        (json!("42"), UserIdClaim::Id(42)),
        (json!(1), UserIdClaim::Id(1)),
        (json!(42), UserIdClaim::Id(42)),
        (json!("9223372036854775807"), UserIdClaim::Id(i64::MAX)),
        (json!(true), UserIdClaim::Malformed),
        (json!(false), UserIdClaim::Malformed),
        (json!("abc"), UserIdClaim::Malformed),
        (json!(1.5), UserIdClaim::Malformed),
        (json!(1.0), UserIdClaim::Malformed),
        (json!(""), UserIdClaim::Malformed),
        (json!("1.0"), UserIdClaim::Malformed),
        (json!(" 1"), UserIdClaim::Malformed),
        (json!("+1"), UserIdClaim::Malformed),
        (json!("-1"), UserIdClaim::Malformed),
        (json!(-1), UserIdClaim::Malformed),
        (json!("9223372036854775808"), UserIdClaim::Malformed),
        (json!(u64::MAX), UserIdClaim::Malformed),
        (json!(null), UserIdClaim::Malformed),
        (json!([1]), UserIdClaim::Malformed),
        (json!({"id": 1}), UserIdClaim::Malformed),
    ] {
        let decoded = decode(with(good(), "user_id", value.clone()));
        assert_eq!(decoded.user_id(), expected, "{value}");
        // The user id is not part of token validity.
        decoded.check(Some(TokenType::Access)).unwrap();
    }
    assert_eq!(
        decode(without(good(), "user_id")).user_id(),
        UserIdClaim::Missing
    );
}

// The order of checks (contract 1.3): only Expired vs Invalid is observable.
#[test]
fn checks_run_in_simplejwts_order() {
    let policy = Policy {
        issuer: Some("jwtd".to_owned()),
        audience: Some("api".to_owned()),
        ..Policy::default()
    };
    let engine = hs256_with(policy);
    let expired = with(
        with(with(good(), "exp", json!(NOW - 1)), "iss", json!("jwtd")),
        "aud",
        json!("api"),
    );
    let token = mint(&engine, HEADER, &expired);
    assert_eq!(refused(&engine, &token, NOW), TokenError::Expired);

    // Structure, algorithm and signature come before expiry.
    let bad_signature = format!("{}A", &token[..token.len() - 1]);
    let bad_signature = if bad_signature == token {
        format!("{}B", &token[..token.len() - 1])
    } else {
        bad_signature
    };
    assert_invalid(&engine, &bad_signature);
    let none = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(expired.to_string()));
    assert_invalid(&engine, &none);
    let padded_payload = padded(&b64(expired.to_string()));
    let padded_token = mint(&engine, HEADER, Exact(&padded_payload));
    assert_invalid(&engine, &padded_token);

    // iat and nbf come before exp.
    for claim in ["iat", "nbf"] {
        let token = mint(
            &engine,
            HEADER,
            with(expired.clone(), claim, json!(NOW + 100)),
        );
        assert_invalid(&engine, &token);
    }
    // exp comes before jti type, iss and aud.
    for (claim, value) in [
        ("jti", json!(1)),
        ("iss", json!("other")),
        ("aud", json!("other")),
    ] {
        let token = mint(&engine, HEADER, with(expired.clone(), claim, value));
        assert_eq!(
            refused(&engine, &token, NOW),
            TokenError::Expired,
            "{claim}"
        );
    }
    let token = mint(&engine, HEADER, without(expired.clone(), "aud"));
    assert_eq!(refused(&engine, &token, NOW), TokenError::Expired);
    // A malformed exp is not "expired".
    let token = mint(&engine, HEADER, with(expired, "exp", json!("0")));
    assert_invalid(&engine, &token);
}
