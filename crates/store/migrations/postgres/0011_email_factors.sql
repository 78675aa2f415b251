-- Email as a second factor: a factor of kind 'email' has no secret (its codes are mailed,
-- one at a time, and kept in confirmation_codes as salted hashes) but the address it was
-- verified for, which its codes go to. At most one per user. For an email factor,
-- `digits` and `period` hold its codes' length and lifetime in seconds.
ALTER TABLE factors DROP CONSTRAINT factors_kind_check;
ALTER TABLE factors ADD CONSTRAINT factors_kind_check CHECK (kind IN ('totp', 'email'));
ALTER TABLE factors ALTER COLUMN secret_key_id DROP NOT NULL;
ALTER TABLE factors ALTER COLUMN secret_sealed DROP NOT NULL;
ALTER TABLE factors ALTER COLUMN algorithm DROP NOT NULL;
ALTER TABLE factors ADD COLUMN address TEXT;
ALTER TABLE factors ADD CONSTRAINT factors_shape_check CHECK (
    (kind = 'totp' AND secret_key_id IS NOT NULL AND secret_sealed IS NOT NULL
        AND algorithm IS NOT NULL AND address IS NULL)
    OR (kind = 'email' AND secret_key_id IS NULL AND secret_sealed IS NULL
        AND next_secret_sealed IS NULL AND address IS NOT NULL)
);
CREATE UNIQUE INDEX factors_one_email_key ON factors (user_id) WHERE kind = 'email';

-- A mailed code is for one thing: the sign-in flow, the session or the pending factor
-- whose id it holds here (NULL: the user's, as when turning the MFA requirement off). A
-- code bound to another is refused without spending its attempts.
ALTER TABLE confirmation_codes ADD COLUMN bound_to TEXT;
