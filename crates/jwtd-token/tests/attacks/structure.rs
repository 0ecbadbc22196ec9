//! The compact serialization: `crit`, `b64` and `zip`, segments, base64url, whitespace, JSON
//! that is not one object, nesting depth and size.

use jwtd_token::MAX_TOKEN_LEN;
use serde_json::json;

use super::crypto::sign;
use super::*;

pub(super) fn structure_cases(c: &mut Cases) {
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
