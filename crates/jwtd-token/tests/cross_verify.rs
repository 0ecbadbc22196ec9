//! Cross-verification with `jwt-simple`, an independent pure-Rust JWT implementation.
//!
//! Both directions, per algorithm: tokens issued by jwtd verify with jwt-simple under the same key
//! and read back in simplejwt's layout; tokens minted by jwt-simple in simplejwt's layout decode
//! with jwtd and pass `check`; a jwt-simple token signed with another key is refused.
//!
//! jwt-simple stamps `iat`/`nbf`/`exp` from its own clock; they are set explicitly here from one
//! `now` read with `std::time`, and jwtd is given the same `now`.

use std::time::{SystemTime, UNIX_EPOCH};

use jwt_simple::prelude::*;
use jwtd_token::{
    Algorithm, Issued, Keys, Policy, TokenEngine, TokenError, TokenType, UserIdClaim, generate,
};
use serde::de::DeserializeOwned;

/// simplejwt's custom claims, `user_id` as a string (current simplejwt).
#[derive(Debug, Serialize, Deserialize)]
struct Layout {
    token_type: String,
    user_id: String,
}

/// simplejwt's custom claims, `user_id` as a JSON integer (older simplejwt).
#[derive(Debug, Serialize, Deserialize)]
struct LayoutIntId {
    token_type: String,
    user_id: i64,
}

const JTI: &str = "5f1c0e0b3d4a4e6f9a8b7c6d5e4f3a2b";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn stamp(seconds: i64) -> UnixTimeStamp {
    UnixTimeStamp::from_secs(u64::try_from(seconds).unwrap())
}

fn engine(alg: Algorithm, material: &str) -> TokenEngine {
    TokenEngine::new(
        Keys::new(alg, material.as_bytes(), None).unwrap(),
        Policy::default(),
    )
}

/// jwt-simple's verification options at `now`, with no clock-skew tolerance.
fn options(now: i64) -> VerificationOptions {
    VerificationOptions {
        artificial_time: Some(stamp(now)),
        time_tolerance: Some(Duration::from_secs(0)),
        ..VerificationOptions::default()
    }
}

/// jwt-simple claims in simplejwt's layout, with sane explicit times.
fn minted<T: Serialize>(custom: T, now: i64) -> JWTClaims<T> {
    let mut claims = Claims::with_custom_claims(custom, Duration::from_secs(300)).with_jwt_id(JTI);
    claims.issued_at = Some(stamp(now));
    claims.invalid_before = Some(stamp(now));
    claims.expires_at = Some(stamp(now + 300));
    claims
}

fn access(user_id: &str) -> Layout {
    Layout {
        token_type: "access".to_owned(),
        user_id: user_id.to_owned(),
    }
}

/// (a) What jwt-simple reads back from a jwtd token.
fn assert_reads_back(claims: &JWTClaims<Layout>, issued: &Issued, token_type: &str, user_id: &str) {
    assert_eq!(claims.custom.token_type, token_type);
    assert_eq!(claims.custom.user_id, user_id);
    assert_eq!(claims.jwt_id.as_deref(), Some(issued.jti.as_str()));
    assert_eq!(claims.issued_at, Some(stamp(issued.issued_at)));
    assert_eq!(claims.expires_at, Some(stamp(issued.expires_at)));
    assert_eq!(claims.invalid_before, None, "jwtd issues no nbf");
}

/// (b) What jwtd makes of a jwt-simple token.
fn assert_jwtd_accepts(engine: &TokenEngine, token: &str, now: i64, user_id: i64) {
    let decoded = engine
        .decode(token, now)
        .unwrap_or_else(|e| panic!("jwtd refused a jwt-simple token ({e:?}): {token}"));
    decoded.check(Some(TokenType::Access)).unwrap();
    assert_eq!(
        decoded.check(Some(TokenType::Refresh)),
        Err(TokenError::WrongType)
    );
    assert_eq!(decoded.jti(), Some(JTI));
    assert_eq!(decoded.user_id(), UserIdClaim::Id(user_id));
    assert_eq!(decoded.expires_at(), Some(now + 300));
    // Expired at exp, by jwtd's rule.
    assert_eq!(
        engine.decode(token, now + 300).unwrap_err(),
        TokenError::Expired
    );
}

/// Signing with a jwt-simple key (MAC keys "authenticate", key pairs "sign").
trait Mint {
    fn mint<T: Serialize>(&self, claims: JWTClaims<T>) -> String;
}

/// Verifying with a jwt-simple key at jwtd's `now`, with no clock-skew tolerance.
trait Read {
    fn read<T: DeserializeOwned>(
        &self,
        token: &str,
        now: i64,
    ) -> Result<JWTClaims<T>, jwt_simple::Error>;
}

/// `Mint` for each jwt-simple signing key with its signing method, and `Read` for the key that
/// verifies what it signs (a MAC key verifies itself).
macro_rules! jwt_simple_keys {
    ($($signer:ty => $sign:ident, $verifier:ty;)*) => {$(
        impl Mint for $signer {
            fn mint<T: Serialize>(&self, claims: JWTClaims<T>) -> String {
                self.$sign(claims).unwrap()
            }
        }
        impl Read for $verifier {
            fn read<T: DeserializeOwned>(
                &self,
                token: &str,
                now: i64,
            ) -> Result<JWTClaims<T>, jwt_simple::Error> {
                self.verify_token(token, Some(options(now)))
            }
        }
    )*};
}

jwt_simple_keys! {
    HS256Key => authenticate, HS256Key;
    HS512Key => authenticate, HS512Key;
    ES256KeyPair => sign, ES256PublicKey;
    ES384KeyPair => sign, ES384PublicKey;
    ES256kKeyPair => sign, ES256kPublicKey;
    Ed25519KeyPair => sign, Ed25519PublicKey;
    RS256KeyPair => sign, RS256PublicKey;
    PS256KeyPair => sign, PS256PublicKey;
}

/// The whole exchange for one algorithm. `load` reads jwtd's key material into jwt-simple;
/// `public` gives the verifying half.
fn cross<K: Mint, V: Read>(alg: Algorithm, load: impl Fn(&str) -> K, public: impl Fn(&K) -> V) {
    let material = generate(alg).unwrap();
    let jwtd = engine(alg, &material);
    let key = load(&material);
    let verifier = public(&key);
    let now = now();

    // (a) jwtd -> jwt-simple. Several pairs, so a randomized-signature format problem (such as
    // ECDSA high-S) cannot hide behind one lucky token.
    for user in [1, 42, 9_000_000_001] {
        let pair = jwtd.issue_pair(user, now).unwrap();
        for (issued, token_type) in [(&pair.access, "access"), (&pair.refresh, "refresh")] {
            let claims = verifier
                .read::<Layout>(&issued.token, now)
                .unwrap_or_else(|e| panic!("jwt-simple refused a jwtd {alg} token: {e}"));
            assert_reads_back(&claims, issued, token_type, &user.to_string());
        }
        // jwt-simple applies jwtd's expiry too.
        assert!(
            verifier
                .read::<Layout>(&pair.access.token, now + 301)
                .is_err(),
            "{alg}"
        );
    }
    let sliding = jwtd.issue_sliding(5, now).unwrap();
    let claims = verifier.read::<Layout>(&sliding.token, now).unwrap();
    assert_reads_back(&claims, &sliding, "sliding", "5");

    // (b) jwt-simple -> jwtd, user_id as a string and as a JSON integer.
    for _ in 0..3 {
        let token = key.mint(minted(access("7"), now));
        assert_jwtd_accepts(&jwtd, &token, now, 7);
        let int_id = LayoutIntId {
            token_type: "access".to_owned(),
            user_id: 7,
        };
        let token = key.mint(minted(int_id, now));
        assert_jwtd_accepts(&jwtd, &token, now, 7);
    }
    // A wrong token_type minted elsewhere is refused by check.
    let refresh = Layout {
        token_type: "refresh".to_owned(),
        user_id: "7".to_owned(),
    };
    let decoded = jwtd.decode(&key.mint(minted(refresh, now)), now).unwrap();
    assert_eq!(
        decoded.check(Some(TokenType::Access)),
        Err(TokenError::WrongType)
    );
    // nbf in the future, by jwtd's rule.
    let mut early = minted(access("7"), now);
    early.invalid_before = Some(stamp(now + 10));
    assert_eq!(
        jwtd.decode(&key.mint(early), now).unwrap_err(),
        TokenError::Invalid,
        "{alg}"
    );

    // (c) Another key of the same algorithm: refused both ways.
    let other = load(&generate(alg).unwrap());
    let token = other.mint(minted(access("7"), now));
    assert_eq!(
        jwtd.decode(&token, now).unwrap_err(),
        TokenError::Invalid,
        "{alg}"
    );
    let pair = jwtd.issue_pair(7, now).unwrap();
    assert!(
        public(&other)
            .read::<Layout>(&pair.access.token, now)
            .is_err(),
        "{alg}"
    );
}

#[test]
fn hs256_with_jwt_simple() {
    cross(
        Algorithm::HS256,
        |m| HS256Key::from_bytes(m.as_bytes()),
        HS256Key::clone,
    );
}

#[test]
fn hs512_with_jwt_simple() {
    cross(
        Algorithm::HS512,
        |m| HS512Key::from_bytes(m.as_bytes()),
        HS512Key::clone,
    );
}

#[test]
fn es256_with_jwt_simple() {
    cross(
        Algorithm::ES256,
        |m| ES256KeyPair::from_pem(m).expect("jwt-simple loads jwtd's PKCS#8 key"),
        ES256KeyPair::public_key,
    );
}

#[test]
fn es384_with_jwt_simple() {
    cross(
        Algorithm::ES384,
        |m| ES384KeyPair::from_pem(m).expect("jwt-simple loads jwtd's PKCS#8 key"),
        ES384KeyPair::public_key,
    );
}

#[test]
fn es256k_with_jwt_simple() {
    cross(
        Algorithm::ES256K,
        |m| ES256kKeyPair::from_pem(m).expect("jwt-simple loads jwtd's PKCS#8 key"),
        ES256kKeyPair::public_key,
    );
}

#[test]
fn eddsa_with_jwt_simple() {
    cross(
        Algorithm::EdDSA,
        |m| Ed25519KeyPair::from_pem(m).expect("jwt-simple loads jwtd's PKCS#8 key"),
        Ed25519KeyPair::public_key,
    );
}

#[test]
fn rs256_with_jwt_simple() {
    cross(
        Algorithm::RS256,
        |m| RS256KeyPair::from_pem(m).expect("jwt-simple loads jwtd's PKCS#8 key"),
        RS256KeyPair::public_key,
    );
}

#[test]
fn ps256_with_jwt_simple() {
    cross(
        Algorithm::PS256,
        |m| PS256KeyPair::from_pem(m).expect("jwt-simple loads jwtd's PKCS#8 key"),
        PS256KeyPair::public_key,
    );
}

/// The HMAC key-confusion attack done with an independent library: jwt-simple signs HS256 with
/// the text of jwtd's public key; a jwtd server on the asymmetric algorithm refuses it.
#[test]
fn hs256_keyed_with_the_public_pem_is_refused() {
    let now = now();
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        let material = generate(alg).unwrap();
        let jwtd = engine(alg, &material);
        let public_pem = match alg {
            Algorithm::ES256 => ES256KeyPair::from_pem(&material)
                .unwrap()
                .public_key()
                .to_pem()
                .unwrap(),
            Algorithm::EdDSA => Ed25519KeyPair::from_pem(&material)
                .unwrap()
                .public_key()
                .to_pem(),
            _ => RS256KeyPair::from_pem(&material)
                .unwrap()
                .public_key()
                .to_pem()
                .unwrap(),
        };
        // That PEM really is jwtd's public key.
        assert!(
            Keys::new(alg, material.as_bytes(), Some(public_pem.as_bytes())).is_ok(),
            "{alg}"
        );
        for text in [public_pem.clone(), public_pem.trim_end().to_owned()] {
            let token = HS256Key::from_bytes(text.as_bytes()).mint(minted(access("1"), now));
            assert_eq!(
                jwtd.decode(&token, now).unwrap_err(),
                TokenError::Invalid,
                "{alg}"
            );
        }
    }
}
