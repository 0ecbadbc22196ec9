//! Why a token was refused, in simplejwt's words.

/// A token refusal. `Display` is the exact message simplejwt puts in `detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Malformed, badly signed, wrong algorithm, not yet valid, wrong issuer or audience.
    #[error("Token is invalid")]
    Invalid,
    /// The header names a `kid` the key set does not hold. Same answer as `Invalid`; callers
    /// that can reload their keys (a rotation elsewhere) do so on this one.
    #[error("Token is invalid")]
    UnknownKey,
    /// `exp` has passed (beyond the leeway).
    #[error("Token is expired")]
    Expired,
    /// The token's `jti` is on the blacklist (decided by the caller, which owns the store).
    #[error("Token is blacklisted")]
    Blacklisted,
    /// `token_type` is not the one this use requires.
    #[error("Token has wrong type")]
    WrongType,
    /// No `token_type` claim.
    #[error("Token has no type")]
    NoType,
    /// No `jti` claim.
    #[error("Token has no id")]
    NoId,
    /// No `exp` claim.
    #[error("Token has no 'exp' claim")]
    NoExp,
    /// A sliding token without `refresh_exp`.
    #[error("Token has no 'refresh_exp' claim")]
    NoRefreshExp,
    /// A sliding token past its `refresh_exp`.
    #[error("Token 'refresh_exp' claim has expired")]
    RefreshExpExpired,
    /// The crypto library could not sign (a key that passed start-up checks should never do this).
    #[error("Token could not be signed")]
    Signing,
}
