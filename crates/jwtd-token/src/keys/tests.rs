//! Unit tests of [`Keys`]: what key material is refused and why, and `Keys::verify` against
//! Wycheproof's raw signature and MAC files and hand-made malformed signatures.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::*;
use crate::algorithm::Family;
use crate::test_vectors::{hex, load};

#[test]
fn weak_hmac_secrets_are_refused() {
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        let short = vec![b'k'; min - 1];
        assert!(matches!(
            Keys::new(alg, &short, None),
            Err(KeyError::WeakSecret { len, .. }) if len == min - 1
        ));
        assert!(Keys::new(alg, &vec![b'k'; min], None).is_ok());
    }
}

#[test]
fn generated_keys_load_for_every_algorithm() {
    for alg in Algorithm::ALL {
        let material = generate(alg).unwrap();
        let keys =
            Keys::new(alg, material.as_bytes(), None).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(keys.algorithm(), alg);
    }
}

#[test]
fn a_pem_for_another_family_is_refused() {
    let ec = generate(Algorithm::ES256).unwrap();
    assert!(matches!(
        Keys::new(Algorithm::RS256, ec.as_bytes(), None),
        Err(KeyError::WrongKey { .. })
    ));
    assert!(matches!(
        Keys::new(Algorithm::ES384, ec.as_bytes(), None),
        Err(KeyError::WrongKey { .. })
    ));
    assert!(matches!(
        Keys::new(Algorithm::EdDSA, b"not a pem", None),
        Err(KeyError::NotPem(_))
    ));
}

#[test]
fn a_verifying_key_of_another_pair_is_refused() {
    let first = generate(Algorithm::EdDSA).unwrap();
    let second = generate(Algorithm::EdDSA).unwrap();
    // The other pair is sound on its own: only the combination is refused.
    Keys::new(Algorithm::EdDSA, second.as_bytes(), None).unwrap();
    let public = ed25519_public_pem(&second);
    assert!(matches!(
        Keys::new(Algorithm::EdDSA, first.as_bytes(), Some(public.as_bytes())),
        Err(KeyError::Mismatch)
    ));
    let own = ed25519_public_pem(&first);
    assert!(Keys::new(Algorithm::EdDSA, first.as_bytes(), Some(own.as_bytes())).is_ok());
}

/// A verifying key that cannot be used is told apart from a bad signing key, so that
/// configuration errors name the right setting.
#[test]
fn an_unusable_verifying_key_says_so() {
    let private = generate(Algorithm::EdDSA).unwrap();
    for bad in [b"not a pem".as_slice(), private.as_bytes()] {
        let err = Keys::new(Algorithm::EdDSA, private.as_bytes(), Some(bad)).unwrap_err();
        assert!(matches!(err, KeyError::Verifying(_)), "{err:?}");
    }
}

fn ed25519_public_pem(private_pem: &str) -> String {
    let block = pem::parse(private_pem).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(block.contents()).unwrap();
    let spki = pair.public_key().as_der().unwrap();
    pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()))
}

#[test]
fn debug_never_shows_the_secret() {
    let keys = Keys::new(Algorithm::HS256, b"0123456789abcdef0123456789abcdef", None).unwrap();
    assert!(!format!("{keys:?}").contains("0123456789"));
}

// Wycheproof's raw signature and MAC files through `Keys::verify` itself, with the group's
// public key parsed as `Keys` parses one. (tests/vectors.rs runs the same files through
// `jsonwebtoken::crypto::verify`, an independent implementation, as a check on the vectors.)

/// `Keys` for `algorithm` whose verifier is `verifier`. These tests never sign, so the
/// signer is a placeholder (generating an RSA key per vector would take minutes).
fn verifying_keys(algorithm: Algorithm, verifier: Verifier) -> Keys {
    Keys {
        algorithm,
        signer: Some(Signer::Hmac(hmac::Key::new(
            hmac::HMAC_SHA256,
            b"never used",
        ))),
        kid: "test".to_owned(),
        verifier,
        jwk: None,
    }
}

/// Checks every full-size test of `file`: `valid` verifies, `invalid` does not. Returns
/// (valid, invalid) counts.
fn judge_file(
    file: &str,
    algorithm: Algorithm,
    keys_of: impl Fn(&Value, &Value) -> Option<Keys>,
    tag_bits: Option<u64>,
) -> (usize, usize) {
    let data = load(&format!("wycheproof/{file}"));
    let (mut valid, mut invalid, mut failures) = (0, 0, Vec::new());
    for group in data["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            let keys = keys_of(group, test);
            let message = hex(test["msg"].as_str().unwrap());
            let signature = test.get("sig").unwrap_or_else(|| &test["tag"]);
            let signature = URL_SAFE_NO_PAD.encode(hex(signature.as_str().unwrap()));
            let verified = keys.is_some_and(|k| k.verify(&signature, &message));
            let truncated = tag_bits.is_some_and(|bits| group["tagSize"] != bits);
            let expected = match test["result"].as_str().unwrap() {
                // JWS never truncates a MAC: even a correct truncated tag must fail.
                _ if truncated => false,
                "valid" => true,
                "invalid" => false,
                _ => continue, // "acceptable": either outcome
            };
            if expected {
                valid += 1;
            } else {
                invalid += 1;
            }
            if verified != expected {
                failures.push(format!("{file} tcId {}: {verified}", test["tcId"]));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(algorithm.family() == Family::Hmac, tag_bits.is_some());
    (valid, invalid)
}

/// Where a signature file's group keeps its public key, as hex.
type KeyField = fn(&Value) -> Option<&str>;

/// A signature file: its name, the algorithm, the verification `Keys` would use, and its keys.
type SignatureFile = (
    &'static str,
    Algorithm,
    &'static dyn VerificationAlgorithm,
    KeyField,
);

#[test]
fn keys_verify_agrees_with_wycheproof_signatures() {
    use signature as s;
    let point: KeyField = |group| group["publicKey"]["uncompressed"].as_str();
    let ed25519: KeyField = |group| group["publicKey"]["pk"].as_str();
    let der: KeyField = |group| group["publicKeyDer"].as_str();
    let files: [SignatureFile; 5] = [
        (
            "ecdsa_secp256r1_sha256_p1363_test.json",
            Algorithm::ES256,
            &s::ECDSA_P256_SHA256_FIXED,
            point,
        ),
        (
            "ecdsa_secp384r1_sha384_p1363_test.json",
            Algorithm::ES384,
            &s::ECDSA_P384_SHA384_FIXED,
            point,
        ),
        ("ed25519_test.json", Algorithm::EdDSA, &s::ED25519, ed25519),
        (
            "rsa_signature_2048_sha256_test.json",
            Algorithm::RS256,
            &s::RSA_PKCS1_2048_8192_SHA256,
            der,
        ),
        (
            "rsa_pss_2048_sha256_mgf1_32_test.json",
            Algorithm::PS256,
            &s::RSA_PSS_2048_8192_SHA256,
            der,
        ),
    ];
    for (file, alg, verifying, key_field) in files {
        let keys_of = |group: &Value, _: &Value| {
            let key = ParsedPublicKey::new(verifying, hex(key_field(group)?)).ok()?;
            Some(verifying_keys(alg, Verifier::Public(key)))
        };
        let (valid, invalid) = judge_file(file, alg, keys_of, None);
        assert!(
            valid >= 5 && invalid >= 40,
            "{file} ({alg}): {valid} valid, {invalid} invalid"
        );
    }
}

#[test]
fn keys_verify_agrees_with_wycheproof_macs() {
    for (file, alg, hmac_alg, bits) in [
        (
            "hmac_sha256_test.json",
            Algorithm::HS256,
            hmac::HMAC_SHA256,
            256,
        ),
        (
            "hmac_sha384_test.json",
            Algorithm::HS384,
            hmac::HMAC_SHA384,
            384,
        ),
        (
            "hmac_sha512_test.json",
            Algorithm::HS512,
            hmac::HMAC_SHA512,
            512,
        ),
    ] {
        let keys_of = |_: &Value, test: &Value| {
            let key = hmac::Key::new(hmac_alg, &hex(test["key"].as_str()?));
            Some(verifying_keys(alg, Verifier::Hmac(key)))
        };
        let (valid, invalid) = judge_file(file, alg, keys_of, Some(bits));
        assert!(
            valid >= 20 && invalid >= 70,
            "{file}: {valid} valid, {invalid} invalid"
        );
    }
}

#[test]
fn a_der_encoded_ecdsa_signature_is_refused() {
    let keys = Keys::new(
        Algorithm::ES256,
        generate(Algorithm::ES256).unwrap().as_bytes(),
        None,
    )
    .unwrap();
    let Some(Signer::Ecdsa(pair)) = &keys.signer else {
        unreachable!()
    };
    let message = b"header.payload";
    let fixed = pair.sign(&SystemRandom::new(), message).unwrap();
    assert!(keys.verify(&URL_SAFE_NO_PAD.encode(fixed.as_ref()), message));
    // The same r and s, ASN.1 DER-encoded.
    let (r, s) = fixed.as_ref().split_at(32);
    let int = |v: &[u8]| {
        let v = &v[v.iter().take_while(|b| **b == 0).count()..];
        let pad = v[0] & 0x80 != 0;
        let mut out = vec![0x02, (v.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
        out
    };
    let body = [int(r), int(s)].concat();
    let der = [vec![0x30, body.len() as u8], body].concat();
    assert!(!keys.verify(&URL_SAFE_NO_PAD.encode(&der), message));
}

#[test]
fn a_signature_of_the_wrong_size_or_encoding_is_refused() {
    let keys = Keys::new(Algorithm::HS256, &[b'k'; 32], None).unwrap();
    let message = b"header.payload";
    let good = keys.sign(message).unwrap();
    assert!(keys.verify(&good, message));
    let raw = URL_SAFE_NO_PAD.decode(&good).unwrap();
    for bad in [
        format!("{good}="),                                      // padding
        good[..good.len() - 1].to_owned(),                       // truncated
        URL_SAFE_NO_PAD.encode(&raw[..16]),                      // short tag
        URL_SAFE_NO_PAD.encode([raw.as_slice(), &[0]].concat()), // long tag
        "A".repeat(4 * MAX_SIGNATURE_LEN),                       // longer than any signature
    ] {
        assert!(!keys.verify(&bad, message), "{bad}");
    }
}

/// ES256K signatures are always in low-S form, which strict secp256k1 verifiers require.
#[test]
fn es256k_signatures_have_a_low_s() {
    let material = generate(Algorithm::ES256K).unwrap();
    let keys = Keys::new(Algorithm::ES256K, material.as_bytes(), None).unwrap();
    let mut half = [0u8; 32];
    // n / 2, big-endian: shift the order right by one bit.
    let mut carry = 0u8;
    for (out, byte) in half.iter_mut().zip(SECP256K1_ORDER) {
        *out = (byte >> 1) | carry;
        carry = (byte & 1) << 7;
    }
    for i in 0..64 {
        let signature = URL_SAFE_NO_PAD
            .decode(keys.sign(format!("message {i}").as_bytes()).unwrap())
            .unwrap();
        assert!(signature[32..] <= half[..], "high s in signature {i}");
        assert!(keys.verify(
            &URL_SAFE_NO_PAD.encode(&signature),
            format!("message {i}").as_bytes()
        ));
    }
    // The negation itself: n - 1 becomes 1; a low s is left alone.
    let mut s = SECP256K1_ORDER;
    s[31] -= 1;
    low_s(&mut s);
    assert_eq!(s, {
        let mut one = [0u8; 32];
        one[31] = 1;
        one
    });
    low_s(&mut s);
    assert_eq!(s[31], 1);
}
