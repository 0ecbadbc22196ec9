//! The columns of the stored records, in the order every store selects them, and the records
//! built from them, so that each store only reads a row's values and none builds a record itself.

use crate::{BlacklistEntry, StoredKey, TokenRecord, UnknownKeyState, User, UserId};

/// A user row: `id, username, password_hash, is_active, date_joined, last_login, email,
/// tokens_valid_after, access_denied_until`.
pub type UserColumns = (
    UserId,
    String,
    String,
    bool,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);

/// An issued-token row: `jti, user_id, issued_at, expires_at`.
pub type TokenColumns = (String, Option<UserId>, i64, i64);

/// A blacklist row: `jti, blacklisted_at`.
pub type BlacklistColumns = (String, i64);

/// A signing key row: `kid, algorithm, state, material, encrypted, created_at, activated_at,
/// retired_at`.
pub type KeyColumns = (
    String,
    String,
    String,
    Vec<u8>,
    bool,
    i64,
    Option<i64>,
    Option<i64>,
);

impl From<UserColumns> for User {
    fn from(columns: UserColumns) -> User {
        let (
            id,
            username,
            password_hash,
            is_active,
            date_joined,
            last_login,
            email,
            tokens_valid_after,
            access_denied_until,
        ) = columns;
        User {
            id,
            username,
            password_hash,
            is_active,
            date_joined,
            last_login,
            id_claim: None,
            email,
            tokens_valid_after,
            access_denied_until,
        }
    }
}

impl From<TokenColumns> for TokenRecord {
    fn from((jti, user_id, issued_at, expires_at): TokenColumns) -> TokenRecord {
        TokenRecord {
            jti,
            user_id,
            issued_at,
            expires_at,
            token: String::new(),
        }
    }
}

impl From<BlacklistColumns> for BlacklistEntry {
    fn from((jti, blacklisted_at): BlacklistColumns) -> BlacklistEntry {
        BlacklistEntry {
            jti,
            blacklisted_at,
        }
    }
}

impl TryFrom<KeyColumns> for StoredKey {
    /// The `state` column held text that is no state (the schema's check should prevent it).
    type Error = UnknownKeyState;

    fn try_from(columns: KeyColumns) -> Result<StoredKey, UnknownKeyState> {
        let (kid, algorithm, state, material, encrypted, created_at, activated_at, retired_at) =
            columns;
        Ok(StoredKey {
            kid,
            algorithm,
            state: state.parse()?,
            material,
            encrypted,
            created_at,
            activated_at,
            retired_at,
        })
    }
}
