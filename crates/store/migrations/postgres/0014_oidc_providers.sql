-- Federated sign-in (issue 19): an organisation's OpenID Connect providers.

CREATE TABLE oidc_providers (
    org_id                  TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- The provider's name in the organisation (in URLs: /auth/oidc/{org}/{name}/start).
    name                    TEXT NOT NULL,
    issuer                  TEXT NOT NULL,
    client_id               TEXT NOT NULL,
    -- The client secret, sealed (AEAD) under the server's key like TOTP secrets: a copy
    -- of the database does not hold it.
    secret_key_id           TEXT NOT NULL REFERENCES secret_keys (id),
    client_secret_sealed    BYTEA NOT NULL,
    -- Space-separated: the scopes asked for besides `openid`; the email domains allowed
    -- (empty: any).
    scopes                  TEXT NOT NULL,
    allowed_email_domains   TEXT NOT NULL,
    -- The ID token claim that names the user here.
    username_claim          TEXT NOT NULL,
    -- Unknown users are created at their first sign-in (just in time).
    create_users            BOOLEAN NOT NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    updated_by              TEXT,
    PRIMARY KEY (org_id, name)
);
