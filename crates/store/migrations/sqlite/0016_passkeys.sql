-- Passkeys (WebAuthn) as second factors: a factor of kind 'webauthn' has neither a secret
-- nor an address; its credential (public key, signature counter) is in
-- webauthn_credentials, and the ceremonies under way in webauthn_ceremonies.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt (nothing
-- references it yet), with every column added since 0011.
CREATE TABLE factors_new (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('totp', 'email', 'webauthn')),
    name                TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    secret_key_id       TEXT REFERENCES secret_keys (id),
    secret_sealed       BLOB,
    algorithm           TEXT,
    digits              INTEGER NOT NULL,
    period              INTEGER NOT NULL,
    last_used_step      BIGINT,
    created_at          INTEGER NOT NULL,
    activated_at        INTEGER,
    last_used_at        INTEGER,
    preferred           BOOLEAN NOT NULL DEFAULT FALSE,
    drift_steps         INTEGER NOT NULL DEFAULT 0,
    next_secret_key_id  TEXT REFERENCES secret_keys (id),
    next_secret_sealed  BLOB,
    address             TEXT,
    resync_step         INTEGER,
    resync_at           INTEGER,
    CONSTRAINT factors_shape_check CHECK (
        (kind = 'totp' AND secret_key_id IS NOT NULL AND secret_sealed IS NOT NULL
            AND algorithm IS NOT NULL AND address IS NULL)
        OR (kind = 'email' AND secret_key_id IS NULL AND secret_sealed IS NULL
            AND next_secret_sealed IS NULL AND address IS NOT NULL)
        OR (kind = 'webauthn' AND secret_key_id IS NULL AND secret_sealed IS NULL
            AND next_secret_sealed IS NULL AND address IS NULL)
    )
);
INSERT INTO factors_new (id, user_id, kind, name, status, secret_key_id, secret_sealed,
    algorithm, digits, period, last_used_step, created_at, activated_at, last_used_at,
    preferred, drift_steps, next_secret_key_id, next_secret_sealed, address, resync_step,
    resync_at)
SELECT id, user_id, kind, name, status, secret_key_id, secret_sealed, algorithm, digits,
    period, last_used_step, created_at, activated_at, last_used_at, preferred, drift_steps,
    next_secret_key_id, next_secret_sealed, address, resync_step, resync_at
FROM factors;
DROP TABLE factors;
ALTER TABLE factors_new RENAME TO factors;
CREATE INDEX factors_user_idx ON factors (user_id);
CREATE UNIQUE INDEX factors_one_email_key ON factors (user_id) WHERE kind = 'email';

-- A credential belongs to one account: its id is unique across all of them. Deleting the
-- factor (or the user) deletes it.
CREATE TABLE webauthn_credentials (
    factor_id        TEXT PRIMARY KEY REFERENCES factors (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    BLOB NOT NULL UNIQUE,
    credential       TEXT NOT NULL,
    sign_count       INTEGER NOT NULL,
    authenticator    TEXT NOT NULL,
    backup_eligible  BOOLEAN NOT NULL,
    cloned_at        INTEGER
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
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX webauthn_ceremonies_bound_key ON webauthn_ceremonies (purpose, bound_to);
CREATE INDEX webauthn_ceremonies_expiry_idx ON webauthn_ceremonies (expires_at);
