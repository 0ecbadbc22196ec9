//! One test suite for both stores, and what it needs to run on a real PostgreSQL server.
//!
//! - [`contract`]: the checks every [`Store`] must pass, backend-agnostic.
//! - [`postgres`]: a fresh database per test on the server named by `JWTD_TEST_DATABASE_URL`,
//!   dropped afterwards; also usable by other crates' tests (several `jwtd serve` on one
//!   database).
//! - [`disk`]: a small real disk to fill up (SQLite on a full disk).
//! - [`django`]: a Django project's database made from Django's own DDL, and "Django" writing
//!   users and simplejwt's rows to it, as [`Users`] does for the contract checks.
//! - [`proxy`]: a TCP proxy on loopback that a test can cut, to take the database away from a
//!   store and give it back.
//!
//! The test binary (`tests/store/`) runs every contract check on SQLite always and on
//! PostgreSQL when `JWTD_TEST_DATABASE_URL` is set; `JWTD_REQUIRE_POSTGRES=1` turns a missing
//! or unreachable server into a failure instead of a notice.

use jwtd_store::{
    Flushed, NewUser, Rotation, RotationRequest, Store, StoreError, TokenRecord, User, UserId,
};

pub mod contract;
pub mod disk;
pub mod django;
pub mod postgres;
pub mod proxy;

/// An arbitrary "now" that every test counts from.
pub const T0: i64 = 1_700_000_000;

/// Refresh token lifetime used by the tests.
pub const DAY: i64 = 86_400;

/// The outcome of a rotation that blacklisted the old token and recorded its successor.
pub const BLACKLISTED_AND_ROTATED: Rotation = Rotation::Rotated {
    old_blacklisted: true,
};

/// The outcome of a rotation that recorded the successor and left the old token alone.
pub const ROTATED_WITHOUT_BLACKLISTING: Rotation = Rotation::Rotated {
    old_blacklisted: false,
};

/// A user to create, with a recognisable (fake) password hash.
pub fn new_user(username: &str, date_joined: i64) -> NewUser {
    NewUser {
        username: username.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${username}"),
        is_active: true,
        date_joined,
        email: None,
    }
}

/// A token record.
pub fn token(jti: &str, user_id: Option<UserId>, issued_at: i64, expires_at: i64) -> TokenRecord {
    TokenRecord {
        jti: jti.to_owned(),
        user_id,
        issued_at,
        expires_at,
        token: String::new(),
    }
}

/// A rotation of `old` into `new` at `at`, blacklisting `old` when `blacklist_old`.
pub fn rotation(
    old: &TokenRecord,
    new: &TokenRecord,
    blacklist_old: bool,
    at: i64,
) -> RotationRequest {
    RotationRequest {
        old: old.clone(),
        new: new.clone(),
        blacklist_old,
        at,
        session: None,
    }
}

/// Creates an active user, panicking with the store's error when that fails.
pub async fn create(store: &dyn Store, username: &str, at: i64) -> User {
    store
        .create_user(new_user(username, at))
        .await
        .unwrap_or_else(|e| panic!("creating {username}: {e}"))
}

/// A [`Flushed`] count.
pub fn flushed(issued: u64, blacklisted: u64) -> Flushed {
    Flushed {
        issued,
        blacklisted,
        sessions: 0,
    }
}

/// Who manages the users of the store under test: the contract checks create, deactivate,
/// re-password and delete users through this, so that the same checks run on jwtd's own schema
/// (through the [`Store`]) and on Django's (where the store refuses user writes, and Django
/// writes its tables itself).
pub enum Users {
    /// jwtd's own schema: users are written through the store.
    Store,
    /// `database_schema = "django"`: users are written by Django, in raw SQL.
    Django(Box<django::Django>),
}

impl Users {
    /// Whether Django manages the users.
    pub fn is_django(&self) -> bool {
        matches!(self, Users::Django(_))
    }

    /// The Django side (panics on jwtd's own schema).
    pub fn django(&self) -> &django::Django {
        match self {
            Users::Django(django) => django,
            Users::Store => panic!("not a Django database"),
        }
    }

    /// Creates `user` and returns it as the store must read it back.
    pub async fn create_user(&self, store: &dyn Store, user: NewUser) -> User {
        match self {
            Users::Store => store
                .create_user(user.clone())
                .await
                .unwrap_or_else(|e| panic!("creating {}: {e}", user.username)),
            Users::Django(django) => {
                let id = django.create_user(&user).await;
                User {
                    id,
                    username: user.username,
                    password_hash: user.password_hash,
                    is_active: user.is_active,
                    date_joined: user.date_joined,
                    last_login: None,
                    id_claim: None,
                    email: None,
                    tokens_valid_after: 0,
                    access_denied_until: 0,
                }
            }
        }
    }

    /// Creates an active user (as [`create`]).
    pub async fn create(&self, store: &dyn Store, username: &str, at: i64) -> User {
        self.create_user(store, new_user(username, at)).await
    }

    /// Replaces a user's password hash; `NotFound` when there is no such user.
    pub async fn set_password(
        &self,
        store: &dyn Store,
        username: &str,
        hash: &str,
    ) -> Result<(), StoreError> {
        match self {
            Users::Store => store.set_password(username, hash).await,
            Users::Django(django) => django.set_password(username, hash).await,
        }
    }

    /// Activates or deactivates a user; `NotFound` when there is no such user.
    pub async fn set_active(
        &self,
        store: &dyn Store,
        username: &str,
        is_active: bool,
    ) -> Result<(), StoreError> {
        match self {
            Users::Store => store.set_active(username, is_active).await,
            Users::Django(django) => django.set_active(username, is_active).await,
        }
    }

    /// Deletes a user; `NotFound` when there is no such user.
    pub async fn delete_user(&self, store: &dyn Store, username: &str) -> Result<(), StoreError> {
        match self {
            Users::Store => store.delete_user(username).await,
            Users::Django(django) => django.delete_user(username).await,
        }
    }
}
