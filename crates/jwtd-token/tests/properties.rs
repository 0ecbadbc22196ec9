//! Property tests of the token engine, bounded so they run in CI (proptest's default 256 cases
//! each; `PROPTEST_CASES=100000 cargo test -p jwtd-token --test properties` runs longer). The
//! unbounded versions are the cargo-fuzz targets in `fuzz/` (SECURITY.md, "Fuzzing").
//!
//! - Any text: `decode` answers (never panics) and never accepts it.
//! - Any header and claims, correctly signed: `decode` and `check` agree with a small,
//!   independent model of the rules (the differential oracle below), so the only tokens accepted
//!   are the ones the rules allow.
//! - Any one-character change to a valid token: refused.
//! - Any user id and instant: issued tokens decode to the same user, times and id.

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwtd_token::{
    Algorithm, Keys, Policy, TokenEngine, TokenError, TokenType, UserIdClaim, generate,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const NOW: i64 = 1_800_000_000;
const SECRET: &[u8] = b"jwtd property-test secret, at least 32 bytes";
/// Latest accepted time claim (9999-12-31T23:59:59Z), as in the engine.
const MAX_TIME: f64 = 253_402_300_799.0;

fn hs256() -> &'static TokenEngine {
    static ENGINE: OnceLock<TokenEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        TokenEngine::new(
            Keys::new(Algorithm::HS256, SECRET, None).unwrap(),
            Policy::default(),
        )
    })
}

/// One engine per asymmetric family, for the mutation property.
fn engines() -> &'static [TokenEngine] {
    static ENGINES: OnceLock<Vec<TokenEngine>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        [Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256]
            .into_iter()
            .map(|alg| {
                let material = generate(alg).unwrap();
                TokenEngine::new(
                    Keys::new(alg, material.as_bytes(), None).unwrap(),
                    Policy::default(),
                )
            })
            .chain(std::iter::once(TokenEngine::new(
                Keys::new(Algorithm::HS256, SECRET, None).unwrap(),
                Policy::default(),
            )))
            .collect()
    })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hs256_token(header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET), input.as_bytes());
    format!("{input}.{}", b64(tag))
}

// ---------------------------------------------------------------------------------------------
// The model: RFC 7515/7519 and simplejwt's rules as jwtd applies them, written independently of
// the engine, for an HS256 server with no audience, issuer or leeway at `NOW`.
// ---------------------------------------------------------------------------------------------

fn model_time(value: &Value) -> Option<f64> {
    let n = value.as_f64()?;
    (value.is_number() && n.is_finite() && (0.0..=MAX_TIME).contains(&n)).then_some(n)
}

fn model_decode(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> Result<(), TokenError> {
    if header.get("alg") != Some(&json!("HS256"))
        || header.contains_key("crit")
        || header.contains_key("zip")
        || header.get("b64").is_some_and(|b| b != &json!(true))
        // PyJWT's rule: a `kid`, when present, is a string (the one key is tried whatever it
        // says).
        || header.get("kid").is_some_and(|kid| !kid.is_string())
    {
        return Err(TokenError::Invalid);
    }
    let mut times = [None; 3];
    for (slot, name) in times.iter_mut().zip(["iat", "nbf", "exp"]) {
        if let Some(value) = claims.get(name) {
            *slot = Some(model_time(value).ok_or(TokenError::Invalid)?);
        }
    }
    let [iat, nbf, exp] = times;
    if iat.is_some_and(|t| t > NOW as f64) || nbf.is_some_and(|t| t > NOW as f64) {
        return Err(TokenError::Invalid);
    }
    if exp.is_some_and(|t| t <= NOW as f64) {
        return Err(TokenError::Expired);
    }
    if claims.contains_key("aud") {
        return Err(TokenError::Invalid);
    }
    if claims.get("jti").is_some_and(|j| !j.is_string()) {
        return Err(TokenError::Invalid);
    }
    Ok(())
}

fn model_check(claims: &Map<String, Value>) -> Result<(), TokenError> {
    if !claims.contains_key("exp") {
        return Err(TokenError::NoExp);
    }
    if !claims.contains_key("jti") {
        return Err(TokenError::NoId);
    }
    match claims.get("token_type") {
        None => Err(TokenError::NoType),
        Some(t) if t == "access" => Ok(()),
        Some(_) => Err(TokenError::WrongType),
    }
}

fn model_user(claims: &Map<String, Value>) -> UserIdClaim {
    match claims.get("user_id") {
        None => UserIdClaim::Missing,
        Some(Value::String(s))
            if !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().map_or(UserIdClaim::Malformed, UserIdClaim::Id)
        }
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|id| *id >= 0)
            .map_or(UserIdClaim::Malformed, UserIdClaim::Id),
        Some(_) => UserIdClaim::Malformed,
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// A member: left out (`None`), one of `good`, or one of `bad`, with these weights. Good values
/// are weighted up so a fair share of tokens passes every rule and the acceptance side of the
/// model is exercised too (`the_strategies_reach_both_verdicts`).
fn member(
    weights: (u32, u32, u32),
    good: Vec<Value>,
    bad: Vec<Value>,
) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        weights.0 => Just(None),
        weights.1 => proptest::sample::select(good).prop_map(Some),
        weights.2 => proptest::sample::select(bad).prop_map(Some),
    ]
}

/// Time values that are never valid, whatever the claim.
fn bad_times() -> Vec<Value> {
    vec![
        json!(-1),
        json!(1e300),
        json!(253_402_300_800i64),
        json!(u64::MAX),
        json!(NOW.to_string()),
        json!(true),
        json!(null),
        json!([NOW]),
        json!({}),
    ]
}

/// `iat`/`nbf`: past values pass; present, future and hostile ones may not.
fn past_times() -> impl Strategy<Value = Option<Value>> {
    let mut bad = bad_times();
    bad.extend([json!(NOW + 1), json!(NOW as f64 + 0.5), json!(NOW + 300)]);
    member(
        (2, 5, 3),
        vec![
            json!(NOW),
            json!(NOW - 1),
            json!(NOW - 300),
            json!(NOW as f64 - 0.5),
            json!(0),
        ],
        bad,
    )
}

/// `exp`: future values pass; now and the past are expired.
fn future_times() -> impl Strategy<Value = Option<Value>> {
    let mut bad = bad_times();
    bad.extend([
        json!(NOW),
        json!(NOW - 1),
        json!(NOW as f64 - 0.5),
        json!(0),
    ]);
    member(
        (2, 5, 3),
        vec![
            json!(NOW + 1),
            json!(NOW + 300),
            json!(NOW as f64 + 0.5),
            json!(253_402_300_799i64),
        ],
        bad,
    )
}

fn headers() -> impl Strategy<Value = Map<String, Value>> {
    (
        member(
            (1, 8, 3),
            vec![json!("HS256")],
            vec![
                json!("HS512"),
                json!("none"),
                json!("RS256"),
                json!("hs256"),
                json!(""),
                json!(256),
                json!(null),
            ],
        ),
        member(
            (1, 3, 1),
            vec![json!("JWT")],
            vec![json!("at+jwt"), json!(1)],
        ),
        member(
            (8, 0, 1),
            vec![json!([])],
            vec![json!(["x"]), json!([]), json!("b64")],
        ),
        member(
            (8, 0, 1),
            vec![json!(null)],
            vec![json!("DEF"), json!(null)],
        ),
        member(
            (6, 1, 2),
            vec![json!(true)],
            vec![json!(false), json!("true")],
        ),
        member(
            (2, 1, 1),
            vec![json!("k1")],
            vec![json!("../../dev/null"), json!({})],
        ),
    )
        .prop_map(|(alg, typ, crit, zip, b64, kid)| {
            let mut header = Map::new();
            for (name, value) in [
                ("alg", alg),
                ("typ", typ),
                ("crit", crit),
                ("zip", zip),
                ("b64", b64),
                ("kid", kid),
            ] {
                if let Some(value) = value {
                    header.insert(name.to_owned(), value);
                }
            }
            header
        })
}

fn claim_sets() -> impl Strategy<Value = Map<String, Value>> {
    (
        member(
            (1, 4, 2),
            vec![json!("access")],
            vec![
                json!("refresh"),
                json!("sliding"),
                json!("ACCESS"),
                json!(1),
                json!(null),
            ],
        ),
        future_times(),
        past_times(),
        past_times(),
        member(
            (1, 4, 1),
            vec![json!("0123456789abcdef0123456789abcdef"), json!("")],
            vec![json!(1), json!(null)],
        ),
        member(
            (1, 3, 3),
            vec![json!("1"), json!(1), json!("0")],
            vec![
                json!(true),
                json!(1.5),
                json!(1.0),
                json!("abc"),
                json!(" 1"),
                json!(-1),
                json!("99999999999999999999"),
                json!([1]),
                json!(null),
            ],
        ),
        member(
            (6, 0, 1),
            vec![json!(null)],
            vec![json!("api"), json!(["api"]), json!(null)],
        ),
        member(
            (2, 1, 1),
            vec![json!("https://issuer.example")],
            vec![json!(1)],
        ),
    )
        .prop_map(|(token_type, exp, iat, nbf, jti, user_id, aud, iss)| {
            let mut claims = Map::new();
            for (name, value) in [
                ("token_type", token_type),
                ("exp", exp),
                ("iat", iat),
                ("nbf", nbf),
                ("jti", jti),
                ("user_id", user_id),
                ("aud", aud),
                ("iss", iss),
            ] {
                if let Some(value) = value {
                    claims.insert(name.to_owned(), value);
                }
            }
            claims
        })
}

/// The differential property is only as good as its spread: over 512 generated tokens the
/// model (and so the engine, which the property holds equal to it) accepts some, refuses some as
/// invalid and some as expired, and `check` both passes and refuses.
#[test]
fn the_strategies_reach_both_verdicts() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (headers(), claim_sets());
    let (mut accepted, mut invalid, mut expired, mut checked) = (0, 0, 0, 0);
    for _ in 0..512 {
        let (header, claims) = strategy.new_tree(&mut runner).unwrap().current();
        match model_decode(&header, &claims) {
            Ok(()) => {
                accepted += 1;
                checked += usize::from(model_check(&claims).is_ok());
            }
            Err(TokenError::Expired) => expired += 1,
            Err(_) => invalid += 1,
        }
    }
    eprintln!("accepted {accepted} (check passed {checked}), invalid {invalid}, expired {expired}");
    assert!(accepted >= 25 && invalid >= 100 && expired >= 3 && checked >= 5);
}

/// A one-character change: replace, delete, insert or duplicate at `index` (modulo length).
fn mutate(token: &str, kind: u8, index: usize, ch: char) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let i = index % chars.len();
    match kind % 4 {
        0 => chars[i] = ch,
        1 => {
            chars.remove(i);
        }
        2 => chars.insert(i, ch),
        _ => chars.insert(i, chars[i]),
    }
    chars.into_iter().collect()
}

proptest! {
    // Failures are reported with their minimal input; nothing is written into the source tree.
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Off)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_is_never_accepted(text in "[A-Za-z0-9_.=+/ -]{0,300}|.{0,100}") {
        for engine in engines() {
            prop_assert!(engine.decode(&text, NOW).is_err(), "accepted {:?}", text);
        }
    }

    #[test]
    fn arbitrary_segments_are_never_accepted(
        header in proptest::collection::vec(any::<u8>(), 0..64),
        payload in proptest::collection::vec(any::<u8>(), 0..128),
        signature in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
        for engine in engines() {
            prop_assert!(engine.decode(&token, NOW).is_err());
        }
    }

    /// The differential oracle: correctly signed tokens with hostile headers and claims get
    /// exactly the model's verdict, from `decode`, `check` and the user id alike.
    #[test]
    fn signed_tokens_get_the_models_verdict(header in headers(), claims in claim_sets()) {
        let token = hs256_token(
            &Value::Object(header.clone()).to_string(),
            &Value::Object(claims.clone()).to_string(),
        );
        let decoded = hs256().decode(&token, NOW);
        let expected = model_decode(&header, &claims);
        prop_assert_eq!(decoded.as_ref().map(|_| ()).map_err(|e| *e), expected, "{:?} {:?}", header, claims);
        if let Ok(decoded) = decoded {
            prop_assert_eq!(decoded.check(Some(TokenType::Access)), model_check(&claims));
            prop_assert_eq!(decoded.user_id(), model_user(&claims));
            prop_assert_eq!(decoded.claims(), &claims);
        }
    }

    #[test]
    fn any_one_character_change_is_refused(
        engine_index in 0usize..4,
        kind in any::<u8>(),
        index in any::<usize>(),
        ch in proptest::char::any(),
    ) {
        let engine = &engines()[engine_index];
        let token = engine.issue_pair(1, NOW).unwrap().access.token;
        let changed = mutate(&token, kind, index, ch);
        prop_assume!(changed != token);
        prop_assert!(engine.decode(&changed, NOW).is_err(), "{} accepted {:?}", engine.algorithm(), changed);
    }

    #[test]
    fn issued_tokens_round_trip(user_id in 0i64..=i64::MAX, now in 0i64..250_000_000_000) {
        let engine = hs256();
        let pair = engine.issue_pair(user_id, now).unwrap();
        for (issued, token_type) in [(&pair.access, TokenType::Access), (&pair.refresh, TokenType::Refresh)] {
            let decoded = engine.decode(&issued.token, now).unwrap();
            decoded.check(Some(token_type)).unwrap();
            prop_assert_eq!(decoded.user_id(), UserIdClaim::Id(user_id));
            prop_assert_eq!(decoded.jti(), Some(issued.jti.as_str()));
            prop_assert_eq!(decoded.expires_at(), Some(issued.expires_at));
            prop_assert_eq!(
                engine.decode(&issued.token, issued.expires_at).unwrap_err(),
                TokenError::Expired
            );
        }
    }
}
