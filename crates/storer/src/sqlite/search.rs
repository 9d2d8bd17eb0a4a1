//! The full-text index and the kept versions of records (see
//! [`crate::read`]), both kept by triggers on `records`, so they change in
//! the transaction that writes the record: a crash never leaves a record
//! without its index entry, or an entry without its record.
//!
//! `records_fts` is an FTS5 table with external content: it holds the index
//! only, and reads the text from `records` by row id. The tokenizer is
//! `unicode61` with `remove_diacritics 2`: Unicode-aware word breaking,
//! case folding and accent folding in every script (2 also folds the
//! accents 1 missed, on letters with more than one). The archive holds many
//! languages, so no stemmer (Porter is English only and would mangle the
//! rest) and no language-specific tokenizer; a word matches whole words,
//! whatever its accents and case.
//!
//! `records` has no INTEGER PRIMARY KEY, so its row ids are SQLite's own:
//! stable through every write newswire makes, but a `VACUUM` may renumber
//! them. After one, rebuild the index ([`SqliteStore::rebuild_search`],
//! `newswire reindex`).
//!
//! `record_versions` keeps what a record was before its content hash
//! changed (the upsert's update path fires the trigger).

use rusqlite::{Connection, OptionalExtension};

use super::store::SqliteStore;
use super::{db_err, lock};
use newswire_core::sink::StoreError;

/// The index, the versions table and their triggers. Idempotent.
const SEARCH_SCHEMA: &str = r#"
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(
    title, summary, body,
    content = 'records', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS records_fts_insert AFTER INSERT ON records BEGIN
    INSERT INTO records_fts (rowid, title, summary, body) VALUES (new.rowid, new.title, new.summary, new.body);
END;
CREATE TRIGGER IF NOT EXISTS records_fts_delete AFTER DELETE ON records BEGIN
    INSERT INTO records_fts (records_fts, rowid, title, summary, body)
        VALUES ('delete', old.rowid, old.title, old.summary, old.body);
END;
CREATE TRIGGER IF NOT EXISTS records_fts_update AFTER UPDATE OF title, summary, body ON records
WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary OR old.body IS NOT new.body BEGIN
    INSERT INTO records_fts (records_fts, rowid, title, summary, body)
        VALUES ('delete', old.rowid, old.title, old.summary, old.body);
    INSERT INTO records_fts (rowid, title, summary, body) VALUES (new.rowid, new.title, new.summary, new.body);
END;

CREATE TABLE IF NOT EXISTS record_versions (
    id            TEXT NOT NULL,
    version       INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    title         TEXT,
    summary       TEXT,
    body          TEXT NOT NULL,
    fetched_at    TEXT NOT NULL,
    PRIMARY KEY (id, version)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS records_keep_version BEFORE UPDATE OF content_hash ON records
WHEN old.content_hash <> new.content_hash BEGIN
    INSERT OR REPLACE INTO record_versions (id, version, content_hash, title, summary, body, fetched_at)
        VALUES (old.id, old.version, old.content_hash, old.title, old.summary, old.body, old.fetched_at);
END;

CREATE TRIGGER IF NOT EXISTS records_drop_versions AFTER DELETE ON records BEGIN
    DELETE FROM record_versions WHERE id = old.id;
END;

CREATE INDEX IF NOT EXISTS records_fetched_id ON records (fetched_at, id);
CREATE INDEX IF NOT EXISTS records_cluster_fetched ON records (cluster, fetched_at) WHERE cluster IS NOT NULL;
-- Copies in the order they came: the most recently copied stories.
CREATE INDEX IF NOT EXISTS records_copies_fetched ON records (fetched_at, cluster) WHERE cluster IS NOT NULL;
"#;

/// Create the index and the versions table; a database made before them
/// gets its index built from the records it holds, in the same transaction.
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let had: Option<String> =
        tx.query_row("SELECT name FROM sqlite_master WHERE name = 'records_fts'", [], |row| row.get(0)).optional()?;
    tx.execute_batch(SEARCH_SCHEMA)?;
    if had.is_none() {
        let records: i64 = tx.query_row("SELECT COUNT(*) FROM records", [], |row| row.get(0))?;
        if records > 0 {
            tracing::info!(records, "building the full-text index of an existing database");
            tx.execute_batch("INSERT INTO records_fts (records_fts) VALUES ('rebuild');")?;
        }
    }
    tx.commit()
}

impl SqliteStore {
    /// Build the full-text index again from the records (after a `VACUUM`,
    /// or to repair it). One transaction: the old index serves readers until
    /// it commits. Returns the records indexed.
    pub fn rebuild_search(&self) -> Result<u64, StoreError> {
        let mut conn = lock(&self.inner.writer);
        let tx = conn.transaction().map_err(|e| db_err("cannot begin transaction", e))?;
        tx.execute_batch("INSERT INTO records_fts (records_fts) VALUES ('rebuild');")
            .map_err(|e| db_err("cannot rebuild the full-text index", e))?;
        let n: i64 = tx
            .query_row("SELECT COUNT(*) FROM records", [], |row| row.get(0))
            .map_err(|e| db_err("cannot count records", e))?;
        tx.commit().map_err(|e| db_err("cannot commit the rebuilt index", e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Check the full-text index against the records (FTS5's
    /// `integrity-check`): an error names the mismatch.
    pub fn check_search(&self) -> Result<(), StoreError> {
        let conn = lock(&self.inner.reader);
        conn.execute_batch("INSERT INTO records_fts (records_fts, rank) VALUES ('integrity-check', 1);")
            .map_err(|e| db_err("the full-text index does not match the records", e))
    }
}

/// The FTS5 query for the words of a user's query: each word a quoted
/// string (inner quotes doubled), all of them required. No user input is
/// FTS5 syntax.
pub(super) fn match_expression(words: &[&str]) -> String {
    let mut out = String::new();
    for word in words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('"');
        out.push_str(&word.replace('"', "\"\""));
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::super::lock;
    use super::super::store::SqliteStore;
    use super::super::tests::record;
    use super::*;

    fn hits(store: &SqliteStore, words: &[&str]) -> Vec<String> {
        let conn = lock(&store.inner.reader);
        let mut stmt = conn
            .prepare(
                "SELECT r.id FROM records r WHERE r.rowid IN
                 (SELECT rowid FROM records_fts WHERE records_fts MATCH ?1) ORDER BY r.id",
            )
            .expect("prepare");
        stmt.query_map([match_expression(words)], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect()
    }

    #[test]
    fn the_index_follows_writes_and_folds_case_and_accents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("s.db")).expect("opens");
        let a = record("a", "Le Résumé du Conseil");
        let b = record("b", "Nothing here");
        store.write_blocking(&[a, b], None).expect("write");
        assert_eq!(hits(&store, &["resume"]), ["a"]);
        assert_eq!(hits(&store, &["CONSEIL", "du"]), ["a"]);
        assert!(hits(&store, &["resume", "nothing"]).is_empty(), "every word must match");
        assert!(hits(&store, &["\"", "OR", "*"]).is_empty(), "syntax is plain text");
        // A new version replaces the old words and keeps the old text.
        store.write_blocking(&[record("a", "Un autre texte")], None).expect("update");
        assert!(hits(&store, &["resume"]).is_empty());
        assert_eq!(hits(&store, &["autre"]), ["a"]);
        let kept: (i64, String) = lock(&store.inner.reader)
            .query_row("SELECT version, body FROM record_versions WHERE id = 'a'", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("kept version");
        assert_eq!(kept, (1, "Le Résumé du Conseil".to_string()));
        store.check_search().expect("consistent");
        assert_eq!(store.rebuild_search().expect("rebuild"), 2);
        assert_eq!(hits(&store, &["autre"]), ["a"]);
    }

    #[test]
    fn an_existing_database_gets_its_index_built_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let store = SqliteStore::open(&path).expect("opens");
        store.write_blocking(&[record("a", "ancient words")], None).expect("write");
        drop(store);
        Connection::open(&path)
            .expect("open")
            .execute_batch(
                "DROP TRIGGER records_fts_insert; DROP TRIGGER records_fts_delete; DROP TRIGGER records_fts_update;
                 DROP TABLE records_fts;",
            )
            .expect("as an earlier version left it");
        let store = SqliteStore::open(&path).expect("opens and migrates");
        assert_eq!(hits(&store, &["ancient"]), ["a"]);
        store.check_search().expect("consistent");
    }
}
