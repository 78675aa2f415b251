-- Per factor: whether it is the user's preferred one (asked for first at sign-in), the
-- device clock's learnt offset in time steps (RFC 6238 §6), and a regenerated secret
-- waiting for a code from it (the current secret keeps working until then; sealed under
-- the same key ring, with the factor's id as associated data).
ALTER TABLE factors ADD COLUMN preferred BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE factors ADD COLUMN drift_steps BIGINT NOT NULL DEFAULT 0;
ALTER TABLE factors ADD COLUMN next_secret_key_id TEXT REFERENCES secret_keys (id);
ALTER TABLE factors ADD COLUMN next_secret_sealed BYTEA;

-- An organisation's MFA options besides the requirement itself.
CREATE TABLE org_settings (
    org_id              TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    -- Users may see an active authenticator's QR code again (guarded, audited, mailed).
    allow_qr_redisplay  BOOLEAN NOT NULL,
    updated_at          BIGINT NOT NULL,
    updated_by          TEXT
);
