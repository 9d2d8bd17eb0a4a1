//! The crash test: nothing is lost and nothing is doubled, wherever the
//! process dies.
//!
//! A farm of 200 feeds whose items change over time (new items every few
//! cycles, some items edited) is served from this process. The daemon runs
//! against it into SQLite (the state), JSONL, and PostgreSQL and NATS when
//! `NEWSWIRE_TEST_POSTGRES_URL` and `NEWSWIRE_TEST_NATS_URL` are set, and is
//! killed again and again:
//!
//! 1. SIGKILL at a random moment (seeded, so a failing run can be
//!    replayed with `NEWSWIRE_CRASH_SEED`), `NEWSWIRE_CRASH_CYCLES` times;
//! 2. an abort at each named failpoint (`crates/pipeline/src/failpoint.rs`: after fetch,
//!    after clean, between sinks, before and after the checkpoint commit),
//!    `NEWSWIRE_CRASH_HITS` times each.
//!
//! After every death the committed checkpoints are checked against the
//! data: every item the state marks as written is in every sink with that
//! content hash (a checkpoint is never ahead of the data). At the end the
//! farm stops changing, one backfill catches up, and every sink is compared
//! with what the farm published: every item's last version present, once.
//!
//! The short form (CI) runs 30 kills and 3 hits per failpoint; the long
//! form is `NEWSWIRE_CRASH_CYCLES=100 NEWSWIRE_CRASH_HITS=10 cargo test
//! --release --test crash -- --nocapture` (docs/reliability.md).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};

#[path = "e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

const FEEDS: u64 = 200;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The farm's clock: items of epoch `e` exist once the clock reaches it.
#[derive(Default)]
struct Farm {
    epoch: AtomicU64,
}

/// The edition of item `k` of feed `n` at epoch `e`: one item in seven is
/// edited every four epochs.
fn edition(n: u64, k: u64, e: u64) -> u64 {
    if (n + k).is_multiple_of(7) { (e - k) / 4 } else { 0 }
}

/// The sentence that identifies an item's edition in its body; `r{v}` is a
/// word of that edition only, for the full-text index's check (it keeps
/// no positions, so a phrase cannot be asked for).
fn marker(n: u64, k: u64, v: u64) -> String {
    format!("Dispatch {n} {k} edition {v} confirmed as revision r{v}.")
}

/// The edition a stored body says it is.
fn edition_of(body: &str) -> u64 {
    body.split(" edition ").nth(1).and_then(|rest| rest.split(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn feed_document(n: u64, e: u64) -> String {
    let mut items = String::new();
    // Newest first, as feeds list them; one new item per epoch, from a
    // different start per feed so the feeds are not all alike.
    for k in (0..=e).rev() {
        let v = edition(n, k, e);
        items.push_str(&format!(
            "<item><title>Dispatch {k} from station {n}</title><link>https://crash.example.org/{n}/{k}</link>\
             <guid>crash-{n}-{k}</guid><pubDate>Tue, 01 Dec 2026 08:{:02}:00 GMT</pubDate>\
             <description><![CDATA[<p>{}</p><p>The harbour office said the crews of station {n} worked through \
             the night on the eastern quay, and that the ferry timetable for the week would be published on \
             Thursday after the tide tables were checked again.</p><p>Residents were asked to keep clear of the \
             slipway while the repairs continue, and the council thanked the volunteers who carried sandbags.</p>]]>\
             </description></item>",
            k % 60,
            marker(n, k, v)
        ));
    }
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Station {n}</title>{items}</channel></rss>")
}

async fn serve(farm: Arc<Farm>) -> std::net::SocketAddr {
    use axum::extract::{Path, State};
    async fn feed(State(farm): State<Arc<Farm>>, Path(n): Path<u64>) -> axum::response::Response {
        use axum::response::IntoResponse;
        let e = farm.epoch.load(Ordering::SeqCst);
        ([(axum::http::header::CONTENT_TYPE, "application/rss+xml")], feed_document(n, e)).into_response()
    }
    let app = axum::Router::new().route("/f/{n}", axum::routing::get(feed)).with_state(farm);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

/// The servers behind the optional sinks, with a fresh schema and stream.
struct Remote {
    pg: Option<(String, String)>,
    nats: Option<(String, String)>,
}

impl Remote {
    fn from_env(suffix: u32) -> Remote {
        // A binary built without a sink's feature refuses its config: leave
        // that sink out, saying so.
        let from_env = |var: &str, feature: &str, compiled: bool| {
            if !compiled {
                eprintln!("skipped the {feature} sink: the binary is built without the {feature} feature");
                return None;
            }
            let url = std::env::var(var).ok();
            if url.is_none() {
                eprintln!("skipped the {feature} sink: {var} is not set");
            }
            url
        };
        let pg = from_env("NEWSWIRE_TEST_POSTGRES_URL", "postgres", cfg!(feature = "postgres"))
            .map(|url| (url, format!("newswire_crash_{suffix}")));
        let nats = from_env("NEWSWIRE_TEST_NATS_URL", "nats", cfg!(feature = "nats"))
            .map(|url| (url, format!("NEWSWIRE_CRASH_{suffix}")));
        Remote { pg, nats }
    }

    fn sinks(&self, suffix: u32) -> String {
        let mut text = String::new();
        if let Some((url, schema)) = &self.pg {
            text.push_str(&format!("\n[[sink]]\nkind = \"postgres\"\nurl = \"{url}\"\nschema = \"{schema}\"\n"));
        }
        if let Some((url, stream)) = &self.nats {
            text.push_str(&format!(
                "\n[[sink]]\nkind = \"nats\"\nurl = \"{url}\"\nstream = \"{stream}\"\nsubject = \"crash{suffix}.{{feed}}\"\n"
            ));
        }
        text
    }

    async fn pg_client(&self) -> Option<(tokio_postgres::Client, String)> {
        let (url, schema) = self.pg.as_ref()?;
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to pg");
        tokio::spawn(connection);
        Some((client, schema.clone()))
    }

    /// (id, content hash) of every PostgreSQL record; empty before the
    /// daemon made the schema.
    async fn pg_records(&self) -> Option<HashMap<String, (String, String)>> {
        let (client, schema) = self.pg_client().await?;
        let rows = client
            .query(&format!("SELECT id, content_hash, body FROM {schema}.records"), &[])
            .await
            .unwrap_or_default();
        Some(rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect())
    }

    /// Every message in the stream, as `id:content_hash` of its record.
    async fn nats_messages(&self) -> Option<Vec<String>> {
        let (url, stream) = self.nats.as_ref()?;
        let js = async_nats::jetstream::new(async_nats::connect(url).await.expect("connect to nats"));
        let mut stream = js.get_stream(stream).await.expect("the stream exists");
        let info = stream.info().await.expect("stream info").state.clone();
        let mut out = Vec::with_capacity(info.messages as usize);
        for seq in info.first_sequence..=info.last_sequence {
            let Ok(msg) = stream.get_raw_message(seq).await else { continue };
            let record: serde_json::Value = serde_json::from_slice(&msg.payload).expect("each message is a record");
            out.push(format!(
                "{}:{}",
                record["id"].as_str().unwrap_or(""),
                record["content_hash"].as_str().unwrap_or("")
            ));
        }
        Some(out)
    }

    async fn remove(&self) {
        if let Some((client, schema)) = self.pg_client().await {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
        }
        if let Some((url, stream)) = &self.nats
            && let Ok(nats) = async_nats::connect(url).await
        {
            let _ = async_nats::jetstream::new(nats).delete_stream(stream).await;
        }
    }
}

/// The JSONL lines written: (id, content hash, body), in order. Between
/// deaths the last line of a file may be torn (the process died inside a
/// write; the next start cuts it away): `torn_ok` lets that one pass.
fn jsonl_lines(work: &harness::Workdir, torn_ok: bool) -> Vec<(String, String, String)> {
    let dir = work.path().join("data/jsonl");
    let mut files: Vec<std::path::PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.expect("dir entry").path()).collect(),
        Err(_) => return Vec::new(),
    };
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read jsonl");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let v: serde_json::Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(_) if torn_ok && i + 1 == lines.len() && !text.ends_with('\n') => continue,
                Err(e) => panic!("{}: line {} is not JSON: {e}", file.display(), i + 1),
            };
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            out.push((field("id"), field("content_hash"), field("body")));
        }
    }
    out
}

/// The database, once the daemon has made it: one killed before it made
/// its data directory wrote nothing.
fn existing_db(work: &harness::Workdir) -> Option<rusqlite::Connection> {
    work.path().join("data/newswire.db").exists().then(|| work.db())
}

/// The committed item marks: id to content hash.
fn committed_marks(work: &harness::Workdir) -> HashMap<String, String> {
    let Some(db) = existing_db(work) else { return HashMap::new() };
    let Ok(mut stmt) = db.prepare("SELECT id, content_hash FROM item_state") else { return HashMap::new() };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").map(|r| r.expect("row")).collect()
}

/// A checkpoint is never ahead of the data: every committed mark is in
/// every sink, with its content hash.
async fn check_not_ahead(work: &harness::Workdir, remote: &Remote, when: &str) -> usize {
    let marks = committed_marks(work);
    let records: HashMap<String, (String, String)> = existing_db(work)
        .and_then(|db| {
            db.prepare("SELECT id, content_hash, body FROM records")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?.collect())
                .ok()
        })
        .unwrap_or_default();
    let lines: HashSet<(String, String)> =
        jsonl_lines(work, true).into_iter().map(|(id, hash, _)| (id, hash)).collect();
    let pg = remote.pg_records().await;
    for (id, hash) in &marks {
        let record = records.get(id);
        assert_eq!(record.map(|r| &r.0), Some(hash), "{when}: sqlite's checkpoint is ahead of its records for {id}");
        assert!(lines.contains(&(id.clone(), hash.clone())), "{when}: checkpoint ahead of the jsonl log for {id}");
        if let Some(pg) = &pg {
            // An upserting sink written before the commit may already hold
            // a newer edition than the checkpoint: never an older one.
            let held = pg.get(id);
            let committed = record.map(|r| edition_of(&r.1));
            assert!(
                held.is_some_and(|(h, body)| h == hash || Some(edition_of(body)) > committed),
                "{when}: checkpoint ahead of postgres for {id}: {held:?}"
            );
        }
    }
    marks.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_anywhere_loses_nothing_and_doubles_nothing() {
    let seed = env_number("NEWSWIRE_CRASH_SEED", 20_261_201);
    let cycles = env_number("NEWSWIRE_CRASH_CYCLES", 30);
    let hits_per_point = env_number("NEWSWIRE_CRASH_HITS", 3);
    eprintln!("crash test: seed {seed}, {cycles} kills, {hits_per_point} hits per failpoint");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let suffix: u32 = rand::rng().random();
    let farm = Arc::new(Farm::default());
    let addr = serve(Arc::clone(&farm)).await;
    let remote = Remote::from_env(suffix);
    let work = harness::Workdir::new();
    let mut text = format!(
        "[pipeline]\ndata_dir = \"{}\"\nconcurrency = 16\nper_host_concurrency = 16\nper_host_rate = 0\nshutdown_grace = \"10s\"\n\n\
         [defaults]\nallow_private = true\ntimeout = \"5s\"\ninterval = \"1s\"\nmin_interval = \"1s\"\nmax_interval = \"1s\"\n\n\
         [[sink]]\nkind = \"jsonl\"\n{}\n[[sink]]\nkind = \"sqlite\"\n",
        work.path().join("data").display(),
        remote.sinks(suffix)
    );
    for n in 0..FEEDS {
        text.push_str(&format!("\n[[feed]]\nname = \"station-{n}\"\nurl = \"http://{addr}/f/{n}\"\n"));
    }
    let config = work.path().join("crash.toml");
    std::fs::write(&config, text).expect("write the config");
    let config = config.to_str().expect("utf-8 path").to_string();
    let start = |failpoint: Option<String>| {
        let mut cmd = tokio::process::Command::new(harness::bin());
        cmd.kill_on_drop(true);
        cmd.args(["run", "-c", &config]).current_dir(work.path()).env("RUST_LOG", "error");
        cmd.stderr(std::process::Stdio::null()).stdout(std::process::Stdio::null());
        if let Some(point) = failpoint {
            cmd.env("NEWSWIRE_FAILPOINT", point);
        }
        cmd.spawn().expect("start the daemon")
    };

    // Whether a daemon started at a failpoint died there (SIGABRT); one
    // that never reaches it is killed after 20 s.
    let died_at_failpoint = |mut daemon: tokio::process::Child| async move {
        let status = match tokio::time::timeout(Duration::from_secs(20), daemon.wait()).await {
            Ok(status) => status.expect("wait"),
            Err(_) => {
                daemon.start_kill().expect("SIGKILL");
                daemon.wait().await.expect("wait")
            }
        };
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(6)
    };

    // 0. Killed between its sinks in the very first batch, before any
    // checkpoint ever committed: a new log's lines must be cut back too.
    assert!(died_at_failpoint(start(Some("between_sinks:1".into()))).await, "the first batch never reached the sinks");
    check_not_ahead(&work, &remote, "after the first batch's death").await;
    let mut deaths = 1;

    // 1. Killed at random moments; the farm moves on every third cycle.
    for cycle in 0..cycles {
        if cycle % 3 == 0 {
            farm.epoch.fetch_add(1, Ordering::SeqCst);
        }
        let mut daemon = start(None);
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..1500))).await;
        daemon.start_kill().expect("SIGKILL");
        let _ = daemon.wait().await;
        deaths += 1;
        check_not_ahead(&work, &remote, &format!("after kill {cycle}")).await;
    }

    // 2. Each failpoint, hit at a random one of its first reaches.
    let points = ["after_fetch", "after_clean", "between_sinks", "before_commit", "after_commit"];
    let mut hits: HashMap<&str, u64> = HashMap::new();
    for point in points {
        let mut tries = 0;
        while hits.get(point).copied().unwrap_or(0) < hits_per_point {
            tries += 1;
            assert!(tries <= hits_per_point * 4, "failpoint {point} was reached only {hits:?} times in {tries} runs");
            farm.epoch.fetch_add(1, Ordering::SeqCst);
            let daemon = start(Some(format!("{point}:{}", rng.random_range(1..40))));
            if died_at_failpoint(daemon).await {
                *hits.entry(point).or_default() += 1;
            }
            deaths += 1;
            check_not_ahead(&work, &remote, &format!("after failpoint {point}")).await;
        }
    }

    // 3. The farm stops; one backfill catches up with what it published.
    let epoch = farm.epoch.load(Ordering::SeqCst);
    let out = harness::run(&["backfill", "-c", &config], work.path()).await;
    assert!(out.status.success(), "the catch-up backfill failed: {}", harness::stderr(&out));
    let expected: HashMap<String, String> = (0..FEEDS)
        .flat_map(|n| (0..=epoch).map(move |k| (format!("crash-{n}-{k}"), marker(n, k, edition(n, k, epoch)))))
        .collect();

    // SQLite: one record per item, at its last edition.
    let db = work.db();
    let mut stmt = db.prepare("SELECT guid, id, content_hash, body FROM records").expect("query");
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    let by_guid: HashMap<&str, &(String, String, String, String)> = rows.iter().map(|r| (r.0.as_str(), r)).collect();
    let lost: Vec<&String> = expected.keys().filter(|g| !by_guid.contains_key(g.as_str())).collect();
    assert!(lost.is_empty(), "sqlite lost {} items, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    assert_eq!(rows.len(), expected.len(), "sqlite holds exactly the published items");
    for (guid, want) in &expected {
        assert!(by_guid[guid.as_str()].3.contains(want.as_str()), "sqlite holds an old edition of {guid}");
    }
    // The full-text index (its own file, kept from the records' log)
    // matches the records after crashes anywhere: one entry per record,
    // each with the words of the record's last edition, never an old one.
    // A search applies what the log holds first.
    let out = harness::run(&["records", "-c", &config, "--query", "dispatch"], work.path()).await;
    assert!(out.status.success(), "search failed: {}", harness::stderr(&out));
    assert_eq!(harness::stdout(&out).lines().count(), expected.len(), "a search finds every record");
    let mut search = work.path().join("data/newswire.db").into_os_string();
    search.push("-search");
    db.execute("ATTACH DATABASE ?1 AS search", [search.to_string_lossy()]).expect("attach the index");
    let ids = |sql: &str, arg: Option<&str>| -> HashSet<i64> {
        let mut stmt = db.prepare(sql).expect("query");
        let args: Vec<&str> = arg.into_iter().collect();
        stmt.query_map(rusqlite::params_from_iter(args), |r| r.get(0))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    };
    let records = ids("SELECT rowid FROM records", None);
    let indexed = ids("SELECT rowid FROM search.records_fts", None);
    assert!(indexed == records, "{} index entries for {} records", indexed.len(), records.len());
    for v in 0..=2 {
        let word = format!("\"r{v}\"");
        let want: HashSet<i64> =
            ids("SELECT rowid FROM records WHERE body LIKE ?1", Some(&format!("% revision r{v}.%")));
        let got = ids("SELECT rowid FROM search.records_fts WHERE records_fts MATCH ?1", Some(&word));
        let wrong: Vec<&i64> = got.symmetric_difference(&want).take(5).collect();
        assert!(!want.is_empty() || v > 0, "records of the first edition");
        assert!(wrong.is_empty(), "the index holds an old edition of records ({word}), e.g. rows {wrong:?}");
    }
    let latest: HashMap<&str, &str> = rows.iter().map(|r| (r.1.as_str(), r.2.as_str())).collect();

    // JSONL: every version once; the last line of each id is the latest.
    let lines = jsonl_lines(&work, false);
    let mut seen = HashSet::new();
    let doubled: Vec<&(String, String, String)> =
        lines.iter().filter(|(id, hash, _)| !seen.insert((id.clone(), hash.clone()))).collect();
    assert!(doubled.is_empty(), "jsonl repeats {} lines, e.g. {:?}", doubled.len(), doubled.first().map(|l| &l.0));
    let mut last_line: HashMap<&str, &str> = HashMap::new();
    for (id, hash, _) in &lines {
        last_line.insert(id, hash);
    }
    assert_eq!(last_line, latest, "jsonl's last line per id is sqlite's record");

    // PostgreSQL and NATS, when configured.
    if let Some(pg) = remote.pg_records().await {
        let pg: HashMap<&str, &str> = pg.iter().map(|(id, (hash, _))| (id.as_str(), hash.as_str())).collect();
        assert_eq!(pg, latest, "postgres holds what sqlite holds");
    }
    if let Some(messages) = remote.nats_messages().await {
        let mut seen = HashSet::new();
        let doubled: Vec<&String> = messages.iter().filter(|m| !seen.insert(m.as_str())).collect();
        assert!(
            doubled.is_empty(),
            "the stream holds {} of {} messages twice, e.g. {:?}",
            doubled.len(),
            messages.len(),
            &doubled[..doubled.len().min(3)]
        );
        for (id, hash) in &latest {
            assert!(seen.contains(format!("{id}:{hash}").as_str()), "the stream lacks {id}'s last version");
        }
    }
    remote.remove().await;
    let versions: i64 = db.query_row("SELECT COALESCE(SUM(version), 0) FROM records", [], |r| r.get(0)).expect("sum");
    eprintln!(
        "crash test: {deaths} deaths ({cycles} kills, failpoint hits {hits:?}); {} records, {versions} versions, \
         {} jsonl lines checked: 0 lost, 0 duplicated",
        rows.len(),
        lines.len()
    );
}
