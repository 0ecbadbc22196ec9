//! Forged, malformed, truncated and transplanted signatures, changes after signing, and the
//! known weak signature values of each family (CVE-2022-21449 and its neighbours).

use jwtd_token::{Algorithm, Family};
use serde_json::json;

use super::crypto::{
    add_le, attacker_key, curve_constants, der_read, ecdsa_der, ed25519_order_le, public_key, sign,
    strip_zeros, sub_be,
};
use super::*;

pub(super) fn signature_cases(c: &mut Cases) {
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
            c.invalid("RSA signature n + 1", with_sig(&plus_one(&n)));
            let mut n_minus_one = n.clone();
            *n_minus_one.last_mut().expect("non-empty") -= 1; // n is odd
            c.invalid("RSA signature n - 1 (= -1 mod n)", with_sig(&n_minus_one));
            // Same key, other padding or hash: PKCS#1 v1.5 <-> PSS confusion.
            let rsa = Algorithm::ALL
                .into_iter()
                .filter(|a| a.family() == Family::Rsa);
            for other in rsa {
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

/// `n + 1` of a big-endian unsigned integer, carrying (an odd modulus may well end in `0xff`).
fn plus_one(n: &[u8]) -> Vec<u8> {
    let mut out = n.to_vec();
    for byte in out.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            return out;
        }
    }
    out.insert(0, 1);
    out
}

#[test]
fn plus_one_carries() {
    assert_eq!(plus_one(&[0x01, 0x02]), [0x01, 0x03]);
    assert_eq!(plus_one(&[0x01, 0xff]), [0x02, 0x00]);
    assert_eq!(plus_one(&[0xff, 0xff]), [0x01, 0x00, 0x00]);
}
