//! The command line, exactly as scripts call it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// jwtd: a simplejwt-compatible JWT authentication server.
#[derive(Debug, Parser)]
#[command(name = "jwtd", version, about)]
pub struct Cli {
    /// TOML configuration file (settings there are overridden by JWTD_* variables).
    #[arg(long, global = true, env = "JWTD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Generate key material.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Issue, inspect and check tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// List and end users' sessions (logins and the refresh tokens rotated from them).
    #[command(subcommand)]
    Session(SessionCommand),
    /// Remove expired issued and blacklisted token rows.
    FlushExpired,
    /// Copy a Django project's users (ids, hashes, is_active, dates), outstanding and
    /// blacklisted tokens into jwtd's own, empty store: how a project leaves Django. Each user's
    /// Django hash is moved to argon2id at their first login through jwtd.
    ImportDjango {
        /// The Django database: `sqlite://PATH/db.sqlite3` or `postgres://...`. Read only.
        #[arg(
            long = "from",
            env = "JWTD_IMPORT_FROM",
            hide_env_values = true,
            value_name = "URL"
        )]
        from: String,
        /// The user table, a custom `AUTH_USER_MODEL`'s (default: `django_user_table`, or
        /// `auth_user`).
        #[arg(long, value_name = "TABLE")]
        user_table: Option<String>,
        /// The column that becomes the jwtd username: Django's `USERNAME_FIELD` (default
        /// `username`).
        #[arg(long, value_name = "COLUMN")]
        username_field: Option<String>,
    },
    /// Copy users (ids kept), issued tokens and the blacklist into another, empty database:
    /// how an SQLite installation moves to PostgreSQL. Stop the servers first.
    CopyStore {
        /// The target: `postgres://...` or `sqlite://PATH`. It is migrated first and must hold
        /// no users and no tokens. Prefer the variable to keep a password out of `ps`.
        #[arg(long, env = "JWTD_COPY_TO", hide_env_values = true, value_name = "URL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// A user's live sessions, newest first.
    List {
        /// Whose sessions.
        username: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// End one session: its refresh tokens are blacklisted and its access tokens refused.
    Revoke {
        /// The session's id (from `jwtd session list`).
        session_id: String,
    },
    /// Log a user out everywhere: every session ends and every access token issued so far is
    /// refused at its next use.
    RevokeAll {
        /// Whose sessions.
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints the new id.
    Create {
        /// Login name (letters, digits and @.+-_, at most 150 characters).
        username: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Create the user deactivated.
        #[arg(long)]
        inactive: bool,
        /// The user's email, unique (with `username_field = "email"` they log in by it).
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
    },
    /// Replace a user's password.
    SetPassword {
        /// Login name.
        username: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Allow a user to log in again.
    Activate {
        /// Login name.
        username: String,
    },
    /// Stop a user from logging in or using tokens.
    Deactivate {
        /// Login name.
        username: String,
    },
    /// Delete a user.
    Delete {
        /// Login name.
        username: String,
    },
    /// List users.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one user.
    Show {
        /// Login name.
        username: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an HMAC secret or a PEM private key.
    Generate {
        /// HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512,
        /// ES256K or EdDSA.
        #[arg(long)]
        algorithm: String,
        /// Write to this file (mode 0600, never overwritten) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the key set: kid, algorithm, state, created, activated, retired, expires.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Managed keys: the next key becomes active (or a new active key of ALGORITHM), the active
    /// key is retired, a new next key is made, expired keys are removed.
    Rotate {
        /// Activate a key of this algorithm (an HS256 -> ES256 move, say).
        #[arg(long)]
        algorithm: Option<String>,
        /// Activate a key published less than jwks_max_age ago (or none): verifiers that cached
        /// the key set before it may refuse its first tokens until they refetch.
        #[arg(long)]
        force: bool,
    },
    /// Managed keys: add an existing private key (PEM file or private JWK) as next or retired.
    Add {
        /// A PEM private key or HMAC secret file.
        #[arg(long, value_name = "FILE", conflicts_with = "jwk")]
        file: Option<PathBuf>,
        /// A private JWK file.
        #[arg(long, value_name = "FILE")]
        jwk: Option<PathBuf>,
        /// The key's algorithm (default: `algorithm`, or the JWK's `alg`).
        #[arg(long)]
        algorithm: Option<String>,
        /// `next` or `retired`.
        #[arg(long, default_value = "next")]
        state: String,
    },
    /// Managed keys: retire a next key (it stops being a candidate; it still verifies).
    Retire {
        /// The key id (a thumbprint may start with `-`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Managed keys: remove a key; refused while it still verifies tokens it signed.
    Remove {
        /// The key id (a thumbprint may start with `-`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
        /// Remove it even inside its window: its tokens are refused from now on.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a refresh/access pair for a user, as JSON.
    Issue {
        /// Login name.
        username: String,
    },
    /// Show a token's header and claims WITHOUT verifying it.
    Decode {
        /// The token.
        token: String,
    },
    /// Verify a token as /api/token/verify/ does: exit 0 if valid, 1 with the reason if not.
    Verify {
        /// The token.
        token: String,
    },
}
