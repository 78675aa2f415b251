-- Sign-in flows are found and ended by their token's hash: make it the primary key (the
-- SQLite twin makes the table WITHOUT ROWID for the same reason).

ALTER TABLE login_flows DROP CONSTRAINT login_flows_pkey;
ALTER TABLE login_flows DROP CONSTRAINT login_flows_token_key;
ALTER TABLE login_flows ADD CONSTRAINT login_flows_pkey PRIMARY KEY (token_hash);
