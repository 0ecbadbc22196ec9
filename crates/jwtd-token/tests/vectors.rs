//! Known-answer tests from `testdata/vectors/` (copied unchanged from the project's shared
//! vectors): the RFC JWS examples and Project Wycheproof's primitive files.
//!
//! The primitive files (raw signatures and MACs) are checked here with
//! `jsonwebtoken::crypto::verify`, an independent implementation, as a check on the vectors and
//! on the way this file reads them. jwtd itself verifies with aws-lc-rs keys parsed once; the
//! same files go through its `Keys::verify` in the unit tests of `src/keys/tests.rs`, and
//! Wycheproof's whole-JWS file goes through the engine in `src/engine/tests/wycheproof.rs`. The
//! RFC examples go through the public `TokenEngine::decode`.
//!
//! The vectors live outside the workspace; when they are missing these tests fail (they never
//! pass vacuously).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;
use jwtd_token::{
    Algorithm, KeyEntry, KeySet, KeyState, Keys, Policy, TokenEngine, TokenError, generate,
};
use serde_json::Value;

/// A fixed "now" (2027-01-15): after every `exp` in the RFC examples.
const NOW: i64 = 1_800_000_000;

fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors");
    assert!(
        dir.is_dir(),
        "test vectors missing: {} does not exist. The known-answer tests need the shared/vectors \
         directory (rfc/ and wycheproof/) next to the workspace; they must not pass without it.",
        dir.display()
    );
    dir
}

fn load(relative: &str) -> Value {
    let path = vectors_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_field(object: &Value, name: &str) -> Vec<u8> {
    let text = object[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {object}"));
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    jsonwebtoken::Algorithm::from_str(alg.as_str()).unwrap()
}

/// The primitive the engine uses: `jsonwebtoken::crypto::verify` under one fixed algorithm.
fn verify(signature: &[u8], message: &[u8], key: &DecodingKey, alg: Algorithm) -> bool {
    jsonwebtoken::crypto::verify(&b64(signature), message, key, jwt_alg(alg)).unwrap_or(false)
}

/// Vectors checked, by outcome.
#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable: usize,
    skipped: usize,
}

impl Tally {
    fn checked(&self) -> usize {
        self.valid + self.invalid + self.acceptable
    }
}

/// Checks one Wycheproof test: `valid` must verify, `invalid` must not, `acceptable` either way.
fn judge(tally: &mut Tally, failures: &mut Vec<String>, file: &str, test: &Value, verified: bool) {
    let id = &test["tcId"];
    match test["result"].as_str().unwrap() {
        "valid" => {
            tally.valid += 1;
            if !verified {
                failures.push(format!(
                    "{file} tcId {id} ({}): valid, not verified",
                    test["comment"]
                ));
            }
        }
        "invalid" => {
            tally.invalid += 1;
            if verified {
                failures.push(format!(
                    "{file} tcId {id} ({}): invalid, verified",
                    test["comment"]
                ));
            }
        }
        "acceptable" => tally.acceptable += 1,
        other => panic!("{file} tcId {id}: unknown result {other}"),
    }
}

#[track_caller]
fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// RFC 7515 / 7520 / 8037 examples
// ---------------------------------------------------------------------------------------------

/// Strict compact parsing as jwtd does it: three segments, canonical unpadded base64url.
fn split_strict(token: &str) -> Option<(&str, &str, &str)> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    URL_SAFE_NO_PAD.decode(h).ok()?;
    URL_SAFE_NO_PAD.decode(p).ok()?;
    Some((h, p, s))
}

#[test]
fn rfc_jws_examples() {
    let file = load("rfc/jws_examples.json");
    let vectors = file["vectors"].as_array().expect("a vectors array");
    let mut checked = 0;
    let mut failures = Vec::new();
    let supported_engines: Vec<TokenEngine> =
        [Algorithm::HS256, Algorithm::ES256, Algorithm::ES384]
            .into_iter()
            .map(engine_with_generated_key)
            .collect();

    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let token = vector["token"].as_str().unwrap();
        let signature_valid = vector["jws_signature_valid"].as_bool();
        assert_eq!(vector["valid_jwt_for_server"], Value::Bool(false), "{name}");
        let alg_name = vector["alg"].as_str().unwrap();

        // The server refuses every vector, whatever its own algorithm.
        for engine in &supported_engines {
            if engine.decode(token, NOW).is_ok() {
                failures.push(format!(
                    "{name}: accepted by a {} server",
                    engine.algorithm()
                ));
            }
        }

        let alg = match alg_name.parse::<Algorithm>() {
            // jsonwebtoken has no ES512: jwtd reads the vector's public JWK itself, and a server
            // verifying with it still refuses the token.
            Ok(Algorithm::ES512) => {
                let public = Keys::from_jwk(&vector["jwk"], Some(Algorithm::ES512))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let set = KeySet::verifying(vec![KeyEntry::new(public, KeyState::Active)]).unwrap();
                let engine = TokenEngine::new(set, Policy::default());
                // RFC 7520 4.3's payload is prose, not claims: refused as invalid.
                let refusal = engine.decode(token, NOW).unwrap_err();
                if refusal != TokenError::Invalid {
                    failures.push(format!("{name}: refused with {refusal:?}, not Invalid"));
                }
                checked += 1;
                continue;
            }
            Ok(alg) => alg,
            Err(_) => {
                // `none` is no jwtd algorithm: refused above by servers of each family checked.
                assert_eq!(alg_name, "none", "{name}: unexpected algorithm");
                checked += 1;
                continue;
            }
        };

        // The JWS signature verifies exactly when the vector says so.
        let jwk: Jwk = serde_json::from_value(vector["jwk"].clone())
            .unwrap_or_else(|e| panic!("{name}: bad JWK: {e}"));
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let verified = match split_strict(token) {
            None => false,
            Some((h, p, s)) => {
                let signing_input = format!("{h}.{p}");
                jsonwebtoken::crypto::verify(s, signing_input.as_bytes(), &key, jwt_alg(alg))
                    .unwrap_or(false)
            }
        };
        if Some(verified) != signature_valid {
            failures.push(format!(
                "{name}: signature verified = {verified}, vector says {signature_valid:?}"
            ));
        }

        // The full server decode refuses it. With a symmetric key the server can be keyed from
        // the vector itself; for public keys the vector has no private half, which `Keys` needs,
        // so a server of the same algorithm with its own key stands in.
        let engine = if vector["jwk"]["kty"] == "oct" {
            let secret = b64_field(&vector["jwk"], "k");
            TokenEngine::new(Keys::new(alg, &secret, None).unwrap(), Policy::default())
        } else {
            engine_with_generated_key(alg)
        };
        match engine.decode(token, NOW) {
            Ok(decoded) => failures.push(format!("{name}: decode accepted {:?}", decoded.claims())),
            Err(e) => {
                // RFC 7515 A.1 is a well-signed JWT whose `exp` (2011) has passed: the engine
                // gets past structure and signature and refuses it only as expired.
                let expected = if name == "rfc7515_a1_hs256" {
                    TokenError::Expired
                } else {
                    TokenError::Invalid
                };
                // A `kid` naming no key of the server is the same "Token is invalid".
                let e = if e == TokenError::UnknownKey {
                    TokenError::Invalid
                } else {
                    e
                };
                if e != expected {
                    failures.push(format!(
                        "{name}: decode refused with {e:?}, expected {expected:?}"
                    ));
                }
            }
        }
        checked += 1;
    }

    // RFC 7515 A.1 just before its `exp` (1300819380): the engine verifies the RFC's own HMAC
    // signature and reads the claims; `check` then wants the `jti` and `token_type` it lacks.
    let a1 = vectors
        .iter()
        .find(|v| v["name"] == "rfc7515_a1_hs256")
        .expect("A.1 vector");
    let secret = b64_field(&a1["jwk"], "k");
    let engine = TokenEngine::new(
        Keys::new(Algorithm::HS256, &secret, None).unwrap(),
        Policy::default(),
    );
    let before_exp = 1_300_819_379;
    let decoded = engine
        .decode(a1["token"].as_str().unwrap(), before_exp)
        .expect("A.1 decodes before exp");
    assert_eq!(decoded.claims()["iss"], "joe");
    assert_eq!(decoded.expires_at(), Some(1_300_819_380));
    assert_eq!(decoded.check(None), Err(TokenError::NoId));
    assert_eq!(
        engine
            .decode(a1["token"].as_str().unwrap(), before_exp + 1)
            .unwrap_err(),
        TokenError::Expired
    );
    // The same claims unsecured (A.5) or tampered are refused even then.
    for name in [
        "rfc7515_a5_unsecured_none",
        "rfc7515_a1_hs256_payload_changed",
        "rfc7515_a1_hs256_sig_first_char_flipped",
    ] {
        let vector = vectors
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let result = engine.decode(vector["token"].as_str().unwrap(), before_exp);
        assert_eq!(result.unwrap_err(), TokenError::Invalid, "{name}");
    }
    assert!("none".parse::<Algorithm>().is_err());

    eprintln!("RFC JWS examples: checked {checked} vectors");
    assert_no_failures(&failures);
    assert!(checked >= 15, "only {checked} RFC vectors checked");
}

fn engine_with_generated_key(alg: Algorithm) -> TokenEngine {
    let material = generate(alg).unwrap();
    TokenEngine::new(
        Keys::new(alg, material.as_bytes(), None).unwrap(),
        Policy::default(),
    )
}

// ---------------------------------------------------------------------------------------------
// Wycheproof: signature primitives
// ---------------------------------------------------------------------------------------------

/// Runs every test of a signature file through `verify` with the group's key.
fn signature_file(file: &str, alg: Algorithm, key_of: impl Fn(&Value) -> DecodingKey) -> Tally {
    let data = load(&format!("wycheproof/{file}"));
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for group in data["testGroups"].as_array().unwrap() {
        let key = key_of(group);
        for test in group["tests"].as_array().unwrap() {
            let message = hex(test["msg"].as_str().unwrap());
            let signature = hex(test["sig"].as_str().unwrap());
            let verified = verify(&signature, &message, &key, alg);
            judge(&mut tally, &mut failures, file, test, verified);
        }
    }
    eprintln!("{file}: checked {} vectors {tally:?}", tally.checked());
    assert_no_failures(&failures);
    assert_eq!(
        tally.checked() as u64,
        data["numberOfTests"].as_u64().unwrap(),
        "{file}: not every test ran"
    );
    tally
}

fn uncompressed_point(group: &Value) -> DecodingKey {
    DecodingKey::from_ec_der(&hex(group["publicKey"]["uncompressed"].as_str().unwrap()))
}

fn rsa_components(group: &Value) -> DecodingKey {
    let n = hex(group["publicKey"]["modulus"].as_str().unwrap());
    let e = hex(group["publicKey"]["publicExponent"].as_str().unwrap());
    let strip = |bytes: &[u8]| bytes[bytes.iter().take_while(|b| **b == 0).count()..].to_vec();
    DecodingKey::from_rsa_raw_components(&strip(&n), &strip(&e))
}

/// One test per signature file: the file, the configured algorithm, where a group keeps its
/// key, and the fewest valid and invalid vectors it must hold.
macro_rules! signature_files {
    ($($(#[$doc:meta])* $test:ident: $file:literal, $alg:ident, $key_of:expr, $valid:literal valid, $invalid:literal invalid;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $test() {
            let tally = signature_file($file, Algorithm::$alg, $key_of);
            assert!(tally.valid >= $valid && tally.invalid >= $invalid, "{tally:?}");
        }
    )*};
}

fn ed25519_key(group: &Value) -> DecodingKey {
    DecodingKey::from_ed_der(&hex(group["publicKey"]["pk"].as_str().unwrap()))
}

signature_files! {
    wycheproof_ecdsa_p256_p1363:
        "ecdsa_secp256r1_sha256_p1363_test.json", ES256, uncompressed_point, 100 valid, 50 invalid;
    wycheproof_ecdsa_p384_p1363:
        "ecdsa_secp384r1_sha384_p1363_test.json", ES384, uncompressed_point, 100 valid, 50 invalid;
    wycheproof_ed25519: "ed25519_test.json", EdDSA, ed25519_key, 50 valid, 50 invalid;
    /// tcId 8, the one `acceptable` case, omits the NULL parameter in DigestInfo; either outcome
    /// is allowed (aws-lc refuses it).
    wycheproof_rsa_pkcs1_2048_sha256:
        "rsa_signature_2048_sha256_test.json", RS256, rsa_components, 5 valid, 200 invalid;
    wycheproof_rsa_pss_2048_sha256_mgf1_32:
        "rsa_pss_2048_sha256_mgf1_32_test.json", PS256, rsa_components, 50 valid, 40 invalid;
}

// ---------------------------------------------------------------------------------------------
// Wycheproof: HMAC
// ---------------------------------------------------------------------------------------------

/// Full-tag groups are judged by their labels. JWS never truncates the tag, so in truncated-tag
/// groups nothing, not even a correct truncated tag, may verify.
fn mac_file(file: &str, alg: Algorithm, hash_bits: u64) -> Tally {
    let data = load(&format!("wycheproof/{file}"));
    let mut tally = Tally::default();
    let mut truncated = 0;
    let mut failures = Vec::new();
    for group in data["testGroups"].as_array().unwrap() {
        let tag_bits = group["tagSize"].as_u64().unwrap();
        for test in group["tests"].as_array().unwrap() {
            let key = DecodingKey::from_secret(&hex(test["key"].as_str().unwrap()));
            let message = hex(test["msg"].as_str().unwrap());
            let tag = hex(test["tag"].as_str().unwrap());
            let verified = verify(&tag, &message, &key, alg);
            if tag_bits == hash_bits {
                judge(&mut tally, &mut failures, file, test, verified);
            } else {
                tally.skipped += 1;
                truncated += 1;
                if verified {
                    failures.push(format!(
                        "{file} tcId {}: truncated {tag_bits}-bit tag verified",
                        test["tcId"]
                    ));
                }
            }
        }
    }
    eprintln!(
        "{file}: checked {} vectors {tally:?}, and {truncated} truncated-tag tests all refused",
        tally.checked()
    );
    assert_no_failures(&failures);
    assert!(
        tally.valid >= 20 && tally.invalid >= 20 && truncated >= 50,
        "{tally:?}"
    );
    tally
}

#[test]
fn wycheproof_hmac_sha256() {
    mac_file("hmac_sha256_test.json", Algorithm::HS256, 256);
}

#[test]
fn wycheproof_hmac_sha384() {
    mac_file("hmac_sha384_test.json", Algorithm::HS384, 384);
}

#[test]
fn wycheproof_hmac_sha512() {
    mac_file("hmac_sha512_test.json", Algorithm::HS512, 512);
}

/// Summary over every file, so a missing or emptied file cannot go unnoticed.
#[test]
fn vector_files_are_all_present() {
    let mut total = 0;
    for (file, minimum) in [
        ("rfc/jws_examples.json", 15),
        ("wycheproof/ecdsa_secp256r1_sha256_p1363_test.json", 250),
        ("wycheproof/ecdsa_secp384r1_sha384_p1363_test.json", 250),
        ("wycheproof/ed25519_test.json", 140),
        ("wycheproof/rsa_signature_2048_sha256_test.json", 250),
        ("wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json", 100),
        ("wycheproof/hmac_sha256_test.json", 170),
        ("wycheproof/hmac_sha384_test.json", 170),
        ("wycheproof/hmac_sha512_test.json", 170),
        ("wycheproof/json_web_signature_test.json", 400),
    ] {
        let data = load(file);
        let count = match data.get("vectors") {
            Some(vectors) => vectors.as_array().unwrap().len(),
            None => data["testGroups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["tests"].as_array().unwrap().len())
                .sum(),
        };
        assert!(
            count >= minimum,
            "{file}: {count} vectors, expected at least {minimum}"
        );
        total += count;
    }
    eprintln!("found {total} vectors across 10 files");
    assert!(total >= 1900, "only {total} vectors");
}
