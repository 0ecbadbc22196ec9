-- Managed signing keys (`key_management = "managed"`): opaque rows, the material a PEM key or
-- HMAC secret, sealed when `encrypted`, shared by every instance on this database. The partial
-- unique index lets at most one key be active, whatever writes the table.
CREATE TABLE signing_keys (
    kid          TEXT    PRIMARY KEY,
    algorithm    TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    material     BYTEA   NOT NULL,
    encrypted    BOOLEAN NOT NULL,
    created_at   BIGINT  NOT NULL,
    activated_at BIGINT,
    retired_at   BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';
