-- Users, issued refresh/sliding tokens (never the token itself) and the blacklist: the same
-- tables as the SQLite store, in PostgreSQL types.
-- An identity column never hands a deleted user's id to a new user (a sequence does not go
-- back), so an old token can never authenticate as somebody else.
CREATE TABLE users (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    date_joined   BIGINT  NOT NULL,
    last_login    BIGINT
);

CREATE TABLE issued_tokens (
    jti        TEXT   PRIMARY KEY,
    user_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX issued_tokens_expires_at ON issued_tokens (expires_at);
-- Deleting a user clears the owner of their tokens; without this index that is a full scan.
CREATE INDEX issued_tokens_user_id ON issued_tokens (user_id);

CREATE TABLE blacklisted_tokens (
    jti            TEXT   PRIMARY KEY REFERENCES issued_tokens (jti) ON DELETE CASCADE,
    blacklisted_at BIGINT NOT NULL
);
