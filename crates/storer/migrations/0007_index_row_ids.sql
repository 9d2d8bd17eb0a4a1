-- The near-duplicate index names records by an integer row id in its key
-- table (docs/clusters.md), as the SQLite store does: a key entry is three
-- 8-byte integers instead of two and a 32-character text id, so `lsh` and
-- its primary key are about half the size, and a lookup's range scans and
-- the buffer cache hold twice the entries per page. Existing entries are
-- kept: each fingerprint gets its row id, and the keys are copied in key
-- order.
ALTER TABLE fingerprints ADD COLUMN rid BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX fingerprints_rid ON fingerprints (rid);

CREATE TABLE lsh_rid (
    key  BIGINT NOT NULL,
    at   TIMESTAMPTZ NOT NULL,
    rid  BIGINT NOT NULL,
    PRIMARY KEY (key, at, rid)
);
INSERT INTO lsh_rid (key, at, rid)
    SELECT l.key, l.at, f.rid FROM lsh l JOIN fingerprints f ON f.id = l.id ORDER BY 1, 2, 3;
DROP TABLE lsh;
ALTER TABLE lsh_rid RENAME TO lsh;
ALTER INDEX lsh_rid_pkey RENAME TO lsh_pkey;
-- Lookups read (key, at, rid) from the primary key alone when the heap
-- pages are marked all-visible, which only VACUUM does; an insert-only
-- table is vacuumed after 20% new rows by default, so most of a growing
-- index was never marked and every entry found cost a heap page. Vacuum it
-- after 1% instead.
ALTER TABLE lsh SET (autovacuum_vacuum_insert_scale_factor = 0.01);
