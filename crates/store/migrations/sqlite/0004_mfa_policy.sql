-- An organisation may require MFA; users without a factor then enrol inside the sign-in,
-- through a flow that can do nothing else.

CREATE TABLE mfa_policies (
    org_id              TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    required            BOOLEAN NOT NULL,
    -- Days after `updated_at` during which users without a factor may still sign in
    -- without one.
    grace_period_days   INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    -- The admin who changed it last (not a foreign key: the policy outlives them).
    updated_by          TEXT
);

-- What a sign-in flow is for: the second step ('mfa') or enrolling a first factor
-- ('enroll'). Each kind of flow is accepted only by its own endpoints.
ALTER TABLE login_flows ADD COLUMN purpose TEXT NOT NULL DEFAULT 'mfa'
    CHECK (purpose IN ('mfa', 'enroll'));
