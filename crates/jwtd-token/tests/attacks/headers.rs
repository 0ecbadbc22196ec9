//! Attacks through the JOSE header: `alg` none, missing or substituted (RFC 8725 3.1), HMAC
//! keyed with the server's public key, and key material the header names or embeds.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jwtd_token::{Algorithm, Family};
use serde_json::json;

use super::crypto::{attacker_key, public_key, public_key_as_secrets, sign};
use super::*;

pub(super) fn alg_cases(c: &mut Cases) {
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
        "ES521", "ES256k", "HS1", "RS1", "Ed25519", "Ed448", "dir", "RSA-OAEP",
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

pub(super) fn key_confusion_cases(c: &mut Cases) {
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

pub(super) fn header_key_cases(c: &mut Cases) {
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
    // A `kid` that is not a string is refused even when the server's key signed it, as PyJWT
    // refuses it ("Key ID header parameter must be a string").
    for kid in [
        json!({ "path": "/dev/null" }),
        json!(0),
        json!(null),
        json!(["a"]),
    ] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": kid }).to_string();
        let input = format!("{}.{}", b64(&header), b64(&claims));
        c.invalid(
            format!("non-string kid {header:.80}, signed by the server's key"),
            t.sign_input(&input),
        );
    }
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
        // Control: a server of one key tries it whatever `kid` says (simplejwt ignores `kid`),
        // so the same header signed by the server's key is just another header; trust comes
        // from the configured key alone. (With several keys the `kid` picks one: key_sets.)
        c.add(
            format!("ignored: {what} {header:.80}, signed by the server's key"),
            t.sign_input(&input),
            Expect::Accepted,
        );
    }
}
