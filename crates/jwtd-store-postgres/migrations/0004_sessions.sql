-- Sessions (refresh-token families), revocation of access tokens, reuse detection, and the
-- login throttles that several instances share: the same tables as the SQLite store's 0004, in
-- PostgreSQL types, plus login_attempts (SQLite keeps its throttles in memory: one instance per
-- file).
-- Access and sliding tokens issued before tokens_valid_after are refused (logout-all, a
-- password change, a deactivation).
ALTER TABLE users ADD COLUMN tokens_valid_after BIGINT NOT NULL DEFAULT 0;
-- The latest exp of the user's deny-listed access tokens: only a token expiring at or before it
-- can be on the deny-list, so other requests skip that lookup.
ALTER TABLE users ADD COLUMN access_denied_until BIGINT NOT NULL DEFAULT 0;

-- One row per login; its refresh tokens point at it.
CREATE TABLE sessions (
    id           TEXT   PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    ended_at     BIGINT,
    -- Insertion order: the tie-break of "newest first" for logins in one second.
    started      BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- The access tokens handed out in a session (at login and each refresh), deny-listed when the
-- session ends; the rows go after the tokens' exp.
CREATE TABLE session_access_tokens (
    jti        TEXT   PRIMARY KEY,
    session_id TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX session_access_tokens_session_id ON session_access_tokens (session_id);
CREATE INDEX session_access_tokens_expires_at ON session_access_tokens (expires_at);

-- A token's session, and when it was rotated (its successor issued): presenting a rotated
-- token again is reuse. (issued_tokens_user_id exists since 0001.)
ALTER TABLE issued_tokens ADD COLUMN session_id TEXT REFERENCES sessions (id) ON DELETE SET NULL;
ALTER TABLE issued_tokens ADD COLUMN rotated_at BIGINT;
CREATE INDEX issued_tokens_session_id ON issued_tokens (session_id);

-- Single revoked access tokens, until their exp (RFC 7009).
CREATE TABLE denied_access_tokens (
    jti        TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX denied_access_tokens_expires_at ON denied_access_tokens (expires_at);

-- Login attempts per throttle key (a client address or a username) in the current window,
-- counted by every instance on this database.
CREATE TABLE login_attempts (
    key          TEXT   PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts     BIGINT NOT NULL
);
