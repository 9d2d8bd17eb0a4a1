//! The read contract (newswire_storer::read) every SQL store keeps: pages
//! with a cursor in a stable order, filters, full text, versions, stories
//! and feeds, read back from what a sink wrote.

use chrono::{Duration, Utc};
use newswire_core::Record;
use newswire_core::record::{Removed, RemovedKind};
use newswire_core::sink::Sink;
use newswire_storer::read::{ClusterQuery, Cursor, RecordQuery, RecordReader, TimeField, for_each_record};

use crate::contract::{batch, record};

fn ids(records: &[Record]) -> String {
    records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(",")
}

async fn all(reader: &dyn RecordReader, query: RecordQuery) -> String {
    let mut out = Vec::new();
    let end = for_each_record::<newswire_core::sink::StoreError>(reader, &query, None, |r| {
        out.push(r.clone());
        Ok(())
    })
    .await
    .expect("read");
    assert_eq!(end, None, "read to the end");
    ids(&out)
}

/// Write a small archive through `sink`, then read it through `reader`.
pub async fn run(sink: &mut dyn Sink, reader: &dyn RecordReader) {
    let t0 = Utc::now() - Duration::days(5);
    let mut written = Vec::new();
    for i in 0..9 {
        let feed = if i % 3 == 0 { "gamma" } else { "delta" };
        let mut r = record(feed, &format!("r{i}"), &format!("Plain body number {i} about the harbour"));
        r.fetched_at = t0 + Duration::hours(i);
        r.published_at = Some(t0 + Duration::hours(i) - Duration::minutes(5));
        written.push(r);
    }
    written[4].body = "The Mayor's résumé was read to the council".into();
    written[4].removed = vec![Removed::new(RemovedKind::CallToAction, "cta.newsletter", "Subscribe to our newsletter")];
    written[5].language = Some("fr".into());
    written[5].categories = vec!["sport".into()];
    written[6].cluster = Some("r4".into());
    written[6].similarity = Some(0.8);
    written[2].cluster = Some("r0".into());
    written[8].cluster = Some("r1".into());
    for chunk in written.chunks(4) {
        let refs: Vec<&Record> = chunk.iter().collect();
        sink.write(&batch(&chunk[0].feed, "\"e\"", &refs)).await.expect("write");
    }

    // Pages of two, cursor through text, every record once, in order.
    let mut query = RecordQuery { limit: Some(2), ..RecordQuery::default() };
    let mut seen = Vec::new();
    loop {
        let page = reader.records(&query).await.expect("page");
        assert!(page.records.len() <= 2);
        seen.extend(page.records);
        match page.next {
            Some(next) => query.after = Some(Cursor::decode(&next.encode()).expect("cursor")),
            None => break,
        }
    }
    assert_eq!(ids(&seen), "r0,r1,r2,r3,r4,r5,r6,r7,r8");
    assert_eq!(seen[4].body, written[4].body, "a record reads back as written");
    assert_eq!(seen[4].removed, written[4].removed);
    let newest = RecordQuery { limit: Some(3), newest_first: true, ..RecordQuery::default() };
    assert_eq!(ids(&reader.records(&newest).await.expect("page").records), "r8,r7,r6");

    let q = |f: fn(&mut RecordQuery)| {
        let mut q = RecordQuery::default();
        f(&mut q);
        q
    };
    assert_eq!(all(reader, q(|q| q.feeds = vec!["gamma".into()])).await, "r0,r3,r6");
    assert_eq!(all(reader, q(|q| q.lang = Some("fr".into()))).await, "r5");
    assert_eq!(all(reader, q(|q| q.tag = Some("sport".into()))).await, "r5");
    assert_eq!(all(reader, q(|q| q.cluster = Some("r4".into()))).await, "r4,r6");
    assert_eq!(all(reader, q(|q| q.text = Some("council MAYOR's".into()))).await, "r4");
    assert_eq!(all(reader, q(|q| q.text = Some("harbour".into()))).await, "r0,r1,r2,r3,r5,r6,r7,r8");
    assert_eq!(all(reader, q(|q| q.text = Some("newsletter".into()))).await, "", "removed text is not indexed");
    let mut since = q(|q| q.time_field = TimeField::Published);
    since.since = Some(t0 + Duration::hours(7));
    assert_eq!(all(reader, since).await, "r8", "published an hour later than r7");
    let window = RecordQuery {
        since: Some(t0 + Duration::hours(2)),
        until: Some(t0 + Duration::hours(4)),
        ..RecordQuery::default()
    };
    assert_eq!(all(reader, window).await, "r2,r3");

    // A changed body: the old one is kept as version 1 and no longer found.
    let mut changed = written[4].clone();
    changed.body = "A different text entirely".into();
    changed.content_hash = newswire_core::id::content_hash(&changed.body);
    sink.write(&batch("delta", "\"e2\"", &[&changed])).await.expect("update");
    let detail = reader.record("r4").await.expect("read").expect("found");
    assert_eq!(detail.version, 2);
    assert_eq!(detail.versions.len(), 1);
    assert_eq!(detail.versions[0].body, written[4].body);
    assert_eq!(all(reader, q(|q| q.text = Some("council".into()))).await, "");
    assert!(reader.record("nope").await.expect("read").is_none());

    let stories = reader.clusters(&ClusterQuery::default()).await.expect("clusters");
    let listed: Vec<(&str, u64)> = stories.iter().map(|s| (s.id.as_str(), s.copies)).collect();
    assert_eq!(listed, [("r0", 1), ("r1", 1), ("r4", 1)], "by id");
    assert_eq!(stories[2].title, written[4].title);
    assert_eq!(stories[2].last_fetched_at.timestamp(), written[6].fetched_at.timestamp(), "its last copy");
    let recent = |limit, since| ClusterQuery { recent: true, limit: Some(limit), since, after: None };
    let listed = |stories: Vec<newswire_storer::read::ClusterSummary>| {
        stories.iter().map(|s| s.id.clone()).collect::<Vec<_>>().join(",")
    };
    // Last copies: r8 (of r1), r6 (of r4), r2 (of r0).
    assert_eq!(listed(reader.clusters(&recent(5, None)).await.expect("recent")), "r1,r4,r0", "newest copy first");
    assert_eq!(listed(reader.clusters(&recent(2, None)).await.expect("recent")), "r1,r4");
    let since = Some(t0 + Duration::hours(5));
    assert_eq!(listed(reader.clusters(&recent(5, since)).await.expect("recent")), "r1,r4", "copied since");
    let recent_one = reader.clusters(&recent(1, None)).await.expect("recent");
    assert_eq!((recent_one[0].copies, recent_one[0].feed.as_deref()), (1, Some("delta")));
    let story = reader.cluster("r4").await.expect("cluster").expect("found");
    assert_eq!(story.copies[0].id, "r6");
    assert_eq!(story.first.map(|r| r.id), Some("r4".to_string()));

    let feeds = reader.feeds().await.expect("feeds");
    let counts: Vec<(&str, u64)> = feeds.iter().map(|f| (f.feed.as_str(), f.records)).collect();
    assert_eq!(counts, [("delta", 6), ("gamma", 3)]);
    assert!(feeds.iter().all(|f| f.state.is_some()), "each feed wrote a checkpoint");
}

/// After [`run`]: prune the records older than the fourth, in batches, and
/// read what is left (versions and search entries gone with them).
pub async fn prune(pruner: &dyn newswire_storer::retention::RecordPruner, reader: &dyn RecordReader) {
    use newswire_storer::retention::{Scope, prune_scope};
    let first = reader.records(&RecordQuery::default()).await.expect("page").records;
    let cut = first[3].fetched_at;
    let older = Scope::Others { except: vec![], before: cut };
    assert_eq!(pruner.count(&older).await.expect("count"), 3);
    let gamma = Scope::Feed { feed: "gamma".into(), before: cut };
    assert_eq!(pruner.count(&gamma).await.expect("count"), 1, "r0");
    let others = Scope::Others { except: vec!["gamma".into()], before: cut };
    assert_eq!(prune_scope(pruner, &others, 1).await.expect("prune"), 2, "r1, r2, one a batch");
    assert_eq!(all_ids(reader).await, "r0,r3,r4,r5,r6,r7,r8");
    assert_eq!(prune_scope(pruner, &gamma, 10).await.expect("prune"), 1);
    assert_eq!(all_ids(reader).await, "r3,r4,r5,r6,r7,r8");
    let harbour = RecordQuery { text: Some("harbour".into()), ..RecordQuery::default() };
    assert_eq!(all(reader, harbour).await, "r3,r5,r6,r7,r8", "search entries went with the records");
    let everything = Scope::Others { except: vec![], before: Utc::now() + Duration::days(1) };
    assert_eq!(prune_scope(pruner, &everything, 4).await.expect("prune"), 6);
    assert!(reader.record("r4").await.expect("read").is_none(), "r4 and its kept version are gone");
}

async fn all_ids(reader: &dyn RecordReader) -> String {
    all(reader, RecordQuery::default()).await
}
