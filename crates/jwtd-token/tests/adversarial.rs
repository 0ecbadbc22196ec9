//! The adversarial suite against the token engine (issue 5, RFC 8725): every case of
//! `attacks/catalogue.rs`, for every supported algorithm, through the public
//! `TokenEngine::decode` and `Decoded::check`, exactly as the server calls them.
//!
//! Each algorithm is attacked twice: as an access-token verifier with the default policy, and as
//! a refresh-token verifier that requires an audience and an issuer. A case passes only with its
//! exact expected outcome; "accepted" additionally means "as the user the token was minted for".
//! The server runs the same catalogue over HTTP (`jwtd-server/tests/api/adversarial.rs`);
//! `src/engine/tests/` keeps the per-check unit tests beside the engine.

#[path = "attacks/catalogue.rs"]
mod catalogue;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use catalogue::{Case, Expect, Group, Target};
use jwtd_token::{
    Algorithm, Family, Keys, Policy, TokenEngine, TokenError, TokenType, UserIdClaim, generate,
};

/// The engine's clock (2027-01-15).
const NOW: i64 = 1_800_000_000;
const USER: i64 = 7;

/// The server's key for `alg`. RSA generation is slow: one key serves every RS*/PS* target.
fn server_key(alg: Algorithm) -> Vec<u8> {
    static RSA: OnceLock<String> = OnceLock::new();
    match alg.family() {
        Family::Hmac => jwtd_token::random_secret().into_bytes(),
        Family::Rsa => RSA
            .get_or_init(|| generate(Algorithm::RS256).expect("RSA key"))
            .clone()
            .into_bytes(),
        _ => generate(alg).expect("key").into_bytes(),
    }
}

/// Both targets of `alg`: an access-token verifier with the default policy, and a
/// refresh-token verifier requiring an audience and an issuer.
fn targets(alg: Algorithm) -> [Target; 2] {
    let key = server_key(alg);
    let target = |token_type, aud_iss| Target {
        alg,
        key: key.clone(),
        now: NOW,
        user_id: USER,
        token_type,
        aud_iss,
        exact_clock: true,
    };
    [target("access", false), target("refresh", true)]
}

fn engine(target: &Target) -> TokenEngine {
    let keys = Keys::new(target.alg, &target.key, None).expect("server key loads");
    let mut policy = Policy::default();
    if target.aud_iss {
        policy.audience = Some(catalogue::AUDIENCE.to_owned());
        policy.issuer = Some(catalogue::ISSUER.to_owned());
    }
    TokenEngine::new(keys, policy)
}

fn token_type(target: &Target) -> TokenType {
    match target.token_type {
        "access" => TokenType::Access,
        _ => TokenType::Refresh,
    }
}

/// What the engine did with a token, in the catalogue's terms.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Decode(TokenError),
    Check(TokenError),
    NoUser,
    /// Accepted as this user.
    Accepted(i64),
}

fn outcome(engine: &TokenEngine, target: &Target, token: &str) -> Outcome {
    let decoded = match engine.decode(token, target.now) {
        Ok(decoded) => decoded,
        // A `kid` naming no key is "Token is invalid" to the client, like `Invalid`; the
        // variant only tells a verifier that a newer key set may hold it.
        Err(TokenError::UnknownKey) => return Outcome::Decode(TokenError::Invalid),
        Err(e) => return Outcome::Decode(e),
    };
    if let Err(e) = decoded.check(Some(token_type(target))) {
        return Outcome::Check(e);
    }
    match decoded.user_id() {
        UserIdClaim::Id(id) => Outcome::Accepted(id),
        UserIdClaim::Missing | UserIdClaim::Malformed => Outcome::NoUser,
    }
}

fn expected(target: &Target, expect: Expect) -> Outcome {
    match expect {
        Expect::Decode(e) => Outcome::Decode(e),
        Expect::Check(e) => Outcome::Check(e),
        Expect::NoUser => Outcome::NoUser,
        // The engine has no body limit: its own length limit refuses these.
        Expect::Oversized => Outcome::Decode(TokenError::Invalid),
        Expect::Accepted => Outcome::Accepted(target.user_id),
    }
}

/// Runs `cases` against `engine`; returns the mismatches.
fn mismatches(engine: &TokenEngine, target: &Target, cases: &[Case]) -> Vec<String> {
    cases
        .iter()
        .filter_map(|case| {
            let found = outcome(engine, target, &case.token);
            let wanted = expected(target, case.expect);
            (found != wanted).then(|| {
                format!(
                    "{} {} [{:?}] {}: expected {wanted:?}, got {found:?}\n    {:.300}",
                    target.alg, target.token_type, case.group, case.name, case.token
                )
            })
        })
        .collect()
}

/// Runs one group of the catalogue for every algorithm and both targets; returns the cases run
/// per algorithm. Refuses to pass vacuously: every target must produce at least `minimum` cases,
/// and some of them must be refusals unless the group is the controls.
#[track_caller]
fn run_group(group: Group, algorithms: &[Algorithm], minimum: usize) -> Vec<Case> {
    let mut failures = Vec::new();
    let mut counts = BTreeMap::new();
    let mut all = Vec::new();
    for alg in algorithms {
        for target in targets(*alg) {
            let cases = catalogue::cases(&target, group);
            assert!(
                cases.len() >= minimum,
                "{alg} {}: only {} {group:?} cases",
                target.token_type,
                cases.len()
            );
            if group != Group::Control {
                assert!(
                    cases.iter().any(|c| c.expect != Expect::Accepted),
                    "{alg}: no refusal"
                );
            }
            failures.extend(mismatches(&engine(&target), &target, &cases));
            *counts.entry(alg.as_str()).or_insert(0) += cases.len();
            all.extend(cases);
        }
    }
    eprintln!(
        "{group:?}: {} cases ({} refusals) {counts:?}",
        all.len(),
        all.iter().filter(|c| c.expect != Expect::Accepted).count()
    );
    assert!(
        failures.is_empty(),
        "{} mismatch(es):\n{}",
        failures.len(),
        failures.join("\n")
    );
    all
}

/// Asserts that for each of `names` some case's name `matches` it, so that a group cannot lose a
/// kind of attack unnoticed.
#[track_caller]
fn assert_named(cases: &[Case], names: &[&str], matches: impl Fn(&str, &str) -> bool) {
    for name in names {
        assert!(
            cases.iter().any(|c| matches(&c.name, name)),
            "{name} missing"
        );
    }
}

#[test]
fn controls_are_accepted_by_every_algorithm() {
    let cases = run_group(Group::Control, &Algorithm::ALL, 7);
    assert!(cases.iter().all(|c| c.expect == Expect::Accepted));
}

#[test]
fn alg_none_missing_and_substituted_are_refused() {
    let cases = run_group(Group::Alg, &Algorithm::ALL, 40);
    for alg in Algorithm::ALL {
        for none in ["none", "None", "NONE", "nOnE"] {
            assert!(
                cases
                    .iter()
                    .any(|c| c.name.starts_with(&format!("alg {none:?}"))
                        && c.token
                            .starts_with(&catalogue::b64(catalogue::header(none)))),
                "{alg}: alg {none} missing from the catalogue"
            );
        }
    }
}

#[test]
fn hmac_keyed_with_the_public_key_is_refused() {
    let asymmetric: Vec<Algorithm> = Algorithm::ALL
        .into_iter()
        .filter(|a| a.family() != Family::Hmac)
        .collect();
    let cases = run_group(Group::KeyConfusion, &asymmetric, 50);
    assert!(cases.len() >= asymmetric.len() * 2 * 50);

    // Control: each attack token is well formed; a naive HS256 server keyed with that form of
    // the public key would accept it. Only the pinning to the configured algorithm and key
    // stops it.
    for alg in [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let target = &targets(alg)[0];
        let claims = serde_json::to_string(&target.claims()).unwrap();
        for (form, secret) in catalogue::public_key_as_secrets(alg, &target.key) {
            let naive = TokenEngine::new(
                Keys::new(Algorithm::HS256, &secret, None)
                    .unwrap_or_else(|e| panic!("{alg} {form}: {e}")),
                Policy::default(),
            );
            let input = format!(
                "{}.{}",
                catalogue::b64(catalogue::header("HS256")),
                catalogue::b64(&claims)
            );
            let token = format!(
                "{input}.{}",
                catalogue::b64(catalogue::sign(Algorithm::HS256, &secret, input.as_bytes()))
            );
            naive
                .decode(&token, NOW)
                .unwrap_or_else(|e| panic!("{alg} {form}: naive server refused ({e})"));
            assert_eq!(
                engine(target).decode(&token, NOW).unwrap_err(),
                TokenError::Invalid,
                "{alg} {form}"
            );
        }
    }
}

#[test]
fn keys_named_or_embedded_by_the_token_are_never_used() {
    let cases = run_group(Group::HeaderKeys, &Algorithm::ALL, 40);
    assert!(cases.iter().any(|c| c.name.starts_with("jwk")));
    assert!(cases.iter().any(|c| c.name.starts_with("jku")));
    assert!(cases.iter().any(|c| c.name.starts_with("x5u")));
    assert!(cases.iter().any(|c| c.name.starts_with("x5c")));
    assert!(cases.iter().filter(|c| c.name.starts_with("kid")).count() >= 16 * 24);

    // Control: the attacker-signed tokens are sound; a server keyed with the attacker's key
    // (what a verifier that trusts `jwk`/`jku`/`x5c` would end up using) accepts them.
    for alg in Algorithm::ALL {
        let target = &targets(alg)[0];
        let attacker = Target {
            key: catalogue::attacker_key(alg),
            ..target.clone()
        };
        let fooled = engine(&attacker);
        for case in catalogue::cases(target, Group::HeaderKeys) {
            if case.name.ends_with("signed by the attacker's key") {
                fooled
                    .decode(&case.token, NOW)
                    .unwrap_or_else(|e| panic!("{alg} {}: {e}", case.name));
            }
        }
    }
}

#[test]
fn forged_and_altered_signatures_are_refused() {
    let cases = run_group(Group::Signature, &Algorithm::ALL, 20);
    assert_named(
        &cases,
        &[
            "ECDSA r = s = 0",
            "ECDSA signature DER-encoded instead of r‖s",
            "empty signature",
            "signature truncated by one byte",
            "signature taken from another token",
            "kid added to the header after signing",
            "user_id changed after signing",
            "Ed25519 non-canonical S (S + L)",
            "RSA signature equal to the modulus",
            "PS256 signature under a RS256 header",
            "HMAC tag truncated to 128 bits",
        ],
        str::eq,
    );
}

#[test]
fn hostile_claims_are_refused() {
    let cases = run_group(Group::Claims, &Algorithm::ALL, 80);
    assert_named(
        &cases,
        &[
            "exp ",
            "nbf ",
            "iat ",
            "duplicate ",
            "aud ",
            "iss ",
            "token_type refresh where access is expected",
            "token_type access where refresh is expected",
            "user_id ",
            "jti ",
        ],
        |name, prefix| name.starts_with(prefix),
    );
}

#[test]
fn malformed_structure_is_refused() {
    let cases = run_group(Group::Structure, &Algorithm::ALL, 80);
    assert_named(
        &cases,
        &[
            "b64:false with the payload unencoded",
            "segments: JWE-shaped, five segments",
            "padded payload",
            "payload nested 5000 deep",
            "1 MB of base64url garbage",
        ],
        str::eq,
    );
    // Whitespace around the whole token (the catalogue leaves it to each transport).
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        let target = &targets(alg)[0];
        let token = target.token(&serde_json::to_string(&target.claims()).unwrap());
        let engine = engine(target);
        assert!(engine.decode(&token, NOW).is_ok());
        for ws in [" ", "\t", "\n", "\r\n", "\u{a0}", "\u{feff}"] {
            for bad in [format!("{ws}{token}"), format!("{token}{ws}")] {
                assert_eq!(
                    engine.decode(&bad, NOW).unwrap_err(),
                    TokenError::Invalid,
                    "{alg} {bad:?}"
                );
            }
        }
    }
}

/// The whole catalogue for one algorithm per family as one table, so a new case added to any
/// group is run even before a group test asserts it by name; prints the counts SECURITY.md
/// quotes.
#[test]
fn the_whole_catalogue_for_each_family() {
    let mut total = 0;
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        for target in targets(alg) {
            let cases = catalogue::catalogue(&target);
            let failures = mismatches(&engine(&target), &target, &cases);
            assert!(failures.is_empty(), "{}", failures.join("\n"));
            total += cases.len();
        }
    }
    eprintln!("whole catalogue: {total} cases over 5 algorithms x 2 targets");
    assert!(total >= 2_000, "{total}");
}
