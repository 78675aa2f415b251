-- What an attacker and a new user found (issue 13).

-- Clock-drift resynchronisation (RFC 6238 §6, as privacyIDEA's resync): a code refused at
-- sign-in that matches a step further out is remembered here, never confirmed to the
-- caller; only a second code, from the next step at the same offset, proves the drift.
ALTER TABLE factors ADD COLUMN resync_step INTEGER;
ALTER TABLE factors ADD COLUMN resync_at INTEGER;

-- A code mailed to the registered address before the first authenticator app can be
-- added (seed 000, step 2); an organisation may turn it off.
ALTER TABLE org_settings ADD COLUMN confirm_first_app_by_email BOOLEAN NOT NULL DEFAULT TRUE;

-- The per-account password throttle: consecutive wrong passwords for an organisation and
-- username as typed (whether or not such a user exists, so the throttle tells nothing
-- about who does), and until when a further guess waits. The address a user last gave
-- the right password from passes the wait, so the throttle slows a guesser without
-- locking the user out.
CREATE TABLE password_failures (
    org_slug         TEXT NOT NULL,
    username         TEXT NOT NULL,
    failures         INTEGER NOT NULL,
    throttled_until  INTEGER,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (org_slug, username)
);
ALTER TABLE users ADD COLUMN last_login_ip TEXT;

-- An organisation that imported slower password hashes than ours checks an unknown
-- username against a dummy hash of the slowest kind it still holds, so a miss costs what
-- a wrong password does.
ALTER TABLE orgs ADD COLUMN miss_hash TEXT;
