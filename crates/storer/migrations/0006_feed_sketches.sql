-- Each feed's shingle counts (newswire_core::frequency): a count-min sketch
-- per feed that discounts what the outlet repeats in every item, written
-- in the transaction of the feed's batch. Instances poll their own feeds,
-- so each feed's row has one writer.
CREATE TABLE IF NOT EXISTS feed_sketches (
    feed    TEXT PRIMARY KEY,
    sketch  BYTEA NOT NULL
);
