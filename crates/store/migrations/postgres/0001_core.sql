-- Core schema: organisations, users, second factors, sign-in flows, sessions.
-- Timestamps are Unix milliseconds (UTC) in both engines; tokens are stored as SHA-256.
-- The SQLite twin of this file must stay equivalent.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL CONSTRAINT orgs_slug_key UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    username            TEXT NOT NULL,
    email               TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    federated           BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash       TEXT,
    -- Second-factor lockout: consecutive failures and the end of the current lock.
    mfa_failures        BIGINT NOT NULL DEFAULT 0,
    mfa_locked_until    BIGINT,
    created_at          BIGINT NOT NULL,
    last_login_at       BIGINT,
    CONSTRAINT users_org_username_key UNIQUE (org_id, username)
);

CREATE TABLE secret_keys (
    -- Which encryption keys have sealed secrets in this database, with a known
    -- plaintext sealed under each so a wrong key is caught at start, not at sign-in.
    id          TEXT PRIMARY KEY,
    check_value BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE factors (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('totp')),
    name            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    secret_key_id   TEXT NOT NULL REFERENCES secret_keys (id),
    secret_sealed   BYTEA NOT NULL,
    algorithm       TEXT NOT NULL,
    digits          BIGINT NOT NULL,
    period          BIGINT NOT NULL,
    -- The highest TOTP time step ever accepted: a code for it or any earlier step is
    -- refused (RFC 6238 §5.2). Only ever raised by a conditional UPDATE.
    last_used_step  BIGINT,
    created_at      BIGINT NOT NULL,
    activated_at    BIGINT,
    last_used_at    BIGINT
);
CREATE INDEX factors_user_idx ON factors (user_id);

CREATE TABLE login_flows (
    id          TEXT PRIMARY KEY,
    token_hash  BYTEA NOT NULL CONSTRAINT login_flows_token_key UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    token_hash  BYTEA NOT NULL CONSTRAINT sessions_token_key UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    aal         BIGINT NOT NULL,
    amr         TEXT NOT NULL,
    factor_id   TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
