//! The columns of the stored records, in the order every store selects them, and the records
//! built from them, so that each store only reads a row's values and none builds a record itself.

use crate::{BlacklistEntry, TokenRecord, User, UserId};

/// A user row: `id, username, password_hash, is_active, date_joined, last_login, email`.
pub type UserColumns = (
    UserId,
    String,
    String,
    bool,
    i64,
    Option<i64>,
    Option<String>,
);

/// An issued-token row: `jti, user_id, issued_at, expires_at`.
pub type TokenColumns = (String, Option<UserId>, i64, i64);

/// A blacklist row: `jti, blacklisted_at`.
pub type BlacklistColumns = (String, i64);

impl From<UserColumns> for User {
    fn from(columns: UserColumns) -> User {
        let (id, username, password_hash, is_active, date_joined, last_login, email) = columns;
        User {
            id,
            username,
            password_hash,
            is_active,
            date_joined,
            last_login,
            id_claim: None,
            email,
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
