-- Codes mailed to confirm an action (turning the MFA requirement off): at most one per
-- user and purpose, so a new request replaces the previous code. Only a salted hash of
-- the code is kept.

CREATE TABLE confirmation_codes (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL,
    salt            BLOB NOT NULL,
    code_hash       BLOB NOT NULL,
    expires_at      INTEGER NOT NULL,
    attempts_left   INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, purpose)
);
