//! Why a request or token was refused, and the one mapping of a refusal to simplejwt's answer
//! (status, body, `WWW-Authenticate`), so every integration answers alike.

use std::fmt;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use jwtd_token::{TokenError, TokenType};
use serde_json::{Value, json};

/// Which check refused the token. Several kinds share one simplejwt message ("Token is
/// invalid"); the kind is for logs and tests, the body stays simplejwt's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No `Authorization` header, an empty one, or another scheme.
    NotProvided,
    /// The scheme matched but the header is not exactly two values.
    BadHeader,
    /// Not a compact JWS: parts, base64url, JSON, `crit`, or a claim of the wrong JSON type.
    Malformed,
    /// The header's `alg` is not allowed (`none`, one outside the allow-list) or is not the
    /// algorithm of the key its `kid` names.
    Algorithm,
    /// The signature does not verify.
    Signature,
    /// The header's `kid` names no key held, even after refetching the JWKS.
    UnknownKey,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is not the configured issuer.
    Issuer,
    /// `aud` does not hold the configured audience (or is there when none is configured).
    Audience,
    /// No `exp` claim.
    NoExpiry,
    /// No `jti` claim.
    NoTokenId,
    /// No `token_type` claim.
    NoTokenType,
    /// `token_type` is not an accepted one (a refresh token where access is required).
    TokenType,
    /// No user id claim, or one that is neither a string nor a non-negative integer.
    NoUserId,
    /// The claims do not deserialize into the type the handler asked for.
    Claims,
    /// No key set yet: the JWKS has not been fetched successfully (only with
    /// `allow_start_without_keys`).
    NoKeys,
}

impl ErrorKind {
    /// simplejwt's message for a token refusal, from jwtd-token's texts.
    fn token_message(self) -> TokenError {
        match self {
            ErrorKind::Expired => TokenError::Expired,
            ErrorKind::NoExpiry => TokenError::NoExp,
            ErrorKind::NoTokenId => TokenError::NoId,
            ErrorKind::NoTokenType => TokenError::NoType,
            ErrorKind::TokenType => TokenError::WrongType,
            _ => TokenError::Invalid,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorKind::NotProvided => "no credentials",
            ErrorKind::BadHeader => "bad authorization header",
            ErrorKind::Malformed => "malformed token",
            ErrorKind::Algorithm => "algorithm not allowed for the key",
            ErrorKind::Signature => "bad signature",
            ErrorKind::UnknownKey => "unknown key id",
            ErrorKind::Expired => "token expired",
            ErrorKind::NotYetValid => "token not yet valid",
            ErrorKind::Issuer => "wrong issuer",
            ErrorKind::Audience => "wrong audience",
            ErrorKind::NoExpiry => "no exp claim",
            ErrorKind::NoTokenId => "no jti claim",
            ErrorKind::NoTokenType => "no token type",
            ErrorKind::TokenType => "wrong token type",
            ErrorKind::NoUserId => "no user id",
            ErrorKind::Claims => "claims do not fit the expected type",
            ErrorKind::NoKeys => "no verification keys available",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// What an answer needs besides the kind: fixed per verifier, shared, so an error costs one
/// reference count and no allocation.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The accepted token types, one `messages` entry each (simplejwt's `AUTH_TOKEN_CLASSES`).
    pub(crate) token_types: Vec<TokenType>,
    /// `<first scheme> realm="api"`, DRF's `authenticate_header`.
    pub(crate) challenge: HeaderValue,
}

/// A refused request or token. [`status`](Self::status) and [`body`](Self::body) are
/// simplejwt's answer; [`kind`](Self::kind) says which check failed.
#[derive(Clone)]
pub struct VerifyError {
    kind: ErrorKind,
    answer: Arc<Answer>,
}

impl VerifyError {
    pub(crate) fn new(kind: ErrorKind, answer: Arc<Answer>) -> VerifyError {
        VerifyError { kind, answer }
    }

    /// Which check failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// 401, except 503 when no key set could be fetched yet (the fault is ours, not the
    /// caller's).
    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::NoKeys => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The `WWW-Authenticate` value a 401 carries (`Bearer realm="api"` by default).
    pub fn challenge(&self) -> Option<&HeaderValue> {
        (self.status() == StatusCode::UNAUTHORIZED).then_some(&self.answer.challenge)
    }

    /// simplejwt's JSON body for this refusal, byte for byte once serialized.
    pub fn body(&self) -> Value {
        match self.kind {
            ErrorKind::NotProvided => json!({
                "detail": "Authentication credentials were not provided."
            }),
            ErrorKind::BadHeader => json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            }),
            ErrorKind::NoUserId => json!({
                "detail": "Token contained no recognizable user identification",
                "code": "token_not_valid",
            }),
            ErrorKind::NoKeys => json!({ "detail": "Service temporarily unavailable." }),
            kind => {
                let message = kind.token_message().to_string();
                let messages: Vec<Value> = self
                    .answer
                    .token_types
                    .iter()
                    .map(|token_type| {
                        json!({
                            "token_class": token_type.class_name(),
                            "token_type": token_type.as_str(),
                            "message": message,
                        })
                    })
                    .collect();
                json!({
                    "detail": "Given token not valid for any token type",
                    "code": "token_not_valid",
                    "messages": messages,
                })
            }
        }
    }
}

impl fmt::Debug for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VerifyError").field(&self.kind).finish()
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token refused: {}", self.kind)
    }
}

impl std::error::Error for VerifyError {}

impl PartialEq<ErrorKind> for VerifyError {
    fn eq(&self, kind: &ErrorKind) -> bool {
        self.kind == *kind
    }
}
