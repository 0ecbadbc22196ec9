//! The signature: tampered payloads, headers and signatures, other keys and empty signatures
//! are refused.

use super::*;

#[test]
fn a_correctly_signed_forged_token_is_accepted() {
    // Positive control for the hand-built tokens below: both signing routes give tokens the
    // engine accepts, so every refusal below is caused by the one thing each test changes.
    let engine = hs256();
    let claims = good().to_string();
    let by_keys = mint(&engine, HEADER, &claims);
    let by_hmac = mint(Key::Hmac(hmac::HMAC_SHA256, SECRET), HEADER, &claims);
    assert_eq!(by_keys, by_hmac);
    let decoded = accepted(&engine, &by_keys, NOW);
    decoded.check(Some(TokenType::Access)).unwrap();
    assert_eq!(decoded.jti(), Some(JTI));
    assert_eq!(decoded.user_id(), UserIdClaim::Id(1));
}

#[test]
fn a_tampered_payload_is_refused() {
    let engine = hs256();
    let token = mint(&engine, HEADER, good());
    let parts = segments(&token);
    for claims in [
        with(good(), "user_id", json!("2")),
        with(good(), "exp", json!(NOW + 3000)),
        with(good(), "token_type", json!("refresh")),
    ] {
        let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string()), parts[2]);
        assert_invalid(&engine, &tampered);
    }
    // A changed header under the original signature.
    let header = b64(r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#);
    let tampered = format!("{header}.{}.{}", parts[1], parts[2]);
    assert_invalid(&engine, &tampered);
}

#[test]
fn a_tampered_signature_is_refused() {
    let engine = hs256();
    let token = mint(&engine, HEADER, good());
    let parts = segments(&token);
    let signature = parts[2];
    let mut variants = vec![
        flip_char(signature, 0),
        flip_char(signature, signature.len() / 2),
        signature[..signature.len() - 1].to_owned(),
        format!("{signature}A"),
        format!("{signature}AAAA"),
        signature[..signature.len() - 4].to_owned(),
        "A".repeat(signature.len()),
    ];
    // Raw HMAC over the input truncated to 16 bytes (a truncated tag is never a JWS tag).
    let input = format!("{}.{}", parts[0], parts[1]);
    let by_hmac = mint(
        Key::Hmac(hmac::HMAC_SHA256, SECRET),
        Exact(parts[0]),
        Exact(parts[1]),
    );
    let tag = URL_SAFE_NO_PAD.decode(segments(&by_hmac)[2]).unwrap();
    variants.push(b64(&tag[..16]));
    for bad in variants {
        let tampered = format!("{input}.{bad}");
        assert_invalid(&engine, &tampered);
    }
}

#[test]
fn a_signature_from_another_key_is_refused() {
    let engine = hs256();
    let claims = good().to_string();
    let header = HEADER;
    for key in [
        &b"jwtd unit-test secret: 0123456789abcdeF"[..],
        &SECRET[..SECRET.len() - 1],
        b"",
    ] {
        let token = mint(Key::Hmac(hmac::HMAC_SHA256, key), header, &claims);
        assert_invalid(&engine, &token);
    }
    let other = TokenEngine::new(
        Keys::new(Algorithm::HS256, &[b'k'; 32], None).unwrap(),
        Policy::default(),
    );
    let token = mint(&other, HEADER, good());
    assert_invalid(&engine, &token);
}

#[test]
fn an_empty_signature_is_refused() {
    let engine = hs256();
    let token = mint(&engine, HEADER, good());
    let unsigned = &token[..token.rfind('.').unwrap() + 1];
    assert_invalid(&engine, unsigned);
}
