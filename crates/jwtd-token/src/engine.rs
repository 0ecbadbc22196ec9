//! Issuing and validating tokens in simplejwt's layout.
//!
//! Validation follows simplejwt's order (contract 1.3) so the same token gets the same message:
//! structure, algorithm and signature, then `iat`, `nbf`, `exp`, `jti` type, `iss`, `aud` (all
//! folded into "Token is invalid" except expiry); the caller then consults the blacklist, and
//! [`Decoded::check`] requires `exp`, `jti` and the expected `token_type`.
//!
//! The compact form is split and decoded here rather than in `jsonwebtoken::decode`: that lets
//! jwtd refuse what RFC 7515 forbids but common libraries accept (padded or non-canonical
//! base64url, duplicate JSON members, `crit`), parse each part once, and apply simplejwt's rules
//! exactly instead of translating between two sets of defaults. The signature itself is checked
//! by [`Keys::verify`] with the configured algorithm only, against a key parsed at start-up.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::claims::{ClaimNames, TokenType, UniqueObject, UserIdClaim};
use crate::error::TokenError;
use crate::keys::KeySet;

/// Longest token accepted. Real tokens are well under 2 KiB; refusing early keeps hostile input
/// from costing base64 and JSON work.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Latest accepted time claim (9999-12-31T23:59:59Z). Larger values are not times.
const MAX_TIME: f64 = 253_402_300_799.0;

/// Lifetimes and checks, in whole seconds (simplejwt's settings of the same names).
#[derive(Clone, Debug)]
pub struct Policy {
    /// `ACCESS_TOKEN_LIFETIME`.
    pub access_lifetime: i64,
    /// `REFRESH_TOKEN_LIFETIME`.
    pub refresh_lifetime: i64,
    /// `SLIDING_TOKEN_LIFETIME`.
    pub sliding_lifetime: i64,
    /// `SLIDING_TOKEN_REFRESH_LIFETIME`.
    pub sliding_refresh_lifetime: i64,
    /// `LEEWAY`: clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: i64,
    /// `AUDIENCE`: required in every token when set; a token carrying `aud` is refused when unset.
    pub audience: Option<String>,
    /// `ISSUER`: required in every token when set.
    pub issuer: Option<String>,
    /// Claim names.
    pub claims: ClaimNames,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            access_lifetime: 300,
            refresh_lifetime: 86_400,
            sliding_lifetime: 300,
            sliding_refresh_lifetime: 86_400,
            leeway: 0,
            audience: None,
            issuer: None,
            claims: ClaimNames::default(),
        }
    }
}

/// A freshly signed token and what the store needs to know about it (never the token itself).
#[derive(Clone, Debug)]
pub struct Issued {
    /// The compact JWS.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `iat`.
    pub issued_at: i64,
    /// Its `exp`.
    pub expires_at: i64,
}

impl Issued {
    /// A token's id and times before it is signed; the signer fills in `token`. The claims being
    /// signed borrow `jti` from here, so the id is allocated once per token.
    fn unsigned(jti: String, issued_at: i64, expires_at: i64) -> Issued {
        Issued {
            token: String::new(),
            jti,
            issued_at,
            expires_at,
        }
    }
}

/// The pair returned by a login.
#[derive(Clone, Debug)]
pub struct Pair {
    /// The refresh token.
    pub refresh: Issued,
    /// The access token.
    pub access: Issued,
}

/// Whom a token is for: the user id claim's value (simplejwt's `str(user.<USER_ID_FIELD>)`)
/// and the claims that follow it (the revocation claim, user fields).
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    /// The user id claim's value.
    pub user_id: String,
    /// Further claims, in order. Their names must differ from the registered claims (type,
    /// `exp`, `iat`, jti, user id), which they would otherwise replace.
    pub claims: Vec<(String, Value)>,
}

impl Subject {
    /// A subject with only a user id claim.
    pub fn new(user_id: impl Into<String>) -> Subject {
        Subject {
            user_id: user_id.into(),
            claims: Vec::new(),
        }
    }
}

/// A token whose signature and time claims passed; purpose checks remain ([`Decoded::check`]).
#[derive(Clone, Debug)]
pub struct Decoded {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    jti: Option<String>,
    token_type: Option<String>,
    exp: Option<f64>,
    user_id: UserIdClaim,
}

impl Decoded {
    /// The `jti`, when present (it is always a string when present).
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// The user the token names, as a numeric id.
    pub fn user_id(&self) -> UserIdClaim {
        self.user_id
    }

    /// The user id claim as text, for a user id field that is not numeric (a uuid, an email):
    /// a string as it is, a non-negative integer in decimal; `None` when absent or of any
    /// other JSON type (`true` is nobody).
    pub fn user_id_text(&self, claim: &str) -> Option<String> {
        match self.claims.get(claim)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(n) => n.as_u64().map(|n| n.to_string()),
            _ => None,
        }
    }

    /// `exp` in whole seconds, when present.
    pub fn expires_at(&self) -> Option<i64> {
        self.exp.map(|exp| exp as i64)
    }

    /// The JOSE header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// All claims, in token order.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// simplejwt's `Token.verify`: `exp` and `jti` present, and `token_type` equal to `expected`
    /// (`None` is `/api/token/verify/`, which accepts any purpose).
    pub fn check(&self, expected: Option<TokenType>) -> Result<(), TokenError> {
        if self.exp.is_none() {
            return Err(TokenError::NoExp);
        }
        if self.jti.is_none() {
            return Err(TokenError::NoId);
        }
        if let Some(expected) = expected {
            match self.token_type.as_deref() {
                None => return Err(TokenError::NoType),
                Some(found) if found != expected.as_str() => return Err(TokenError::WrongType),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// Signs and validates tokens with one key set and policy.
#[derive(Debug)]
pub struct TokenEngine {
    keys: KeySet,
    policy: Policy,
    /// The encoded header is the same for every token: built once. `None` for a set without an
    /// active key, which verifies only.
    header_b64: Option<String>,
}

impl TokenEngine {
    /// An engine for `keys` (one [`Keys`](crate::Keys) or a [`KeySet`]) under `policy`.
    pub fn new(keys: impl Into<KeySet>, policy: Policy) -> TokenEngine {
        let keys = keys.into();
        // PyJWT's sorted member order; a `kid` as the set decides (none for a lone secret).
        let header_b64 = keys.active().map(|active| {
            let alg = active.keys().algorithm();
            let header = match keys.header_kid() {
                Some(kid) => format!(
                    r#"{{"alg":"{alg}","kid":{},"typ":"JWT"}}"#,
                    json_string(kid)
                ),
                None => format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
            };
            URL_SAFE_NO_PAD.encode(header)
        });
        TokenEngine {
            keys,
            policy,
            header_b64,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The key set.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The algorithm new tokens are signed with (the active key's; for a verifying-only set, its
    /// first key's).
    pub fn algorithm(&self) -> crate::Algorithm {
        self.keys
            .entries()
            .first()
            .map_or(crate::Algorithm::HS256, |e| e.keys().algorithm())
    }

    /// The JSON Web Key Set of the public keys that verify this engine's tokens at `now`
    /// (RFC 7517 5); HMAC secrets are never in it.
    pub fn jwks(&self, now: i64) -> Value {
        self.keys.jwks(now)
    }

    /// A login's refresh and access tokens for user `user_id`, both stamped `now`.
    pub fn issue_pair(&self, user_id: i64, now: i64) -> Result<Pair, TokenError> {
        self.issue_pair_for(&Subject::new(user_id.to_string()), now)
    }

    /// A login's refresh and access tokens for `subject`, both stamped `now`: the user id claim,
    /// then the subject's other claims in order, as simplejwt's `for_user` and a serializer's
    /// `get_token` add them.
    pub fn issue_pair_for(&self, subject: &Subject, now: i64) -> Result<Pair, TokenError> {
        self.issue_pair_until(subject, now, None)
    }

    /// [`issue_pair_for`](Self::issue_pair_for) with the refresh token's `exp` at most
    /// `not_after` (a session's absolute cap, `session_lifetime`).
    pub fn issue_pair_until(
        &self,
        subject: &Subject,
        now: i64,
        not_after: Option<i64>,
    ) -> Result<Pair, TokenError> {
        let user_id = Value::String(subject.user_id.clone());
        let rest = || {
            std::iter::once((self.policy.claims.user_id.as_str(), &user_id))
                .chain(subject.claims.iter().map(|(k, v)| (k.as_str(), v)))
        };
        let refresh = self.issue(
            TokenType::Refresh,
            now,
            capped(self.policy.refresh_lifetime, now, not_after),
            rest(),
        )?;
        let access = self.issue(TokenType::Access, now, self.policy.access_lifetime, rest())?;
        Ok(Pair { refresh, access })
    }

    /// A sliding token for user `user_id`.
    pub fn issue_sliding(&self, user_id: i64, now: i64) -> Result<Issued, TokenError> {
        self.issue_sliding_for(&Subject::new(user_id.to_string()), now)
    }

    /// A sliding token for `subject`.
    pub fn issue_sliding_for(&self, subject: &Subject, now: i64) -> Result<Issued, TokenError> {
        let refresh_exp = Value::from(now + self.policy.sliding_refresh_lifetime);
        let user_id = Value::String(subject.user_id.clone());
        let rest = [
            (self.policy.claims.refresh_exp.as_str(), &refresh_exp),
            (self.policy.claims.user_id.as_str(), &user_id),
        ]
        .into_iter()
        .chain(subject.claims.iter().map(|(k, v)| (k.as_str(), v)));
        self.issue(TokenType::Sliding, now, self.policy.sliding_lifetime, rest)
    }

    /// A new access token carrying every claim of `refresh` but its own type, times and id, as
    /// simplejwt's `RefreshToken.access_token` does (custom claims propagate).
    pub fn access_from(&self, refresh: &Decoded, now: i64) -> Result<Issued, TokenError> {
        let rest = self.without_registered(&refresh.claims);
        self.issue(TokenType::Access, now, self.policy.access_lifetime, rest)
    }

    /// The successor of a rotated refresh token: same claims, new `jti`, `iat = now`, and `exp`
    /// one refresh lifetime from now.
    pub fn rotate(&self, refresh: &Decoded, now: i64) -> Result<Issued, TokenError> {
        self.rotate_until(refresh, now, None)
    }

    /// [`rotate`](Self::rotate) with the successor's `exp` at most `not_after` (a session's
    /// absolute cap).
    pub fn rotate_until(
        &self,
        refresh: &Decoded,
        now: i64,
        not_after: Option<i64>,
    ) -> Result<Issued, TokenError> {
        let rest = self.without_registered(&refresh.claims);
        let lifetime = capped(self.policy.refresh_lifetime, now, not_after);
        self.issue(TokenType::Refresh, now, lifetime, rest)
    }

    /// A renewed sliding token: same `jti` and `refresh_exp`, new `iat` and `exp`. Refused once
    /// `refresh_exp` has passed.
    pub fn renew_sliding(&self, sliding: &Decoded, now: i64) -> Result<Issued, TokenError> {
        let names = &self.policy.claims;
        let refresh_exp = match sliding.claims.get(&names.refresh_exp) {
            None => return Err(TokenError::NoRefreshExp),
            Some(value) => time_claim(value).ok_or(TokenError::Invalid)?,
        };
        if refresh_exp <= (now - self.policy.leeway) as f64 {
            return Err(TokenError::RefreshExpExpired);
        }
        let jti = sliding.jti.clone().ok_or(TokenError::NoId)?;
        let mut issued = Issued::unsigned(jti, now, now + self.policy.sliding_lifetime);
        let mut claims = ClaimList::with_capacity(sliding.claims.len() + 2);
        for (name, value) in &sliding.claims {
            claims.insert(name, Claim::Json(value));
        }
        claims.insert("exp", Claim::Int(issued.expires_at));
        claims.insert("iat", Claim::Int(now));
        issued.token = self.sign(claims)?;
        Ok(issued)
    }

    /// The claims of `claims` other than the ones every new token gets afresh.
    fn without_registered<'a>(
        &'a self,
        claims: &'a Map<String, Value>,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> {
        let names = &self.policy.claims;
        claims
            .iter()
            .filter(|(k, _)| {
                *k != &names.token_type && *k != "exp" && *k != "iat" && *k != &names.jti
            })
            .map(|(k, v)| (k.as_str(), v))
    }

    fn issue<'a>(
        &self,
        token_type: TokenType,
        now: i64,
        lifetime: i64,
        rest: impl IntoIterator<Item = (&'a str, &'a Value)>,
    ) -> Result<Issued, TokenError> {
        let names = &self.policy.claims;
        let mut issued = Issued::unsigned(new_jti(), now, now + lifetime);
        let mut claims = ClaimList::with_capacity(8);
        claims.insert(&names.token_type, Claim::Str(token_type.as_str()));
        claims.insert("exp", Claim::Int(issued.expires_at));
        claims.insert("iat", Claim::Int(now));
        claims.insert(&names.jti, Claim::Str(&issued.jti));
        for (name, value) in rest {
            claims.insert(name, Claim::Json(value));
        }
        issued.token = self.sign(claims)?;
        Ok(issued)
    }

    /// Signs `claims`, stamping `aud` and `iss` as simplejwt's backend does at encoding time
    /// (overwriting in place, else appending).
    fn sign<'a>(&'a self, mut claims: ClaimList<'a>) -> Result<String, TokenError> {
        if let Some(aud) = &self.policy.audience {
            claims.insert("aud", Claim::Str(aud));
        }
        if let Some(iss) = &self.policy.issuer {
            claims.insert("iss", Claim::Str(iss));
        }
        // Serializing strings, integers and JSON values cannot fail.
        let (Some(header_b64), Some(active)) = (&self.header_b64, self.keys.active()) else {
            return Err(TokenError::Signing);
        };
        let payload = serde_json::to_vec(&claims).expect("claims serialize");
        let mut token = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 400);
        token.push_str(header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        active
            .keys()
            .append_signature(&mut token)
            .map_err(|_| TokenError::Signing)?;
        Ok(token)
    }

    /// Verifies structure, algorithm, signature and the time, issuer and audience claims, at
    /// time `now` (Unix seconds).
    pub fn decode(&self, token: &str, now: i64) -> Result<Decoded, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let header = decode_object(header_b64)?;
        let (alg, kid) = check_header(&header)?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        if signature_b64.is_empty() {
            return Err(TokenError::Invalid);
        }
        self.keys
            .verify(alg, kid, signature_b64, signed.as_bytes(), now)?;
        let claims = decode_object(payload_b64)?;
        let known = Known::find(&self.policy.claims, &claims);
        self.check_claims(&known, now)?;

        let jti = match known.jti {
            None => None,
            Some(Value::String(jti)) => Some(jti.clone()),
            Some(_) => return Err(TokenError::Invalid),
        };
        let token_type = match known.token_type {
            None => None,
            Some(Value::String(t)) => Some(t.clone()),
            // A non-string type can never equal an expected one.
            Some(other) => Some(other.to_string()),
        };
        let exp = known.exp.and_then(time_claim);
        let user_id = UserIdClaim::from_value(known.user_id);
        Ok(Decoded {
            header,
            claims,
            jti,
            token_type,
            exp,
            user_id,
        })
    }

    /// PyJWT's claim checks in PyJWT's order, with simplejwt's settings.
    fn check_claims(&self, known: &Known<'_>, now: i64) -> Result<(), TokenError> {
        let leeway = self.policy.leeway;
        let time = |claim: Option<&Value>| -> Result<Option<f64>, TokenError> {
            match claim {
                None => Ok(None),
                Some(value) => time_claim(value).map(Some).ok_or(TokenError::Invalid),
            }
        };
        let iat = time(known.iat)?;
        let nbf = time(known.nbf)?;
        let exp = time(known.exp)?;
        let not_before = (now + leeway) as f64;
        if iat.is_some_and(|iat| iat > not_before) || nbf.is_some_and(|nbf| nbf > not_before) {
            return Err(TokenError::Invalid);
        }
        if exp.is_some_and(|exp| exp <= (now - leeway) as f64) {
            return Err(TokenError::Expired);
        }
        match (&self.policy.issuer, known.iss) {
            (None, _) => {}
            (Some(expected), Some(Value::String(iss))) if iss == expected => {}
            (Some(_), _) => return Err(TokenError::Invalid),
        }
        match (&self.policy.audience, known.aud) {
            (None, None) => Ok(()),
            (Some(expected), Some(Value::String(aud))) if aud == expected => Ok(()),
            (Some(expected), Some(Value::Array(auds)))
                if auds.iter().all(Value::is_string)
                    && auds
                        .iter()
                        .any(|aud| aud.as_str() == Some(expected.as_str())) =>
            {
                Ok(())
            }
            _ => Err(TokenError::Invalid),
        }
    }
}

/// The header's `alg` and `kid`, refusing what jwtd must not accept. The `alg` is only ever
/// compared with the key's own algorithm, never used to pick a verification routine: `none`,
/// another HMAC size, or HMAC keyed with a public key all fail there (RFC 8725 3.1).
fn check_header(header: &Map<String, Value>) -> Result<(&str, Option<&str>), TokenError> {
    // One pass over the members instead of a hash lookup per name: a header has two to four.
    // Every refusal below is the same `Invalid`, so their order does not matter.
    let mut alg = None;
    let mut kid = None;
    for (name, value) in header {
        match (name.as_str(), value) {
            ("alg", Value::String(found)) => alg = Some(found.as_str()),
            ("kid", Value::String(found)) => kid = Some(found.as_str()),
            ("alg" | "kid", _) => return Err(TokenError::Invalid),
            // jwtd understands no JWS extension, so any `crit` must be refused (RFC 7515
            // 4.1.11); `b64: false` changes what is signed (RFC 7797); `zip` is JWE only.
            ("crit" | "zip", _) => return Err(TokenError::Invalid),
            ("b64", Value::Bool(true)) => {}
            ("b64", _) => return Err(TokenError::Invalid),
            _ => {}
        }
    }
    Ok((alg.ok_or(TokenError::Invalid)?, kid))
}

/// A lifetime from `now` shortened so that it ends no later than `not_after`.
fn capped(lifetime: i64, now: i64, not_after: Option<i64>) -> i64 {
    not_after.map_or(lifetime, |cap| lifetime.min(cap - now))
}

/// `text` as a JSON string literal (a configured `kid` may hold any character).
fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// The claims jwtd reads from a token, found in one pass. A token carries a handful of claims,
/// so comparing names is cheaper than one SipHash lookup in the claims map per name.
#[derive(Default)]
struct Known<'a> {
    iat: Option<&'a Value>,
    nbf: Option<&'a Value>,
    exp: Option<&'a Value>,
    iss: Option<&'a Value>,
    aud: Option<&'a Value>,
    jti: Option<&'a Value>,
    token_type: Option<&'a Value>,
    user_id: Option<&'a Value>,
}

impl<'a> Known<'a> {
    fn find(names: &ClaimNames, claims: &'a Map<String, Value>) -> Known<'a> {
        let mut known = Known::default();
        let mut unread = None;
        // Member names are unique (`UniqueObject`), so each slot is set at most once. The
        // configurable names are checked on their own: one may equal another or a registered
        // name, and then both slots see the value, as separate lookups would.
        for (name, value) in claims {
            let registered = match name.as_str() {
                "iat" => &mut known.iat,
                "nbf" => &mut known.nbf,
                "exp" => &mut known.exp,
                "iss" => &mut known.iss,
                "aud" => &mut known.aud,
                _ => &mut unread,
            };
            *registered = Some(value);
            if *name == names.jti {
                known.jti = Some(value);
            }
            if *name == names.token_type {
                known.token_type = Some(value);
            }
            if *name == names.user_id {
                known.user_id = Some(value);
            }
        }
        known
    }
}

/// The claims of a token being signed, in token order. A token has a handful of claims, so a
/// list with `Map::insert`'s rule (replace in place, else append) is cheaper than building and
/// cloning a JSON map, and it borrows every value instead of copying it.
struct ClaimList<'a>(Vec<(&'a str, Claim<'a>)>);

#[derive(Clone, Copy)]
enum Claim<'a> {
    Str(&'a str),
    Int(i64),
    Json(&'a Value),
}

impl<'a> ClaimList<'a> {
    fn with_capacity(capacity: usize) -> Self {
        ClaimList(Vec::with_capacity(capacity))
    }

    fn insert(&mut self, name: &'a str, claim: Claim<'a>) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = claim,
            None => self.0.push((name, claim)),
        }
    }
}

impl Serialize for ClaimList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, claim) in &self.0 {
            match claim {
                Claim::Str(value) => map.serialize_entry(name, value)?,
                Claim::Int(value) => map.serialize_entry(name, value)?,
                Claim::Json(value) => map.serialize_entry(name, value)?,
            }
        }
        map.end()
    }
}

/// A time claim: a JSON number (integer or float) within 0 ..= year 9999. Strings, booleans and
/// absurd magnitudes are not times (contract bug B2).
fn time_claim(value: &Value) -> Option<f64> {
    let Value::Number(n) = value else { return None };
    let seconds = n.as_f64()?;
    (seconds.is_finite() && (0.0..=MAX_TIME).contains(&seconds)).then_some(seconds)
}

fn decode_object(part_b64: &str) -> Result<Map<String, Value>, TokenError> {
    // URL_SAFE_NO_PAD refuses `=` padding and non-zero trailing bits: one token, one encoding.
    let bytes = URL_SAFE_NO_PAD
        .decode(part_b64)
        .map_err(|_| TokenError::Invalid)?;
    let UniqueObject(map) = serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)?;
    Ok(map)
}

/// A JSON object, in member order.
pub type JsonObject = Map<String, Value>;

/// Splits a token into its header and claims **without checking anything**: for showing a token
/// to a person (`jwtd token decode`), never for deciding whether to trust it.
pub fn dangerous_decode_unverified(token: &str) -> Result<(JsonObject, JsonObject), TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid);
    };
    Ok((decode_object(header)?, decode_object(payload)?))
}

/// A new token id: 32 lowercase hex characters, like simplejwt's `uuid4().hex`.
fn new_jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests;
