//! The storage contract of jwtd: users, issued refresh tokens, the blacklist and the managed
//! signing keys.
//!
//! One trait, two real implementations (SQLite, the embedded default, and PostgreSQL for several
//! instances). No SQL lives here. Times are Unix seconds passed in by the caller, never read
//! from a clock here, so the same call gives the same result on every backend.
//!
//! Refresh tokens are never stored whole: only their `jti`, owner and times, which is all that
//! blacklisting, rotation and flushing need, and nothing a database leak could replay.
//!
//! Besides the trait and its records, this crate holds what the stores share above their SQL:
//! the order of each record's columns and the records built from them ([`UserColumns`] and its
//! kin), and the statement sequences of blacklisting and rotation with the decision they make
//! ([`TokenStatements`], [`RotationRequest::run`]), and the decision on a batch of key changes
//! ([`keys::plan`]).

mod columns;
pub mod django;
pub mod keys;
mod sessions;
mod writes;

use async_trait::async_trait;

pub use columns::{BlacklistColumns, KeyColumns, TokenColumns, UserColumns};
pub use keys::{KeyChange, KeyUpdate, KeyWrite, StoredKey, StoredKeyState, UnknownKeyState};
pub use sessions::{AccessRecord, NewSession, Session, SessionStep, TokenState, USER_AGENT_MAX};
pub use writes::{Rotation, RotationRequest, TokenStatements, blacklist};

/// A user's numeric id.
pub type UserId = i64;

/// A stored user.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Numeric id (the primary key), assigned by the store; `user_id` claims carry it as a
    /// string unless `id_claim` says otherwise.
    pub id: UserId,
    /// Unique login name: the `username_field` column (`username` unless configured).
    pub username: String,
    /// The encoded password hash: jwtd's argon2id PHC string, or one of Django's encodings.
    pub password_hash: String,
    /// Inactive users cannot log in, refresh, or use access tokens.
    pub is_active: bool,
    /// When the user was created.
    pub date_joined: i64,
    /// The last successful login, when `update_last_login` is on.
    pub last_login: Option<i64>,
    /// The user id claim's value when `user_id_field` names a column other than the primary
    /// key (Django mode); `None`: the id itself.
    pub id_claim: Option<String>,
    /// jwtd's own users' optional, unique email (`username_field = "email"` logs in by it).
    /// Django mode leaves it `None`: Django's column is read through `username_field` and
    /// `token_claims`.
    pub email: Option<String>,
    /// Access and sliding tokens issued (`iat`) before this time are refused: set by
    /// logout-all, a password change, a deactivation or an administrator's revoke. 0: never
    /// set; always 0 on Django's schema, which has no such column.
    pub tokens_valid_after: i64,
    /// The latest `exp` of this user's deny-listed access tokens (0: none): a request's token
    /// is looked up in the deny-list only when its `exp` is at or before this, so users with
    /// nothing revoked (nearly all) cost no extra read. 0 on Django's schema.
    pub access_denied_until: i64,
}

impl User {
    /// The value of the user id claim in this user's tokens, as simplejwt's
    /// `str(getattr(user, USER_ID_FIELD))`.
    pub fn id_claim(&self) -> String {
        self.id_claim.clone().unwrap_or_else(|| self.id.to_string())
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("is_active", &self.is_active)
            .field("date_joined", &self.date_joined)
            .field("last_login", &self.last_login)
            .field("id_claim", &self.id_claim)
            .field("email", &self.email)
            .field("tokens_valid_after", &self.tokens_valid_after)
            .field("access_denied_until", &self.access_denied_until)
            .finish()
    }
}

/// A user to create.
#[derive(Clone)]
pub struct NewUser {
    /// Unique login name.
    pub username: String,
    /// PHC string of the argon2id hash (hashing happens before the store sees it).
    pub password_hash: String,
    /// Whether the user may log in.
    pub is_active: bool,
    /// Creation time.
    pub date_joined: i64,
    /// Optional unique email.
    pub email: Option<String>,
}

/// What the store keeps of an issued refresh or sliding token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's `jti`.
    pub jti: String,
    /// The owner, when the token names one that exists.
    pub user_id: Option<UserId>,
    /// The token's `iat` (or the time it was first seen, for tokens minted elsewhere).
    pub issued_at: i64,
    /// The token's `exp`; the row may be flushed after it.
    pub expires_at: i64,
    /// The token's text. jwtd's own schema never stores it (nothing a database leak could
    /// replay); Django's `token_blacklist_outstandingtoken.token` requires it, as simplejwt
    /// writes it. Empty when unknown (a record read back from jwtd's schema).
    pub token: String,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("jti", &self.jti)
            .field("user_id", &self.user_id)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field(
                "token",
                &if self.token.is_empty() {
                    ""
                } else {
                    "[redacted]"
                },
            )
            .finish()
    }
}

/// The result of an attempt to blacklist a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blacklisting {
    /// This call put the token on the blacklist.
    Added,
    /// It was already there: another request won the race, or the token was reused.
    AlreadyBlacklisted,
}

impl Blacklisting {
    /// The outcome of an insert of one blacklist row that writes nothing when the `jti` is
    /// there already, from the number of rows it wrote.
    pub fn from_rows_inserted(rows: u64) -> Blacklisting {
        if rows == 1 {
            Blacklisting::Added
        } else {
            Blacklisting::AlreadyBlacklisted
        }
    }
}

/// How many rows `flush_expired` removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Issued-token rows removed.
    pub issued: u64,
    /// Blacklist rows removed with them.
    pub blacklisted: u64,
    /// Sessions past their expiry, and deny-listed access tokens past their `exp`.
    pub sessions: u64,
}

/// A blacklist row: which token, and when it was blacklisted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlacklistEntry {
    /// The blacklisted token's `jti`; its [`TokenRecord`] is in the same snapshot.
    pub jti: String,
    /// When it was blacklisted.
    pub blacklisted_at: i64,
}

/// Everything a store holds but its managed signing keys, read in one consistent transaction:
/// what `jwtd copy-store` moves from one backend to another (SQLite to PostgreSQL when scaling
/// out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every user, by id, password hashes included.
    pub users: Vec<User>,
    /// The highest user id ever handed out, deleted users included, so the copy never gives a
    /// deleted user's id (which old tokens may still name) to a new user.
    pub last_user_id: UserId,
    /// Every issued-token row, by `jti`.
    pub issued: Vec<TokenRecord>,
    /// Every blacklist row, by `jti`.
    pub blacklisted: Vec<BlacklistEntry>,
}

impl Snapshot {
    /// The highest user id handed out: the larger of the highest id in `users` and the store's
    /// own record of it (`None` when it keeps none), so that it never falls below an id in use.
    pub fn high_water_mark(users: &[User], recorded: Option<UserId>) -> UserId {
        let highest_listed = users.iter().map(|user| user.id).max().unwrap_or(0);
        highest_listed.max(recorded.unwrap_or(0))
    }
}

/// The kind of value a user id claim holds: what Django's `user_id_field` column is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdClaimKind {
    /// Decimal digits of a non-negative 64-bit integer.
    Integer,
    /// A UUID (Django's `UUIDField`), in any of the forms Python's `uuid.UUID` reads.
    Uuid,
    /// Any text (a `CharField` such as `username` or `email`).
    Text,
}

impl IdClaimKind {
    /// Whether `claim` can be a value of this kind: a claim that cannot is "no recognizable
    /// user identification", and is never sent to the database (where a UUID or integer column
    /// would fail on it).
    pub fn parses(self, claim: &str) -> bool {
        match self {
            IdClaimKind::Integer => parse_user_id(claim).is_some(),
            IdClaimKind::Uuid => parse_uuid(claim).is_some(),
            IdClaimKind::Text => !claim.is_empty() && claim.len() <= 1024,
        }
    }
}

/// A user id claim's decimal digits as an id: no sign, no spaces, at most 19 digits, within
/// `i64`. `true`, `1.0` and `" 1"` are not user 1.
pub fn parse_user_id(claim: &str) -> Option<UserId> {
    if claim.is_empty() || claim.len() > 19 || !claim.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    claim.parse().ok()
}

/// A UUID in the forms Python's `uuid.UUID(str)` takes (32 hex digits, with or without the
/// hyphens, braces or `urn:uuid:`), as the canonical lower-case hyphenated text and the 32 hex
/// digits Django's SQLite backend stores.
pub fn parse_uuid(claim: &str) -> Option<(String, String)> {
    let trimmed = claim.strip_prefix("urn:uuid:").unwrap_or(claim);
    let trimmed = trimmed
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(trimmed);
    let hex: String = trimmed.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    let hyphenated = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    Some((hyphenated, hex))
}

/// A user field's value, for `token_claims`: what goes into the tokens as JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimValue {
    /// SQL NULL (JSON `null`).
    Null,
    /// A boolean column.
    Bool(bool),
    /// An integer column, or a timestamp as Unix seconds.
    Integer(i64),
    /// A floating-point or decimal column.
    Float(f64),
    /// Text, or a uuid as Python's `str(uuid)`.
    Text(String),
    /// A list of names (`groups`).
    List(Vec<String>),
}

/// The user fields `token_claims` may name in jwtd's own schema.
pub const JWTD_CLAIM_FIELDS: [&str; 6] = [
    "id",
    "username",
    "email",
    "is_active",
    "date_joined",
    "last_login",
];

/// The fields of `user` that jwtd's own schema holds, for `token_claims`; `None` for a field it
/// does not have.
pub fn jwtd_user_field(user: &User, field: &str) -> Option<ClaimValue> {
    Some(match field {
        "id" => ClaimValue::Integer(user.id),
        "username" => ClaimValue::Text(user.username.clone()),
        "email" => user
            .email
            .clone()
            .map_or(ClaimValue::Null, ClaimValue::Text),
        "is_active" => ClaimValue::Bool(user.is_active),
        "date_joined" => ClaimValue::Integer(user.date_joined),
        "last_login" => user
            .last_login
            .map_or(ClaimValue::Null, ClaimValue::Integer),
        _ => return None,
    })
}

/// A store failure. "Not found" and "conflict" are answers; "unavailable" means try later.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named user does not exist.
    #[error("user not found")]
    NotFound,
    /// A uniqueness rule was violated (a username that is taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or cannot write now (down, locked, read-only, disk full).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store does not do this by design: in `database_schema = "django"` users are
    /// Django's to manage. The message says where to do it instead.
    #[error("{0}")]
    Refused(String),
    /// Anything else: a bug or corrupt data.
    #[error("store error: {0}")]
    Internal(String),
}

impl StoreError {
    /// The refusal of [`Store::import`] into a store that already holds data.
    pub fn not_empty(users: i64, issued_tokens: i64) -> StoreError {
        StoreError::Conflict(format!(
            "the target database is not empty ({users} users, {issued_tokens} issued tokens); \
             a copy goes only into an empty database"
        ))
    }
}

/// Users, issued tokens, the blacklist and managed signing keys. Every write is committed before
/// the call returns.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending schema migrations.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates a user; `Conflict` when the username is taken.
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError>;

    /// Looks a user up by name.
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// Looks a user up by id.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// Looks a user up by email (jwtd's own schema with `username_field = "email"`). Stores
    /// without that column refuse.
    async fn user_by_email(&self, _email: &str) -> Result<Option<User>, StoreError> {
        Err(StoreError::Refused(
            "this store looks users up by username_field only".to_owned(),
        ))
    }

    /// What the user id claim holds: jwtd's own schema puts the integer id there; in Django
    /// mode it is the `user_id_field` column's kind.
    fn id_claim_kind(&self) -> IdClaimKind {
        IdClaimKind::Integer
    }

    /// Whether the user id claim holds the primary key (then [`Store::user_by_id`] finds its
    /// user, with no text to parse): in jwtd's own schema always; in Django mode when
    /// `user_id_field` is `id`.
    fn id_claim_is_primary_key(&self) -> bool {
        true
    }

    /// Looks a user up by the user id claim's text, as simplejwt's
    /// `User.objects.get(**{USER_ID_FIELD: claim})`; `None` when no user has it. The caller has
    /// checked it [`parses`](IdClaimKind::parses) as [`Store::id_claim_kind`].
    async fn user_by_claim(&self, claim: &str) -> Result<Option<User>, StoreError> {
        match parse_user_id(claim) {
            Some(id) => self.user_by_id(id).await,
            None => Ok(None),
        }
    }

    /// Checks, at start-up, that every field of `token_claims` is one this store can read.
    fn check_claim_fields(&self, fields: &[String]) -> Result<(), StoreError> {
        match fields
            .iter()
            .find(|field| !JWTD_CLAIM_FIELDS.contains(&field.as_str()))
        {
            Some(field) => Err(StoreError::Refused(format!(
                "token_claims: jwtd's users have no field {field:?} (they have {})",
                JWTD_CLAIM_FIELDS.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The values of `fields` (checked by [`Store::check_claim_fields`]) for `user`, in order.
    async fn user_claims(
        &self,
        user: &User,
        fields: &[String],
    ) -> Result<Vec<ClaimValue>, StoreError> {
        Ok(fields
            .iter()
            .map(|field| jwtd_user_field(user, field).unwrap_or(ClaimValue::Null))
            .collect())
    }

    /// Replaces user `id`'s password hash with `new_hash` only if it is still `old_hash` (a
    /// hash upgrade at login must not overwrite a password changed meanwhile, in Django's admin
    /// say). Whether it was replaced.
    async fn upgrade_password(
        &self,
        id: UserId,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError>;

    /// Every user, by id.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;

    /// Replaces a user's password hash; `NotFound` when there is no such user.
    async fn set_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError>;

    /// Activates or deactivates a user; `NotFound` when there is no such user.
    async fn set_active(&self, username: &str, is_active: bool) -> Result<(), StoreError>;

    /// Deletes a user; their issued tokens stay (owner cleared) so the blacklist keeps working.
    async fn delete_user(&self, username: &str) -> Result<(), StoreError>;

    /// Stamps a successful login.
    async fn record_login(&self, id: UserId, at: i64) -> Result<(), StoreError>;

    /// Remembers an issued refresh or sliding token.
    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError>;

    /// Whether `jti` is blacklisted.
    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError>;

    /// Blacklists a token (recording it first if it was minted elsewhere), atomically.
    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError>;

    /// Rotates a refresh token in one transaction, as [`RotationRequest::run`] decides: when
    /// `blacklist_old`, blacklists `old` and answers [`Rotation::AlreadyBlacklisted`], writing
    /// nothing, if it was blacklisted already; records `new`. Of concurrent blacklisting
    /// rotations of one token exactly one gets [`Rotation::Rotated`], whose `old_blacklisted`
    /// says whether the old token was blacklisted.
    async fn rotate(&self, request: RotationRequest) -> Result<Rotation, StoreError>;

    /// Removes issued tokens whose `exp` is at or before `now`, and their blacklist rows.
    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError>;

    /// Reads everything in one consistent snapshot (held in memory: about 100 bytes per row).
    /// Managed signing keys are not copied, so private keys do not travel with a data copy: the
    /// copy gets new keys, or the operator adds the old ones (`jwtd keys add`).
    async fn export(&self) -> Result<Snapshot, StoreError>;

    /// Writes `snapshot` into this store in one transaction, ids and times unchanged, and moves
    /// the user id sequence past `last_user_id`. Refuses with `Conflict`, writing nothing,
    /// unless the store holds no users and no tokens: a copy never merges.
    async fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError>;

    /// Starts `session` at login and records its first refresh token in it, in one
    /// transaction; `Conflict`, writing nothing, when the user's password hash is no longer
    /// [`NewSession::password_hash`] (changed while the login ran). Stores that keep no
    /// sessions (Django's schema) only record the token.
    async fn start_session(
        &self,
        session: &NewSession,
        refresh: &TokenRecord,
    ) -> Result<(), StoreError> {
        let _ = session;
        self.record_issued(refresh).await
    }

    /// What is known of a presented refresh token: blacklisted, rotated, and its session.
    /// Stores that keep no sessions answer the blacklist only.
    async fn token_state(&self, jti: &str) -> Result<TokenState, StoreError> {
        Ok(TokenState {
            blacklisted: self.is_blacklisted(jti).await?,
            ..TokenState::default()
        })
    }

    /// A refresh that did not rotate used the session: stamps its last use and keeps the access
    /// token it handed out. Whether the session was still live: `false` when it ended since the
    /// refresh read it (a logout racing the refresh), which must then be refused, as the access
    /// token would escape the revocation. Stores that keep no sessions answer `true`.
    async fn touch_session(&self, step: &SessionStep) -> Result<bool, StoreError> {
        let _ = step;
        Ok(true)
    }

    /// The user's sessions that are live at `now`, newest first. Stores that keep no sessions
    /// have none.
    async fn sessions(&self, user: UserId, now: i64) -> Result<Vec<Session>, StoreError> {
        let _ = (user, now);
        Ok(Vec::new())
    }

    /// Ends session `id` at `at` (only if it is `user`'s, when `user` is given), in one
    /// transaction: blacklists every unexpired refresh token of it and deny-lists every
    /// unexpired access token handed out in it. Whether this call ended it: `false` when there is no such live session
    /// (of that user), or it was ended already (of two concurrent calls, one gets `true`).
    async fn end_session(
        &self,
        id: &str,
        user: Option<UserId>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let _ = (id, user, at);
        Ok(false)
    }

    /// Logs `user` out everywhere at `at`, in one transaction: `tokens_valid_after = at`, every
    /// session ended, every unexpired refresh or sliding token of the user blacklisted, and the
    /// sessions' unexpired access tokens deny-listed. How many sessions it ended; a store that
    /// keeps no sessions (Django's schema, where `check_revoke_token` covers password changes)
    /// blacklists the user's outstanding tokens and answers how many.
    async fn end_all_sessions(&self, user: UserId, at: i64) -> Result<u64, StoreError> {
        let _ = (user, at);
        Err(StoreError::Refused(
            "this store cannot log a user out everywhere".to_owned(),
        ))
    }

    /// Replaces user `id`'s password hash and logs them out everywhere at `at`
    /// ([`Store::end_all_sessions`]), in one transaction: a password change that is stored has
    /// revoked everything, and one that fails has changed nothing. `NotFound` when there is no
    /// such user.
    async fn change_password(
        &self,
        id: UserId,
        password_hash: &str,
        at: i64,
    ) -> Result<u64, StoreError> {
        let _ = (id, password_hash, at);
        Err(StoreError::Refused(
            "this store cannot change a password with a revocation".to_owned(),
        ))
    }

    /// The session of `user`'s that access token `jti` was handed out in, while it is kept
    /// (until the flush after its `exp`): which session is the caller's "current" one.
    async fn session_of_access(
        &self,
        jti: &str,
        user: UserId,
    ) -> Result<Option<String>, StoreError> {
        let _ = (jti, user);
        Ok(None)
    }

    /// Deny-lists one access token of `user` until its `exp` (RFC 7009 revocation), and raises
    /// the user's `access_denied_until` to it.
    async fn deny_access(&self, access: &AccessRecord, user: UserId) -> Result<(), StoreError> {
        let _ = (access, user);
        Err(StoreError::Refused(
            "this store keeps no access-token deny-list".to_owned(),
        ))
    }

    /// Whether access token `jti` is deny-listed.
    async fn is_access_denied(&self, jti: &str) -> Result<bool, StoreError> {
        let _ = jti;
        Ok(false)
    }

    /// Counts one login attempt for `key` in the throttling window that started at
    /// `window_start` (a new window resets the count) and answers the count, for throttles
    /// shared by several instances. `None`: this store does not share throttles (SQLite: one
    /// instance per file keeps them in memory).
    async fn count_attempt(&self, key: &str, window_start: i64) -> Result<Option<u64>, StoreError> {
        let _ = (key, window_start);
        Ok(None)
    }

    /// Every managed signing key, oldest first (`created_at`, then `kid` in byte order). Stores
    /// on Django's schema refuse: it has no place for them.
    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Err(keys::refused())
    }

    /// Applies `changes` in one transaction, only if the key that is active now has kid
    /// `expected_active` (`None`: no key is active now): a compare-and-set, so that of two
    /// instances rotating at once exactly one rotation applies. Answers [`KeyUpdate::Conflict`],
    /// writing nothing, when the active key is another, when an `Insert`'s kid exists, when a
    /// `SetState` or `Delete` names no key, or when the batch would leave more than one active
    /// key ([`keys::plan`] decides). Serialized against every other batch on the database,
    /// whichever process (server, CLI) runs it. Stores on Django's schema refuse.
    async fn update_keys(
        &self,
        _expected_active: Option<&str>,
        _changes: Vec<KeyChange>,
    ) -> Result<KeyUpdate, StoreError> {
        Err(keys::refused())
    }
}
