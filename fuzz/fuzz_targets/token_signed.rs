//! Fuzzer-chosen header and payload bytes, correctly signed with the HS256 server's key, so the
//! fuzzer gets past the signature to the JSON, the header rules and the claim checks. Whatever
//! `decode` accepts must satisfy every rule; `check` and the user id must be consistent with the
//! claims; nothing may panic.
//!
//! Input layout: the first byte splits the rest into header and payload.

#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwtd_token::{Algorithm, Keys, Policy, TokenEngine, TokenError, TokenType, UserIdClaim};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const NOW: i64 = 1_800_000_000;
const SECRET: &[u8] = b"jwtd fuzzing secret: 0123456789abcdef0123456789";
const MAX_TIME: f64 = 253_402_300_799.0;

fn engines() -> &'static [TokenEngine; 2] {
    static ENGINES: OnceLock<[TokenEngine; 2]> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let keys = || Keys::new(Algorithm::HS256, SECRET, None).unwrap();
        let strict = Policy {
            audience: Some("api".to_owned()),
            issuer: Some("https://issuer.example".to_owned()),
            leeway: 30,
            ..Policy::default()
        };
        [
            TokenEngine::new(keys(), Policy::default()),
            TokenEngine::new(keys(), strict),
        ]
    })
}

fn time(claims: &serde_json::Map<String, Value>, name: &str) -> Option<f64> {
    claims.get(name).map(|v| {
        let t = v.as_f64().expect("a time claim that passed is a number");
        assert!(v.is_number() && t.is_finite() && (0.0..=MAX_TIME).contains(&t), "{name} {v}");
        t
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (header, payload) = rest.split_at(split);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET), input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag));

    for engine in engines() {
        let policy = engine.policy();
        let leeway = policy.leeway as f64;
        let Ok(decoded) = engine.decode(&token, NOW) else {
            continue;
        };
        // Header rules.
        let h = decoded.header();
        assert_eq!(h.get("alg"), Some(&Value::from("HS256")));
        assert!(!h.contains_key("crit") && !h.contains_key("zip"));
        assert!(h.get("b64").is_none_or(|b| b == &Value::Bool(true)));
        // Both parts were JSON objects; the claims are the payload's, member for member.
        let reparsed: serde_json::Map<String, Value> =
            serde_json::from_slice(payload).expect("accepted payload is a JSON object");
        assert_eq!(&reparsed, decoded.claims());
        let claims = decoded.claims();
        // Time rules.
        let now = NOW as f64;
        assert!(time(claims, "iat").is_none_or(|t| t <= now + leeway));
        assert!(time(claims, "nbf").is_none_or(|t| t <= now + leeway));
        assert!(time(claims, "exp").is_none_or(|t| t > now - leeway));
        // Issuer and audience.
        match &policy.issuer {
            None => {}
            Some(iss) => assert_eq!(claims.get("iss"), Some(&Value::from(iss.as_str()))),
        }
        match (&policy.audience, claims.get("aud")) {
            (None, aud) => assert!(aud.is_none()),
            (Some(expected), Some(Value::String(aud))) => assert_eq!(aud, expected),
            (Some(expected), Some(Value::Array(auds))) => {
                assert!(auds.iter().all(Value::is_string));
                assert!(auds.iter().any(|a| a == expected.as_str()));
            }
            (Some(_), other) => panic!("accepted aud {other:?}"),
        }
        // jti, purpose and user id.
        assert!(claims.get("jti").is_none_or(Value::is_string));
        match decoded.check(Some(TokenType::Access)) {
            Ok(()) => {
                assert!(claims.contains_key("exp") && claims.contains_key("jti"));
                assert_eq!(claims.get("token_type"), Some(&Value::from("access")));
            }
            Err(TokenError::NoExp) => assert!(!claims.contains_key("exp")),
            Err(TokenError::NoId) => assert!(!claims.contains_key("jti")),
            Err(TokenError::NoType) => assert!(!claims.contains_key("token_type")),
            Err(TokenError::WrongType) => {
                assert_ne!(claims.get("token_type"), Some(&Value::from("access")))
            }
            Err(other) => panic!("check gave {other:?}"),
        }
        match decoded.user_id() {
            UserIdClaim::Id(id) => match &claims["user_id"] {
                // Decimal digits only; leading zeros read as Django's `int()` reads them.
                Value::String(s) => {
                    assert!(s.bytes().all(|b| b.is_ascii_digit()), "{s:?}");
                    assert_eq!(s.parse::<i64>().ok(), Some(id));
                }
                Value::Number(n) => assert_eq!(n.as_i64(), Some(id)),
                other => panic!("user id {id} from {other}"),
            },
            UserIdClaim::Missing => assert!(!claims.contains_key("user_id")),
            UserIdClaim::Malformed => assert!(claims.contains_key("user_id")),
        }
    }
});
