//! Token signing and verification against plain `jsonwebtoken` and the raw aws-lc-rs primitive
//! (issue 6). Goal: jwtd within 1.25 × the raw primitive on the same bytes.
//!
//! Per algorithm, two groups, `<ALG>/sign` and `<ALG>/verify`, each with three functions:
//! - `jwtd`: the server's own path. Sign is `TokenEngine::access_from` (the refresh endpoint's
//!   new access token: claims map, fresh `jti`, JSON, base64url, signature); verify is
//!   `TokenEngine::decode` plus `Decoded::check(Access)`.
//! - `jsonwebtoken`: `encode` with an `EncodingKey` built once from the same PEM (claims struct
//!   with a fresh `jti` each time), and `decode` with `Validation::new(alg)` and a `DecodingKey`
//!   built once.
//! - `raw`: aws-lc-rs with a key parsed once. Sign signs the very signing input of a jwtd token;
//!   verify base64url-decodes the signature and checks it with a `ParsedPublicKey` (HMAC:
//!   `hmac::verify`, plus base64url decoding and JSON parsing of header and claims, the least
//!   any verifier must do).
//!
//! For HMAC signing, `raw+json` also times what any signer must do besides the MAC: serialize
//! the claims, base64url-encode them and the tag.
//!
//! ```sh
//! nice -n 10 cargo bench -p jwtd-token --bench tokens            # all 12 algorithms
//! nice -n 10 cargo bench -p jwtd-token --bench tokens -- ES256   # one of them
//! ```

// `criterion_group!` generates a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use jwtd_token::{Algorithm, KeyEntry, KeySet, KeyState, Keys, Policy, TokenEngine, TokenType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// simplejwt's access token claims, as a `jsonwebtoken` user would declare them.
#[derive(Serialize, Deserialize)]
struct Claims {
    token_type: String,
    exp: i64,
    iat: i64,
    jti: String,
    user_id: String,
}

/// A pre-parsed aws-lc-rs signing key: the raw primitive's side. Unboxed like jwtd's own.
#[allow(clippy::large_enum_variant)]
enum RawSigner {
    Hmac(hmac::Key),
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl RawSigner {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            RawSigner::Hmac(key) => hmac::sign(key, message).as_ref().to_vec(),
            RawSigner::Rsa(pair, encoding) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, &SystemRandom::new(), message, &mut out)
                    .unwrap();
                out
            }
            RawSigner::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .unwrap()
                .as_ref()
                .to_vec(),
            RawSigner::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }
}

/// A pre-parsed aws-lc-rs verifying key.
#[allow(clippy::large_enum_variant)]
enum RawVerifier {
    Hmac(hmac::Key),
    Public(ParsedPublicKey),
}

/// Everything one algorithm's benchmarks need, built once.
struct Fixture {
    alg: Algorithm,
    engine: TokenEngine,
    refresh: jwtd_token::Decoded,
    token: String,
    now: i64,
    header: Header,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    raw_signer: RawSigner,
    raw_verifier: RawVerifier,
}

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    alg.as_str().parse().unwrap()
}

fn fixture(alg: Algorithm) -> Fixture {
    let material = jwtd_token::generate(alg).unwrap();
    let policy = Policy {
        // Long enough that no token expires while the benchmark runs.
        access_lifetime: 86_400,
        ..Policy::default()
    };
    let engine = TokenEngine::new(Keys::new(alg, material.as_bytes(), None).unwrap(), policy);
    // jsonwebtoken reads the clock itself, so the tokens are stamped with the real time.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let pair = engine.issue_pair(42, now).unwrap();
    let refresh = engine.decode(&pair.refresh.token, now).unwrap();
    let token = pair.access.token;

    let rsa = |encoding: &'static dyn signature::RsaEncoding,
               verifying: &'static signature::RsaParameters| {
        let der = pem::parse(&material).unwrap().into_contents();
        let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        (
            EncodingKey::from_rsa_pem(material.as_bytes()).unwrap(),
            DecodingKey::from_rsa_der(&public),
            RawSigner::Rsa(pair, encoding),
            RawVerifier::Public(ParsedPublicKey::new(verifying, &public).unwrap()),
        )
    };
    let ec = |signing: &'static signature::EcdsaSigningAlgorithm,
              verifying: &'static signature::EcdsaVerificationAlgorithm| {
        let der = pem::parse(&material).unwrap().into_contents();
        let pair = EcdsaKeyPair::from_pkcs8(signing, &der).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        (
            EncodingKey::from_ec_pem(material.as_bytes()).unwrap(),
            DecodingKey::from_ec_der(&public),
            RawSigner::Ecdsa(pair),
            RawVerifier::Public(ParsedPublicKey::new(verifying, &public).unwrap()),
        )
    };
    let hs = |algorithm: hmac::Algorithm| {
        let key = hmac::Key::new(algorithm, material.as_bytes());
        (
            EncodingKey::from_secret(material.as_bytes()),
            DecodingKey::from_secret(material.as_bytes()),
            RawSigner::Hmac(key.clone()),
            RawVerifier::Hmac(key),
        )
    };
    use signature as s;
    let (encoding, decoding, raw_signer, raw_verifier) = match alg {
        Algorithm::HS256 => hs(hmac::HMAC_SHA256),
        Algorithm::HS384 => hs(hmac::HMAC_SHA384),
        Algorithm::HS512 => hs(hmac::HMAC_SHA512),
        Algorithm::RS256 => rsa(&s::RSA_PKCS1_SHA256, &s::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => rsa(&s::RSA_PKCS1_SHA384, &s::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => rsa(&s::RSA_PKCS1_SHA512, &s::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => rsa(&s::RSA_PSS_SHA256, &s::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => rsa(&s::RSA_PSS_SHA384, &s::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => rsa(&s::RSA_PSS_SHA512, &s::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => ec(
            &s::ECDSA_P256_SHA256_FIXED_SIGNING,
            &s::ECDSA_P256_SHA256_FIXED,
        ),
        Algorithm::ES384 => ec(
            &s::ECDSA_P384_SHA384_FIXED_SIGNING,
            &s::ECDSA_P384_SHA384_FIXED,
        ),
        Algorithm::ES512 | Algorithm::ES256K => unreachable!("jsonwebtoken has no {alg}"),
        Algorithm::EdDSA => {
            let der = pem::parse(&material).unwrap().into_contents();
            let pair = Ed25519KeyPair::from_pkcs8(&der).unwrap();
            let public = pair.public_key().as_ref().to_vec();
            (
                EncodingKey::from_ed_pem(material.as_bytes()).unwrap(),
                DecodingKey::from_ed_der(&public),
                RawSigner::Ed25519(pair),
                RawVerifier::Public(ParsedPublicKey::new(&s::ED25519, &public).unwrap()),
            )
        }
    };
    Fixture {
        alg,
        engine,
        refresh,
        token,
        now,
        header: Header::new(jwt_alg(alg)),
        encoding,
        decoding,
        validation: Validation::new(jwt_alg(alg)),
        raw_signer,
        raw_verifier,
    }
}

fn new_jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The claims of an access token as simplejwt lays them out, with a fresh `jti`.
fn access_claims(now: i64) -> Claims {
    Claims {
        token_type: "access".to_owned(),
        exp: now + 86_400,
        iat: now,
        jti: new_jti(),
        user_id: "42".to_owned(),
    }
}

fn bench_sign(c: &mut Criterion, f: &Fixture) {
    let (signing_input, _) = f.token.rsplit_once('.').unwrap();
    let mut group = c.benchmark_group(format!("{}/sign", f.alg));
    group.bench_function("jwtd", |b| {
        b.iter(|| f.engine.access_from(black_box(&f.refresh), f.now).unwrap())
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            let claims = access_claims(f.now);
            jsonwebtoken::encode(&f.header, black_box(&claims), &f.encoding).unwrap()
        })
    });
    group.bench_function("raw", |b| {
        b.iter(|| f.raw_signer.sign(black_box(signing_input.as_bytes())))
    });
    if let RawSigner::Hmac(_) = f.raw_signer {
        // The MAC alone is a fraction of a microsecond; the claims JSON and base64url that every
        // signer needs are timed here too, with the jti as the only fresh value.
        let header_b64 = f.token.split('.').next().unwrap().to_owned();
        group.bench_function("raw+json", |b| {
            b.iter(|| {
                let claims = access_claims(f.now);
                let payload = serde_json::to_vec(black_box(&claims)).unwrap();
                let mut token = String::with_capacity(512);
                token.push_str(&header_b64);
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(payload, &mut token);
                let tag = f.raw_signer.sign(token.as_bytes());
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(tag, &mut token);
                token
            })
        });
    }
    group.finish();
}

fn bench_verify(c: &mut Criterion, f: &Fixture) {
    let token = f.token.as_str();
    let mut group = c.benchmark_group(format!("{}/verify", f.alg));
    group.bench_function("jwtd", |b| {
        b.iter(|| {
            let decoded = f.engine.decode(black_box(token), f.now).unwrap();
            decoded.check(Some(TokenType::Access)).unwrap();
            decoded
        })
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Claims>(black_box(token), &f.decoding, &f.validation).unwrap()
        })
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            let token = black_box(token);
            let (signed, signature_b64) = token.rsplit_once('.').unwrap();
            let signature = URL_SAFE_NO_PAD.decode(signature_b64).unwrap();
            match &f.raw_verifier {
                RawVerifier::Hmac(key) => {
                    hmac::verify(key, signed.as_bytes(), &signature).unwrap();
                    let (header_b64, payload_b64) = signed.split_once('.').unwrap();
                    let header = URL_SAFE_NO_PAD.decode(header_b64).unwrap();
                    let payload = URL_SAFE_NO_PAD.decode(payload_b64).unwrap();
                    let header: Map<String, Value> = serde_json::from_slice(&header).unwrap();
                    let claims: Map<String, Value> = serde_json::from_slice(&payload).unwrap();
                    black_box((header, claims));
                }
                RawVerifier::Public(key) => {
                    key.verify_sig(signed.as_bytes(), &signature).unwrap();
                }
            }
        })
    });
    group.finish();
}

fn tokens(c: &mut Criterion) {
    // jsonwebtoken, the baseline, has no ES512 or ES256K.
    for alg in Algorithm::ALL
        .into_iter()
        .filter(|alg| !matches!(alg, Algorithm::ES512 | Algorithm::ES256K))
    {
        let f = fixture(alg);
        bench_sign(c, &f);
        bench_verify(c, &f);
    }
}

/// Verifying with a set of five keys (the active one and four retired, of other algorithms
/// and of the same one) against a set of one: the `kid` lookup must cost nothing measurable.
/// `five/last` verifies a token of the last retired key: the longest lookup.
fn key_sets(c: &mut Criterion) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for alg in [Algorithm::HS256, Algorithm::ES256] {
        let material = jwtd_token::generate(alg).unwrap();
        let load = |material: &str| Keys::new(alg, material.as_bytes(), None).unwrap();
        let one = TokenEngine::new(load(&material), Policy::default());
        let mut entries = vec![KeyEntry::new(load(&material), KeyState::Active)];
        let mut last_material = String::new();
        for other in [Algorithm::EdDSA, Algorithm::ES384, alg, alg] {
            last_material = jwtd_token::generate(other).unwrap();
            let keys = Keys::new(other, last_material.as_bytes(), None).unwrap();
            entries.push(KeyEntry::new(keys, KeyState::Retired));
        }
        // The last retired key, signing elsewhere under the kid the set knows it by (in a set
        // of two, so that an HMAC key puts its kid in the header too).
        let last_engine = TokenEngine::new(
            KeySet::new(vec![
                KeyEntry::new(load(&last_material), KeyState::Active),
                KeyEntry::new(load(&material), KeyState::Retired),
            ])
            .unwrap(),
            Policy::default(),
        );
        let five = TokenEngine::new(KeySet::new(entries).unwrap(), Policy::default());
        let token_one = one.issue_pair(42, now).unwrap().access.token;
        let token_five = five.issue_pair(42, now).unwrap().access.token;
        let token_last = last_engine.issue_pair(42, now).unwrap().access.token;
        let mut group = c.benchmark_group(format!("{alg}/key_set_verify"));
        group.bench_function("one", |b| {
            b.iter(|| one.decode(black_box(&token_one), now).unwrap())
        });
        // The five-key set's token (same active key, but a `kid` in its header) verified by the
        // one-key set: what the header's `kid` costs apart from the lookup.
        group.bench_function("one/token_with_kid", |b| {
            b.iter(|| one.decode(black_box(&token_five), now).unwrap())
        });
        group.bench_function("five/active", |b| {
            b.iter(|| five.decode(black_box(&token_five), now).unwrap())
        });
        group.bench_function("five/last", |b| {
            b.iter(|| five.decode(black_box(&token_last), now).unwrap())
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short runs: 12 algorithms × 6 functions finish in a few minutes. Raise these for a
    // quieter machine.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    targets = tokens, key_sets
}
criterion_main!(benches);
