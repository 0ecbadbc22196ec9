//! Naming the check that refused a token jwtd-token calls simply "invalid".
//!
//! `TokenEngine::decode` answers one `Invalid` for a dozen failures, as simplejwt does. Only
//! after a refusal, this re-reads the token **without trusting it** to say which check failed:
//! structure, then the header's algorithm, then the claims in the engine's order, and the
//! signature when nothing else is wrong. A forged token that also fails a claim check is
//! therefore named by the claim. The answer to the caller is the same "Token is invalid" either
//! way; the kind is for logs and tests, and none of this runs for a token that passes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwtd_token::{Algorithm, MAX_TOKEN_LEN, Policy, TokenEngine, dangerous_decode_unverified};
use serde_json::{Map, Value};

use crate::error::ErrorKind;

/// The latest accepted time claim, as in jwtd-token (9999-12-31T23:59:59Z).
const MAX_TIME: f64 = 253_402_300_799.0;

/// Which check refused `token`, given that `engine.decode(token, now)` said `Invalid`.
pub(crate) fn invalid(engine: &TokenEngine, token: &str, now: i64) -> ErrorKind {
    let structure = token.len() <= MAX_TOKEN_LEN
        && token.trim() == token
        && token.split('.').count() == 3
        && token
            .rsplit('.')
            .next()
            .is_some_and(|s| !s.is_empty() && URL_SAFE_NO_PAD.decode(s).is_ok());
    let Ok((header, claims)) = dangerous_decode_unverified(token) else {
        return ErrorKind::Malformed;
    };
    if let Some(kind) = header_check(engine, &header) {
        return kind;
    }
    if !structure {
        return ErrorKind::Malformed;
    }
    claims_check(engine.policy(), &claims, now).unwrap_or(ErrorKind::Signature)
}

/// The header's refusals: a malformed member, or an algorithm no held key verifies with.
fn header_check(engine: &TokenEngine, header: &Map<String, Value>) -> Option<ErrorKind> {
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg,
        _ => return Some(ErrorKind::Malformed),
    };
    let malformed = header.iter().any(|(name, value)| match name.as_str() {
        "kid" => !value.is_string(),
        "crit" | "zip" => true,
        "b64" => value != &Value::Bool(true),
        _ => false,
    });
    if malformed {
        return Some(ErrorKind::Malformed);
    }
    // `none`, unknown names, and algorithms no held key has (the allow-list filtered the keys).
    let Ok(alg) = alg.parse::<Algorithm>() else {
        return Some(ErrorKind::Algorithm);
    };
    let keys = engine.keys();
    let fits = match header.get("kid").and_then(Value::as_str) {
        Some(kid) => match keys.get(kid) {
            Some(entry) => entry.keys().algorithm() == alg,
            // A lone key is tried whatever the kid (jwtd-token's rule for simplejwt's tokens).
            None => keys.entries().iter().any(|e| e.keys().algorithm() == alg),
        },
        None => keys.entries().iter().any(|e| e.keys().algorithm() == alg),
    };
    (!fits).then_some(ErrorKind::Algorithm)
}

/// The engine's claim checks, in its order: time claims' form, `iat`/`nbf`, `iss`, `aud`, then
/// the `jti` type. `exp` is not among them: the engine reports expiry itself when the
/// signature holds.
fn claims_check(policy: &Policy, claims: &Map<String, Value>, now: i64) -> Option<ErrorKind> {
    let mut not_yet_valid = false;
    for name in ["iat", "nbf", "exp"] {
        let Some(value) = claims.get(name) else {
            continue;
        };
        let Some(seconds) = time_claim(value) else {
            return Some(ErrorKind::Malformed);
        };
        not_yet_valid |= name != "exp" && seconds > (now + policy.leeway) as f64;
    }
    if not_yet_valid {
        return Some(ErrorKind::NotYetValid);
    }
    if let Some(expected) = &policy.issuer
        && claims.get("iss").and_then(Value::as_str) != Some(expected.as_str())
    {
        return Some(ErrorKind::Issuer);
    }
    let audience_ok = match (&policy.audience, claims.get("aud")) {
        (None, None) => true,
        (Some(expected), Some(Value::String(aud))) => aud == expected,
        (Some(expected), Some(Value::Array(auds))) => {
            auds.iter().all(Value::is_string)
                && auds.iter().any(|a| a.as_str() == Some(expected.as_str()))
        }
        _ => false,
    };
    if !audience_ok {
        return Some(ErrorKind::Audience);
    }
    if claims
        .get(&policy.claims.jti)
        .is_some_and(|jti| !jti.is_string())
    {
        return Some(ErrorKind::Malformed);
    }
    None
}

/// A time claim as jwtd-token reads one: a number within 0 ..= year 9999.
fn time_claim(value: &Value) -> Option<f64> {
    let seconds = value.as_f64()?;
    (seconds.is_finite() && (0.0..=MAX_TIME).contains(&seconds)).then_some(seconds)
}
