-- Sign-in flows are found and ended by their token's hash: make it the key of a
-- WITHOUT ROWID table, so ending a flow changes one B-tree page instead of three (the
-- table, its id index and its token index). Flows in progress are kept.

CREATE TABLE login_flows_by_token (
    token_hash  BLOB PRIMARY KEY,
    id          TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO login_flows_by_token (token_hash, id, user_id, created_at, expires_at)
    SELECT token_hash, id, user_id, created_at, expires_at FROM login_flows;
DROP TABLE login_flows;
ALTER TABLE login_flows_by_token RENAME TO login_flows;
