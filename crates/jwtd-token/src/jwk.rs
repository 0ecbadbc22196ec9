//! Public keys as JWKs (RFC 7517, 7518 and 8037) for the JWKS endpoint, with their RFC 7638
//! thumbprints as key ids.
//!
//! Written here rather than taken from a crate: the JWK crates parse keys to verify with them,
//! while jwtd needs the other direction (a key it already holds, written out) plus the
//! thumbprint, which is a SHA-256 over a fixed JSON layout.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::Algorithm;

/// The public numbers of an asymmetric key.
pub(crate) enum PublicParts<'a> {
    /// RSA modulus and public exponent, big-endian without leading zeros.
    Rsa { n: &'a [u8], e: &'a [u8] },
    /// An uncompressed elliptic-curve point (`0x04 ‖ x ‖ y`) on `crv`.
    Ec { crv: &'static str, point: &'a [u8] },
    /// An Ed25519 public key.
    Ed25519 { x: &'a [u8] },
}

/// The public half of an asymmetric key as published in a JWKS: `kty` and the key's numbers,
/// `use`, `alg`, and its RFC 7638 thumbprint as `kid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicJwk {
    kid: String,
    json: Map<String, Value>,
}

impl PublicJwk {
    pub(crate) fn new(algorithm: Algorithm, parts: &PublicParts<'_>) -> Option<PublicJwk> {
        let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
        // The members RFC 7638 hashes, in its lexicographic order.
        let mut required = Map::new();
        match *parts {
            PublicParts::Rsa { n, e } => {
                required.insert("e".into(), b64(e));
                required.insert("kty".into(), "RSA".into());
                required.insert("n".into(), b64(n));
            }
            PublicParts::Ec { crv, point } => {
                let coordinates = point.strip_prefix(&[0x04])?;
                if coordinates.is_empty() || coordinates.len() % 2 != 0 {
                    return None;
                }
                let (x, y) = coordinates.split_at(coordinates.len() / 2);
                required.insert("crv".into(), crv.into());
                required.insert("kty".into(), "EC".into());
                required.insert("x".into(), b64(x));
                required.insert("y".into(), b64(y));
            }
            PublicParts::Ed25519 { x } => {
                required.insert("crv".into(), "Ed25519".into());
                required.insert("kty".into(), "OKP".into());
                required.insert("x".into(), b64(x));
            }
        }
        let kid = thumbprint(&required);
        let mut json = required;
        json.insert("use".into(), "sig".into());
        json.insert("alg".into(), algorithm.as_str().into());
        json.insert("kid".into(), kid.clone().into());
        Some(PublicJwk { kid, json })
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint, base64url.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWK as a JSON object.
    pub fn to_json(&self) -> Value {
        Value::Object(self.json.clone())
    }
}

/// RFC 7638: SHA-256 over the required members, in lexicographic order, without whitespace.
fn thumbprint(required: &Map<String, Value>) -> String {
    // The map keeps insertion order, which the caller made lexicographic; member names and
    // values are ASCII, so serde_json writes exactly the canonical form.
    let canonical = Value::Object(required.clone()).to_string();
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 section 3.1's example key and its thumbprint.
    #[test]
    fn the_rfc_7638_example_thumbprint() {
        let n = URL_SAFE_NO_PAD
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            )
            .unwrap();
        let e = URL_SAFE_NO_PAD.decode("AQAB").unwrap();
        let jwk = PublicJwk::new(Algorithm::RS256, &PublicParts::Rsa { n: &n, e: &e }).unwrap();
        assert_eq!(jwk.kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        let json = jwk.to_json();
        assert_eq!(json["kty"], "RSA");
        assert_eq!(json["e"], "AQAB");
        assert_eq!(json["alg"], "RS256");
        assert_eq!(json["use"], "sig");
        assert_eq!(json["kid"], "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn a_point_that_is_not_uncompressed_gives_no_jwk() {
        for point in [
            &[0x02, 1, 2][..],
            &[0x04, 1, 2, 3][..],
            &[0x04][..],
            &[][..],
        ] {
            let parts = PublicParts::Ec {
                crv: "P-256",
                point,
            };
            assert!(PublicJwk::new(Algorithm::ES256, &parts).is_none());
        }
    }
}
