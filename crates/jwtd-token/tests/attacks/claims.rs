//! Hostile claims: time claims, duplicate members, `aud` and `iss`, `token_type`, `jti` and
//! `user_id`.

use jwtd_token::TokenError;
use serde_json::json;

use super::*;

pub(super) fn claim_cases(c: &mut Cases) {
    let t = c.target;
    let invalid = Expect::Decode(TokenError::Invalid);
    let expired = Expect::Decode(TokenError::Expired);

    // Time claims: types, magnitudes, expiry, not-before, issued in the future (B2).
    let hostile_times: Vec<(&str, &str)> = vec![
        ("a string", r#""9999999999""#),
        ("a numeric string of now", "\"NOW\""),
        ("true", "true"),
        ("null", "null"),
        ("an array", "[9999999999]"),
        ("an object", r#"{"$date":9999999999}"#),
        ("negative", "-1"),
        ("1e300", "1e300"),
        ("1e999 (overflows f64)", "1e999"),
        ("2^64", "18446744073709551616"),
        ("2^63", "9223372036854775808"),
        ("year 10000", "253402300800"),
        ("-0.5e1000", "-0.5e1000"),
    ];
    for claim in ["exp", "nbf", "iat"] {
        for (what, raw) in &hostile_times {
            let raw = raw.replace("NOW", &t.now.to_string());
            c.claims(format!("{claim} {what}"), &t.with_raw(claim, &raw), invalid);
        }
    }
    c.claims(
        "exp missing",
        &t.without("exp"),
        Expect::Check(TokenError::NoExp),
    );
    c.claims(
        "exp one second ago",
        &t.with("exp", json!(t.now - 1)),
        expired,
    );
    c.claims("exp exactly now", &t.with("exp", json!(t.now)), expired);
    c.claims("exp long ago", &t.with("exp", json!(1)), expired);
    c.claims("exp 0", &t.with("exp", json!(0)), expired);
    c.claims(
        "exp now - 0.5",
        &t.with("exp", json!(t.now as f64 - 0.5)),
        expired,
    );
    c.claims(
        "nbf in the future",
        &t.with("nbf", json!(t.now + 60)),
        invalid,
    );
    c.claims(
        "nbf far in the future",
        &t.with("nbf", json!(253_402_300_799i64)),
        invalid,
    );
    c.claims(
        "iat in the future",
        &t.with("iat", json!(t.now + 60)),
        invalid,
    );
    if t.exact_clock {
        c.claims(
            "nbf half a second in the future",
            &t.with("nbf", json!(t.now as f64 + 0.5)),
            invalid,
        );
        c.claims(
            "iat half a second in the future",
            &t.with("iat", json!(t.now as f64 + 0.5)),
            invalid,
        );
    }

    // Duplicate members with a different last value (RFC 7519 4: jwtd refuses them outright,
    // so no two verifiers can read one token two ways).
    let base = t.claims_json();
    let body = &base[1..base.len() - 1];
    let mut duplicates = vec![
        ("exp", json!(t.now + 99_999)),
        ("exp", json!(t.now - 99_999)),
        ("iat", json!(t.now - 60)),
        ("user_id", json!((t.user_id + 1).to_string())),
        ("user_id", json!(t.user_id.to_string())),
        (
            "token_type",
            json!(if t.token_type == "access" {
                "refresh"
            } else {
                "access"
            }),
        ),
        ("jti", json!(new_jti())),
    ];
    if t.aud_iss {
        duplicates.push(("aud", json!("https://elsewhere.example")));
        duplicates.push(("iss", json!("https://elsewhere.example")));
    }
    for (name, value) in duplicates {
        c.claims(
            format!("duplicate {name}, last {value}"),
            &format!(r#"{{{body},"{name}":{value}}}"#),
            invalid,
        );
    }
    c.claims(
        "duplicate nbf, the first one valid",
        &format!(r#"{{"nbf":{},{body},"nbf":{}}}"#, t.now - 60, t.now - 30),
        invalid,
    );
    c.claims(
        "duplicate exp, spelled with a unicode escape",
        &format!(r#"{{{body},"\u0065xp":{}}}"#, t.now + 99_999),
        invalid,
    );

    // Audience and issuer.
    if t.aud_iss {
        let audiences = vec![
            ("missing", None),
            ("wrong", Some(json!("https://other.example.com"))),
            (
                "a prefix of the audience",
                Some(json!("https://api.example")),
            ),
            (
                "the audience plus a suffix",
                Some(json!("https://api.example.com.evil.example")),
            ),
            (
                "the audience with a trailing slash",
                Some(json!("https://api.example.com/")),
            ),
            ("upper-cased", Some(json!("HTTPS://API.EXAMPLE.COM"))),
            (
                "the audience inside a longer string",
                Some(json!("xhttps://api.example.comx")),
            ),
            ("empty", Some(json!(""))),
            ("null", Some(json!(null))),
            ("a number", Some(json!(1))),
            ("an object", Some(json!({ "aud": AUDIENCE }))),
            ("an empty list", Some(json!([]))),
            (
                "a list without it",
                Some(json!(["https://other.example.com"])),
            ),
            (
                "a list with it and a non-string",
                Some(json!([AUDIENCE, 1])),
            ),
            ("a nested list", Some(json!([[AUDIENCE]]))),
        ];
        let issuers = vec![
            ("missing", None),
            ("wrong", Some(json!("https://evil.example.com"))),
            (
                "a prefix of the issuer",
                Some(json!("https://auth.example")),
            ),
            (
                "the issuer plus a suffix",
                Some(json!("https://auth.example.com.evil.example")),
            ),
            ("upper-cased", Some(json!("HTTPS://AUTH.EXAMPLE.COM"))),
            ("a list with it", Some(json!([ISSUER]))),
            ("null", Some(json!(null))),
            ("a number", Some(json!(1))),
        ];
        for (claim, values) in [("aud", audiences), ("iss", issuers)] {
            for (what, value) in values {
                let claims = match value {
                    None => t.without(claim),
                    Some(value) => t.with(claim, value),
                };
                c.claims(format!("{claim} {what}"), &claims, invalid);
            }
        }
    } else {
        c.claims(
            "aud present when no audience is configured (B7)",
            &t.with("aud", json!("https://api.example.com")),
            invalid,
        );
        c.claims(
            "aud list present when no audience is configured",
            &t.with("aud", json!([])),
            invalid,
        );
    }

    // Purpose: a refresh token is never an access token and the other way round.
    let swapped = if t.token_type == "access" {
        "refresh"
    } else {
        "access"
    };
    let wrong = Expect::Check(TokenError::WrongType);
    c.claims(
        format!("token_type {swapped} where {} is expected", t.token_type),
        &t.with("token_type", json!(swapped)),
        wrong,
    );
    c.claims(
        "a sliding token",
        &t.with("token_type", json!("sliding")),
        wrong,
    );
    c.claims(
        "token_type in another case",
        &t.with("token_type", json!(t.token_type.to_uppercase())),
        wrong,
    );
    c.claims(
        "token_type with a trailing space",
        &t.with("token_type", json!(format!("{} ", t.token_type))),
        wrong,
    );
    c.claims(
        "token_type as a list",
        &t.with("token_type", json!([t.token_type])),
        wrong,
    );
    c.claims("token_type null", &t.with("token_type", json!(null)), wrong);
    c.claims(
        "token_type missing",
        &t.without("token_type"),
        Expect::Check(TokenError::NoType),
    );

    // jti.
    c.claims(
        "jti missing (B3)",
        &t.without("jti"),
        Expect::Check(TokenError::NoId),
    );
    for (what, jti) in [
        ("a number", json!(1)),
        ("null", json!(null)),
        ("a list", json!([new_jti()])),
        ("an object", json!({})),
    ] {
        c.claims(format!("jti {what}"), &t.with("jti", jti), invalid);
    }

    // user_id of the wrong JSON type (B2, B8): never coerced, never another user.
    for (what, id) in [
        ("true", json!(true)),
        ("false", json!(false)),
        ("a float", json!(t.user_id as f64)),
        ("1.5", json!(1.5)),
        ("a list", json!([t.user_id])),
        ("an object", json!({ "id": t.user_id })),
        ("null", json!(null)),
        ("negative", json!(-t.user_id)),
        ("a negative string", json!(format!("-{}", t.user_id))),
        ("with a leading space", json!(format!(" {}", t.user_id))),
        ("with a trailing space", json!(format!("{} ", t.user_id))),
        ("hexadecimal", json!(format!("0x{:x}", t.user_id))),
        ("in exponent form", json!(format!("{}e0", t.user_id))),
        ("empty", json!("")),
        ("Arabic-Indic digits", json!("\u{661}")),
        ("2^63 as a string", json!("9223372036854775808")),
        ("20 digits", json!("99999999999999999999")),
        ("a username", json!("alice")),
    ] {
        c.claims(
            format!("user_id {what}"),
            &t.with("user_id", id),
            Expect::NoUser,
        );
    }
    c.claims(
        "user_id 2^64 as a number",
        &t.with_raw("user_id", "18446744073709551616"),
        Expect::NoUser,
    );
    c.claims(
        "user_id missing (B8)",
        &t.without("user_id"),
        Expect::NoUser,
    );
}
