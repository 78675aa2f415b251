-- A sign-in writes a session row and an entry in each of the table's indexes: the index
-- on factor_id served only the removal of a factor, which now finds the sessions through
-- their user's index instead.
DROP INDEX sessions_factor_idx;
