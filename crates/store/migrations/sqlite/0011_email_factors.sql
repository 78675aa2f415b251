-- Email as a second factor: a factor of kind 'email' has no secret (its codes are mailed,
-- one at a time, and kept in confirmation_codes as salted hashes) but the address it was
-- verified for, which its codes go to. At most one per user.
-- SQLite cannot change a CHECK constraint or drop NOT NULL in place, so the table is
-- rebuilt (nothing references it). For an email factor, `digits` and `period` hold its
-- codes' length and lifetime in seconds.
CREATE TABLE factors_new (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('totp', 'email')),
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
    CONSTRAINT factors_shape_check CHECK (
        (kind = 'totp' AND secret_key_id IS NOT NULL AND secret_sealed IS NOT NULL
            AND algorithm IS NOT NULL AND address IS NULL)
        OR (kind = 'email' AND secret_key_id IS NULL AND secret_sealed IS NULL
            AND next_secret_sealed IS NULL AND address IS NOT NULL)
    )
);
INSERT INTO factors_new (id, user_id, kind, name, status, secret_key_id, secret_sealed,
    algorithm, digits, period, last_used_step, created_at, activated_at, last_used_at,
    preferred, drift_steps, next_secret_key_id, next_secret_sealed)
SELECT id, user_id, kind, name, status, secret_key_id, secret_sealed, algorithm, digits,
    period, last_used_step, created_at, activated_at, last_used_at, preferred, drift_steps,
    next_secret_key_id, next_secret_sealed
FROM factors;
DROP TABLE factors;
ALTER TABLE factors_new RENAME TO factors;
CREATE INDEX factors_user_idx ON factors (user_id);
CREATE UNIQUE INDEX factors_one_email_key ON factors (user_id) WHERE kind = 'email';

-- A mailed code is for one thing: the sign-in flow, the session or the pending factor
-- whose id it holds here (NULL: the user's, as when turning the MFA requirement off). A
-- code bound to another is refused without spending its attempts.
ALTER TABLE confirmation_codes ADD COLUMN bound_to TEXT;
