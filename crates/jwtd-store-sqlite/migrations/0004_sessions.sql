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
-- No index on expires_at: every refresh moves it, and only the flush (maintenance) reads by it.
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);

-- The access tokens handed out in a session (at login and each refresh), deny-listed when the
-- session ends; the rows go after the tokens' exp.
-- WITHOUT ROWID and no index on expires_at: one row is written per refresh, so each b-tree it
-- touches is a page more in the write-ahead log; the flush scans.
-- The access token handed out with a session's refresh token (at login and at each rotation)
-- sits in that refresh token's row, which the same write creates: no page more per refresh.
ALTER TABLE issued_tokens ADD COLUMN access_jti TEXT;
ALTER TABLE issued_tokens ADD COLUMN access_expires_at INTEGER;

-- Access tokens of refreshes that did not rotate (no new refresh row to carry them), keyed by
-- session: a refresh's row lands beside its session's others, not at a random place.
CREATE TABLE session_access_tokens (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, jti)
) WITHOUT ROWID;

-- Every access token handed out in a session, wherever it is kept.
CREATE VIEW session_access AS
    SELECT session_id, jti, expires_at FROM session_access_tokens
    UNION ALL
    SELECT session_id, access_jti, access_expires_at FROM issued_tokens
    WHERE session_id IS NOT NULL AND access_jti IS NOT NULL;

-- A token's session; and whether a blacklisted token was blacklisted by its rotation (then
-- blacklisted_at is when it was rotated): presenting a rotated token again is reuse.
ALTER TABLE issued_tokens ADD COLUMN session_id TEXT REFERENCES sessions (id) ON DELETE SET NULL;
ALTER TABLE blacklisted_tokens ADD COLUMN rotated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX issued_tokens_session_id ON issued_tokens (session_id);

-- Single revoked access tokens, until their exp (RFC 7009).
CREATE TABLE denied_access_tokens (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX denied_access_tokens_expires_at ON denied_access_tokens (expires_at);
