//! The `Authorization` header as DRF's `JWTAuthentication.get_raw_token` reads it, with jwtd's
//! one amendment: the scheme is compared case-insensitively (RFC 7235; contract B9).

use crate::error::ErrorKind;

/// The raw token in `header`. Absent, empty, non-UTF-8 or another scheme is "not provided";
/// the right scheme followed by anything but exactly one value is a bad header.
pub(crate) fn raw_token<'a>(
    header: Option<&'a [u8]>,
    schemes: &[String],
) -> Result<&'a str, ErrorKind> {
    let header = header.ok_or(ErrorKind::NotProvided)?;
    let (scheme, token) = match ascii_split(header) {
        Some(split) => split,
        None => unicode_split(header)?,
    };
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(ErrorKind::NotProvided);
    }
    token.ok_or(ErrorKind::BadHeader)
}

/// DRF's split of any header: UTF-8, then any run of Unicode whitespace. `None` as the token
/// stands for "not exactly one value after the scheme".
fn unicode_split(header: &[u8]) -> Result<(&str, Option<&str>), ErrorKind> {
    // A non-UTF-8 header cannot carry a JWT.
    let text = std::str::from_utf8(header).map_err(|_| ErrorKind::NotProvided)?;
    let mut parts = text.split_whitespace();
    let scheme = parts.next().ok_or(ErrorKind::NotProvided)?;
    let token = match (parts.next(), parts.next()) {
        (Some(token), None) => Some(token),
        _ => None,
    };
    Ok((scheme, token))
}

/// The same split for the usual header, `<scheme> <token>` in ASCII, with one vectorizable pass
/// over the token: the char-by-char walk of `split_whitespace` cost about 170 ns a request,
/// more than everything else around the signature. `None`: another shape, `unicode_split` it.
fn ascii_split(header: &[u8]) -> Option<(&str, Option<&str>)> {
    // For ASCII, exactly the bytes `char::is_whitespace` accepts.
    let space = |b: &u8| matches!(b, b' ' | b'\t'..=b'\r');
    let start = header.iter().position(|b| !space(b))?;
    let rest = &header[start..];
    let scheme_len = rest.iter().position(space).unwrap_or(rest.len());
    let (scheme, rest) = rest.split_at(scheme_len);
    let token_start = rest.iter().position(|b| !space(b)).unwrap_or(rest.len());
    let rest = &rest[token_start..];
    let token_len = rest.iter().rposition(|b| !space(b)).map_or(0, |i| i + 1);
    let token = &rest[..token_len];
    // No control, space or non-ASCII byte: one ASCII value without whitespace. Folded rather
    // than searched, so that it compiles to SIMD compares without an early exit.
    let plain = token
        .iter()
        .fold(true, |plain, b| plain & (0x21..0x80).contains(b));
    if !plain || !scheme.is_ascii() {
        return None;
    }
    let scheme = std::str::from_utf8(scheme).ok()?;
    let token = std::str::from_utf8(token).ok()?;
    Some((scheme, (!token.is_empty()).then_some(token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(header: &[u8]) -> Result<&str, ErrorKind> {
        raw_token(Some(header), &["Bearer".to_owned()])
    }

    #[test]
    fn headers_split_like_drf() {
        assert_eq!(
            raw_token(None, &["Bearer".to_owned()]),
            Err(ErrorKind::NotProvided)
        );
        assert_eq!(parse(b""), Err(ErrorKind::NotProvided));
        assert_eq!(parse(b"   "), Err(ErrorKind::NotProvided));
        assert_eq!(parse(b"Token x"), Err(ErrorKind::NotProvided));
        assert_eq!(parse(b"Basic abc"), Err(ErrorKind::NotProvided));
        assert_eq!(parse(b"Bearer \xff"), Err(ErrorKind::NotProvided));
        assert_eq!(parse(b"Bearer  a.b.c"), Ok("a.b.c"));
        assert_eq!(parse(b"\tBearer a.b.c "), Ok("a.b.c"));
        assert_eq!(parse(b"bearer a.b.c"), Ok("a.b.c"));
        assert_eq!(parse(b"BEARER a.b.c"), Ok("a.b.c"));
        assert_eq!(parse(b"Bearer"), Err(ErrorKind::BadHeader));
        assert_eq!(parse(b"Bearer a b"), Err(ErrorKind::BadHeader));
        assert_eq!(parse(b"Bearer a\x0bb"), Err(ErrorKind::BadHeader));
        assert_eq!(
            parse("Bearer a\u{a0}b".as_bytes()),
            Err(ErrorKind::BadHeader)
        );
        assert_eq!(parse("Bearer\u{3000}a.b.c".as_bytes()), Ok("a.b.c"));
        assert_eq!(parse(b"Bearer a\x1cb"), Ok("a\x1cb"));
    }

    /// The ASCII shortcut splits exactly as the general split wherever it answers.
    #[test]
    fn the_ascii_split_agrees_with_the_unicode_split() {
        let pieces: [&[u8]; 14] = [
            b"Bearer",
            b"bearer",
            b"a.b.c",
            b" ",
            b"  ",
            b"\t",
            b"\x0b",
            b"\x0c",
            b"\x1c",
            b"\r\n",
            "\u{a0}".as_bytes(),
            "\u{3000}".as_bytes(),
            b"\xff",
            "\u{e9}".as_bytes(),
        ];
        let mut answered = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in [&b""[..], b" x", "\u{85}".as_bytes()] {
                        let header = [a, b, c, d].concat();
                        if let Some(fast) = ascii_split(&header) {
                            answered += 1;
                            assert_eq!(Ok(fast), unicode_split(&header), "{header:?}");
                        }
                    }
                }
            }
        }
        assert!(answered > 500, "{answered}");
    }

    #[test]
    fn any_configured_scheme_is_accepted() {
        let schemes = ["Bearer".to_owned(), "JWT".to_owned()];
        assert_eq!(raw_token(Some(b"JWT t"), &schemes), Ok("t"));
        assert_eq!(raw_token(Some(b"Bearer t"), &schemes), Ok("t"));
        assert_eq!(
            raw_token(Some(b"Token t"), &schemes),
            Err(ErrorKind::NotProvided)
        );
    }
}
