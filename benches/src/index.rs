//! The near-duplicate index as the archive grows: insert + lookup cost per
//! record at several index sizes, in the SQLite store or in PostgreSQL (a
//! scratch schema the bench creates and drops), through the calls the
//! store stage makes (`find_similar` for a batch, then the batch's entries
//! committed with its checkpoint).
//!
//! Articles are generated from a fixed seed: 250 words drawn from a
//! 20,000-word vocabulary with a heavy head (log-uniform ranks), so common
//! phrases recur and some keys have long entry lists, as in real news.
//! The index is filled to each size in batches of [`BATCH`] (untimed, but
//! reported), one batch is looked up untimed (what a store catches up on
//! after the fill), then [`probes`](measure) records are timed: one in five is a
//! copy of an indexed article (a wrapped, lightly edited copy), so lookups
//! compare candidates and find stories, the rest are new. Every entry is
//! inside the window: the worst case, the whole archive searchable.

use std::time::{Duration, Instant};

use chrono::Utc;
use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::StateStore;
use newswire_core::state::{Checkpoint, FeedState, Indexed, Match};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Records per batch, as a feed poll would bring.
const BATCH: usize = 50;
/// Words per article.
const WORDS: usize = 250;
/// Vocabulary size.
const VOCABULARY: usize = 20_000;
/// Link threshold, as the default config.
const THRESHOLD: f64 = 0.5;

/// One measured index size.
pub struct IndexRow {
    /// Records in the index when measured.
    pub indexed: usize,
    /// Records timed.
    pub probes: usize,
    /// Mean lookup time per record.
    pub lookup: Duration,
    /// Mean insert (commit) time per record.
    pub insert: Duration,
    /// Probes linked to a story (of the copies among them).
    pub found: usize,
    /// Copies among the probes.
    pub copies: usize,
    /// Mean insert time per record while filling up to this size.
    pub fill: Duration,
    /// Database size, bytes (SQLite: the WAL folded back first;
    /// PostgreSQL: the scratch schema's tables with their indexes).
    pub db_bytes: u64,
}

/// The store measured: SQLite in a temporary directory, or PostgreSQL in
/// a scratch schema of its own (never the public one's tables).
enum Store {
    Sqlite { store: newswire_storer::SqliteStore, path: std::path::PathBuf, _dir: tempfile::TempDir },
    Postgres { store: newswire_storer::PostgresStore, client: tokio_postgres::Client, schema: String },
}

impl Store {
    async fn open(postgres: Option<&str>) -> anyhow::Result<Store> {
        let Some(url) = postgres else {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("index.db");
            let store = newswire_storer::SqliteStore::open(&path)?;
            return Ok(Store::Sqlite { store, path, _dir: dir });
        };
        let schema = format!("newswire_bench_index_{}", std::process::id());
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL for the index bench: {e}"))?;
        tokio::spawn(connection);
        // A schema left by an earlier run of this process id is scratch too.
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await?;
        let store = newswire_storer::PostgresStore::connect(url, Some(&schema)).await?;
        Ok(Store::Postgres { store, client, schema })
    }

    async fn write(&self, cp: &Checkpoint) -> anyhow::Result<()> {
        match self {
            Store::Sqlite { store, .. } => store.write_blocking(&[], Some(cp))?,
            Store::Postgres { store, .. } => store.write(&[], Some(cp)).await?,
        }
        Ok(())
    }

    async fn find(
        &self,
        batch: &[(String, Fingerprint)],
        since: chrono::DateTime<Utc>,
    ) -> anyhow::Result<Vec<Option<Match>>> {
        Ok(match self {
            Store::Sqlite { store, .. } => store.find_similar(batch, since, THRESHOLD).await?,
            Store::Postgres { store, .. } => store.find_similar(batch, since, THRESHOLD).await?,
        })
    }

    /// The index's size on disk (untimed).
    async fn bytes(&self) -> anyhow::Result<u64> {
        match self {
            Store::Sqlite { store, path, .. } => {
                // Fold the WAL back into the database so its size is the index's.
                newswire_core::sink::Sink::close(&mut newswire_storer::SqliteSink::new(store.clone(), true)).await?;
                let size = |p: std::path::PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
                // And the runs file beside it (the index's keys).
                let beside = |suffix: &str| {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    size(file.into())
                };
                Ok(size(path.clone()) + beside("-wal") + beside("-runs") + beside("-runs-wal"))
            }
            Store::Postgres { client, schema, .. } => {
                let row = client
                    .query_one(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                        &[&schema],
                    )
                    .await?;
                Ok(u64::try_from(row.get::<_, i64>(0))?)
            }
        }
    }

    /// Drop the scratch schema (PostgreSQL); the SQLite directory goes with
    /// the store.
    async fn remove(self) -> anyhow::Result<()> {
        if let Store::Postgres { store, client, schema } = self {
            store.close();
            client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await?;
        }
        Ok(())
    }
}

/// Deterministic synthetic articles.
struct Writer {
    rng: StdRng,
    vocabulary: Vec<String>,
}

impl Writer {
    fn new(seed: u64) -> Writer {
        let mut rng = StdRng::seed_from_u64(seed);
        let letters = b"abcdefghijklmnopqrstuvwxyz";
        let vocabulary = (0..VOCABULARY)
            .map(|_| {
                let len = rng.random_range(2..10);
                (0..len).map(|_| letters[rng.random_range(0..letters.len())] as char).collect()
            })
            .collect();
        Writer { rng, vocabulary }
    }

    /// A word by log-uniform rank: the first words of the vocabulary are
    /// far more common than the last, as in text.
    fn word(&mut self) -> &str {
        let u: f64 = self.rng.random();
        let rank = ((VOCABULARY as f64).powf(u) as usize).saturating_sub(1).min(VOCABULARY - 1);
        &self.vocabulary[rank]
    }

    fn article(&mut self) -> String {
        let mut out = String::with_capacity(WORDS * 7);
        for i in 0..WORDS {
            if i > 0 {
                out.push(if i % 17 == 0 { '.' } else { ' ' });
                if i % 17 == 0 {
                    out.push(' ');
                }
            }
            let word = self.word().to_string();
            out.push_str(&word);
        }
        out
    }

    /// A syndicated copy: an intro line, a few words changed, a footer.
    fn copy(&mut self, original: &str) -> String {
        let mut words: Vec<String> = original.split(' ').map(str::to_string).collect();
        for _ in 0..5 {
            let i = self.rng.random_range(0..words.len());
            words[i] = self.word().to_string();
        }
        format!(
            "From our partners at the wire. {} This article has been adapted from its original source.",
            words.join(" ")
        )
    }
}

fn entries(batch: &[(String, Fingerprint)], at: chrono::DateTime<Utc>) -> Checkpoint {
    Checkpoint {
        state: FeedState { feed: "bench".into(), ..FeedState::default() },
        fingerprints: batch
            .iter()
            .map(|(id, fp)| Indexed { id: id.clone(), fingerprint: fp.clone(), cluster: None, at })
            .collect(),
        ..Checkpoint::default()
    }
}

/// Fill a fresh index (SQLite, or PostgreSQL at `postgres` in a scratch
/// schema dropped after, also on error) to each of `sizes` (ascending) and
/// time `probes` insert + lookups at each.
pub async fn measure(
    sizes: &[usize],
    probes: usize,
    seed: u64,
    postgres: Option<&str>,
) -> anyhow::Result<Vec<IndexRow>> {
    let store = Store::open(postgres).await?;
    let measured = measure_in(&store, sizes, probes, seed).await;
    let removed = store.remove().await;
    let rows = measured?;
    removed?;
    Ok(rows)
}

async fn measure_in(store: &Store, sizes: &[usize], probes: usize, seed: u64) -> anyhow::Result<Vec<IndexRow>> {
    let mut writer = Writer::new(seed);
    // A sample of indexed articles to copy from (reservoir, bounded).
    let mut originals: Vec<String> = Vec::new();
    let mut indexed = 0usize;
    let mut next_id = 0usize;
    let mut rows = Vec::new();
    let since = Utc::now() - chrono::Duration::days(7);
    for &size in sizes {
        let mut fill_time = Duration::ZERO;
        let filled_from = indexed;
        while indexed < size {
            let n = BATCH.min(size - indexed);
            let mut batch = Vec::with_capacity(n);
            for _ in 0..n {
                let text = writer.article();
                let fp = Fingerprint::of(&text).ok_or_else(|| anyhow::anyhow!("a generated article is too short"))?;
                if originals.len() < 1000 {
                    originals.push(text);
                } else if writer.rng.random_range(0..indexed.max(1)) < 1000 {
                    let slot = writer.rng.random_range(0..originals.len());
                    originals[slot] = text;
                }
                batch.push((format!("r{next_id}"), fp));
                next_id += 1;
            }
            let cp = entries(&batch, Utc::now());
            let started = Instant::now();
            store.write(&cp).await?;
            fill_time += started.elapsed();
            indexed += n;
            if indexed.is_multiple_of(100_000) {
                eprintln!("index bench: filled {indexed} records ({:.0} s of inserts)", fill_time.as_secs_f64());
            }
        }
        let fill = fill_time / u32::try_from((indexed - filled_from).max(1))?;
        // One lookup untimed before the probes, as the store stage makes one
        // every batch: what a store catches up on at its first lookup after
        // the fill (PostgreSQL: its key filter, built or brought up to date
        // with the fill's keys) is not a lookup's steady cost.
        // Articles of a writer of their own: the probes stay those of a
        // bench without this lookup.
        let mut warm_writer = Writer::new(seed ^ indexed as u64);
        let warm: Vec<(String, Fingerprint)> = (0..BATCH)
            .map(|i| Fingerprint::of(&warm_writer.article()).map(|fp| (format!("warm{indexed}-{i}"), fp)))
            .collect::<Option<_>>()
            .ok_or_else(|| anyhow::anyhow!("a generated article is too short"))?;
        let started = Instant::now();
        store.find(&warm, since).await?;
        eprintln!(
            "index bench: {size} records: first lookup after the fill {:.2} s (untimed)",
            started.elapsed().as_secs_f64()
        );

        let (mut lookup, mut insert, mut found, mut copies) = (Duration::ZERO, Duration::ZERO, 0, 0);
        let mut done = 0;
        while done < probes {
            let n = BATCH.min(probes - done);
            let mut batch = Vec::with_capacity(n);
            for i in 0..n {
                let text = if (done + i) % 5 == 0 && !originals.is_empty() {
                    copies += 1;
                    let original = originals[writer.rng.random_range(0..originals.len())].clone();
                    writer.copy(&original)
                } else {
                    writer.article()
                };
                let fp = Fingerprint::of(&text).ok_or_else(|| anyhow::anyhow!("a generated article is too short"))?;
                batch.push((format!("r{next_id}"), fp));
                next_id += 1;
            }
            let started = Instant::now();
            let matches = store.find(&batch, since).await?;
            lookup += started.elapsed();
            found += matches.iter().flatten().count();
            let cp = entries(&batch, Utc::now());
            let started = Instant::now();
            store.write(&cp).await?;
            insert += started.elapsed();
            done += n;
            indexed += n;
        }
        if let Store::Sqlite { store, .. } = store {
            let (hits, misses, bytes) = store.index_cache();
            eprintln!(
                "index bench: {size} records: lookup cache {hits} hits, {misses} misses so far, {:.1} MB held",
                bytes as f64 / 1e6
            );
        }
        let db_bytes = store.bytes().await?;
        let per = u32::try_from(probes.max(1))?;
        rows.push(IndexRow {
            indexed: size,
            probes,
            lookup: lookup / per,
            insert: insert / per,
            found,
            copies,
            fill,
            db_bytes,
        });
    }
    Ok(rows)
}

/// Print the table.
pub fn print(rows: &[IndexRow]) {
    println!(
        "| indexed records | probes | insert + lookup µs/record | lookup µs | insert µs | copies found | fill µs/record | index MB |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {}/{} | {:.0} | {:.0} |",
            r.indexed,
            r.probes,
            (r.lookup + r.insert).as_secs_f64() * 1e6,
            r.lookup.as_secs_f64() * 1e6,
            r.insert.as_secs_f64() * 1e6,
            r.found,
            r.copies,
            r.fill.as_secs_f64() * 1e6,
            r.db_bytes as f64 / 1e6
        );
    }
}
