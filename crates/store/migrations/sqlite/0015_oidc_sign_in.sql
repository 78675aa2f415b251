-- Federated sign-in (issue 19): the sign-ins under way, the hand-offs to applications,
-- and which provider identity is which user.

-- Linking a provider identity to an existing password user by email (off by default).
ALTER TABLE oidc_providers ADD COLUMN link_by_email INTEGER NOT NULL DEFAULT 0;

-- A federated sign-in (or step-up, or link) under way, from the redirect to the provider
-- until its callback, which deletes it: a state is good for one callback.
CREATE TABLE oidc_logins (
    -- SHA-256 of the `state` sent to the provider (the state itself is not kept).
    state_hash      BLOB PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    org_slug        TEXT NOT NULL,
    provider        TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    pkce_verifier   TEXT NOT NULL,
    -- SHA-256 of what the callback must come with: the browser's binding cookie, or an
    -- application's own PKCE challenge (checked again at the exchange).
    binding_hash    BLOB NOT NULL,
    -- signin | step_up | link
    purpose         TEXT NOT NULL,
    -- step_up and link: the session that started it, and its user.
    session_id      TEXT,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- An application's loopback redirect, its state and PKCE challenge (else NULL: a
    -- browser's sign-in).
    app_redirect    TEXT,
    app_state       TEXT,
    app_challenge   TEXT,
    -- Where the browser goes afterwards (a path of this site).
    return_to       TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);

-- A finished federated sign-in waiting for its application to exchange the one-time code
-- (with the PKCE verifier) for a session: tokens never travel in URLs.
CREATE TABLE oidc_handoffs (
    code_hash       BLOB PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- signin | step_up
    purpose         TEXT NOT NULL,
    session_id      TEXT,
    provider        TEXT NOT NULL,
    amr             TEXT NOT NULL,
    aal             INTEGER NOT NULL,
    app_challenge   TEXT NOT NULL,
    expires_at      INTEGER NOT NULL
);

-- A provider's user (issuer and subject: OpenID Connect's identity) as a user here. Bound
-- at the first sign-in; later sign-ins find the user by it, whatever the claims say.
CREATE TABLE federated_identities (
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    issuer          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The provider's name when bound (shown in the users table).
    provider        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    PRIMARY KEY (org_id, issuer, subject)
);
-- One identity per issuer for a user.
CREATE UNIQUE INDEX federated_identities_user ON federated_identities (user_id, issuer);
