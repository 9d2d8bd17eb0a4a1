//! The PostgreSQL store against a real server: the SQL sink contract, NUL
//! bytes, concurrent migrations, and feed leases.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use newswire_core::sink::{Sink, StateStore};
use newswire_storer::{PostgresSink, PostgresStore};

use crate::contract::{self, Subject};

const URL_VAR: &str = "NEWSWIRE_TEST_POSTGRES_URL";

fn url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!("skipped: {URL_VAR} is not set");
            None
        }
    }
}

/// Run `test` with a fresh schema name, then drop the schema whether the
/// test passed or panicked.
async fn with_schema<F, Fut>(url: &str, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let schema = format!("newswire_test_{:016x}", rand::random::<u64>());
    let outcome = AssertUnwindSafe(test(schema.clone())).catch_unwind().await;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to drop");
    let conn = tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.expect("drop schema");
    drop(client);
    let _ = conn.await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

struct Postgres {
    store: PostgresStore,
}

impl Subject for Postgres {
    fn sink(&self, holds_state: bool) -> Box<dyn Sink> {
        Box::new(PostgresSink::new(self.store.clone(), holds_state))
    }

    fn state(&self) -> &dyn StateStore {
        &self.store
    }

    async fn count(&self) -> u64 {
        self.store.count_records().await.expect("count")
    }

    async fn body_and_version(&self, id: &str) -> Option<(String, i64)> {
        self.store.record_version(id).await.expect("read").map(|(body, v)| (body, i64::from(v)))
    }
}

#[tokio::test]
async fn postgres_keeps_the_sink_contract() {
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let store = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        contract::run(&Postgres { store: store.clone() }).await;
        store.close();
    })
    .await;
}

#[tokio::test]
async fn nul_bytes_are_stripped_before_insert() {
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let store = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        let mut sink = PostgresSink::new(store.clone(), true);
        let mut r = contract::record("f\0", "n\0ul", "bo\0dy");
        r.title = Some("ti\0tle".into());
        r.categories = vec!["a\0b".into()];
        r.embeds =
            vec![newswire_core::record::Embed { kind: "media".into(), text: Some("x\0".into()), ..Default::default() }];
        let mut batch = contract::batch("f\0", "\"e\0\"", &[&r]);
        batch.checkpoint.state.last_error = Some("bad\0".into());
        sink.write(&batch).await.expect("NUL bytes do not fail the write");
        assert_eq!(store.record_version("nul").await.expect("read"), Some(("body".to_owned(), 1)));
        let states = store.load_all().await.expect("load_all");
        assert_eq!(states[0].feed, "f");
        assert_eq!(states[0].last_error.as_deref(), Some("bad"));
        // Asked for by the id as the pipeline knows it, with the NUL.
        let known = store.known_hashes(&["n\0ul".to_owned()]).await.expect("known");
        assert_eq!(known.len(), 1);
        store.close();
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_safe_to_race() {
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        // Four instances starting at once: each migration applied once.
        let starts = (0..4).map(|_| PostgresStore::connect(&url, Some(&schema)));
        let stores = futures_util::future::try_join_all(starts).await.expect("all connect");
        let again = stores[0].migrate().await.expect("migrate again");
        assert!(again.is_empty(), "nothing left to apply");
        for store in &stores {
            store.check().await.expect("check");
            store.close();
        }
    })
    .await;
}

#[tokio::test]
async fn unreachable_server_is_a_retryable_error() {
    // A port nothing listens on: connection refused, not a schema error.
    let err = PostgresStore::connect("postgres://postgres@127.0.0.1:1/postgres", None).await.expect_err("no server");
    assert!(err.retryable, "{err}");
    let err = PostgresStore::connect("postgres://postgres@127.0.0.1:1/postgres", Some("Bad;Name"))
        .await
        .expect_err("bad schema");
    assert!(!err.retryable, "{err}");
}

#[tokio::test]
async fn two_holders_split_the_feeds_and_expired_leases_are_taken_over() {
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let store = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        let feeds: Vec<String> = (1..=4).map(|i| format!("feed{i}")).collect();
        let long = Duration::from_secs(60);

        let a = store.acquire_leases("a", &feeds[..2], long).await.expect("a acquires");
        assert_eq!(a, ["feed1", "feed2"]);
        // b asks for all four and gets only the two nobody holds.
        let b = store.acquire_leases("b", &feeds, long).await.expect("b acquires");
        assert_eq!(b, ["feed3", "feed4"]);
        // Asking again for one's own leases keeps them.
        assert_eq!(store.acquire_leases("a", &feeds, long).await.expect("a again"), ["feed1", "feed2"]);
        assert_eq!(store.renew("a", long).await.expect("renew"), ["feed1", "feed2"]);

        // An expired lease is taken over, and its old holder learns it.
        let short = Duration::from_millis(200);
        assert_eq!(store.acquire_leases("a", &["feed5".to_owned()], short).await.expect("a5"), ["feed5"]);
        assert!(store.acquire_leases("b", &["feed5".to_owned()], long).await.expect("b5 early").is_empty());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(store.acquire_leases("b", &["feed5".to_owned()], long).await.expect("b5"), ["feed5"]);
        assert_eq!(store.renew("a", long).await.expect("renew"), ["feed1", "feed2"]);

        // A released lease is free at once.
        assert_eq!(store.release("a").await.expect("release"), 2);
        assert!(store.renew("a", long).await.expect("renew").is_empty());
        assert_eq!(store.acquire_leases("b", &feeds, long).await.expect("b all"), feeds);
        store.close();
    })
    .await;
}

#[tokio::test]
async fn racing_holders_never_share_a_feed() {
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let store = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        let feeds: Vec<String> = (0..300).map(|i| format!("feed{i:03}")).collect();
        let ttl = Duration::from_secs(60);
        let holders = ["h1", "h2", "h3"];
        let races = holders.iter().map(|h| store.acquire_leases(h, &feeds, ttl));
        let got = futures_util::future::try_join_all(races).await.expect("acquire");
        let mut all: Vec<&String> = got.iter().flatten().collect();
        assert_eq!(all.len(), feeds.len(), "every feed leased exactly once");
        all.sort();
        all.dedup();
        assert_eq!(all.len(), feeds.len());
        store.close();
    })
    .await;
}

#[tokio::test]
async fn postgres_keeps_the_index_contract() {
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let store = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        let mut sink = PostgresSink::new(store.clone(), true);
        crate::index::run(&mut sink, &store, || async { store.index_size().await.expect("index size") }).await;
        store.close();
    })
    .await;
}

#[tokio::test]
async fn two_instances_share_one_index() {
    use crate::index::{BRIDGE, entry, fp, index};
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        // Two stores on one schema, as two daemons would be.
        let first = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        let second = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        let mut sink = PostgresSink::new(first.clone(), true);
        index(&mut sink, "wire", vec![entry("bridge", BRIDGE, None, chrono::Duration::zero())]).await;
        let copy = vec![("copy".to_string(), fp(&format!("From our partners: {BRIDGE}")))];
        let since = chrono::Utc::now() - chrono::Duration::days(1);
        let found = second.find_similar(&copy, since, 0.5).await.expect("lookup");
        assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("bridge"));
        first.close();
        second.close();
    })
    .await;
}

#[tokio::test]
async fn postgres_keeps_the_read_contract() {
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let store = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        let mut sink = PostgresSink::new(store.clone(), true);
        crate::read::run(&mut sink, &store).await;
        crate::read::prune(&store, &store).await;
        store.close();
    })
    .await;
}

/// An index written before migration 7 (text ids in `lsh`) is converted in
/// place: every entry kept, found through its keys, and re-indexing and
/// pruning work on the converted rows.
#[tokio::test]
async fn an_index_with_text_ids_is_converted_to_row_ids() {
    use crate::index::{BRIDGE, FROST, fp};
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        let conn = tokio::spawn(connection);
        // The schema as migrations 1 to 6 left it.
        let mut setup = format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema};
             CREATE TABLE newswire_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now());"
        );
        for (version, sql) in [
            (1, include_str!("../../migrations/0001_records_and_state.sql")),
            (2, include_str!("../../migrations/0002_feed_leases.sql")),
            (3, include_str!("../../migrations/0003_near_duplicates.sql")),
            (4, include_str!("../../migrations/0004_sink_positions.sql")),
            (5, include_str!("../../migrations/0005_search_and_versions.sql")),
            (6, include_str!("../../migrations/0006_feed_sketches.sql")),
        ] {
            setup.push_str(sql);
            setup.push_str(&format!("\nINSERT INTO newswire_migrations (version, name) VALUES ({version}, 'm');\n"));
        }
        client.batch_execute(&setup).await.expect("the schema before migration 7");
        let at = chrono::Utc::now() - chrono::Duration::hours(1);
        for (id, text) in [("bridge", BRIDGE), ("frost", FROST)] {
            let f = fp(text);
            client
                .execute("INSERT INTO fingerprints (id, sig, at) VALUES ($1, $2, $3)", &[&id, &f.to_bytes(), &at])
                .await
                .expect("fingerprint");
            let keys = f.keys();
            client
                .execute(
                    "INSERT INTO lsh (key, at, id) SELECT k, $2, $3 FROM unnest($1::bigint[]) AS k",
                    &[&keys, &at, &id],
                )
                .await
                .expect("keys");
        }
        drop(client);
        let _ = conn.await;

        let store = PostgresStore::connect(&url, Some(&schema)).await.expect("connect and migrate");
        let expected = (fp(BRIDGE).keys().len() + fp(FROST).keys().len()) as u64;
        assert_eq!(store.index_size().await.expect("size"), (2, expected), "every entry kept");
        let since = chrono::Utc::now() - chrono::Duration::days(1);
        let copy = vec![("copy".to_string(), fp(&format!("From our partners: {BRIDGE}")))];
        let found = store.find_similar(&copy, since, 0.5).await.expect("lookup");
        assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("bridge"), "found through converted keys");
        // Re-indexed with other text: the converted keys go.
        let mut sink = PostgresSink::new(store.clone(), true);
        crate::index::index(
            &mut sink,
            "wire",
            vec![crate::index::entry("bridge", FROST, None, chrono::Duration::zero())],
        )
        .await;
        let found = store.find_similar(&copy, since, 0.5).await.expect("lookup");
        assert_eq!(found[0], None, "the old text is not found");
        assert_eq!(store.index_size().await.expect("size"), (2, 2 * fp(FROST).keys().len() as u64));
        assert_eq!(store.prune_index(chrono::Utc::now() + chrono::Duration::days(1), 10).await.expect("prune"), 2);
        assert_eq!(store.index_size().await.expect("size"), (0, 0), "pruned with their keys");
        store.close();
    })
    .await;
}

/// The story `text`'s copy is linked to by `store`, if any.
async fn story_of_copy(store: &PostgresStore, text: &str) -> Option<String> {
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let copy = vec![("copy".to_string(), crate::index::fp(&format!("From our partners: {text}")))];
    store.find_similar(&copy, since, 0.5).await.expect("lookup").remove(0).map(|m| m.cluster)
}

/// Each instance keeps a filter of the keys in `lsh` and reads only the
/// keys it may hold; entries other instances write after the filter was
/// built are found all the same, also those of a transaction that began
/// before a lookup and commits after later ones.
#[tokio::test]
async fn lookups_find_what_other_instances_wrote_after_their_key_filter_was_built() {
    use crate::index::{BRIDGE, FERRY, FROST, entry};
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let reader = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        let writer = PostgresStore::connect(&url, Some(&schema)).await.expect("connect");
        assert_eq!(story_of_copy(&reader, BRIDGE).await, None, "nothing indexed yet");
        assert_eq!(reader.key_filter_builds().await, 1);

        // Another instance indexes a story: found by the reader's next lookup.
        let mut sink = PostgresSink::new(writer.clone(), true);
        crate::index::index(&mut sink, "wire", vec![entry("bridge", BRIDGE, None, chrono::Duration::zero())]).await;
        assert_eq!(story_of_copy(&reader, BRIDGE).await.as_deref(), Some("bridge"));

        // A transaction writes a story's entries and stays open while the
        // reader looks up, and another instance commits a story after it.
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        let conn = tokio::spawn(connection);
        client.batch_execute(&format!("SET search_path TO {schema}; BEGIN")).await.expect("begin");
        let frost = crate::index::fp(FROST);
        let rid: i64 = client
            .query_one(
                "INSERT INTO fingerprints (id, sig, at) VALUES ('frost', $1, now()) RETURNING rid",
                &[&frost.to_bytes()],
            )
            .await
            .expect("fingerprint")
            .get(0);
        client
            .execute(
                "INSERT INTO lsh (key, at, rid) SELECT k, now(), $2 FROM unnest($1::bigint[]) AS k",
                &[&frost.keys(), &rid],
            )
            .await
            .expect("keys");
        assert_eq!(story_of_copy(&reader, FROST).await, None, "not committed yet");
        crate::index::index(&mut sink, "wire", vec![entry("ferry", FERRY, None, chrono::Duration::zero())]).await;
        assert_eq!(story_of_copy(&reader, FERRY).await.as_deref(), Some("ferry"));
        client.batch_execute("COMMIT").await.expect("commit");
        assert_eq!(
            story_of_copy(&reader, FROST).await.as_deref(),
            Some("frost"),
            "committed after the reader's later lookups, found"
        );
        assert_eq!(reader.key_filter_builds().await, 1, "kept up to date from the log, not built again");
        drop(client);
        let _ = conn.await;
        reader.close();
        writer.close();
    })
    .await;
}

/// An index written before migration 8 (no key log) is read through the
/// filter built from `lsh` at the first lookup, and keys written after the
/// migration are logged and found.
#[tokio::test]
async fn an_index_before_the_key_log_is_found_through_the_key_filter() {
    use crate::index::{BRIDGE, FROST, entry, fp};
    let Some(url) = url() else { return };
    with_schema(&url.clone(), |schema| async move {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        let conn = tokio::spawn(connection);
        // The schema as migrations 1 to 7 left it.
        let mut setup = format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema};
             CREATE TABLE newswire_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now());"
        );
        for (version, sql) in [
            (1, include_str!("../../migrations/0001_records_and_state.sql")),
            (2, include_str!("../../migrations/0002_feed_leases.sql")),
            (3, include_str!("../../migrations/0003_near_duplicates.sql")),
            (4, include_str!("../../migrations/0004_sink_positions.sql")),
            (5, include_str!("../../migrations/0005_search_and_versions.sql")),
            (6, include_str!("../../migrations/0006_feed_sketches.sql")),
            (7, include_str!("../../migrations/0007_index_row_ids.sql")),
        ] {
            setup.push_str(sql);
            setup.push_str(&format!("\nINSERT INTO newswire_migrations (version, name) VALUES ({version}, 'm');\n"));
        }
        client.batch_execute(&setup).await.expect("the schema before migration 8");
        let f = fp(BRIDGE);
        let rid: i64 = client
            .query_one(
                "INSERT INTO fingerprints (id, sig, at) VALUES ('bridge', $1, now()) RETURNING rid",
                &[&f.to_bytes()],
            )
            .await
            .expect("fingerprint")
            .get(0);
        client
            .execute(
                "INSERT INTO lsh (key, at, rid) SELECT k, now(), $2 FROM unnest($1::bigint[]) AS k",
                &[&f.keys(), &rid],
            )
            .await
            .expect("keys");
        drop(client);
        let _ = conn.await;

        let store = PostgresStore::connect(&url, Some(&schema)).await.expect("connect and migrate");
        assert_eq!(story_of_copy(&store, BRIDGE).await.as_deref(), Some("bridge"), "found through the filter");
        let mut sink = PostgresSink::new(store.clone(), true);
        crate::index::index(&mut sink, "wire", vec![entry("frost", FROST, None, chrono::Duration::zero())]).await;
        assert_eq!(story_of_copy(&store, FROST).await.as_deref(), Some("frost"), "logged and found");
        store.close();
    })
    .await;
}
