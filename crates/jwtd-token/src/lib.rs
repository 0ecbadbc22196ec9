//! jwtd's token engine: algorithms, keys, claims, signing and validation.
//!
//! Pure by design: no I/O and no clock reads. Callers pass key material, token bytes and `now`
//! (Unix seconds), so every rule can be tested at any instant without sleeping.
//!
//! ```
//! use jwtd_token::{Algorithm, Keys, Policy, TokenEngine, TokenType};
//!
//! let keys = Keys::new(Algorithm::HS256, b"an example secret of at least 32 bytes!", None)?;
//! let engine = TokenEngine::new(keys, Policy::default());
//! let pair = engine.issue_pair(42, 1_800_000_000)?;
//! let access = engine.decode(&pair.access.token, 1_800_000_010)?;
//! access.check(Some(TokenType::Access))?;
//! assert!(engine.decode(&pair.access.token, 1_800_000_300).is_err()); // expired
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod algorithm;
mod claims;
mod engine;
mod error;
mod jwk;
mod keys;
#[cfg(test)]
mod test_vectors;

pub use algorithm::{Algorithm, Family, UnknownAlgorithm};
pub use claims::{ClaimNames, TokenType, UserIdClaim};
pub use engine::{
    Decoded, Issued, MAX_TOKEN_LEN, Pair, Policy, Subject, TokenEngine, dangerous_decode_unverified,
};
pub use error::TokenError;
pub use jwk::PublicJwk;
pub use keys::{KeyEntry, KeyError, KeySet, KeyState, Keys, generate, random_secret};
