//! Sessions: a login's family of refresh tokens, kept beside the tokens so that the tokens keep
//! simplejwt's claims. What the stores record of them, and what a refresh needs to know.

use crate::UserId;

/// One login and every refresh token rotated from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// A random 32-character hex id, chosen by the server at login.
    pub id: String,
    /// Whose session it is.
    pub user_id: UserId,
    /// The login.
    pub created_at: i64,
    /// The last refresh (the login until there is one).
    pub last_used_at: i64,
    /// The `exp` of its newest refresh token: past it, nothing of the session can be used.
    pub expires_at: i64,
    /// The login's `User-Agent`, cut to [`USER_AGENT_MAX`] bytes.
    pub user_agent: Option<String>,
    /// The login's client address, as the trusted-proxy settings resolve it.
    pub ip: Option<String>,
    /// When it was ended (logout, logout-all, reuse, idle or lifetime cap); `None` while live.
    pub ended_at: Option<i64>,
}

impl Session {
    /// Whether the session can still be used at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.ended_at.is_none() && self.expires_at > now
    }
}

/// The longest `User-Agent` a session keeps, in bytes (a header can be much longer).
pub const USER_AGENT_MAX: usize = 512;

/// An access token the server handed out, as far as revoking it needs: its `jti` and `exp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRecord {
    /// The access token's `jti`.
    pub jti: String,
    /// Its `exp`: the deny-list row may go after it.
    pub expires_at: i64,
}

/// A session to start at login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The session as it starts (`last_used_at` = `created_at`, `ended_at` = `None`).
    pub session: Session,
    /// The login's access token. The store keeps every access token handed out in a session
    /// until its `exp`, and ending the session deny-lists them all: a stolen family loses its
    /// access tokens too, and one issued in the same second as a logout-all (which
    /// `tokens_valid_after`'s whole seconds cannot tell from a later one) dies as well.
    pub access: AccessRecord,
    /// The password hash the login verified: the session starts only if the user's hash is
    /// still this one, so a login with the old password that overlaps a password change does
    /// not outlive it. `None`: no check (a session started without a password).
    pub password_hash: Option<String>,
}

/// A refresh that used a session: what the store updates on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStep {
    /// The session.
    pub session_id: String,
    /// The refresh's time: the session's `last_used_at`, and the parent's `rotated_at` in a
    /// rotation.
    pub at: i64,
    /// The `exp` of the session's newest refresh token after this refresh.
    pub expires_at: i64,
    /// The access token the refresh handed out, kept with the session (see
    /// [`NewSession::access`]).
    pub access: AccessRecord,
}

/// What the store knows of a presented refresh token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenState {
    /// Whether it is blacklisted.
    pub blacklisted: bool,
    /// When it was rotated (its successor issued), if it was.
    pub rotated_at: Option<i64>,
    /// Its session, when it belongs to one.
    pub session: Option<Session>,
}
