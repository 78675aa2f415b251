-- Recovery codes: ten per user, each stored only as an Argon2id hash (PHC string), used
-- at most once (`used_at` is set by a conditional UPDATE). Generating a new set deletes
-- the old one.

CREATE TABLE recovery_codes (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);
