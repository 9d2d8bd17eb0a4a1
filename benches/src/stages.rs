//! Each stage alone, on one thread: parse, clean (records built from parsed
//! items), sink write (SQLite). Items per second per core.

use std::time::{Duration, Instant};

use chrono::Utc;
use newswire_cleaner::Cleaner;
use newswire_core::sink::SinkBatch;
use newswire_core::state::{Checkpoint, FeedState, ItemMark};
use newswire_pipeline::record::build_record;

use crate::farm::Farm;

/// Throughput of one stage.
pub struct StageRate {
    /// Stage name.
    pub stage: &'static str,
    /// Items processed.
    pub items: usize,
    /// Bytes of input processed.
    pub bytes: usize,
    /// Time taken.
    pub elapsed: Duration,
}

/// Measure parse, clean and SQLite write over the farm, on this thread.
pub fn measure(farm: &Farm) -> anyhow::Result<Vec<StageRate>> {
    let base = url::Url::parse("https://bench.example.com/feed")?;
    let started = Instant::now();
    let mut parsed = Vec::with_capacity(farm.feeds.len());
    for feed in &farm.feeds {
        parsed.push(newswire_fetcher::parse_feed(&feed.body, &base, usize::MAX)?);
    }
    let parse = StageRate { stage: "parse", items: farm.items(), bytes: farm.bytes(), elapsed: started.elapsed() };

    let config = newswire_core::config::parse(
        "[[feed]]\nname = \"bench\"\nurl = \"https://bench.example.com/feed\"\n",
        std::path::Path::new("bench.toml"),
    )?;
    let spec = config.feeds().remove(0);
    let cleaner = Cleaner::new(&[], &[])?;
    let content_bytes: usize = parsed
        .iter()
        .flat_map(|p| &p.items)
        .map(|i| i.content.as_deref().or(i.summary.as_deref()).map_or(0, str::len))
        .sum();
    let now = Utc::now();
    let started = Instant::now();
    let mut batches = Vec::with_capacity(parsed.len());
    let mut items = 0;
    for feed in parsed {
        let records: Vec<_> = feed.items.into_iter().filter_map(|i| build_record(&spec, &cleaner, i, now)).collect();
        items += records.len();
        batches.push(records);
    }
    let clean = StageRate { stage: "clean", items, bytes: content_bytes, elapsed: started.elapsed() };

    let dir = tempfile::tempdir()?;
    let store = newswire_storer::SqliteStore::open(&dir.path().join("bench.db"))?;
    let record_bytes: usize = batches.iter().flatten().map(|r| r.body.len()).sum();
    let started = Instant::now();
    for (i, records) in batches.into_iter().enumerate() {
        let items =
            records.iter().map(|r| ItemMark { id: r.id.clone(), content_hash: r.content_hash.clone() }).collect();
        let batch = SinkBatch {
            checkpoint: Checkpoint {
                state: FeedState { feed: format!("feed-{i}"), ..FeedState::default() },
                items,
                fingerprints: Vec::new(),
                sketch: None,
                positions: Vec::new(),
            },
            records,
        };
        store.write_blocking(&batch.records, Some(&batch.checkpoint))?;
    }
    let write = StageRate { stage: "sink write (sqlite)", items, bytes: record_bytes, elapsed: started.elapsed() };
    Ok(vec![parse, clean, write])
}
