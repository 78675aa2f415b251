-- Secret-key rotation (issue 21): keys taken out of service with `twofold secret-key
-- retire`. A retired key's row leaves `secret_keys` (so the foreign keys of the sealed
-- columns refuse any new value sealed under it) and its id is remembered here, so a server
-- still given it as its current key refuses to start instead of registering it again.

CREATE TABLE retired_secret_keys (
    id          TEXT PRIMARY KEY,
    retired_at  BIGINT NOT NULL
);
