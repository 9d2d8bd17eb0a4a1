-- One row per feed leased to an instance. A lease is free when its row is
-- missing or expired; times come from the database's clock only, so the
-- instances' clocks never need to agree.
CREATE TABLE IF NOT EXISTS feed_leases (
    feed        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_leases_holder ON feed_leases (holder);
