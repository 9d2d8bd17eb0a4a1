//! The tables, and bringing a file made by an earlier version up to date.

use rusqlite::Connection;

use super::index::{FLUSH_ROWS, INDEX_SCHEMA};
use super::runs::{RUNS_FILE_SCHEMA, level_for, runs_schema};
use super::runs_file::{self, MAIN_SCHEMA};

/// Schema, applied at open. Versioned through `PRAGMA user_version`.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS records (
    id            TEXT PRIMARY KEY,
    schema        INTEGER NOT NULL,
    feed          TEXT NOT NULL,
    feed_url      TEXT NOT NULL,
    guid          TEXT,
    url           TEXT,
    title         TEXT,
    authors       TEXT NOT NULL,
    published_at  TEXT,
    updated_at    TEXT,
    fetched_at    TEXT NOT NULL,
    language      TEXT,
    summary       TEXT,
    body          TEXT NOT NULL,
    word_count    INTEGER NOT NULL,
    categories    TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    source        TEXT NOT NULL,
    embeds        TEXT NOT NULL,
    removed       TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
-- A feed's records in fetch order: its page of the read API and console,
-- its counts, and pruning by feed. (Before, (feed, published_at), which
-- nothing asked for.)
CREATE INDEX IF NOT EXISTS records_feed_fetched ON records(feed, fetched_at);
CREATE INDEX IF NOT EXISTS records_content_hash ON records(content_hash);

CREATE TABLE IF NOT EXISTS feed_state (
    feed   TEXT PRIMARY KEY,
    state  TEXT NOT NULL
);

-- Where each append-only sink (JSONL) stood at the last commit.
CREATE TABLE IF NOT EXISTS sink_positions (
    sink      TEXT PRIMARY KEY,
    position  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS item_state (
    id            TEXT PRIMARY KEY,
    feed          TEXT NOT NULL,
    content_hash  TEXT NOT NULL
);

"#;

/// `PRAGMA user_version` of the current schema: 3 keyed `lsh` by text ids,
/// 4 by `fingerprints` row ids, 5 by run (`super::runs`), 6 with the runs
/// in a file of their own (`super::runs_file`).
const SCHEMA_VERSION: i64 = 6;

/// Rewrite an index of the second format (`lsh` keyed (key, at, id) with
/// text ids) into the current one, keeping every entry. One transaction.
const INDEX_FROM_TEXT_IDS: &str = r#"
DROP INDEX IF EXISTS fingerprints_at;
ALTER TABLE fingerprints RENAME TO fingerprints_v3;
ALTER TABLE lsh RENAME TO lsh_v3;
CREATE TABLE fingerprints (
    rid      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    sig      BLOB NOT NULL,
    cluster  TEXT,
    at       INTEGER NOT NULL
);
CREATE INDEX fingerprints_at ON fingerprints(at);
CREATE TABLE lsh (
    key  INTEGER NOT NULL,
    at   INTEGER NOT NULL,
    rid  INTEGER NOT NULL,
    PRIMARY KEY (key, at, rid)
) WITHOUT ROWID;
INSERT INTO fingerprints (id, sig, cluster, at) SELECT id, sig, cluster, at FROM fingerprints_v3 ORDER BY at;
INSERT INTO lsh (key, at, rid) SELECT l.key, l.at, f.rid FROM lsh_v3 l JOIN fingerprints f ON f.id = l.id;
DROP TABLE lsh_v3;
DROP TABLE fingerprints_v3;
"#;

/// Columns added after the first schema: (column, definition).
const ADDED_RECORD_COLUMNS: &[(&str, &str)] = &[("cluster", "TEXT"), ("similarity", "REAL")];

/// Bring a database made by an earlier version up to date: add the record
/// columns it lacks, replace a near-duplicate index of the first format
/// (MinHash bands keyed (key, id), whose entries could only be removed by a
/// scan), rewrite one of the second (text ids in `lsh`) with row ids, and
/// move the runs of one of the fifth into the runs file. Idempotent. `conn`
/// has the runs file attached (`runs`); names are qualified, as an
/// unqualified `lsh` would be the runs file's once the store's has none.
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version < 3 {
        // Its fingerprints are unreadable by this version: records keep their
        // `cluster`, new ones are compared with the records indexed from now.
        conn.execute_batch("DROP TABLE IF EXISTS main.lsh; DROP TABLE IF EXISTS main.fingerprints;")?;
    } else if version == 3 {
        // Same fingerprints, other key table: converted, nothing lost.
        let tx = conn.transaction()?;
        tx.execute_batch(INDEX_FROM_TEXT_IDS)?;
        tx.execute_batch("PRAGMA user_version = 4;")?;
        tx.commit()?;
    }
    if columns(conn, "lsh")?.iter().any(|c| c == "key") && !columns(conn, "lsh")?.iter().any(|c| c == "run") {
        into_runs(conn)?;
    }
    conn.execute_batch(INDEX_SCHEMA)?;
    conn.execute_batch(MAIN_SCHEMA)?;
    if !columns(conn, "lsh_runs")?.is_empty() {
        // Format 5: the runs in the store's file. Copied (1.2 GB at
        // 1,000,000 records: once, at the first open of this version).
        tracing::info!("moving the near-duplicate index's runs to a file of their own; once");
        runs_file::move_from_main(conn)?;
    }
    conn.execute_batch(&runs_schema("runs"))?;
    conn.execute_batch(RUNS_FILE_SCHEMA)?;
    conn.execute_batch("DROP INDEX IF EXISTS records_feed_published;")?;
    let have = columns(conn, "records")?;
    for (column, definition) in ADDED_RECORD_COLUMNS {
        if !have.iter().any(|c| c == column) {
            conn.execute_batch(&format!("ALTER TABLE records ADD COLUMN {column} {definition};"))?;
        }
    }
    conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
}

/// The columns of `table` in the store's file (none when it does not exist).
fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1, 'main')")?;
    let rows = stmt.query_map([table], |row| row.get::<_, String>(0))?;
    rows.collect()
}

/// Turn a single key table (format 4: `lsh` keyed (key, at, rid)) into the
/// first run of the current layout, keeping every entry, in one
/// transaction: its rows are copied in key order (appended, page after
/// page), and the run gets the level a run of its size would have.
fn into_runs(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch("ALTER TABLE main.lsh RENAME TO lsh_v4;")?;
    tx.execute_batch(&runs_schema("main"))?;
    tx.execute_batch(
        "INSERT INTO main.lsh (run, key, at, rid) SELECT 1, key, at, rid FROM main.lsh_v4 ORDER BY key, at, rid;
         DROP TABLE main.lsh_v4;",
    )?;
    let entries: i64 = tx.query_row("SELECT COUNT(*) FROM main.lsh", [], |r| r.get(0))?;
    if entries > 0 {
        // The rows above the watermark have their keys held, not in lsh.
        let keyed: i64 = if columns(&tx, "index_keyed")?.is_empty() {
            tx.query_row("SELECT coalesce(max(rid), 0) FROM fingerprints", [], |r| r.get(0))?
        } else {
            tx.query_row("SELECT keyed FROM index_keyed", [], |r| r.get(0))?
        };
        let records: i64 = tx.query_row("SELECT COUNT(*) FROM fingerprints WHERE rid <= ?1", [keyed], |r| r.get(0))?;
        let level = level_for(records, i64::try_from(FLUSH_ROWS).unwrap_or(i64::MAX));
        tx.execute(
            "INSERT INTO main.lsh_runs (run, level, first, last, entries) VALUES (1, ?1, 0, ?2, ?3)",
            rusqlite::params![level, keyed, entries],
        )?;
    }
    // Format 5; `migrate` moves the runs to their file next.
    tx.execute_batch("PRAGMA user_version = 5;")?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use newswire_core::fingerprint::Fingerprint;
    use newswire_core::sink::StateStore;
    use newswire_core::state::Indexed;
    use rusqlite::{Connection, params};

    use super::super::lock;
    use super::super::store::SqliteStore;
    use super::super::tests::checkpoint;

    #[test]
    fn an_index_of_the_first_format_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        Connection::open(&path)
            .expect("open")
            .execute_batch(
                "CREATE TABLE fingerprints (id TEXT PRIMARY KEY, sig BLOB NOT NULL, cluster TEXT, at INTEGER NOT NULL);
                 CREATE TABLE lsh (key INTEGER NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL,
                     PRIMARY KEY (key, id)) WITHOUT ROWID;
                 INSERT INTO fingerprints VALUES ('a', x'00', NULL, 0);
                 INSERT INTO lsh VALUES (1, 'a', 0);
                 PRAGMA user_version = 2;",
            )
            .expect("an index of the first format");
        let store = SqliteStore::open(&path).expect("opens and migrates");
        assert_eq!(store.index_size().expect("size"), (0, 0), "unreadable entries are gone");
        let columns: Vec<String> = {
            let conn = lock(&store.inner.reader);
            let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('lsh') ORDER BY pk").expect("prepare");
            stmt.query_map([], |r| r.get(0)).expect("query").map(|c| c.expect("column")).collect()
        };
        assert_eq!(columns, ["run", "key", "at", "rid"]);
        drop(store);
        // Opening again keeps what the new index holds.
        let store = SqliteStore::open(&path).expect("opens again");
        let entry = Indexed {
            id: "b".into(),
            fingerprint: Fingerprint::of("one two three four five six seven eight nine ten eleven twelve")
                .expect("fingerprint"),
            cluster: None,
            at: Utc::now(),
        };
        let mut cp = checkpoint(&[]);
        cp.fingerprints = vec![entry];
        store.write_blocking(&[], Some(&cp)).expect("index");
        drop(store);
        let store = SqliteStore::open(&path).expect("opens a third time");
        assert_eq!(store.index_size().expect("size").0, 1);
    }

    #[tokio::test]
    async fn an_index_of_the_second_format_is_converted_to_row_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v3.db");
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";
        let fp = Fingerprint::of(text).expect("fingerprint");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE fingerprints (id TEXT PRIMARY KEY, sig BLOB NOT NULL, cluster TEXT, at INTEGER NOT NULL);
                 CREATE INDEX fingerprints_at ON fingerprints(at);
                 CREATE TABLE lsh (key INTEGER NOT NULL, at INTEGER NOT NULL, id TEXT NOT NULL,
                     PRIMARY KEY (key, at, id)) WITHOUT ROWID;
                 PRAGMA user_version = 3;",
            )
            .expect("an index of the second format");
            let at = Utc::now().timestamp();
            conn.execute("INSERT INTO fingerprints VALUES ('a', ?1, 'story', ?2)", params![fp.to_bytes(), at])
                .expect("fingerprint");
            for key in fp.keys() {
                conn.execute("INSERT INTO lsh VALUES (?1, ?2, 'a')", params![key, at]).expect("key");
            }
        }
        let store = SqliteStore::open(&path).expect("opens and converts");
        assert_eq!(store.index_size().expect("size"), (1, fp.keys().len() as u64), "every entry kept");
        let found = store
            .find_similar(&[("b".to_string(), fp.clone())], Utc::now() - chrono::Duration::days(1), 0.5)
            .await
            .expect("lookup");
        assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("story"), "found through the converted keys");
        drop(store);
        let store = SqliteStore::open(&path).expect("opens again");
        assert_eq!(store.index_size().expect("size"), (1, fp.keys().len() as u64));
    }

    #[tokio::test]
    async fn an_index_of_the_fifth_format_moves_its_runs_to_their_file_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v5.db");
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";
        let fp = Fingerprint::of(text).expect("fingerprint");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE fingerprints (rid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                     sig BLOB NOT NULL, cluster TEXT, at INTEGER NOT NULL);
                 CREATE TABLE index_keyed (keyed INTEGER NOT NULL);
                 INSERT INTO index_keyed VALUES (1);
                 CREATE TABLE lsh (run INTEGER NOT NULL, key INTEGER NOT NULL, at INTEGER NOT NULL,
                     rid INTEGER NOT NULL, PRIMARY KEY (run, key, at, rid)) WITHOUT ROWID;
                 CREATE TABLE lsh_runs (run INTEGER PRIMARY KEY, level INTEGER NOT NULL, first INTEGER NOT NULL,
                     last INTEGER NOT NULL, entries INTEGER NOT NULL, filter BLOB);
                 PRAGMA user_version = 5;",
            )
            .expect("an index of format 5");
            let at = Utc::now().timestamp();
            conn.execute(
                "INSERT INTO fingerprints (id, sig, cluster, at) VALUES ('a', ?1, 'story', ?2)",
                params![fp.to_bytes(), at],
            )
            .expect("fingerprint");
            for key in fp.keys() {
                conn.execute("INSERT INTO lsh VALUES (1, ?1, ?2, 1)", params![key, at]).expect("key");
            }
            conn.execute("INSERT INTO lsh_runs VALUES (1, 0, 1, 1, ?1, NULL)", [fp.keys().len() as i64]).expect("run");
            // A move cut short by a crash: part of a copy in the runs file,
            // not listed by the store's file.
            conn.execute("ATTACH DATABASE ?1 AS runs", [super::super::runs_file::runs_path(&path).to_string_lossy()])
                .expect("attach");
            conn.execute_batch(&super::super::runs::runs_schema("runs")).expect("runs tables");
            conn.execute("INSERT INTO runs.lsh VALUES (1, ?1, 0, 1)", [fp.keys()[0]]).expect("a copied key");
        }
        let store = SqliteStore::open(&path).expect("opens and moves the runs");
        assert_eq!(store.index_size().expect("size"), (1, fp.keys().len() as u64), "every entry moved, once");
        let found = store
            .find_similar(&[("b".to_string(), fp.clone())], Utc::now() - chrono::Duration::days(1), 0.5)
            .await
            .expect("lookup");
        assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("story"), "found through the moved run");
        drop(store);
        let conn = Connection::open(&path).expect("open");
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('lsh', 'lsh_runs')", [], |r| r.get(0))
            .expect("tables");
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
        assert_eq!((left, version), (0, 6), "the store's file keeps no key table");
        drop(conn);
        let store = SqliteStore::open(&path).expect("opens again");
        assert_eq!(store.index_size().expect("size"), (1, fp.keys().len() as u64));
    }
}
