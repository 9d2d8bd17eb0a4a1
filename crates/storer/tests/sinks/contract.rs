//! The contract every state-holding SQL sink keeps, run against each of them.

use chrono::Utc;
use newswire_core::record::SCHEMA_VERSION;
use newswire_core::sink::{Sink, SinkBatch, StateStore};
use newswire_core::state::{Checkpoint, FeedState, ItemMark};
use newswire_core::{Record, Source};

/// A store under test: its sinks, and a way to look at its rows.
pub trait Subject {
    /// A sink over the store; `holds_state` as in the pipeline.
    fn sink(&self, holds_state: bool) -> Box<dyn Sink>;
    /// The store as the pipeline's state store.
    fn state(&self) -> &dyn StateStore;
    /// Rows in the records table.
    async fn count(&self) -> u64;
    /// Body and version of one record.
    async fn body_and_version(&self, id: &str) -> Option<(String, i64)>;
}

pub fn record(feed: &str, id: &str, body: &str) -> Record {
    Record {
        schema: SCHEMA_VERSION,
        id: id.into(),
        feed: feed.into(),
        feed_url: format!("https://example.com/{feed}.xml"),
        guid: Some(id.into()),
        url: Some(format!("https://example.com/{id}")),
        title: Some(format!("Title {id}")),
        authors: vec!["A. Writer".into()],
        published_at: Some(Utc::now()),
        updated_at: None,
        fetched_at: Utc::now(),
        language: Some("en".into()),
        summary: None,
        body: body.into(),
        word_count: newswire_core::record::word_count(body),
        categories: vec!["world".into(), "politics".into()],
        content_hash: newswire_core::id::content_hash(body),
        source: Source::Feed,
        embeds: vec![],
        removed: vec![],
        cluster: None,
        similarity: None,
        fingerprint: None,
    }
}

pub fn batch(feed: &str, etag: &str, records: &[&Record]) -> SinkBatch {
    SinkBatch {
        records: records.iter().map(|r| (*r).clone()).collect(),
        checkpoint: Checkpoint {
            state: FeedState { feed: feed.into(), etag: Some(etag.into()), last_status: 200, ..FeedState::default() },
            items: records
                .iter()
                .map(|r| ItemMark { id: r.id.clone(), content_hash: r.content_hash.clone() })
                .collect(),
            fingerprints: Vec::new(),
            sketch: None,
            positions: Vec::new(),
        },
    }
}

/// Write twice, update in place, checkpoint with the records, known hashes,
/// load_all, and a sink that does not hold the state.
pub async fn run(subject: &impl Subject) {
    let mut sink = subject.sink(true);
    sink.open().await.expect("open");
    sink.check().await.expect("check");
    assert!(subject.state().load_all().await.expect("load_all").is_empty(), "a new store has no state");

    let a = record("f", "a", "one");
    let b = record("f", "b", "two");
    sink.write(&batch("f", "\"e1\"", &[&a, &b])).await.expect("write");
    // The same batch again (a replay after a crash) duplicates nothing.
    sink.write(&batch("f", "\"e1\"", &[&a, &b])).await.expect("rewrite");
    assert_eq!(subject.count().await, 2);
    assert_eq!(subject.body_and_version("a").await, Some(("one".to_owned(), 1)));

    // Changed content: updated in place, version 2; a replay keeps it at 2.
    let a2 = record("f", "a", "one, revised");
    sink.write(&batch("f", "\"e2\"", &[&a2])).await.expect("update");
    sink.write(&batch("f", "\"e2\"", &[&a2])).await.expect("update replay");
    assert_eq!(subject.count().await, 2);
    assert_eq!(subject.body_and_version("a").await, Some(("one, revised".to_owned(), 2)));
    assert_eq!(subject.body_and_version("b").await, Some(("two".to_owned(), 1)));

    // The checkpoint went in with the records.
    let states = subject.state().load_all().await.expect("load_all");
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].feed, "f");
    assert_eq!(states[0].etag.as_deref(), Some("\"e2\""));
    assert_eq!(states[0].last_status, 200);
    let ids = ["a".to_owned(), "b".to_owned(), "missing".to_owned()];
    let known = subject.state().known_hashes(&ids).await.expect("known_hashes");
    assert_eq!(known.len(), 2);
    assert_eq!(known["a"], a2.content_hash);
    assert_eq!(known["b"], b.content_hash);
    assert!(subject.state().known_hashes(&[]).await.expect("no ids").is_empty());

    // A sink that does not hold the state writes records only; the state
    // store commits the checkpoint on its own.
    let mut plain = subject.sink(false);
    let c = record("g", "c", "three");
    let g = batch("g", "\"g1\"", &[&c]);
    plain.write(&g).await.expect("write without state");
    assert_eq!(subject.count().await, 3);
    assert_eq!(subject.state().load_all().await.expect("load_all").len(), 1);
    assert!(subject.state().known_hashes(&["c".to_owned()]).await.expect("known").is_empty());
    subject.state().commit(&g.checkpoint).await.expect("commit");
    let states = subject.state().load_all().await.expect("load_all");
    assert_eq!(states.iter().map(|s| s.feed.as_str()).collect::<Vec<_>>(), ["f", "g"]);
    assert_eq!(subject.state().known_hashes(&["c".to_owned()]).await.expect("known")["c"], c.content_hash);

    // Append-only sinks' positions commit with the checkpoint, through the
    // sink that holds the state and through the state store alike.
    assert!(subject.state().positions().await.expect("positions").is_empty());
    let mut at = batch("f", "\"e2\"", &[]);
    at.checkpoint.positions = vec![("jsonl:h:/a".into(), "newswire-2026-12-01.jsonl:10".into())];
    sink.write(&at).await.expect("write with a position");
    at.checkpoint.positions = vec![("jsonl:h:/b".into(), "newswire-2026-12-01.jsonl:7".into())];
    subject.state().commit(&at.checkpoint).await.expect("commit with a position");
    at.checkpoint.positions = vec![("jsonl:h:/a".into(), "newswire-2026-12-02.jsonl:3".into())];
    sink.write(&at).await.expect("a position moves on");
    let positions = subject.state().positions().await.expect("positions");
    assert_eq!(positions.len(), 2);
    assert_eq!(positions["jsonl:h:/a"], "newswire-2026-12-02.jsonl:3");
    assert_eq!(positions["jsonl:h:/b"], "newswire-2026-12-01.jsonl:7");
    // And on their own, as a sink's starting position, touching no feed.
    subject.state().commit_positions(&[("jsonl:h:/c".into(), ":0".into())]).await.expect("commit positions");
    let positions = subject.state().positions().await.expect("positions");
    assert_eq!(positions.len(), 3);
    assert_eq!(positions["jsonl:h:/c"], ":0");
    assert_eq!(positions["jsonl:h:/a"], "newswire-2026-12-02.jsonl:3");
    assert_eq!(subject.state().load_all().await.expect("load_all").len(), 2, "no feed state is written");

    // An empty batch (a 304) still moves the checkpoint.
    sink.write(&batch("f", "\"e3\"", &[])).await.expect("empty batch");
    let states = subject.state().load_all().await.expect("load_all");
    assert_eq!(states[0].etag.as_deref(), Some("\"e3\""));
    assert_eq!(subject.count().await, 3);

    plain.close().await.expect("close");
    sink.close().await.expect("close");
}
