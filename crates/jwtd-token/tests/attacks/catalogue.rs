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
//!
//! This file owns the catalogue's types, its targets and the controls; the cases of each group
//! are in the files beside it (`headers`, `signatures`, `claims`, `structure`), and the keys and
//! signing they share in `crypto`. Because the server includes this file with `#[path]`, those
//! are found next to it from either test binary.

#![allow(dead_code)]

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwtd_token::{Algorithm, Family, TokenError};
use serde_json::{Map, Value, json};

mod claims;
mod crypto;
mod headers;
mod signatures;
mod structure;

// The API of the keys for the including test binaries; each uses a different part of it, as of
// the rest of the catalogue (hence the `dead_code` allowance above).
#[allow(unused_imports)]
pub use crypto::{attacker_key, public_key_as_secrets, sign};

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

/// 32 random lowercase hex characters, like simplejwt's `uuid4().hex`.
pub fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        Group::Alg => headers::alg_cases(&mut cases),
        Group::KeyConfusion => headers::key_confusion_cases(&mut cases),
        Group::HeaderKeys => headers::header_key_cases(&mut cases),
        Group::Signature => signatures::signature_cases(&mut cases),
        Group::Claims => claims::claim_cases(&mut cases),
        Group::Structure => structure::structure_cases(&mut cases),
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
