-- Step-up: elevated tokens prove that a session's user passed a second factor a moment
-- ago, for named scopes, for 5 minutes; a single-use one is spent by a conditional
-- UPDATE. They die with their session. Applications check them (and sessions) through
-- introspection, with an API key of their organisation. Both are stored as hashes.

CREATE TABLE elevated_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BYTEA NOT NULL CONSTRAINT elevated_tokens_token_key UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- Space-separated.
    scopes      TEXT NOT NULL,
    amr         TEXT NOT NULL,
    single_use  BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX elevated_tokens_session_idx ON elevated_tokens (session_id);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    key_hash      BYTEA NOT NULL CONSTRAINT api_keys_key_key UNIQUE,
    -- The admin who made it (not a foreign key: the key outlives them).
    created_by    TEXT,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id);
