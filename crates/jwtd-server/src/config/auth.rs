//! How protected endpoints find and accept a token: the header, its schemes, the token
//! classes, and whether an inactive user is refused.

use axum::http::HeaderName;
use jwtd_token::TokenType;

use super::ConfigError;
use super::sources::RawConfig;
use super::values::invalid;

/// Authentication of API callers (DRF's `JWTAuthentication`).
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `auth_header_types`: accepted `Authorization` schemes (matched case-insensitively).
    pub auth_header_types: Vec<String>,
    /// `auth_header_name`: the header carrying the token.
    pub auth_header_name: HeaderName,
    /// `auth_token_classes`: token types accepted on protected endpoints, in order.
    pub auth_token_types: Vec<TokenType>,
    /// `check_user_is_active`.
    pub check_user_is_active: bool,
}

impl AuthConfig {
    /// Checks the authentication settings, taking them out of `raw`.
    pub(super) fn from_raw(raw: &mut RawConfig) -> Result<AuthConfig, ConfigError> {
        let auth_header_types = raw
            .auth_header_types
            .take()
            .unwrap_or_else(|| vec!["Bearer".to_owned()]);
        if auth_header_types.is_empty()
            || auth_header_types
                .iter()
                .any(|t| t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()))
        {
            // A scheme is an HTTP token: it names the `WWW-Authenticate` challenge.
            return Err(invalid(
                "auth_header_types",
                "needs at least one scheme, of visible ASCII without spaces",
            ));
        }
        Ok(AuthConfig {
            auth_header_types,
            auth_header_name: header_name(raw.auth_header_name.take())?,
            auth_token_types: token_types(raw.auth_token_classes.take())?,
            check_user_is_active: raw.check_user_is_active.take().unwrap_or(true),
        })
    }
}

/// Django names headers `HTTP_X_FOO`; that form and plain header names are accepted.
fn header_name(value: Option<String>) -> Result<HeaderName, ConfigError> {
    let text = value.unwrap_or_else(|| "HTTP_AUTHORIZATION".to_owned());
    let header = match text.strip_prefix("HTTP_") {
        Some(meta) => meta.replace('_', "-"),
        None => text.clone(),
    };
    HeaderName::from_bytes(header.to_ascii_lowercase().as_bytes())
        .map_err(|_| invalid("auth_header_name", format!("{text:?} is not a header name")))
}

/// simplejwt's token classes, by class name or dotted path, as token types.
fn token_types(value: Option<Vec<String>>) -> Result<Vec<TokenType>, ConfigError> {
    let classes = value.unwrap_or_else(|| vec!["AccessToken".to_owned()]);
    let mut types = Vec::new();
    for class in &classes {
        // simplejwt writes dotted paths (rest_framework_simplejwt.tokens.AccessToken).
        let token_type = match class.rsplit('.').next().unwrap_or_default() {
            "AccessToken" | "access" => TokenType::Access,
            "SlidingToken" | "sliding" => TokenType::Sliding,
            _ => {
                return Err(invalid(
                    "auth_token_classes",
                    format!("{class:?}: use AccessToken and/or SlidingToken"),
                ));
            }
        };
        types.push(token_type);
    }
    if types.is_empty() {
        return Err(invalid(
            "auth_token_classes",
            "needs at least one token class",
        ));
    }
    Ok(types)
}
