-- Passkeys (WebAuthn) as second factors: a factor of kind 'webauthn' has neither a secret
-- nor an address; its credential (public key, signature counter) is in
-- webauthn_credentials, and the ceremonies under way in webauthn_ceremonies.
ALTER TABLE factors DROP CONSTRAINT factors_kind_check;
ALTER TABLE factors ADD CONSTRAINT factors_kind_check
    CHECK (kind IN ('totp', 'email', 'webauthn'));
ALTER TABLE factors DROP CONSTRAINT factors_shape_check;
ALTER TABLE factors ADD CONSTRAINT factors_shape_check CHECK (
    (kind = 'totp' AND secret_key_id IS NOT NULL AND secret_sealed IS NOT NULL
        AND algorithm IS NOT NULL AND address IS NULL)
    OR (kind = 'email' AND secret_key_id IS NULL AND secret_sealed IS NULL
        AND next_secret_sealed IS NULL AND address IS NOT NULL)
    OR (kind = 'webauthn' AND secret_key_id IS NULL AND secret_sealed IS NULL
        AND next_secret_sealed IS NULL AND address IS NULL)
);

-- A credential belongs to one account: its id is unique across all of them. Deleting the
-- factor (or the user) deletes it.
CREATE TABLE webauthn_credentials (
    factor_id        TEXT PRIMARY KEY REFERENCES factors (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    BYTEA NOT NULL UNIQUE,
    credential       TEXT NOT NULL,
    sign_count       BIGINT NOT NULL,
    authenticator    TEXT NOT NULL,
    backup_eligible  BOOLEAN NOT NULL,
    cloned_at        BIGINT
);
CREATE INDEX webauthn_credentials_user_idx ON webauthn_credentials (user_id);

-- One live ceremony per purpose and session or flow; taken once by its answer.
CREATE TABLE webauthn_ceremonies (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in', 'session')),
    bound_to    TEXT NOT NULL,
    name        TEXT,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX webauthn_ceremonies_bound_key ON webauthn_ceremonies (purpose, bound_to);
CREATE INDEX webauthn_ceremonies_expiry_idx ON webauthn_ceremonies (expires_at);
