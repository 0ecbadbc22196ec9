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
//! by `jsonwebtoken::crypto::verify` with the configured algorithm only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::claims::{ClaimNames, TokenType, UniqueObject, UserIdClaim};
use crate::error::TokenError;
use crate::keys::Keys;

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

/// The pair returned by a login.
#[derive(Clone, Debug)]
pub struct Pair {
    /// The refresh token.
    pub refresh: Issued,
    /// The access token.
    pub access: Issued,
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

    /// The user the token names.
    pub fn user_id(&self) -> UserIdClaim {
        self.user_id
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
    keys: Keys,
    policy: Policy,
    /// The encoded header is the same for every token: built once.
    header_b64: String,
}

impl TokenEngine {
    /// An engine for `keys` under `policy`.
    pub fn new(keys: Keys, policy: Policy) -> TokenEngine {
        let header = format!(r#"{{"alg":"{}","typ":"JWT"}}"#, keys.algorithm());
        let header_b64 = URL_SAFE_NO_PAD.encode(header);
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

    /// The configured algorithm.
    pub fn algorithm(&self) -> crate::Algorithm {
        self.keys.algorithm()
    }

    /// A login's refresh and access tokens for `user_id`, both stamped `now`.
    pub fn issue_pair(&self, user_id: i64, now: i64) -> Result<Pair, TokenError> {
        let mut rest = Map::new();
        rest.insert(
            self.policy.claims.user_id.clone(),
            Value::String(user_id.to_string()),
        );
        let refresh = self.issue(TokenType::Refresh, now, self.policy.refresh_lifetime, &rest)?;
        let access = self.issue(TokenType::Access, now, self.policy.access_lifetime, &rest)?;
        Ok(Pair { refresh, access })
    }

    /// A sliding token for `user_id`.
    pub fn issue_sliding(&self, user_id: i64, now: i64) -> Result<Issued, TokenError> {
        let mut rest = Map::new();
        rest.insert(
            self.policy.claims.refresh_exp.clone(),
            Value::from(now + self.policy.sliding_refresh_lifetime),
        );
        rest.insert(
            self.policy.claims.user_id.clone(),
            Value::String(user_id.to_string()),
        );
        self.issue(TokenType::Sliding, now, self.policy.sliding_lifetime, &rest)
    }

    /// A new access token carrying every claim of `refresh` but its own type, times and id, as
    /// simplejwt's `RefreshToken.access_token` does (custom claims propagate).
    pub fn access_from(&self, refresh: &Decoded, now: i64) -> Result<Issued, TokenError> {
        let rest = self.without_registered(&refresh.claims);
        self.issue(TokenType::Access, now, self.policy.access_lifetime, &rest)
    }

    /// The successor of a rotated refresh token: same claims, new `jti`, `iat = now`, and `exp`
    /// one refresh lifetime from now.
    pub fn rotate(&self, refresh: &Decoded, now: i64) -> Result<Issued, TokenError> {
        let rest = self.without_registered(&refresh.claims);
        self.issue(TokenType::Refresh, now, self.policy.refresh_lifetime, &rest)
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
        let mut claims = sliding.claims.clone();
        let expires_at = now + self.policy.sliding_lifetime;
        claims.insert("exp".to_owned(), Value::from(expires_at));
        claims.insert("iat".to_owned(), Value::from(now));
        let jti = sliding.jti.clone().ok_or(TokenError::NoId)?;
        let token = self.sign(&claims)?;
        Ok(Issued {
            token,
            jti,
            issued_at: now,
            expires_at,
        })
    }

    fn without_registered(&self, claims: &Map<String, Value>) -> Map<String, Value> {
        let names = &self.policy.claims;
        claims
            .iter()
            .filter(|(k, _)| {
                *k != &names.token_type && *k != "exp" && *k != "iat" && *k != &names.jti
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn issue(
        &self,
        token_type: TokenType,
        now: i64,
        lifetime: i64,
        rest: &Map<String, Value>,
    ) -> Result<Issued, TokenError> {
        let names = &self.policy.claims;
        let jti = new_jti();
        let expires_at = now + lifetime;
        let mut claims = Map::new();
        claims.insert(names.token_type.clone(), Value::from(token_type.as_str()));
        claims.insert("exp".to_owned(), Value::from(expires_at));
        claims.insert("iat".to_owned(), Value::from(now));
        claims.insert(names.jti.clone(), Value::from(jti.clone()));
        for (k, v) in rest {
            claims.insert(k.clone(), v.clone());
        }
        let token = self.sign(&claims)?;
        Ok(Issued {
            token,
            jti,
            issued_at: now,
            expires_at,
        })
    }

    /// Signs `claims`, stamping `aud` and `iss` as simplejwt's backend does at encoding time
    /// (overwriting in place, else appending).
    fn sign(&self, claims: &Map<String, Value>) -> Result<String, TokenError> {
        let mut claims = claims.clone();
        if let Some(aud) = &self.policy.audience {
            claims.insert("aud".to_owned(), Value::from(aud.as_str()));
        }
        if let Some(iss) = &self.policy.issuer {
            claims.insert("iss".to_owned(), Value::from(iss.as_str()));
        }
        // Serializing a map of JSON values cannot fail.
        let payload = serde_json::to_vec(&claims).expect("claims serialize");
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 400);
        token.push_str(&self.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = self
            .keys
            .sign(token.as_bytes())
            .map_err(|_| TokenError::Signing)?;
        token.push('.');
        token.push_str(&signature);
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
        self.check_header(&header)?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        if signature_b64.is_empty() || !self.keys.verify(signature_b64, signed.as_bytes()) {
            return Err(TokenError::Invalid);
        }
        let claims = decode_object(payload_b64)?;
        self.check_claims(&claims, now)?;

        let names = &self.policy.claims;
        let jti = match claims.get(&names.jti) {
            None => None,
            Some(Value::String(jti)) => Some(jti.clone()),
            Some(_) => return Err(TokenError::Invalid),
        };
        let token_type = match claims.get(&names.token_type) {
            None => None,
            Some(Value::String(t)) => Some(t.clone()),
            // A non-string type can never equal an expected one.
            Some(other) => Some(other.to_string()),
        };
        let exp = claims.get("exp").and_then(time_claim);
        let user_id = UserIdClaim::from_value(claims.get(&names.user_id));
        Ok(Decoded {
            header,
            claims,
            jti,
            token_type,
            exp,
            user_id,
        })
    }

    fn check_header(&self, header: &Map<String, Value>) -> Result<(), TokenError> {
        // Only the configured algorithm is ever accepted: `none`, another HMAC size, or HMAC
        // keyed with a public key all fail here (RFC 8725 3.1).
        match header.get("alg") {
            Some(Value::String(alg)) if alg == self.keys.algorithm().as_str() => {}
            _ => return Err(TokenError::Invalid),
        }
        // jwtd understands no JWS extension, so any `crit` must be refused (RFC 7515 4.1.11);
        // `b64: false` changes what is signed (RFC 7797); `zip` belongs to JWE only.
        if header.contains_key("crit") || header.contains_key("zip") {
            return Err(TokenError::Invalid);
        }
        match header.get("b64") {
            None | Some(Value::Bool(true)) => Ok(()),
            Some(_) => Err(TokenError::Invalid),
        }
    }

    /// PyJWT's claim checks in PyJWT's order, with simplejwt's settings.
    fn check_claims(&self, claims: &Map<String, Value>, now: i64) -> Result<(), TokenError> {
        let leeway = self.policy.leeway;
        let time = |name: &str| -> Result<Option<f64>, TokenError> {
            match claims.get(name) {
                None => Ok(None),
                Some(value) => time_claim(value).map(Some).ok_or(TokenError::Invalid),
            }
        };
        let iat = time("iat")?;
        let nbf = time("nbf")?;
        let exp = time("exp")?;
        let not_before = (now + leeway) as f64;
        if iat.is_some_and(|iat| iat > not_before) || nbf.is_some_and(|nbf| nbf > not_before) {
            return Err(TokenError::Invalid);
        }
        if exp.is_some_and(|exp| exp <= (now - leeway) as f64) {
            return Err(TokenError::Expired);
        }
        match (&self.policy.issuer, claims.get("iss")) {
            (None, _) => {}
            (Some(expected), Some(Value::String(iss))) if iss == expected => {}
            (Some(_), _) => return Err(TokenError::Invalid),
        }
        match (&self.policy.audience, claims.get("aud")) {
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
