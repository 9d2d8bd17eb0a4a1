-- Syndicated copies (docs/clusters.md): each record's story and similarity,
-- and the near-duplicate index shared by every instance using this schema:
-- one fingerprint per record, and an inverted index from its keys to it,
-- keyed (key, at, id) so a lookup reads the newest entries of a key within
-- the window by a range scan and an entry is removed by primary key.
ALTER TABLE records ADD COLUMN IF NOT EXISTS cluster TEXT;
ALTER TABLE records ADD COLUMN IF NOT EXISTS similarity DOUBLE PRECISION;

CREATE TABLE IF NOT EXISTS fingerprints (
    id       TEXT PRIMARY KEY,
    sig      BYTEA NOT NULL,
    cluster  TEXT,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS fingerprints_at ON fingerprints (at);

CREATE TABLE IF NOT EXISTS lsh (
    key  BIGINT NOT NULL,
    at   TIMESTAMPTZ NOT NULL,
    id   TEXT NOT NULL,
    PRIMARY KEY (key, at, id)
);
