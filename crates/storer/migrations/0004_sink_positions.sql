-- Where each append-only sink (a daemon's JSONL log) stood at its last
-- committed checkpoint; the key names the host and directory, so daemons
-- sharing this database keep their own.
CREATE TABLE IF NOT EXISTS sink_positions (
    sink      TEXT PRIMARY KEY,
    position  TEXT NOT NULL
);
