//! The catalogue of hostile tokens (issue 5, RFC 8725): every known way to get a JWT verifier to
//! accept what it must not, built against one configured algorithm and key.
//!
//! One catalogue, two runners: `jwtd-token/tests/adversarial.rs` feeds every case to
//! `TokenEngine::decode` and `Decoded::check`, and `jwtd-server/tests/api/adversarial.rs` sends
//! the same cases to a real server (Authorization header and JSON bodies). The server test
//! includes this file with `#[path]`, so it depends only on crates both test binaries have:
//! aws-lc-rs, base64, serde_json and jwtd-token's public types.
//!
//! Tokens are built by hand from raw JSON text and signed with aws-lc-rs directly, never with
//! jwtd-token, so a bug shared by signer and verifier cannot hide itself, and odd layouts
//! (duplicate members, padding, whitespace, unencoded payloads) survive. A case that is signed
//! with the server's own key under the configured algorithm can only be refused by the one check
//! it targets; each group also carries controls (`Expect::Accepted`) proving that.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwtd_token::{Algorithm, Family, MAX_TOKEN_LEN, TokenError};
use serde_json::{Map, Value, json};

/// The audience and issuer used when a target configures them.
pub const AUDIENCE: &str = "https://api.example.com";
pub const ISSUER: &str = "https://auth.example.com";

/// What a verifier must do with a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `decode` refuses it with this error.
    Decode(TokenError),
    /// `decode` passes (simplejwt checks these later), and `check` for the target's token type
    /// refuses it with this error.
    Check(TokenError),
    /// `decode` and `check` pass, but the user id claim is missing or not an id: the server
    /// answers "Token contained no recognizable user identification", never a login.
    NoUser,
    /// Larger than any request body jwtd reads (64 KiB): the engine refuses it as invalid, the
    /// server with 413 before parsing it.
    Oversized,
    /// A control: correctly signed by the server's key and acceptable.
    Accepted,
}

/// Which class of attack a case belongs to (the sections of SECURITY.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Positive controls.
    Control,
    /// `alg`: none, missing, other than the configured one.
    Alg,
    /// HMAC keyed with the server's public key.
    KeyConfusion,
    /// Key material named or embedded by the token: `jwk`, `jku`, `x5u`, `x5c`, `kid`.
    HeaderKeys,
    /// Forged, malformed, truncated or transplanted signatures; changes after signing.
    Signature,
    /// Claims: time claims, duplicates, `aud`, `iss`, `token_type`, `jti`, `user_id`.
    Claims,
    /// Compact serialization: `crit`, `b64`, `zip`, segments, base64url, whitespace, nesting,
    /// size.
    Structure,
}

/// One hostile (or control) token and what must happen to it.
#[derive(Clone, Debug)]
pub struct Case {
    pub group: Group,
    pub name: String,
    pub token: String,
    pub expect: Expect,
}

/// The verifier under attack: its algorithm, key and policy, and the token it expects.
#[derive(Clone, Debug)]
pub struct Target {
    pub alg: Algorithm,
    /// The HMAC secret, or the PKCS#8 PEM private key (as `jwtd_token::generate` writes it).
    pub key: Vec<u8>,
    /// The verifier's clock.
    pub now: i64,
    /// The user the base token names (must exist on a server).
    pub user_id: i64,
    /// `"access"` or `"refresh"`: the purpose the verifier checks for.
    pub token_type: &'static str,
    /// Whether the verifier requires [`AUDIENCE`] and [`ISSUER`].
    pub aud_iss: bool,
    /// Whether the verifier's clock is exactly `now` (the engine), rather than a real clock
    /// that may tick while the cases are sent (a server): sub-second cases need the former.
    pub exact_clock: bool,
}

impl Target {
    /// The header jwtd itself issues.
    pub fn header(&self) -> String {
        header(self.alg.as_str())
    }

    /// Valid claims in simplejwt's layout for this target.
    pub fn claims(&self) -> Map<String, Value> {
        let lifetime = if self.token_type == "refresh" {
            86_400
        } else {
            300
        };
        let mut claims = Map::new();
        claims.insert("token_type".into(), json!(self.token_type));
        claims.insert("exp".into(), json!(self.now + lifetime));
        claims.insert("iat".into(), json!(self.now));
        claims.insert("jti".into(), json!(new_jti()));
        claims.insert("user_id".into(), json!(self.user_id.to_string()));
        if self.aud_iss {
            claims.insert("aud".into(), json!(AUDIENCE));
            claims.insert("iss".into(), json!(ISSUER));
        }
        claims
    }

    fn claims_json(&self) -> String {
        Value::Object(self.claims()).to_string()
    }

    /// The claims with `name` set to `value` (in place, else appended), as JSON text.
    fn with(&self, name: &str, value: Value) -> String {
        let mut claims = self.claims();
        claims.insert(name.to_owned(), value);
        Value::Object(claims).to_string()
    }

    /// The claims with `name` set to raw JSON text `value` (numbers serde_json cannot write).
    fn with_raw(&self, name: &str, value: &str) -> String {
        let mut claims = self.claims();
        claims.insert(name.to_owned(), json!("\u{0}placeholder"));
        Value::Object(claims)
            .to_string()
            .replace(r#""\u0000placeholder""#, value)
    }

    fn without(&self, name: &str) -> String {
        let mut claims = self.claims();
        claims.shift_remove(name);
        Value::Object(claims).to_string()
    }

    /// Signs the exact text `input` with the server's key under the configured algorithm.
    pub fn sign_input(&self, input: &str) -> String {
        format!(
            "{input}.{}",
            b64(sign(self.alg, &self.key, input.as_bytes()))
        )
    }

    /// `b64(header).b64(payload)`, signed with the server's key.
    pub fn signed(&self, header: impl AsRef<[u8]>, payload: impl AsRef<[u8]>) -> String {
        self.sign_input(&format!("{}.{}", b64(header), b64(payload)))
    }

    /// A correctly signed token with the server's header and these claims.
    pub fn token(&self, claims_json: &str) -> String {
        self.signed(self.header(), claims_json)
    }

    fn hmac_family(&self) -> bool {
        self.alg.family() == Family::Hmac
    }
}

/// `{"alg":"<alg>","typ":"JWT"}`.
pub fn header(alg: &str) -> String {
    format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// 32 random lowercase hex characters, like simplejwt's `uuid4().hex`.
pub fn new_jti() -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Keys and signing (aws-lc-rs only)
// ---------------------------------------------------------------------------------------------

/// The DER inside a PEM text (any line endings).
pub fn pem_der(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).expect("PEM is text");
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).expect("PEM base64")
}

/// A PEM text with LF line endings and 64-character lines.
pub fn pem_wrap(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn hmac_algorithm(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}

fn rsa_encoding(alg: Algorithm) -> &'static dyn signature::RsaEncoding {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        _ => &signature::RSA_PSS_SHA512,
    }
}

fn ec_signing(alg: Algorithm) -> &'static signature::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

/// Signs `input` under `alg`: `key` is the HMAC secret or a PKCS#8 PEM private key.
pub fn sign(alg: Algorithm, key: &[u8], input: &[u8]) -> Vec<u8> {
    match alg.family() {
        Family::Hmac => hmac::sign(&hmac::Key::new(hmac_algorithm(alg), key), input)
            .as_ref()
            .to_vec(),
        Family::Rsa => {
            let pair = RsaKeyPair::from_pkcs8(&pem_der(key)).expect("RSA PKCS#8 key");
            let mut signature = vec![0; pair.public_modulus_len()];
            pair.sign(
                rsa_encoding(alg),
                &SystemRandom::new(),
                input,
                &mut signature,
            )
            .expect("RSA signs");
            signature
        }
        Family::Ec => EcdsaKeyPair::from_pkcs8(ec_signing(alg), &pem_der(key))
            .expect("EC PKCS#8 key")
            .sign(&SystemRandom::new(), input)
            .expect("ECDSA signs")
            .as_ref()
            .to_vec(),
        Family::Ed => Ed25519KeyPair::from_pkcs8(&pem_der(key))
            .expect("Ed25519 PKCS#8 key")
            .sign(input)
            .as_ref()
            .to_vec(),
    }
}

/// Another key of the same kind: the attacker's own, the same one for every call with `alg`
/// (so a test can build the verifier an attacker hopes for).
pub fn attacker_key(alg: Algorithm) -> Vec<u8> {
    static KEYS: OnceLock<Mutex<HashMap<Algorithm, Vec<u8>>>> = OnceLock::new();
    let keys = KEYS.get_or_init(Default::default);
    // RSA keys serve every RS*/PS* algorithm: generate one only.
    let slot = match alg.family() {
        Family::Rsa => Algorithm::RS256,
        _ => alg,
    };
    if let Some(key) = keys.lock().expect("key cache").get(&slot) {
        return key.clone();
    }
    let pkcs8 = match alg.family() {
        Family::Hmac => {
            b"the attacker's own secret, 64 bytes long..........................".to_vec()
        }
        Family::Rsa => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA generates");
            let der: aws_lc_rs::encoding::Pkcs8V1Der = pair.as_der().expect("PKCS#8");
            der.as_ref().to_vec()
        }
        Family::Ec => EcdsaKeyPair::generate(ec_signing(alg))
            .expect("EC generates")
            .to_pkcs8v1()
            .expect("PKCS#8")
            .as_ref()
            .to_vec(),
        Family::Ed => Ed25519KeyPair::generate()
            .expect("Ed25519 generates")
            .to_pkcs8v1()
            .expect("PKCS#8")
            .as_ref()
            .to_vec(),
    };
    let key = match alg.family() {
        Family::Hmac => pkcs8,
        _ => pem_wrap("PRIVATE KEY", &pkcs8).into_bytes(),
    };
    keys.lock()
        .expect("key cache")
        .entry(slot)
        .or_insert(key)
        .clone()
}

/// A public key in every form an attacker might feed to HMAC.
#[derive(Clone, Debug)]
pub struct PublicKeyForms {
    /// SubjectPublicKeyInfo DER.
    pub spki: Vec<u8>,
    /// The bare key: PKCS#1 `RSAPublicKey` DER, an uncompressed EC point, or 32 Ed25519 bytes.
    pub raw: Vec<u8>,
    /// The public JWK (members in RFC 7638 order).
    pub jwk: Value,
}

/// The public half of a PKCS#8 PEM private key.
pub fn public_key(alg: Algorithm, private_pem: &[u8]) -> PublicKeyForms {
    let der = pem_der(private_pem);
    match alg.family() {
        Family::Rsa => {
            let pair = RsaKeyPair::from_pkcs8(&der).expect("RSA PKCS#8 key");
            let spki = pair.public_key().as_der().expect("SPKI").as_ref().to_vec();
            let raw = pair.public_key().as_ref().to_vec();
            // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
            let (_, sequence, _) = der_read(&raw);
            let (_, n, rest) = der_read(sequence);
            let (_, e, _) = der_read(rest);
            let jwk = json!({ "e": b64(strip_zeros(e)), "kty": "RSA", "n": b64(strip_zeros(n)) });
            PublicKeyForms { spki, raw, jwk }
        }
        Family::Ec => {
            let pair = EcdsaKeyPair::from_pkcs8(ec_signing(alg), &der).expect("EC PKCS#8 key");
            let spki = pair.public_key().as_der().expect("SPKI").as_ref().to_vec();
            let raw = pair.public_key().as_ref().to_vec();
            let half = (raw.len() - 1) / 2;
            let crv = if alg == Algorithm::ES384 {
                "P-384"
            } else {
                "P-256"
            };
            let jwk = json!({
                "crv": crv,
                "kty": "EC",
                "x": b64(&raw[1..1 + half]),
                "y": b64(&raw[1 + half..]),
            });
            PublicKeyForms { spki, raw, jwk }
        }
        Family::Ed => {
            let pair = Ed25519KeyPair::from_pkcs8(&der).expect("Ed25519 PKCS#8 key");
            let spki = pair.public_key().as_der().expect("SPKI").as_ref().to_vec();
            let raw = pair.public_key().as_ref().to_vec();
            let jwk = json!({ "crv": "Ed25519", "kty": "OKP", "x": b64(&raw) });
            PublicKeyForms { spki, raw, jwk }
        }
        Family::Hmac => panic!("an HMAC secret has no public half"),
    }
}

/// Every text or byte string an attacker could take for "the server's public key" and use as an
/// HMAC secret (RFC 8725 2.1, 3.1: CVE-2015-9235 and its many successors).
pub fn public_key_as_secrets(alg: Algorithm, private_pem: &[u8]) -> Vec<(String, Vec<u8>)> {
    let forms = public_key(alg, private_pem);
    let pem = pem_wrap("PUBLIC KEY", &forms.spki);
    let mut with_use = forms.jwk.clone();
    let object = with_use.as_object_mut().expect("JWK object");
    object.insert("alg".into(), json!(alg.as_str()));
    object.insert("kid".into(), json!("key-1"));
    object.insert("use".into(), json!("sig"));
    let mut secrets = vec![
        ("PEM (SPKI, LF)".to_owned(), pem.clone().into_bytes()),
        (
            "PEM (SPKI, CRLF)".to_owned(),
            pem.replace('\n', "\r\n").into_bytes(),
        ),
        (
            "PEM (SPKI) without the final newline".to_owned(),
            pem.trim_end().as_bytes().to_vec(),
        ),
        ("DER (SPKI)".to_owned(), forms.spki.clone()),
        ("raw public key".to_owned(), forms.raw.clone()),
        (
            "base64 of the DER".to_owned(),
            STANDARD.encode(&forms.spki).into_bytes(),
        ),
        (
            "JWK (RFC 7638 member order)".to_owned(),
            forms.jwk.to_string().into_bytes(),
        ),
        (
            "JWK with alg, kid and use".to_owned(),
            with_use.to_string().into_bytes(),
        ),
        (
            "JWK pretty-printed".to_owned(),
            serde_json::to_string_pretty(&forms.jwk)
                .expect("JSON")
                .into_bytes(),
        ),
        (
            "JWK Set".to_owned(),
            json!({ "keys": [with_use] }).to_string().into_bytes(),
        ),
    ];
    if alg.family() == Family::Rsa {
        secrets.push((
            "PEM (PKCS#1 RSA PUBLIC KEY)".to_owned(),
            pem_wrap("RSA PUBLIC KEY", &forms.raw).into_bytes(),
        ));
    }
    secrets
}

/// Reads one DER TLV: (tag, contents, rest).
fn der_read(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, header) = if input[1] < 0x80 {
        (usize::from(input[1]), 2)
    } else {
        let count = usize::from(input[1] & 0x7f);
        let len = input[2..2 + count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + count)
    };
    (tag, &input[header..header + len], &input[header + len..])
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let skip = bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len() - 1);
    &bytes[skip..]
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `a - b` for equal-length big-endian numbers with `a >= b`.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

/// `a + b` for equal-length little-endian numbers (the carry out is dropped).
fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut carry = 0u16;
    for i in 0..a.len() {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

/// The order `n` and field prime `p` of the target's curve, big-endian.
fn curve_constants(alg: Algorithm) -> (Vec<u8>, Vec<u8>) {
    if alg == Algorithm::ES384 {
        (
            hex(
                "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
            ),
            hex(
                "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
            ),
        )
    } else {
        (
            hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
            hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
        )
    }
}

/// The Ed25519 group order L, little-endian.
fn ed25519_order_le() -> Vec<u8> {
    let mut l = hex("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed");
    l.reverse();
    l
}

/// ASN.1 DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` of an `r‖s` signature.
pub fn ecdsa_der(fixed: &[u8]) -> Vec<u8> {
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let integer = |bytes: &[u8]| {
        let bytes = strip_zeros(bytes);
        let mut out = vec![0x02];
        let pad = bytes[0] & 0x80 != 0;
        out.push((bytes.len() + usize::from(pad)) as u8);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(bytes);
        out
    };
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30];
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(body.len() as u8);
    out.extend(body);
    out
}

// ---------------------------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------------------------

struct Cases<'a> {
    target: &'a Target,
    group: Group,
    out: Vec<Case>,
}

impl Cases<'_> {
    fn add(&mut self, name: impl Into<String>, token: impl Into<String>, expect: Expect) {
        self.out.push(Case {
            group: self.group,
            name: name.into(),
            token: token.into(),
            expect,
        });
    }

    fn invalid(&mut self, name: impl Into<String>, token: impl Into<String>) {
        self.add(name, token, Expect::Decode(TokenError::Invalid));
    }

    fn accepted(&mut self, name: impl Into<String>, token: impl Into<String>) {
        self.add(name, token, Expect::Accepted);
    }

    /// A token with the server's header and these claims, correctly signed.
    fn claims(&mut self, name: impl Into<String>, claims_json: &str, expect: Expect) {
        let token = self.target.token(claims_json);
        self.add(name, token, expect);
    }
}

/// Every case for `target`, in groups.
pub fn catalogue(target: &Target) -> Vec<Case> {
    GROUPS
        .into_iter()
        .flat_map(|group| cases(target, group))
        .collect()
}

/// Every group, in catalogue order.
pub const GROUPS: [Group; 7] = [
    Group::Control,
    Group::Alg,
    Group::KeyConfusion,
    Group::HeaderKeys,
    Group::Signature,
    Group::Claims,
    Group::Structure,
];

/// The cases of one group for `target`.
pub fn cases(target: &Target, group: Group) -> Vec<Case> {
    let mut cases = Cases {
        target,
        group,
        out: Vec::new(),
    };
    match group {
        Group::Control => controls(&mut cases),
        Group::Alg => alg_cases(&mut cases),
        Group::KeyConfusion => key_confusion_cases(&mut cases),
        Group::HeaderKeys => header_key_cases(&mut cases),
        Group::Signature => signature_cases(&mut cases),
        Group::Claims => claim_cases(&mut cases),
        Group::Structure => structure_cases(&mut cases),
    }
    cases.out
}

fn controls(c: &mut Cases) {
    let t = c.target;
    c.accepted("the server's own layout", t.token(&t.claims_json()));
    c.accepted(
        "user_id as a JSON integer (older simplejwt)",
        t.token(&t.with("user_id", json!(t.user_id))),
    );
    c.accepted(
        "exp as a float",
        t.token(&t.with("exp", json!(t.now as f64 + 300.5))),
    );
    c.accepted("no iat", t.token(&t.without("iat")));
    c.accepted(
        "nbf in the past",
        t.token(&t.with("nbf", json!(t.now - 60))),
    );
    c.accepted(
        "header members reordered, kid and cty",
        t.signed(
            format!(
                r#"{{"typ":"JWT","kid":"key-1","cty":"JWT","alg":"{}"}}"#,
                t.alg
            ),
            t.claims_json(),
        ),
    );
    c.accepted(
        "JSON nested 64 deep in a custom claim",
        t.token(&t.with_raw("x", &nested(64))),
    );
    if !t.aud_iss {
        c.accepted(
            "iss when no issuer is configured (ignored, as PyJWT does)",
            t.token(&t.with("iss", json!("https://elsewhere.example"))),
        );
    } else {
        let mut claims = t.claims();
        claims.insert("aud".into(), json!(["https://other.example", AUDIENCE]));
        c.accepted(
            "aud as a list containing the audience",
            t.token(&Value::Object(claims).to_string()),
        );
    }
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn alg_cases(c: &mut Cases) {
    let t = c.target;
    let claims = t.claims_json();
    // `none` in every letter case (RFC 8725 3.1; CVE-2015-9235 and friends).
    for none in [
        "none",
        "None",
        "NONE",
        "nOnE",
        "NoNe",
        "none ",
        " none",
        "none\u{0}",
    ] {
        let header = serde_json::to_string(&json!({ "alg": none, "typ": "JWT" })).expect("JSON");
        let unsigned = format!("{}.{}.", b64(&header), b64(&claims));
        c.invalid(format!("alg {none:?}, empty signature"), unsigned.clone());
        c.invalid(
            format!("alg {none:?}, no signature segment"),
            unsigned.trim_end_matches('.').to_owned(),
        );
        c.invalid(
            format!("alg {none:?}, signature valid under the server's key"),
            t.signed(&header, &claims),
        );
    }
    for header in [
        r#"{"typ":"JWT"}"#.to_owned(),
        "{}".to_owned(),
        r#"{"alg":null,"typ":"JWT"}"#.to_owned(),
        r#"{"alg":"","typ":"JWT"}"#.to_owned(),
        r#"{"alg":256,"typ":"JWT"}"#.to_owned(),
        r#"{"alg":true,"typ":"JWT"}"#.to_owned(),
        format!(r#"{{"alg":["{}"],"typ":"JWT"}}"#, t.alg),
        format!(r#"{{"alg":{{"name":"{}"}},"typ":"JWT"}}"#, t.alg),
        format!(r#"{{"ALG":"{}","typ":"JWT"}}"#, t.alg),
        header(&t.alg.as_str().to_lowercase()),
        header(&t.alg.as_str().to_uppercase()),
        header(&format!("{} ", t.alg)),
    ] {
        if header == t.header() {
            continue; // EDDSA upper-cased is not EdDSA, but HS256 upper-cased is itself.
        }
        c.invalid(
            format!("missing or malformed alg {header}, signed by the server's key"),
            t.signed(&header, &claims),
        );
    }
    // Every other algorithm named in the header, signed with the server's key under the
    // configured algorithm (so only the pinning can refuse it)...
    for other in Algorithm::ALL.into_iter().filter(|a| *a != t.alg) {
        c.invalid(
            format!("alg {other} on a {} server", t.alg),
            t.signed(header(other.as_str()), &claims),
        );
        // ...and, where the server's key can produce it, really signed under the named one
        // (the same RSA key under PKCS#1 and PSS, the same secret under another HMAC size).
        if other.family() == t.alg.family() && other.family() != Family::Ec {
            let input = format!("{}.{}", b64(header(other.as_str())), b64(&claims));
            let signature = sign(other, &t.key, input.as_bytes());
            c.invalid(
                format!(
                    "alg {other} on a {} server, signed {other} with its key",
                    t.alg
                ),
                format!("{input}.{}", b64(signature)),
            );
        }
    }
    for unsupported in [
        "ES512", "ES256K", "HS1", "RS1", "Ed25519", "Ed448", "dir", "RSA-OAEP",
    ] {
        c.invalid(
            format!("unsupported alg {unsupported}"),
            t.signed(header(unsupported), &claims),
        );
    }
    // An asymmetric alg on an HMAC server, "verified" with the secret as if it were a key.
    if t.hmac_family() {
        for name in ["RS256", "PS256", "ES256", "EdDSA"] {
            let input = format!("{}.{}", b64(header(name)), b64(&claims));
            let tag = sign(Algorithm::HS256, &t.key, input.as_bytes());
            c.invalid(
                format!("alg {name} with an HMAC-SHA256 tag over the secret"),
                format!("{input}.{}", b64(tag)),
            );
        }
    }
}

fn key_confusion_cases(c: &mut Cases) {
    let t = c.target;
    if t.hmac_family() {
        return; // an HMAC server has no public key to confuse
    }
    let claims = t.claims_json();
    for (form, secret) in public_key_as_secrets(t.alg, &t.key) {
        for (header_alg, mac) in [
            ("HS256", Algorithm::HS256),
            ("HS384", Algorithm::HS384),
            ("HS512", Algorithm::HS512),
            (t.alg.as_str(), Algorithm::HS256),
            (t.alg.as_str(), Algorithm::HS512),
        ] {
            let input = format!("{}.{}", b64(header(header_alg)), b64(&claims));
            let tag = sign(mac, &secret, input.as_bytes());
            c.invalid(
                format!("alg {header_alg}, {mac} keyed with the public key as {form}"),
                format!("{input}.{}", b64(tag)),
            );
        }
    }
}

fn header_key_cases(c: &mut Cases) {
    let t = c.target;
    let claims = t.claims_json();
    let attacker = attacker_key(t.alg);
    let attacker_jwk = if t.hmac_family() {
        json!({ "kty": "oct", "k": b64(&attacker) })
    } else {
        public_key(t.alg, &attacker).jwk
    };
    let attacker_spki = if t.hmac_family() {
        attacker.clone()
    } else {
        public_key(t.alg, &attacker).spki
    };
    let alg = t.alg.as_str();
    let mut headers = vec![
        (
            "jwk embedding the attacker's key",
            json!({ "alg": alg, "typ": "JWT", "jwk": attacker_jwk }),
        ),
        (
            "jku pointing at the attacker's JWKS",
            json!({ "alg": alg, "typ": "JWT", "jku": "https://attacker.example/.well-known/jwks.json" }),
        ),
        (
            "jku pointing at a local file",
            json!({ "alg": alg, "typ": "JWT", "jku": "file:///etc/passwd" }),
        ),
        (
            "x5u pointing at the attacker's certificate",
            json!({ "alg": alg, "typ": "JWT", "x5u": "https://attacker.example/cert.pem" }),
        ),
        (
            "x5c embedding the attacker's key",
            json!({ "alg": alg, "typ": "JWT", "x5c": [STANDARD.encode(&attacker_spki)] }),
        ),
        (
            "x5t naming a certificate",
            json!({ "alg": alg, "typ": "JWT", "x5t": b64([7u8; 20]) }),
        ),
    ];
    for kid in [
        "../../../../../../dev/null",
        "/dev/null",
        "../../../../etc/passwd",
        "..\\..\\..\\windows\\win.ini",
        "' OR '1'='1",
        "1; DROP TABLE users; --",
        "x' UNION SELECT 'secret' --",
        "$(reboot)",
        "`id`",
        "| cat /etc/passwd",
        "key\u{0}",
        "%00",
        "http://attacker.example/key",
    ] {
        headers.push(("kid", json!({ "alg": alg, "typ": "JWT", "kid": kid })));
    }
    headers.push((
        "kid",
        json!({ "alg": alg, "typ": "JWT", "kid": "k".repeat(4096) }),
    ));
    headers.push((
        "kid",
        json!({ "alg": alg, "typ": "JWT", "kid": { "path": "/dev/null" } }),
    ));
    headers.push(("kid", json!({ "alg": alg, "typ": "JWT", "kid": 0 })));
    for (what, header) in headers {
        let header = header.to_string();
        let input = format!("{}.{}", b64(&header), b64(&claims));
        c.invalid(
            format!("{what} {header:.80}, signed by the attacker's key"),
            format!("{input}.{}", b64(sign(t.alg, &attacker, input.as_bytes()))),
        );
        if t.hmac_family() {
            // The classic: `kid` names /dev/null, so a naive server keys HMAC with "".
            for (key_name, key) in [("an empty key", &b""[..]), ("a NUL byte", b"\0")] {
                c.invalid(
                    format!("{what} {header:.80}, HMAC keyed with {key_name}"),
                    format!("{input}.{}", b64(sign(t.alg, key, input.as_bytes()))),
                );
            }
        }
        // Control: jwtd never reads these members, so the same header signed by the server's
        // key is just another header (trust comes from the configured key alone).
        c.add(
            format!("ignored: {what} {header:.80}, signed by the server's key"),
            t.sign_input(&input),
            Expect::Accepted,
        );
    }
}

fn signature_cases(c: &mut Cases) {
    let t = c.target;
    let claims = t.claims_json();
    let input = format!("{}.{}", b64(t.header()), b64(&claims));
    let valid = sign(t.alg, &t.key, input.as_bytes());
    let with_sig = |sig: &[u8]| format!("{input}.{}", b64(sig));

    c.invalid("empty signature", format!("{input}."));
    c.invalid(
        "signature truncated by one byte",
        with_sig(&valid[..valid.len() - 1]),
    );
    c.invalid(
        "signature truncated to half",
        with_sig(&valid[..valid.len() / 2]),
    );
    c.invalid(
        "signature with a byte appended",
        with_sig(&[&valid[..], &[0]].concat()),
    );
    c.invalid(
        "signature with a zero byte prepended",
        with_sig(&[&[0][..], &valid[..]].concat()),
    );
    c.invalid("signature doubled", with_sig(&valid.repeat(2)));
    c.invalid("all-zero signature", with_sig(&vec![0; valid.len()]));
    c.invalid("all-ones signature", with_sig(&vec![0xff; valid.len()]));
    let mut flipped = valid.clone();
    flipped[valid.len() / 2] ^= 0x01;
    c.invalid("one signature bit flipped", with_sig(&flipped));

    // Transplanted: a genuine signature of another token.
    let other = t.token(&t.with("user_id", json!((t.user_id + 1).to_string())));
    let other_signature = other.rsplit_once('.').expect("three parts").1;
    c.invalid(
        "signature taken from another token",
        format!("{input}.{other_signature}"),
    );
    let attacker = attacker_key(t.alg);
    c.invalid(
        "signed by another key of the same kind",
        with_sig(&sign(t.alg, &attacker, input.as_bytes())),
    );

    // Changed after signing.
    let signature_b64 = b64(&valid);
    let payload_b64 = b64(&claims);
    for (what, header) in [
        (
            "kid added to the header",
            format!(r#"{{"alg":"{}","typ":"JWT","kid":"x"}}"#, t.alg),
        ),
        (
            "typ changed in the header",
            format!(r#"{{"alg":"{}","typ":"at+jwt"}}"#, t.alg),
        ),
        (
            "the header re-spelled with a unicode escape",
            t.header().replace("JWT", "J\\u0057T"),
        ),
        (
            "the header with a space added",
            t.header().replace(',', ", "),
        ),
    ] {
        c.invalid(
            format!("{what} after signing"),
            format!("{}.{payload_b64}.{signature_b64}", b64(header)),
        );
    }
    for (what, changed) in [
        (
            "user_id",
            t.with("user_id", json!((t.user_id + 1).to_string())),
        ),
        ("exp", t.with("exp", json!(t.now + 10 * 86_400))),
        (
            "token_type",
            t.with(
                "token_type",
                json!(if t.token_type == "access" {
                    "refresh"
                } else {
                    "access"
                }),
            ),
        ),
        ("the claims' spacing", claims.replace(',', ", ")),
    ] {
        c.invalid(
            format!("{what} changed after signing"),
            format!("{}.{}.{signature_b64}", b64(t.header()), b64(changed)),
        );
    }

    match t.alg.family() {
        Family::Hmac => {
            c.invalid("HMAC tag truncated to 128 bits", with_sig(&valid[..16]));
            for other in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                if other != t.alg {
                    c.invalid(
                        format!("{other} tag under a {} header", t.alg),
                        with_sig(&sign(other, &t.key, input.as_bytes())),
                    );
                }
            }
            c.invalid(
                "HMAC keyed with the empty string",
                with_sig(&sign(t.alg, b"", input.as_bytes())),
            );
        }
        Family::Rsa => {
            let forms = public_key(t.alg, &t.key);
            let (_, sequence, _) = der_read(&forms.raw);
            let (_, n, _) = der_read(sequence);
            let n = strip_zeros(n).to_vec();
            let mut one = vec![0; valid.len()];
            *one.last_mut().expect("non-empty") = 1;
            c.invalid("RSA signature 1", with_sig(&one));
            c.invalid("RSA signature equal to the modulus", with_sig(&n));
            let mut n_plus = n.clone();
            *n_plus.last_mut().expect("non-empty") += 1; // n is odd: no carry
            c.invalid("RSA signature n + 1", with_sig(&n_plus));
            let mut n_minus_one = n.clone();
            *n_minus_one.last_mut().expect("non-empty") -= 1; // n is odd
            c.invalid("RSA signature n - 1 (= -1 mod n)", with_sig(&n_minus_one));
            // Same key, other padding or hash: PKCS#1 v1.5 <-> PSS confusion.
            for other in [
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ] {
                if other != t.alg {
                    c.invalid(
                        format!("{other} signature under a {} header", t.alg),
                        with_sig(&sign(other, &t.key, input.as_bytes())),
                    );
                }
            }
        }
        Family::Ec => {
            let (n, p) = curve_constants(t.alg);
            let size = n.len();
            let (r, s) = valid.split_at(size);
            let zero = vec![0u8; size];
            let mut one = zero.clone();
            one[size - 1] = 1;
            let ff = vec![0xffu8; size];
            let pair = |a: &[u8], b: &[u8]| [a, b].concat();
            // CVE-2022-21449 ("psychic signatures") and its neighbours.
            for (what, sig) in [
                ("r = s = 0", pair(&zero, &zero)),
                ("r = 0", pair(&zero, s)),
                ("s = 0", pair(r, &zero)),
                ("r = s = 1", pair(&one, &one)),
                ("r = s = n", pair(&n, &n)),
                ("r = n", pair(&n, s)),
                ("s = n", pair(r, &n)),
                ("r = s = p", pair(&p, &p)),
                ("r = s = 2^k - 1", pair(&ff, &ff)),
                ("r = 0, s = n - 1", pair(&zero, &sub_be(&n, &one))),
                ("r and s swapped", pair(s, r)),
            ] {
                c.invalid(format!("ECDSA {what}"), with_sig(&sig));
            }
            c.invalid(
                "ECDSA signature DER-encoded instead of r‖s",
                with_sig(&ecdsa_der(&valid)),
            );
            let padded = [&[0][..], r, &[0][..], s].concat();
            c.invalid("ECDSA r‖s with each half zero-padded", with_sig(&padded));
            let other_curve = if t.alg == Algorithm::ES256 { 96 } else { 64 };
            c.invalid(
                "ECDSA signature of the other curve's length",
                with_sig(&vec![1; other_curve]),
            );
            // n - s verifies as well as s (ECDSA is malleable): harmless here, because jwtd
            // identifies tokens by `jti`, never by signature bytes (the server test checks a
            // blacklisted token stays blacklisted in its malleated form).
            let high_s = pair(r, &sub_be(&n, s));
            c.add(
                "ignored: ECDSA malleated signature (r, n - s)",
                with_sig(&high_s),
                Expect::Accepted,
            );
        }
        Family::Ed => {
            let (r, s) = valid.split_at(32);
            let non_canonical = [r, &add_le(s, &ed25519_order_le())].concat();
            c.invalid("Ed25519 non-canonical S (S + L)", with_sig(&non_canonical));
            let mut identity = vec![0u8; 64];
            identity[0] = 1;
            c.invalid("Ed25519 R = identity point, S = 0", with_sig(&identity));
            let mut high = valid.clone();
            high[63] |= 0x80;
            c.invalid("Ed25519 S with the top bit set", with_sig(&high));
            let mut l_only = vec![0u8; 32];
            l_only.extend(ed25519_order_le());
            c.invalid("Ed25519 R = 0, S = L", with_sig(&l_only));
        }
    }
}

fn claim_cases(c: &mut Cases) {
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
        for (what, aud) in [
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
        ] {
            let claims = match aud {
                None => t.without("aud"),
                Some(aud) => t.with("aud", aud),
            };
            c.claims(format!("aud {what}"), &claims, invalid);
        }
        for (what, iss) in [
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
        ] {
            let claims = match iss {
                None => t.without("iss"),
                Some(iss) => t.with("iss", iss),
            };
            c.claims(format!("iss {what}"), &claims, invalid);
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

fn structure_cases(c: &mut Cases) {
    let t = c.target;
    let claims = t.claims_json();
    let alg = t.alg.as_str();
    // Header extensions jwtd does not implement (RFC 7515 4.1.11, RFC 7797, RFC 7516).
    for header in [
        format!(r#"{{"alg":"{alg}","typ":"JWT","crit":["x-unknown"],"x-unknown":1}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","crit":["exp"],"exp":1}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","crit":[]}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","crit":"x-unknown"}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","b64":false}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","b64":"false"}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","b64":0}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","zip":"DEF"}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","zip":null}}"#),
        format!(r#"{{"alg":"{alg}","typ":"JWT","enc":"A256GCM","zip":"DEF"}}"#),
    ] {
        c.invalid(format!("header {header}"), t.signed(&header, &claims));
    }
    // RFC 7797 for real: the payload unencoded in the signing input, attached and detached.
    let b64_false = b64(format!(
        r#"{{"alg":"{alg}","typ":"JWT","b64":false,"crit":["b64"]}}"#
    ));
    let raw_payload = claims.replace('.', "");
    c.invalid(
        "b64:false with the payload unencoded",
        t.sign_input(&format!("{b64_false}.{raw_payload}")),
    );
    let detached = t.sign_input(&format!("{b64_false}.{raw_payload}"));
    let signature = detached.rsplit_once('.').expect("signature").1;
    c.invalid(
        "b64:false with a detached payload",
        format!("{b64_false}..{signature}"),
    );

    // Segments.
    let token = t.token(&claims);
    let parts: Vec<&str> = token.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let jwe_header = b64(r#"{"alg":"dir","enc":"A256GCM"}"#);
    for (what, bad) in [
        ("empty", String::new()),
        ("one dot", ".".to_owned()),
        ("two dots", "..".to_owned()),
        ("four dots", "....".to_owned()),
        ("header only", h.to_owned()),
        ("two segments", format!("{h}.{p}")),
        ("four segments", format!("{token}.{s}")),
        ("a trailing dot", format!("{token}.")),
        ("a leading dot", format!(".{token}")),
        ("a doubled dot", format!("{h}..{p}.{s}")),
        ("no dots", format!("{h}{p}{s}")),
        ("a missing first dot", format!("{h}{p}.{s}")),
        ("empty header", format!(".{p}.{s}")),
        ("empty payload", format!("{h}..{s}")),
        (
            "JWE-shaped, five segments",
            format!(
                "{jwe_header}..{}.{p}.{}",
                b64("iv-iv-iv-iv"),
                b64("tag-tag-tag-tag")
            ),
        ),
        (
            "five segments under the server's header",
            format!("{h}.{p}.{s}.{p}.{s}"),
        ),
        (
            "five segments, JWS first",
            format!("{token}.{}.{}", b64("x"), b64("y")),
        ),
    ] {
        c.invalid(format!("segments: {what}"), bad);
    }

    // base64url: padding, non-canonical trailing bits, the standard alphabet, foreign bytes.
    let padded_claims = (0..3)
        .map(|n| t.with("pad", json!("p".repeat(n))))
        .find(|claims| !b64(claims).len().is_multiple_of(4))
        .expect("a payload needing padding");
    let pb = b64(&padded_claims);
    let hb = b64(format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k"}}"#));
    assert!(!hb.len().is_multiple_of(4) && !pb.len().is_multiple_of(4));
    c.accepted(
        "control for the base64 cases",
        t.sign_input(&format!("{hb}.{pb}")),
    );
    let pad = |segment: &str| format!("{segment}{}", "=".repeat((4 - segment.len() % 4) % 4));
    c.invalid("padded header", t.sign_input(&format!("{}.{pb}", pad(&hb))));
    c.invalid(
        "padded payload",
        t.sign_input(&format!("{hb}.{}", pad(&pb))),
    );
    c.invalid(
        "payload with one = too many",
        t.sign_input(&format!("{hb}.{pb}=")),
    );
    let signed = t.sign_input(&format!("{hb}.{pb}"));
    let sig = signed.rsplit_once('.').expect("signature").1;
    if !sig.len().is_multiple_of(4) {
        c.invalid("padded signature", format!("{hb}.{pb}.{}", pad(sig)));
    }
    c.invalid("signature with = appended", format!("{hb}.{pb}.{sig}="));
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sloppy = |segment: &str| -> String {
        let last = segment.as_bytes()[segment.len() - 1];
        let value = ALPHABET
            .iter()
            .position(|ch| *ch == last)
            .expect("base64url");
        let mut out = segment[..segment.len() - 1].to_owned();
        out.push(ALPHABET[value | 1] as char);
        out
    };
    c.invalid(
        "non-canonical trailing bits in the header",
        t.sign_input(&format!("{}.{pb}", sloppy(&hb))),
    );
    c.invalid(
        "non-canonical trailing bits in the payload",
        t.sign_input(&format!("{hb}.{}", sloppy(&pb))),
    );
    if !sig.len().is_multiple_of(4) && sloppy(sig) != sig {
        c.invalid(
            "non-canonical trailing bits in the signature",
            format!("{hb}.{pb}.{}", sloppy(sig)),
        );
    }
    let (standard_payload, _) = (0..64)
        .map(|n| {
            let claims = t.with("x", json!("?>~".repeat(n)));
            (b64(&claims), claims)
        })
        .find(|(payload, _)| payload.contains(['-', '_']))
        .expect("some payload uses - or _");
    let standard = standard_payload.replace('-', "+").replace('_', "/");
    c.invalid(
        "payload in the standard base64 alphabet",
        t.sign_input(&format!("{}.{standard}", b64(t.header()))),
    );
    for bad in ['?', '*', '%', '\u{e9}', '\u{ff0d}'] {
        let mut payload = b64(&claims);
        payload.insert(4, bad);
        c.invalid(
            format!("payload with {bad:?} inserted"),
            t.sign_input(&format!("{}.{payload}", b64(t.header()))),
        );
    }

    // Whitespace inside the token (around the whole token it is the transport's business: DRF
    // trims body fields, and the Authorization header is split on whitespace).
    let hdr = b64(t.header());
    let pl = b64(&claims);
    let signature = token.rsplit_once('.').expect("signature").1.to_owned();
    for ws in [" ", "\t", "\n", "\r\n", "\u{a0}", "\u{2028}", "\u{feff}"] {
        let name = format!("{ws:?}");
        c.invalid(
            format!("{name} before a dot"),
            format!("{hdr}{ws}.{pl}.{signature}"),
        );
        c.invalid(
            format!("{name} after a dot"),
            format!("{hdr}.{ws}{pl}.{signature}"),
        );
        c.invalid(
            format!("{name} before the signature"),
            format!("{hdr}.{pl}.{ws}{signature}"),
        );
        let mut inner = pl.clone();
        inner.insert_str(8, ws);
        c.invalid(
            format!("{name} inside the payload, signed over it"),
            t.sign_input(&format!("{hdr}.{inner}")),
        );
        let mut inner = signature.clone();
        inner.insert_str(8, ws);
        c.invalid(
            format!("{name} inside the signature"),
            format!("{hdr}.{pl}.{inner}"),
        );
    }

    // JSON that is not one object, or not JSON at all.
    for (what, payload) in [
        ("a list", b"[]".to_vec()),
        ("a string", br#""claims""#.to_vec()),
        ("null", b"null".to_vec()),
        ("empty", Vec::new()),
        ("truncated", claims.as_bytes()[..claims.len() - 1].to_vec()),
        ("two objects", format!("{claims}{{}}").into_bytes()),
        ("trailing garbage", format!("{claims} x").into_bytes()),
        (
            "a trailing comma",
            format!("{},}}", &claims[..claims.len() - 1]).into_bytes(),
        ),
        ("single quotes", claims.replace('"', "'").into_bytes()),
        (
            "invalid UTF-8",
            [
                &claims.as_bytes()[..claims.len() - 1],
                b",\"x\":\"\xff\xfe\"}",
            ]
            .concat(),
        ),
        (
            "a UTF-8 byte order mark",
            [&b"\xef\xbb\xbf"[..], claims.as_bytes()].concat(),
        ),
        (
            "a lone surrogate escape",
            format!(r#"{},"x":"\ud800"}}"#, &claims[..claims.len() - 1]).into_bytes(),
        ),
        ("NaN", t.with_raw("exp", "NaN").into_bytes()),
        ("Infinity", t.with_raw("exp", "Infinity").into_bytes()),
        ("a comment", format!("/* x */{claims}").into_bytes()),
    ] {
        c.invalid(format!("payload {what}"), t.signed(t.header(), payload));
    }
    c.invalid("header a list", t.signed(format!(r#"["{alg}"]"#), &claims));
    c.invalid("header a string", t.signed(format!(r#""{alg}""#), &claims));

    // Deeply nested JSON: serde_json's recursion limit (128) refuses it without a stack
    // overflow, in the payload and in the header.
    for depth in [129, 1_000, 5_000] {
        c.invalid(
            format!("payload nested {depth} deep"),
            t.token(&t.with_raw("x", &nested(depth))),
        );
        c.invalid(
            format!("header nested {depth} deep"),
            t.signed(
                format!(r#"{{"alg":"{alg}","typ":"JWT","x":{}}}"#, nested(depth)),
                &claims,
            ),
        );
    }
    let objects = format!("{}1{}", r#"{"a":"#.repeat(1_500), "}".repeat(1_500));
    c.invalid(
        "payload with objects nested 1500 deep",
        t.token(&t.with_raw("x", &objects)),
    );

    // Size: just over the engine's limit (still inside a request body), and about 1 MB.
    let signature_len = b64(sign(t.alg, &t.key, b"x")).len();
    let length_of = |fill: usize| {
        hdr.len() + 1 + b64(t.with("fill", json!("f".repeat(fill)))).len() + 1 + signature_len
    };
    let mut fill = (MAX_TOKEN_LEN - 2_000) * 3 / 4;
    while length_of(fill) <= MAX_TOKEN_LEN {
        fill += 1;
    }
    let over = t.token(&t.with("fill", json!("f".repeat(fill))));
    assert!(
        length_of(fill - 1) <= MAX_TOKEN_LEN,
        "the search started too high"
    );
    assert!(over.len() > MAX_TOKEN_LEN && over.len() <= MAX_TOKEN_LEN + 2);
    c.invalid(
        format!("{} bytes, just over MAX_TOKEN_LEN", over.len()),
        over,
    );
    let at_limit = t.token(&t.with("fill", json!("f".repeat(fill - 1))));
    assert!(at_limit.len() <= MAX_TOKEN_LEN);
    c.accepted(
        format!("{} bytes, within MAX_TOKEN_LEN", at_limit.len()),
        at_limit,
    );
    let megabyte = t.token(&t.with("fill", json!("f".repeat(768 * 1024))));
    c.add(
        format!("a 1 MB token ({} bytes), correctly signed", megabyte.len()),
        megabyte,
        Expect::Oversized,
    );
    c.add(
        "1 MB of base64url garbage",
        "A".repeat(1 << 20),
        Expect::Oversized,
    );
    c.add("1 MB of dots", ".".repeat(1 << 20), Expect::Oversized);
}
