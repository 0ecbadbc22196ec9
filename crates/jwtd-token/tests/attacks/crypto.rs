//! Keys and signing for the catalogue, with aws-lc-rs only (never jwtd-token, so a bug shared by
//! signer and verifier cannot hide itself): the server's and the attacker's keys, the forms of a
//! public key an attacker might feed to HMAC, and the big-number and DER helpers the forged
//! signatures need.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jwtd_token::{Algorithm, Family};
use serde_json::{Value, json};

use super::b64;

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
        Algorithm::ES512 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        Algorithm::ES256K => &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
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
            let crv = match alg {
                Algorithm::ES384 => "P-384",
                Algorithm::ES512 => "P-521",
                Algorithm::ES256K => "secp256k1",
                _ => "P-256",
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
pub(super) fn der_read(input: &[u8]) -> (u8, &[u8], &[u8]) {
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

pub(super) fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let skip = bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len() - 1);
    &bytes[skip..]
}

pub(super) fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `a - b` for equal-length big-endian numbers with `a >= b`.
pub(super) fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
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
pub(super) fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
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
pub(super) fn curve_constants(alg: Algorithm) -> (Vec<u8>, Vec<u8>) {
    if alg == Algorithm::ES512 {
        return (
            hex(
                "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
            ),
            hex(&format!("01{}", "ff".repeat(65))),
        );
    }
    if alg == Algorithm::ES256K {
        return (
            hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
            hex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"),
        );
    }
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
pub(super) fn ed25519_order_le() -> Vec<u8> {
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
