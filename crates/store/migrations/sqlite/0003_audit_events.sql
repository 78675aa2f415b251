-- The audit log: every security event of an organisation, kept after the users it names
-- are gone (no foreign keys to users). Ids are time-ordered (UUIDv7).

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    event       TEXT NOT NULL,
    -- Who did it (NULL when nobody was signed in, as in a failed sign-in) and whom it
    -- concerns.
    actor_id    TEXT,
    subject_id  TEXT,
    ip          TEXT,
    user_agent  TEXT,
    -- A JSON object.
    details     TEXT NOT NULL
);
-- Newest first, page by page.
CREATE INDEX audit_events_org_idx ON audit_events (org_id, at, id);
