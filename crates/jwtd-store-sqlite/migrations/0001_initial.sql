-- Users, issued refresh/sliding tokens (never the token itself) and the blacklist.
-- AUTOINCREMENT: a deleted user's id is never handed to a new user, so an old token can never
-- authenticate as somebody else.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_active     INTEGER NOT NULL DEFAULT 1,
    date_joined   INTEGER NOT NULL,
    last_login    INTEGER
);

CREATE TABLE issued_tokens (
    jti        TEXT    PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX issued_tokens_expires_at ON issued_tokens (expires_at);

CREATE TABLE blacklisted_tokens (
    jti            TEXT    PRIMARY KEY REFERENCES issued_tokens (jti) ON DELETE CASCADE,
    blacklisted_at INTEGER NOT NULL
);
