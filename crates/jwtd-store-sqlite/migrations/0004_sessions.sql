-- Sessions (refresh-token families), revocation of access tokens, reuse detection.
-- Access and sliding tokens issued before tokens_valid_after are refused (logout-all, a
-- password change, a deactivation).
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER NOT NULL DEFAULT 0;
-- The latest exp of the user's deny-listed access tokens: only a token expiring at or before it
-- can be on the deny-list, so other requests skip that lookup.
ALTER TABLE users ADD COLUMN access_denied_until INTEGER NOT NULL DEFAULT 0;

-- One row per login; its refresh tokens point at it.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    ended_at     INTEGER
);
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- The access tokens handed out in a session (at login and each refresh), deny-listed when the
-- session ends; the rows go after the tokens' exp.
CREATE TABLE session_access_tokens (
    jti        TEXT    PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX session_access_tokens_session_id ON session_access_tokens (session_id);
CREATE INDEX session_access_tokens_expires_at ON session_access_tokens (expires_at);

-- A token's session, and when it was rotated (its successor issued): presenting a rotated
-- token again is reuse.
ALTER TABLE issued_tokens ADD COLUMN session_id TEXT REFERENCES sessions (id) ON DELETE SET NULL;
ALTER TABLE issued_tokens ADD COLUMN rotated_at INTEGER;
CREATE INDEX issued_tokens_session_id ON issued_tokens (session_id);
CREATE INDEX issued_tokens_user_id ON issued_tokens (user_id);

-- Single revoked access tokens, until their exp (RFC 7009).
CREATE TABLE denied_access_tokens (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX denied_access_tokens_expires_at ON denied_access_tokens (expires_at);
