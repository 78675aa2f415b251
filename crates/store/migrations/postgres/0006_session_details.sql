-- Sessions remember when they last passed a second factor (changes to a user's factors
-- need one in the last 10 minutes) and where they were opened (the user's own list).

ALTER TABLE sessions ADD COLUMN mfa_at BIGINT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
UPDATE sessions SET mfa_at = created_at WHERE aal >= 2;
-- Sessions that used a factor are found when it is removed.
CREATE INDEX sessions_factor_idx ON sessions (factor_id) WHERE factor_id IS NOT NULL;
