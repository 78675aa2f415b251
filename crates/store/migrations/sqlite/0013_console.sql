-- The admin console (issue 16).

-- How many authenticator apps a user of the organisation may have; no value: the
-- server's `max_totp_factors`, which also caps what an organisation may set.
ALTER TABLE org_settings ADD COLUMN max_authenticator_apps INTEGER;

-- The audit log filtered by a user (as the subject of events) reads this index.
CREATE INDEX audit_events_subject_idx ON audit_events (org_id, subject_id, at, id);
