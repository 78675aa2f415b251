-- "Remember this device": a device token lets its user skip the second step for a while.
-- Stored as a hash; revoked by the user, an MFA reset, a factor removal, or the
-- organisation turning the option off.
CREATE TABLE remembered_devices (
    id            TEXT PRIMARY KEY,
    token_hash    BYTEA NOT NULL CONSTRAINT remembered_devices_token_key UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX remembered_devices_user_idx ON remembered_devices (user_id);

ALTER TABLE org_settings ADD COLUMN remember_devices BOOLEAN NOT NULL DEFAULT TRUE;
