-- The read layer (crates/storer/src/read.rs): full-text search over title,
-- summary and body (a generated tsvector, so it changes in the transaction
-- that writes the record), the keyset order (fetched_at, id), the copies of
-- a story by cluster, and the earlier versions of records.
--
-- The 'simple' configuration: case folded, no stemming (the archive holds
-- many languages), accents kept (unaccent is an extension that may not be
-- installed).
ALTER TABLE records ADD COLUMN IF NOT EXISTS search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(summary, '') || ' ' || body)
) STORED;
CREATE INDEX IF NOT EXISTS records_search ON records USING GIN (search);
CREATE INDEX IF NOT EXISTS records_fetched_id ON records (fetched_at, id);
CREATE INDEX IF NOT EXISTS records_cluster_fetched ON records (cluster, fetched_at) WHERE cluster IS NOT NULL;

CREATE TABLE IF NOT EXISTS record_versions (
    id            TEXT NOT NULL,
    version       INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    title         TEXT,
    summary       TEXT,
    body          TEXT NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE OR REPLACE FUNCTION newswire_keep_version() RETURNS trigger AS $$
BEGIN
    IF OLD.content_hash <> NEW.content_hash THEN
        INSERT INTO record_versions (id, version, content_hash, title, summary, body, fetched_at)
            VALUES (OLD.id, OLD.version, OLD.content_hash, OLD.title, OLD.summary, OLD.body, OLD.fetched_at)
            ON CONFLICT (id, version) DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS records_keep_version ON records;
CREATE TRIGGER records_keep_version BEFORE UPDATE OF content_hash ON records
    FOR EACH ROW EXECUTE FUNCTION newswire_keep_version();
