-- Records, feed state and item state: the same columns as the SQLite store,
-- with JSONB for lists and objects and timestamptz for times.
CREATE TABLE IF NOT EXISTS records (
    id            TEXT PRIMARY KEY,
    schema        INTEGER NOT NULL,
    feed          TEXT NOT NULL,
    feed_url      TEXT NOT NULL,
    guid          TEXT,
    url           TEXT,
    title         TEXT,
    authors       JSONB NOT NULL,
    published_at  TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ,
    fetched_at    TIMESTAMPTZ NOT NULL,
    language      TEXT,
    summary       TEXT,
    body          TEXT NOT NULL,
    word_count    BIGINT NOT NULL,
    categories    JSONB NOT NULL,
    content_hash  TEXT NOT NULL,
    source        TEXT NOT NULL,
    embeds        JSONB NOT NULL,
    removed       JSONB NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS records_feed_published ON records (feed, published_at);
CREATE INDEX IF NOT EXISTS records_content_hash ON records (content_hash);

CREATE TABLE IF NOT EXISTS feed_state (
    feed   TEXT PRIMARY KEY,
    state  JSONB NOT NULL
);

CREATE TABLE IF NOT EXISTS item_state (
    id            TEXT PRIMARY KEY,
    feed          TEXT NOT NULL,
    content_hash  TEXT NOT NULL
);
