//! The compact serialization: strict unpadded, canonical base64url, exactly three segments, no
//! whitespace, and the length limit.

use super::*;

/// Valid claims whose base64url encoding is not a multiple of 4 characters long (so it has
/// unused bits and would need padding).
fn unaligned_payload() -> String {
    (0..3)
        .map(|n| b64(with(good(), "x", json!("a".repeat(n))).to_string()))
        .find(|payload| payload.len() % 4 != 0)
        .unwrap()
}

#[test]
fn padded_base64_is_refused_in_every_segment() {
    let engine = hs256();
    // A header and payload whose encodings need padding (lengths not multiples of 3).
    let header = b64(r#"{"alg":"HS256","typ":"JWT","kid":"k"}"#);
    let payload = unaligned_payload();
    let control = mint(&engine, Exact(&header), Exact(&payload));
    accepted(&engine, &control, NOW);
    assert_ne!(header.len() % 4, 0);

    for (h, p) in [
        (padded(&header), payload.clone()),
        (header.clone(), padded(&payload)),
    ] {
        for (h, p) in [
            (h.clone(), p.clone()),
            (format!("{h}="), p.clone()),
            (h.clone(), format!("{p}=")),
        ] {
            // Signed over the padded text, so only the padding can be the reason.
            let token = mint(&engine, Exact(&h), Exact(&p));
            assert_invalid(&engine, &token);
        }
    }
    let signature = segments(&control)[2];
    for s in [
        padded(signature),
        format!("{signature}="),
        format!("{signature}=="),
    ] {
        let token = format!("{header}.{payload}.{s}");
        assert_invalid(&engine, &token);
    }
}

#[test]
fn non_canonical_base64_is_refused() {
    let engine = hs256();
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // Sets unused low bits of the last character: a lenient decoder yields the same bytes.
    let sloppy = |segment: &str| -> String {
        let last = segment.as_bytes()[segment.len() - 1];
        let value = ALPHABET.iter().position(|c| *c == last).unwrap();
        assert_ne!(segment.len() % 4, 0);
        let mut out = segment[..segment.len() - 1].to_owned();
        out.push(ALPHABET[value | 1] as char);
        assert_ne!(out, segment);
        out
    };
    let header = b64(r#"{"alg":"HS256","typ":"JWT","kid":"k"}"#);
    let payload = unaligned_payload();
    let token = mint(&engine, Exact(&sloppy(&header)), Exact(&payload));
    assert_invalid(&engine, &token);
    let token = mint(&engine, Exact(&header), Exact(&sloppy(&payload)));
    assert_invalid(&engine, &token);
    let control = mint(&engine, Exact(&header), Exact(&payload));
    let signature = segments(&control)[2];
    let token = format!("{header}.{payload}.{}", sloppy(signature));
    assert_invalid(&engine, &token);
}

#[test]
fn the_standard_base64_alphabet_is_refused() {
    let engine = hs256();
    // Find claims whose base64url payload uses '-' or '_'.
    let (payload, claims) = (0..64)
        .map(|n| {
            let claims = with(good(), "x", json!("?>~".repeat(n)));
            (b64(claims.to_string()), claims)
        })
        .find(|(payload, _)| payload.contains(['-', '_']))
        .expect("some payload uses '-' or '_'");
    let header = HEADER;
    accepted(&engine, &mint(&engine, header, claims.to_string()), NOW);
    let standard = payload.replace('-', "+").replace('_', "/");
    let token = mint(&engine, header, Exact(&standard));
    assert_invalid(&engine, &token);
    // Characters outside both alphabets.
    for bad in ['?', '*', '.', '\u{e9}', '%'] {
        let mut p = payload.clone();
        p.insert(4, bad);
        let token = mint(&engine, header, Exact(&p));
        assert_invalid(&engine, &token);
    }
}

#[test]
fn the_segment_count_is_exactly_three() {
    let engine = hs256();
    let token = mint(&engine, HEADER, good());
    let parts = segments(&token);
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    for bad in [
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        "....".to_owned(),
        h.to_owned(),
        format!("{h}.{p}"),
        format!("{h}.{p}{s}"),
        format!("{h}{p}.{s}"),
        format!("{token}."),
        format!("{token}.{s}"),
        format!(".{token}"),
        format!("{h}..{p}.{s}"),
        format!("{h}.{p}..{s}"),
        format!("{h}.{p}.{s}.{p}.{s}"),
        format!("{h}.{p}.{s}.{s}.{s}"),
        format!("{h}..{s}"),
        format!(".{p}.{s}"),
        format!("{h}.{p}."),
    ] {
        assert_invalid(&engine, &bad);
    }
    // A JWE-shaped token (five segments) from a JWE header.
    let jwe = format!(
        "{}.{}.{}.{}.{}",
        b64(r#"{"alg":"dir","enc":"A256GCM"}"#),
        "",
        b64("iv"),
        p,
        b64("tag")
    );
    assert_invalid(&engine, &jwe);
}

#[test]
fn whitespace_anywhere_is_refused() {
    let engine = hs256();
    let header = b64(HEADER);
    let payload = b64(good().to_string());
    let token = mint(&engine, Exact(&header), Exact(&payload));
    let signature = segments(&token)[2].to_owned();
    for ws in [" ", "\n", "\r\n", "\t", "\u{a0}", "\u{2028}"] {
        // Around the whole token and the dots.
        for bad in [
            format!("{ws}{token}"),
            format!("{token}{ws}"),
            format!("{header}{ws}.{payload}.{signature}"),
            format!("{header}.{ws}{payload}.{signature}"),
            format!("{header}.{payload}{ws}.{signature}"),
            format!("{header}.{payload}.{ws}{signature}"),
        ] {
            assert_invalid(&engine, &bad);
        }
        // Inside the header or payload, signed over the text that contains it.
        let mut h = header.clone();
        h.insert_str(8, ws);
        let bad = mint(&engine, Exact(&h), Exact(&payload));
        assert_invalid(&engine, &bad);
        let mut p = payload.clone();
        p.insert_str(8, ws);
        let bad = mint(&engine, Exact(&header), Exact(&p));
        assert_invalid(&engine, &bad);
        // Inside the signature.
        let mut s = signature.clone();
        s.insert_str(8, ws);
        let bad = format!("{header}.{payload}.{s}");
        assert_invalid(&engine, &bad);
    }
}

#[test]
fn tokens_longer_than_the_limit_are_refused() {
    let engine = hs256();
    // Signed tokens of exactly MAX_TOKEN_LEN and MAX_TOKEN_LEN + 1 bytes: the first is fine.
    let build = |kid: usize, fill: usize| -> (String, String) {
        let header = format!(
            r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#,
            "k".repeat(kid)
        );
        let payload = with(good(), "fill", json!("x".repeat(fill))).to_string();
        (header, payload)
    };
    // An HS256 signature is always 43 characters.
    let length = |kid: usize, fill: usize| {
        let (header, payload) = build(kid, fill);
        b64(header).len() + 1 + b64(payload).len() + 1 + 43
    };
    let exactly = |target: usize| -> String {
        let base = length(0, 0);
        for kid in 0..4 {
            for fill in ((target - base) * 3 / 4).saturating_sub(8)..(target - base) * 3 / 4 + 8 {
                if length(kid, fill) == target {
                    let (header, payload) = build(kid, fill);
                    let token = mint(&engine, header, payload);
                    assert_eq!(token.len(), target);
                    return token;
                }
            }
        }
        panic!("no token of length {target}");
    };
    let at_limit = exactly(MAX_TOKEN_LEN);
    accepted(&engine, &at_limit, NOW)
        .check(Some(TokenType::Access))
        .unwrap();
    let over = exactly(MAX_TOKEN_LEN + 1);
    assert_invalid(&engine, &over);
    let huge = exactly(4 * MAX_TOKEN_LEN);
    assert_invalid(&engine, &huge);
    // Garbage of the same sizes.
    assert_eq!(
        refused(&engine, &"a".repeat(MAX_TOKEN_LEN + 1), NOW),
        TokenError::Invalid
    );
    assert_eq!(
        refused(&engine, &".".repeat(MAX_TOKEN_LEN * 8), NOW),
        TokenError::Invalid
    );
}
