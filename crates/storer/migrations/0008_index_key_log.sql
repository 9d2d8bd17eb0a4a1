-- The keys written to `lsh`, a row per statement, by the transaction that
-- wrote them (docs/clusters.md). Each instance keeps a Bloom filter of the
-- keys in `lsh` and reads a key's entries only when the filter may hold
-- it: most keys of a new record are in no entry, and at 1,000,000 records
-- each such key was an index descent to a page outside the shared buffers.
-- Other instances write `lsh` too, so an instance adds to its filter the
-- keys of every log row committed since it last looked: rows whose
-- transaction id is at or above the oldest transaction still running when
-- it last looked (`pg_snapshot_xmin`), so a transaction that commits late
-- is never skipped. The trigger logs every insert into `lsh`, whichever
-- newswire version or tool made it. Rows are pruned after an hour; an
-- instance that has not looked for longer builds its filter again from
-- `lsh`.
CREATE TABLE lsh_log (
    seq   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid   XID8 NOT NULL DEFAULT pg_current_xact_id(),
    at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    keys  BIGINT[] NOT NULL
);
CREATE INDEX lsh_log_xid ON lsh_log (xid);
CREATE INDEX lsh_log_at ON lsh_log (at);
-- Hashes do not compress: stored out of line without trying.
ALTER TABLE lsh_log ALTER COLUMN keys SET STORAGE EXTERNAL;

CREATE FUNCTION lsh_log_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lsh_log (keys) SELECT array_agg(key) FROM new_keys HAVING count(*) > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER lsh_log_keys AFTER INSERT ON lsh REFERENCING NEW TABLE AS new_keys
    FOR EACH STATEMENT EXECUTE FUNCTION lsh_log_keys();
