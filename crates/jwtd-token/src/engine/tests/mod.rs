//! Unit tests of [`TokenEngine`]: one passing case and at least one refusal for every check,
//! one topic per module, sharing the fixtures and the one token minter defined here.
//!
//! No test sleeps or reads the clock: `now` is always passed explicitly. Hostile tokens are built
//! by hand from raw JSON text, so odd layouts (duplicate members, padding, whitespace) survive,
//! and signed by [`mint`]: with the engine's own [`Keys`] (so only the check under test can
//! refuse them) or with raw HMAC from aws-lc-rs.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RsaKeyPair,
};
use serde_json::json;

use super::*;
use crate::algorithm::{Algorithm, Family};
use crate::keys::{KeyEntry, KeySet, KeyState, Keys, generate};

mod claims_checks;
mod compact;
mod families;
mod issuing;
mod json;
mod key_sets;
mod pinning;
mod rotation;
mod signature;
mod time_claims;
mod wycheproof;

/// The instant every test runs at (2027-01-15).
const NOW: i64 = 1_800_000_000;
/// The HS256 secret of [`hs256`], known here so tokens can be signed with raw HMAC too.
const SECRET: &[u8] = b"jwtd unit-test secret: 0123456789abcdef";
const JTI: &str = "0123456789abcdef0123456789abcdef";
/// The header jwtd issues for an HS256 engine, which every engine here is but those of the other
/// algorithms in `families`.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

// ---------------------------------------------------------------------------------------------
// Engines and keys
// ---------------------------------------------------------------------------------------------

fn hs256() -> TokenEngine {
    hs256_with(Policy::default())
}

fn hs256_with(policy: Policy) -> TokenEngine {
    TokenEngine::new(Keys::new(Algorithm::HS256, SECRET, None).unwrap(), policy)
}

/// Key material for `alg`. RSA generation is slow, so one RSA key serves every `RS*`/`PS*` test
/// (`second` picks a different, equally shared one).
fn material(alg: Algorithm, second: bool) -> String {
    static RSA: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    match alg.family() {
        Family::Rsa => RSA[usize::from(second)]
            .get_or_init(|| generate(Algorithm::RS256).unwrap())
            .clone(),
        _ => generate(alg).unwrap(),
    }
}

fn engine_for(alg: Algorithm, material: &str) -> TokenEngine {
    let keys = Keys::new(alg, material.as_bytes(), None).unwrap_or_else(|e| panic!("{alg}: {e}"));
    TokenEngine::new(keys, Policy::default())
}

// ---------------------------------------------------------------------------------------------
// The minter
// ---------------------------------------------------------------------------------------------

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What signs a hand-built token.
#[derive(Clone, Copy)]
enum Key<'a> {
    /// The engine's own keys: only the check under test can refuse the token.
    Engine(&'a TokenEngine),
    /// Raw HMAC from aws-lc-rs, independent of the engine's keys.
    Hmac(hmac::Algorithm, &'a [u8]),
}

impl<'a> From<&'a TokenEngine> for Key<'a> {
    fn from(engine: &'a TokenEngine) -> Self {
        Key::Engine(engine)
    }
}

/// A header or payload of a hand-built token, as it stands in the token.
trait Segment {
    fn encoded(&self) -> String;
}

/// Raw JSON text (or any bytes): base64url-encoded.
impl Segment for str {
    fn encoded(&self) -> String {
        b64(self)
    }
}

impl Segment for String {
    fn encoded(&self) -> String {
        b64(self)
    }
}

impl Segment for [u8] {
    fn encoded(&self) -> String {
        b64(self)
    }
}

impl<const N: usize> Segment for [u8; N] {
    fn encoded(&self) -> String {
        b64(self)
    }
}

/// A JSON value: its compact text, base64url-encoded.
impl Segment for Value {
    fn encoded(&self) -> String {
        b64(self.to_string())
    }
}

impl<T: Segment + ?Sized> Segment for &T {
    fn encoded(&self) -> String {
        (**self).encoded()
    }
}

/// A segment already encoded, used exactly as given: padded, re-encoded, with whitespace.
struct Exact<'a>(&'a str);

impl Segment for Exact<'_> {
    fn encoded(&self) -> String {
        self.0.to_owned()
    }
}

/// The one minter of hand-built tokens: `header.payload`, signed by `key` over exactly that
/// text, whatever it holds.
fn mint<'a>(key: impl Into<Key<'a>>, header: impl Segment, payload: impl Segment) -> String {
    let input = format!("{}.{}", header.encoded(), payload.encoded());
    let signature = match key.into() {
        Key::Engine(engine) => engine
            .keys
            .active()
            .unwrap()
            .keys()
            .sign(input.as_bytes())
            .unwrap(),
        Key::Hmac(alg, secret) => b64(hmac::sign(&hmac::Key::new(alg, secret), input.as_bytes())),
    };
    format!("{input}.{signature}")
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

/// simplejwt's access-token claims, valid at [`NOW`].
fn good() -> Value {
    json!({
        "token_type": "access",
        "exp": NOW + 300,
        "iat": NOW,
        "jti": JTI,
        "user_id": "1",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims
        .as_object_mut()
        .unwrap()
        .insert(name.to_owned(), value);
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().shift_remove(name);
    claims
}

// ---------------------------------------------------------------------------------------------
// Outcomes and token parts
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn accepted(engine: &TokenEngine, token: &str, now: i64) -> Decoded {
    engine
        .decode(token, now)
        .unwrap_or_else(|e| panic!("refused ({e:?}): {token}"))
}

#[track_caller]
fn refused(engine: &TokenEngine, token: &str, now: i64) -> TokenError {
    match engine.decode(token, now) {
        Ok(decoded) => panic!("accepted {token}: {:?}", decoded.claims()),
        Err(e) => e,
    }
}

/// Asserts that `engine` refuses `token` at [`NOW`] as `Token is invalid`.
#[track_caller]
/// Refused as "Token is invalid": [`TokenError::Invalid`], or [`TokenError::UnknownKey`] for a
/// token naming a key the engine does not hold (the same answer to the client).
fn assert_invalid(engine: &TokenEngine, token: &str) {
    let error = refused(engine, token, NOW);
    assert!(
        matches!(error, TokenError::Invalid | TokenError::UnknownKey),
        "{token}: {error:?}"
    );
}

fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

fn payload_text(token: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(segments(token)[1]).unwrap()).unwrap()
}

fn payload_map(token: &str) -> Map<String, Value> {
    serde_json::from_str(&payload_text(token)).unwrap()
}

fn keys_in_order(map: &Map<String, Value>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

fn is_jti(value: &str) -> bool {
    value.len() == 32
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The server's public key as PEM (SPKI), derived from its private key with aws-lc-rs.
fn public_pem(alg: Algorithm, private_pem: &str) -> String {
    let block = pem::parse(private_pem).unwrap();
    let pkcs8 = block.contents();
    let spki = match alg.family() {
        Family::Rsa => RsaKeyPair::from_pkcs8(pkcs8).unwrap().public_key().as_der(),
        Family::Ec => {
            let signing = match alg {
                Algorithm::ES256 => &ECDSA_P256_SHA256_FIXED_SIGNING,
                Algorithm::ES512 => &aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED_SIGNING,
                Algorithm::ES256K => &aws_lc_rs::signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
                _ => &ECDSA_P384_SHA384_FIXED_SIGNING,
            };
            EcdsaKeyPair::from_pkcs8(signing, pkcs8)
                .unwrap()
                .public_key()
                .as_der()
        }
        Family::Ed => Ed25519KeyPair::from_pkcs8(pkcs8)
            .unwrap()
            .public_key()
            .as_der(),
        Family::Hmac => unreachable!("HMAC has no public key"),
    };
    pem::encode(&pem::Pem::new(
        "PUBLIC KEY",
        spki.unwrap().as_ref().to_vec(),
    ))
}

/// Replaces the character at `index` with another base64url character.
fn flip_char(segment: &str, index: usize) -> String {
    let mut chars: Vec<char> = segment.chars().collect();
    chars[index] = if chars[index] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// Pads a base64url segment the way a lenient decoder would accept; a segment that needs no
/// padding gets one `=` anyway (also accepted by some decoders).
fn padded(segment: &str) -> String {
    match segment.len() % 4 {
        2 => format!("{segment}=="),
        3 => format!("{segment}="),
        _ => format!("{segment}="),
    }
}
