-- Managed signing keys (`key_management = "managed"`): opaque rows, the material a PEM key or
-- HMAC secret, sealed when `encrypted`. The partial unique index lets at most one key be
-- active, whatever writes the file.
CREATE TABLE signing_keys (
    kid          TEXT    NOT NULL PRIMARY KEY,
    algorithm    TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    material     BLOB    NOT NULL,
    encrypted    INTEGER NOT NULL CHECK (encrypted IN (0, 1)),
    created_at   INTEGER NOT NULL,
    activated_at INTEGER,
    retired_at   INTEGER
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';
