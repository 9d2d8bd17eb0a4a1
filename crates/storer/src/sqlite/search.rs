//! The full-text index's log and the kept versions of records (see
//! [`crate::read`]), both kept by triggers on `records`, so they change in
//! the transaction that writes the record: a crash never loses a change
//! the index must follow.
//!
//! The index itself, `records_fts`, is an FTS5 table in a file of its own
//! beside the store, kept by the indexer ([`super::indexer`]) from the log
//! `search_log`: one row per record inserted, changed or deleted. The
//! tokenizer is `unicode61` with `remove_diacritics 2`: Unicode-aware word
//! breaking, case folding and accent folding in every script (2 also folds
//! the accents 1 missed, on letters with more than one). The archive holds
//! many languages, so no stemmer (Porter is English only and would mangle
//! the rest) and no language-specific tokenizer; a word matches whole
//! words, whatever its accents and case.
//!
//! `records` has no INTEGER PRIMARY KEY, so its row ids are SQLite's own:
//! stable through every write newswire makes, but a `VACUUM` may renumber
//! them. After one, rebuild the index ([`SqliteStore::rebuild_search`],
//! `newswire reindex`).
//!
//! `record_versions` keeps what a record was before its content hash
//! changed (the upsert's update path fires the trigger).

use rusqlite::{Connection, OptionalExtension};

use super::indexer::tokenizer;
use super::lock;
use super::store::SqliteStore;
use newswire_core::sink::StoreError;

/// The log, the versions table and their triggers. Idempotent.
/// AUTOINCREMENT: a trimmed log never hands out a number again.
const SEARCH_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS search_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, rid INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS search_log_insert AFTER INSERT ON records BEGIN
    INSERT INTO search_log (rid) VALUES (new.rowid);
END;
CREATE TRIGGER IF NOT EXISTS search_log_delete AFTER DELETE ON records BEGIN
    INSERT INTO search_log (rid) VALUES (old.rowid);
END;
CREATE TRIGGER IF NOT EXISTS search_log_update AFTER UPDATE OF title, summary, body ON records
WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary OR old.body IS NOT new.body BEGIN
    INSERT INTO search_log (rid) VALUES (new.rowid);
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

/// Create the log and the versions table. A database made when the index
/// lived in it (in the writer's transaction) loses that index; the indexer
/// builds it again in its own file.
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let had: Option<String> =
        tx.query_row("SELECT name FROM sqlite_master WHERE name = 'records_fts'", [], |row| row.get(0)).optional()?;
    if had.is_some() {
        tracing::info!("moving the full-text index to a file of its own; it is built again from the records");
        tx.execute_batch(
            "DROP TRIGGER IF EXISTS records_fts_insert; DROP TRIGGER IF EXISTS records_fts_delete;
             DROP TRIGGER IF EXISTS records_fts_update; DROP TABLE records_fts;",
        )?;
    }
    tx.execute_batch(SEARCH_SCHEMA)?;
    tx.commit()
}

impl SqliteStore {
    /// Build the full-text index again from the records (after a `VACUUM`,
    /// or to repair it), and wait until it is built. Returns the records
    /// indexed.
    pub fn rebuild_search(&self) -> Result<u64, StoreError> {
        let mut indexer = lock(&self.inner.indexer);
        indexer.reset()?;
        indexer.catch_up()?;
        Ok(u64::try_from(indexer.count()?).unwrap_or(0))
    }

    /// Bring the full-text index up to every record committed so far
    /// (the indexer thread does this after each commit; a search does it
    /// first; closing the store does it last).
    pub fn settle_search(&self) -> Result<(), StoreError> {
        let applied = lock(&self.inner.indexer).catch_up()?;
        self.inner.search_applied.fetch_max(applied, std::sync::atomic::Ordering::AcqRel);
        Ok(())
    }

    /// Check the full-text index: brought up to date, it holds one entry
    /// per record and FTS5 finds its structure sound. An error names the
    /// mismatch.
    pub fn check_search(&self) -> Result<(), StoreError> {
        self.settle_search()?;
        let indexer = lock(&self.inner.indexer);
        indexer.check()?;
        let indexed = indexer.count()?;
        let records = self.count_records()?;
        if u64::try_from(indexed).ok() != Some(records) {
            return Err(StoreError::fatal(
                super::NAME,
                format!("the full-text index holds {indexed} entries for {records} records"),
            ));
        }
        Ok(())
    }
}

/// The FTS5 query for the words of a user's query: every token of every
/// word, each a quoted string, all of them required; `None` when the words
/// hold no token at all (punctuation only), which matches nothing. No user
/// input is FTS5 syntax.
///
/// The index keeps no positions (`detail = none`, see the indexer), so a
/// word FTS5 would split into several tokens ("covid-19", "don't") cannot
/// be a phrase: it is split here into its tokens, each required, as
/// PostgreSQL's `plainto_tsquery` does. The tokens come from FTS5's own
/// tokenizer, through a table of the connection's temporary schema, so they
/// are exactly the index's tokens: a word split otherwise (by a character
/// FTS5 takes as a separator and Rust as a letter) would make a phrase, and
/// FTS5 refuses phrases here. `conn` has the tables of
/// [`add_query_tokenizer`].
pub(super) fn match_expression(conn: &Connection, words: &[&str]) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("INSERT INTO temp.query_words (rowid, w) VALUES (1, ?1)")?.execute([words.join(" ")])?;
    let tokens: rusqlite::Result<Vec<String>> = conn
        .prepare_cached("SELECT term FROM temp.query_terms ORDER BY offset")?
        .query_map([], |r| r.get(0))
        .and_then(Iterator::collect);
    // Emptied whatever the read gave, so the next query starts clean.
    conn.prepare_cached("DELETE FROM temp.query_words")?.execute([])?;
    let mut out = String::new();
    let mut seen: Vec<String> = Vec::new();
    for token in tokens? {
        if seen.contains(&token) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('"');
        out.push_str(&token.replace('"', "\"\""));
        out.push('"');
        seen.push(token);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Give `conn` the temporary tables [`match_expression`] tokenizes a query
/// with: an FTS5 table with the index's tokenizer, and its terms in order.
/// A temporary table is the connection's own, so this works on read-only
/// connections too; once per connection, when it is opened.
pub(super) fn add_query_tokenizer(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(QUERY_TOKENIZER)
}

const QUERY_TOKENIZER: &str = concat!(
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_words USING fts5(w, tokenize = '",
    tokenizer!(),
    "');
     CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms USING fts5vocab(temp, query_words, instance);"
);

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::super::lock;
    use super::super::store::SqliteStore;
    use super::super::tests::record;
    use super::*;

    fn hits(store: &SqliteStore, words: &[&str]) -> Vec<String> {
        store.settle_search().expect("the index catches up");
        let conn = lock(&store.inner.reader);
        let mut stmt = conn
            .prepare(
                "SELECT r.id FROM records r WHERE r.rowid IN
                 (SELECT rowid FROM records_fts WHERE records_fts MATCH ?1) ORDER BY r.id",
            )
            .expect("prepare");
        add_query_tokenizer(&conn).expect("the query tokenizer");
        let Some(expression) = match_expression(&conn, words).expect("tokenized") else { return Vec::new() };
        stmt.query_map([expression], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect()
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

    /// A summary the body holds word for word is indexed with the body
    /// only; any other summary, and a summary found only inside longer
    /// words, is indexed: searches find the same records either way.
    #[test]
    fn a_summary_the_body_holds_is_searched_through_the_body() {
        use super::super::indexer::summary_to_index;
        let body = "First paragraph of the story.\n\nRestart the art fair.";
        assert_eq!(summary_to_index(Some("First paragraph of the story."), body), None);
        assert_eq!(summary_to_index(Some("the art fair."), body), None);
        assert_eq!(summary_to_index(Some("art"), body), None, "the word itself is there too");
        assert_eq!(summary_to_index(Some("start"), body), Some("start"), "only inside 'Restart'");
        assert_eq!(summary_to_index(Some("paragraph of the sto"), body), Some("paragraph of the sto"));
        assert_eq!(summary_to_index(Some("A teaser of its own"), body), Some("A teaser of its own"));
        assert_eq!(summary_to_index(None, body), None);

        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("s.db")).expect("opens");
        let mut a = record("a", body);
        a.summary = Some("First paragraph of the story.".into());
        let mut b = record("b", "Another text entirely.");
        b.summary = Some("A teaser with startling words".into());
        let mut c = record("c", "Restart the engines.");
        c.summary = Some("start".into());
        store.write_blocking(&[a, b, c], None).expect("write");
        assert_eq!(hits(&store, &["paragraph", "story"]), ["a"]);
        assert_eq!(hits(&store, &["teaser", "startling"]), ["b"]);
        assert_eq!(hits(&store, &["start"]), ["c"]);
        assert_eq!(store.rebuild_search().expect("rebuild"), 3);
        assert_eq!(hits(&store, &["paragraph"]), ["a"]);
        assert_eq!(hits(&store, &["start"]), ["c"]);
        store.check_search().expect("consistent");
    }

    /// The index merges eight segments a level (FTS5's default is four),
    /// a search file made with the default included.
    #[test]
    fn the_index_merges_eight_segments_a_level() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let automerge = |store: &SqliteStore| -> i64 {
            lock(&store.inner.reader)
                .query_row("SELECT v FROM records_fts_config WHERE k = 'automerge'", [], |r| r.get(0))
                .expect("the setting is stored")
        };
        let store = SqliteStore::open(&path).expect("opens");
        store.write_blocking(&[record("a", "words")], None).expect("write");
        assert_eq!(automerge(&store), 8);
        drop(store);
        Connection::open(super::super::indexer::search_path(&path))
            .expect("open the search file")
            .execute("INSERT INTO records_fts (records_fts, rank) VALUES ('automerge', 4)", [])
            .expect("as a file made before");
        let store = SqliteStore::open(&path).expect("reopens");
        assert_eq!(automerge(&store), 8);
        assert_eq!(hits(&store, &["words"]), ["a"]);
    }

    /// A search file made when the index kept word positions is built
    /// again without them, at the first open, and finds the same records.
    #[test]
    fn an_index_with_positions_is_built_again_without_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).expect("opens");
        store.write_blocking(&[record("a", "first harbour"), record("b", "second quay")], None).expect("write");
        store.settle_search().expect("caught up");
        drop(store);
        let file = super::super::indexer::search_path(&path);
        let detail = |file: &std::path::Path| -> String {
            Connection::open(file)
                .and_then(|c| c.query_row("SELECT sql FROM sqlite_master WHERE name = 'records_fts'", [], |r| r.get(0)))
                .expect("the index's table")
        };
        assert!(detail(&file).contains("detail = none"));
        // As the version before left it: positions kept, up to date.
        Connection::open(&file)
            .and_then(|c| {
                c.execute_batch(
                    "DROP TABLE records_fts;
                     CREATE VIRTUAL TABLE records_fts USING fts5(title, summary, body, content = '',
                         contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
                     INSERT INTO records_fts (rowid, body) VALUES (1, 'first harbour'), (2, 'second quay');",
                )
            })
            .expect("an index with positions");
        let store = SqliteStore::open(&path).expect("reopens");
        assert_eq!(hits(&store, &["harbour"]), ["a"]);
        assert_eq!(hits(&store, &["second", "quay"]), ["b"]);
        store.check_search().expect("consistent");
        assert!(detail(&file).contains("detail = none"), "built again without positions");
    }

    /// A database whose index lived in it (as versions before the indexer
    /// left it) loses that index and gets it built in its own file.
    #[test]
    fn an_existing_database_gets_its_index_built_in_its_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let store = SqliteStore::open(&path).expect("opens");
        store.write_blocking(&[record("a", "ancient words"), record("b", "other words")], None).expect("write");
        drop(store);
        std::fs::remove_file(super::super::indexer::search_path(&path)).expect("no index file yet");
        Connection::open(&path)
            .expect("open")
            .execute_batch(
                "DROP TRIGGER search_log_insert; DROP TRIGGER search_log_delete; DROP TRIGGER search_log_update;
                 DROP TABLE search_log;
                 CREATE VIRTUAL TABLE records_fts USING fts5(title, summary, body, content = 'records',
                     content_rowid = 'rowid');
                 CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
                     INSERT INTO records_fts (rowid, title, summary, body)
                         VALUES (new.rowid, new.title, new.summary, new.body);
                 END;
                 INSERT INTO records_fts (records_fts) VALUES ('rebuild');",
            )
            .expect("as an earlier version left it");
        let store = SqliteStore::open(&path).expect("opens and migrates");
        let left: i64 = lock(&store.inner.writer)
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'records_fts%'", [], |r| r.get(0))
            .expect("schema");
        assert_eq!(left, 0, "the old index and its trigger are gone from the store");
        assert_eq!(hits(&store, &["ancient"]), ["a"]);
        assert_eq!(hits(&store, &["words"]), ["a", "b"]);
        store.check_search().expect("consistent");
    }

    /// The index follows deletes and rows reused, survives a reopen, and a
    /// search file that does not match its store (older than the log's
    /// oldest entry) is built again.
    #[test]
    fn the_index_survives_reopening_and_a_stale_file_is_built_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).expect("opens");
        store.write_blocking(&[record("a", "first harbour"), record("b", "second harbour")], None).expect("write");
        store.settle_search().expect("caught up");
        let file = super::super::indexer::search_path(&path);
        Connection::open(&file).and_then(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")).expect("folded");
        let stale = std::fs::read(&file).expect("index file");
        let applied: i64 = Connection::open(&file)
            .and_then(|c| c.query_row("SELECT value FROM search_state WHERE key = 'applied'", [], |r| r.get(0)))
            .expect("the copy holds its state");
        assert_eq!(applied, 2, "two records logged and applied");
        // Delete the newest record: SQLite may give its row id to the next.
        lock(&store.inner.writer).execute("DELETE FROM records WHERE id = 'b'", []).expect("delete");
        store.write_blocking(&[record("c", "third quay")], None).expect("write");
        assert_eq!(hits(&store, &["harbour"]), ["a"]);
        assert_eq!(hits(&store, &["quay"]), ["c"]);
        // Trim the log up to what was applied (the writer does it with its
        // next write), then reopen with the index file as it was before.
        store.write_blocking(&[record("d", "fourth quay")], None).expect("write");
        store.settle_search().expect("caught up");
        store.write_blocking(&[record("e", "fifth pier")], None).expect("write trims");
        drop(store);
        let store = SqliteStore::open(&path).expect("reopens");
        assert_eq!(hits(&store, &["quay"]), ["c", "d"]);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let mut file = super::super::indexer::search_path(&path).into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(&file);
        }
        std::fs::write(super::super::indexer::search_path(&path), stale).expect("an old index file");
        let store = SqliteStore::open(&path).expect("reopens");
        assert_eq!(hits(&store, &["harbour"]), ["a"], "not the deleted record the old file held");
        assert_eq!(hits(&store, &["quay"]), ["c", "d"]);
        assert_eq!(hits(&store, &["pier"]), ["e"]);
        store.check_search().expect("consistent");
        // An index file ahead of its store (the store restored from an
        // older copy): built again, not trusted.
        drop(store);
        let ahead = dir.path().join("ahead.db");
        let store = SqliteStore::open(&ahead).expect("opens");
        store.write_blocking(&[record("x", "lonely harbour")], None).expect("write");
        store.settle_search().expect("built and caught up");
        drop(store);
        let file = super::super::indexer::search_path(&ahead);
        Connection::open(&file)
            .and_then(|c| {
                c.execute_batch(
                    "DELETE FROM records_fts WHERE rowid = 1;
                     INSERT INTO records_fts (rowid, title, summary, body) VALUES (1, NULL, NULL, 'phantom');
                     UPDATE search_state SET value = value + 5 WHERE key = 'applied';",
                )
            })
            .expect("an index that has seen more of the log than the store holds");
        let store = SqliteStore::open(&ahead).expect("reopens");
        assert_eq!(hits(&store, &["harbour"]), ["x"]);
        assert!(hits(&store, &["phantom"]).is_empty(), "the other store's entries are gone");
        store.check_search().expect("consistent");
    }
}
