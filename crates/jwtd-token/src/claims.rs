//! Token purposes, claim names and the claims read from a verified token.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// What a token is for. Each purpose is checked on use: a refresh token is never an access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// Short-lived, carried on API calls.
    Access,
    /// Long-lived, exchanged for access tokens.
    Refresh,
    /// simplejwt's sliding token: both at once, renewable until `refresh_exp`.
    Sliding,
}

impl TokenType {
    /// The `token_type` claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
            TokenType::Sliding => "sliding",
        }
    }

    /// simplejwt's class name for this purpose, as shown in error `messages`.
    pub fn class_name(self) -> &'static str {
        match self {
            TokenType::Access => "AccessToken",
            TokenType::Refresh => "RefreshToken",
            TokenType::Sliding => "SlidingToken",
        }
    }
}

/// The names of the claims jwtd reads and writes (simplejwt's `*_CLAIM` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimNames {
    /// `TOKEN_TYPE_CLAIM`, default `token_type`.
    pub token_type: String,
    /// `JTI_CLAIM`, default `jti`.
    pub jti: String,
    /// `USER_ID_CLAIM`, default `user_id`.
    pub user_id: String,
    /// `SLIDING_TOKEN_REFRESH_EXP_CLAIM`, default `refresh_exp`.
    pub refresh_exp: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            token_type: "token_type".to_owned(),
            jti: "jti".to_owned(),
            user_id: "user_id".to_owned(),
            refresh_exp: "refresh_exp".to_owned(),
        }
    }
}

/// The user a token names, as far as the token can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserIdClaim {
    /// No user id claim.
    Missing,
    /// A decimal string (simplejwt's layout) or a JSON integer (older simplejwt).
    Id(i64),
    /// Present but not an id: a boolean, float, array, object, or a non-numeric string.
    /// Never coerced: `true` is not user 1.
    Malformed,
}

impl UserIdClaim {
    pub(crate) fn from_value(value: Option<&Value>) -> UserIdClaim {
        match value {
            None => UserIdClaim::Missing,
            Some(Value::String(s)) => {
                parse_decimal_id(s).map_or(UserIdClaim::Malformed, UserIdClaim::Id)
            }
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|id| *id >= 0)
                .map_or(UserIdClaim::Malformed, UserIdClaim::Id),
            Some(_) => UserIdClaim::Malformed,
        }
    }
}

fn parse_decimal_id(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A JSON object that refuses duplicate member names.
///
/// RFC 7515 4 and RFC 7519 4 require a parser either to reject duplicates or to use the last
/// value; libraries disagree on which, so a token that means different things to different
/// verifiers is refused outright. serde_json silently keeps the last value, hence this wrapper.
pub(crate) struct UniqueObject(pub Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = UniqueObject;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueObject, A::Error> {
                let mut map = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    if map.contains_key(&key) {
                        return Err(de::Error::custom(format_args!("duplicate member {key:?}")));
                    }
                    let value = access.next_value::<Value>()?;
                    map.insert(key, value);
                }
                Ok(UniqueObject(map))
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_ids_are_strict() {
        assert_eq!(
            UserIdClaim::from_value(Some(&json!("42"))),
            UserIdClaim::Id(42)
        );
        assert_eq!(
            UserIdClaim::from_value(Some(&json!(42))),
            UserIdClaim::Id(42)
        );
        assert_eq!(UserIdClaim::from_value(None), UserIdClaim::Missing);
        for bad in [
            json!(true),
            json!(1.0),
            json!("abc"),
            json!(""),
            json!(" 1"),
            json!("-1"),
            json!([1]),
            json!({"id": 1}),
            json!(null),
            json!(-3),
            json!("99999999999999999999"),
        ] {
            assert_eq!(
                UserIdClaim::from_value(Some(&bad)),
                UserIdClaim::Malformed,
                "{bad}"
            );
        }
    }

    #[test]
    fn duplicate_members_are_refused() {
        assert!(serde_json::from_str::<UniqueObject>(r#"{"a":1,"b":2}"#).is_ok());
        assert!(serde_json::from_str::<UniqueObject>(r#"{"a":1,"a":2}"#).is_err());
        assert!(serde_json::from_str::<UniqueObject>(r#"[1,2]"#).is_err());
    }
}
