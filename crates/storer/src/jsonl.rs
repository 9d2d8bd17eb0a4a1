//! JSON Lines files, one per UTC day of writing.
//!
//! Each record is one line. A write appends the batch's lines to the file of
//! the day and calls fsync before returning, so the checkpoint that follows
//! is never ahead of the data. The files are an append log: an updated
//! article appears again with the same id; readers keep the last line per id.
//!
//! Exactly once across crashes: an append log cannot overwrite by id, so
//! the sink reports its position (file and length) after every write, the
//! pipeline commits it with the batch's checkpoint, and at start
//! [`Sink::rewind`] cuts every file back to the committed position. The
//! lines of a batch whose checkpoint never committed are gone before the
//! batch is fetched and written again. A failed write (disk full midway)
//! is cut away the same way before the retry appends.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use newswire_core::sink::{BoxFuture, Sink, SinkBatch, StoreError};

const NAME: &str = "jsonl";

/// The JSON Lines sink.
#[derive(Debug)]
pub struct JsonlSink {
    dir: PathBuf,
    /// Identifies this log among the positions committed to a state store
    /// that several daemons may share: host name and directory.
    key: String,
    /// The file and its length after the last successful write (or after
    /// the rewind at start): everything past it is uncommitted or torn.
    end: Option<(String, u64)>,
}

impl JsonlSink {
    /// A sink writing `<dir>/newswire-YYYY-MM-DD.jsonl`.
    pub fn new(dir: &Path) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let key = format!("jsonl:{}:{}", host.trim(), absolute.display());
        JsonlSink { dir: dir.to_path_buf(), key, end: None }
    }

    fn file_name() -> String {
        format!("newswire-{}.jsonl", chrono::Utc::now().format("%Y-%m-%d"))
    }

    /// The file a record written now goes to.
    pub fn current_file(&self) -> PathBuf {
        self.dir.join(Self::file_name())
    }
}

/// The day files in `dir` whose whole day ended at or before `before`,
/// removed unless `dry_run`, oldest first. Never a file a committed
/// position (`positions`, as the state store holds them) names: the rewind
/// at start reads it.
pub fn prune_files(
    dir: &Path,
    before: chrono::DateTime<chrono::Utc>,
    positions: &HashMap<String, String>,
    dry_run: bool,
) -> Result<Vec<PathBuf>, StoreError> {
    let keep: Vec<String> = positions.values().filter_map(|p| parse_position(p)).map(|(name, _)| name).collect();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::retryable(NAME, format!("cannot list {}: {e}", dir.display()))),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(day) = name.strip_prefix("newswire-").and_then(|n| n.strip_suffix(".jsonl")) else { continue };
        let Ok(day) = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") else { continue };
        let Some(end) = day.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc()) else { continue };
        if end <= before && !keep.contains(&name) {
            out.push(entry.path());
        }
    }
    out.sort();
    if !dry_run {
        for path in &out {
            std::fs::remove_file(path)
                .map_err(|e| StoreError::retryable(NAME, format!("cannot remove {}: {e}", path.display())))?;
        }
    }
    Ok(out)
}

/// `name:length`, as committed.
fn parse_position(position: &str) -> Option<(String, u64)> {
    let (name, len) = position.rsplit_once(':')?;
    Some((name.to_string(), len.parse().ok()?))
}

/// Whether a file in the directory is one of the log's.
fn is_log_file(name: &str) -> bool {
    name.starts_with("newswire-") && name.ends_with(".jsonl")
}

/// Cut the log back to `(name, len)`: that file to `len` bytes, and every
/// later file of the log removed. Returns the bytes discarded.
fn cut_back(dir: &Path, name: &str, len: u64) -> std::io::Result<u64> {
    let mut discarded = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if !is_log_file(&file) {
            continue;
        }
        let size = entry.metadata()?.len();
        if file.as_str() > name {
            discarded += size;
            std::fs::remove_file(entry.path())?;
        } else if file == name && size > len {
            discarded += size - len;
            let f = std::fs::OpenOptions::new().write(true).open(entry.path())?;
            f.set_len(len)?;
            f.sync_all()?;
        }
    }
    Ok(discarded)
}

/// Where the log ends now: its last file and that file's length, or no
/// file (an empty name, before every file) when it has none.
fn log_end(dir: &Path) -> std::io::Result<(String, u64)> {
    let mut end = (String::new(), 0);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if is_log_file(&file) && file > end.0 {
            end = (file, entry.metadata()?.len());
        }
    }
    Ok(end)
}

fn io_err(context: String, e: std::io::Error) -> StoreError {
    StoreError::retryable(NAME, format!("{context}: {e}"))
}

impl Sink for JsonlSink {
    fn name(&self) -> &str {
        NAME
    }

    fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        let dir = self.dir.clone();
        Box::pin(async move {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| StoreError::fatal(NAME, format!("cannot create directory {}: {e}", dir.display())))
        })
    }

    fn position(&self) -> Option<(String, String)> {
        self.end.as_ref().map(|(name, len)| (self.key.clone(), format!("{name}:{len}")))
    }

    fn rewind<'a>(&'a mut self, committed: &'a HashMap<String, String>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // No position yet (a new log, or one older than positions): the
            // log is kept as it stands, and where it ends becomes the
            // position the pipeline commits before the first write, so a
            // crash before the first checkpoint is cut back too.
            let committed = committed.get(&self.key).and_then(|p| parse_position(p));
            let dir = self.dir.clone();
            let (end, discarded) = tokio::task::spawn_blocking(move || match committed {
                Some((name, len)) => cut_back(&dir, &name, len).map(|discarded| ((name, len), discarded)),
                None => log_end(&dir).map(|end| (end, 0)),
            })
            .await
            .map_err(|e| StoreError::fatal(NAME, format!("rewind task failed: {e}")))?
            .map_err(|e| io_err(format!("cannot rewind {}", self.dir.display()), e))?;
            if discarded > 0 {
                tracing::info!(dir = %self.dir.display(), bytes = discarded, "jsonl: discarded lines past the last checkpoint");
            }
            self.end = Some(end);
            Ok(())
        })
    }

    fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
        let name = Self::file_name();
        let path = self.dir.join(&name);
        // Where this file must end before the append: past it lies a torn
        // earlier attempt. A new day's file starts empty.
        let expected = match &self.end {
            Some((last, len)) if *last == name => Some(*len),
            Some(_) => Some(0),
            None => None,
        };
        let mut buf = Vec::with_capacity(batch.records.len() * 2048);
        let encoded = batch.records.iter().try_for_each(|r| {
            serde_json::to_writer(&mut buf, r)?;
            buf.push(b'\n');
            Ok::<_, serde_json::Error>(())
        });
        Box::pin(async move {
            encoded.map_err(|e| StoreError::fatal(NAME, format!("cannot encode a record: {e}")))?;
            if buf.is_empty() {
                return Ok(());
            }
            let end = tokio::task::spawn_blocking(move || {
                let shown = path.display().to_string();
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| io_err(format!("cannot open {shown}"), e))?;
                let len = file.metadata().map_err(|e| io_err(format!("cannot stat {shown}"), e))?.len();
                if let Some(expected) = expected
                    && len > expected
                {
                    file.set_len(expected).map_err(|e| io_err(format!("cannot cut a torn write from {shown}"), e))?;
                }
                file.write_all(&buf).map_err(|e| io_err(format!("cannot write {shown}"), e))?;
                file.sync_data().map_err(|e| io_err(format!("cannot sync {shown}"), e))?;
                Ok(expected.map_or(len, |e| e.min(len)) + buf.len() as u64)
            })
            .await
            .map_err(|e| StoreError::fatal(NAME, format!("write task failed: {e}")))??;
            self.end = Some((name, end));
            Ok(())
        })
    }

    fn check(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        let dir = self.dir.clone();
        Box::pin(async move {
            let meta = tokio::fs::metadata(&dir)
                .await
                .map_err(|e| StoreError::retryable(NAME, format!("cannot reach {}: {e}", dir.display())))?;
            if meta.is_dir() {
                Ok(())
            } else {
                Err(StoreError::fatal(NAME, format!("{} is not a directory", dir.display())))
            }
        })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_files_past_the_age_go_except_the_committed_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        for day in ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"] {
            std::fs::write(dir.path().join(format!("newswire-{day}.jsonl")), "{}\n").expect("day file");
        }
        std::fs::write(dir.path().join("notes.txt"), "x").expect("other file");
        let before = chrono::DateTime::parse_from_rfc3339("2020-01-04T12:00:00Z").expect("time").to_utc();
        let positions = HashMap::from([("jsonl:h:/d".to_string(), "newswire-2020-01-01.jsonl:3".to_string())]);
        let names = |paths: Vec<PathBuf>| -> Vec<String> {
            paths.iter().map(|p| p.file_name().expect("name").to_string_lossy().into_owned()).collect()
        };
        let would = names(prune_files(dir.path(), before, &positions, true).expect("dry run"));
        assert_eq!(would, ["newswire-2020-01-02.jsonl", "newswire-2020-01-03.jsonl"], "not the day still going");
        assert!(dir.path().join("newswire-2020-01-02.jsonl").exists(), "a dry run removes nothing");
        prune_files(dir.path(), before, &positions, false).expect("prune");
        let mut left = names(std::fs::read_dir(dir.path()).expect("list").map(|e| e.expect("entry").path()).collect());
        left.sort();
        assert_eq!(left, ["newswire-2020-01-01.jsonl", "newswire-2020-01-04.jsonl", "notes.txt"]);
    }

    use super::*;
    use crate::sqlite::tests::record;

    #[tokio::test]
    async fn appends_one_line_per_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut sink = JsonlSink::new(&dir.path().join("out"));
        sink.open().await.expect("open");
        let batch = SinkBatch { records: vec![record("a", "x"), record("b", "y")], ..SinkBatch::default() };
        sink.write(&batch).await.expect("write");
        sink.write(&SinkBatch::default()).await.expect("empty write");
        let text = std::fs::read_to_string(sink.current_file()).expect("file written");
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["id"], "a");
        assert_eq!(lines[1]["body"], "y");
        sink.check().await.expect("dir is reachable");
    }

    #[tokio::test]
    async fn rewind_cuts_what_was_written_past_the_committed_position() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let mut sink = JsonlSink::new(&out);
        sink.open().await.expect("open");
        sink.write(&SinkBatch { records: vec![record("a", "x")], ..SinkBatch::default() }).await.expect("write");
        let (key, committed) = sink.position().expect("a position after a write");
        // A second batch is written, then the process dies before its
        // checkpoint commits; a file of a later day was started too.
        sink.write(&SinkBatch { records: vec![record("b", "y")], ..SinkBatch::default() }).await.expect("write");
        std::fs::write(out.join("newswire-9999-01-01.jsonl"), "{\"id\":\"c\"}\n").expect("later file");
        let mut restarted = JsonlSink::new(&out);
        restarted.open().await.expect("open");
        restarted.rewind(&HashMap::from([(key, committed.clone())])).await.expect("rewind");
        let text = std::fs::read_to_string(restarted.current_file()).expect("file kept");
        assert_eq!(text.lines().count(), 1, "only the committed batch is left: {text}");
        assert!(text.contains("\"id\":\"a\""));
        assert!(!out.join("newswire-9999-01-01.jsonl").exists(), "later files are past the position");
        assert_eq!(restarted.position().map(|p| p.1), Some(committed));
        // The replay then writes the batch once.
        restarted.write(&SinkBatch { records: vec![record("b", "y")], ..SinkBatch::default() }).await.expect("write");
        let text = std::fs::read_to_string(restarted.current_file()).expect("file");
        assert_eq!(text.lines().count(), 2);
    }

    #[tokio::test]
    async fn a_torn_write_is_cut_before_the_next_append() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut sink = JsonlSink::new(dir.path());
        sink.open().await.expect("open");
        sink.write(&SinkBatch { records: vec![record("a", "x")], ..SinkBatch::default() }).await.expect("write");
        // Half a line, as a write that failed when the disk filled up.
        let mut f = std::fs::OpenOptions::new().append(true).open(sink.current_file()).expect("open");
        f.write_all(b"{\"id\":\"b\",\"bo").expect("torn");
        sink.write(&SinkBatch { records: vec![record("b", "y")], ..SinkBatch::default() }).await.expect("retry");
        let text = std::fs::read_to_string(sink.current_file()).expect("file");
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("every line is whole JSON");
        }
        assert_eq!(text.lines().count(), 2);
    }

    #[tokio::test]
    async fn without_a_committed_position_nothing_is_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut sink = JsonlSink::new(dir.path());
        sink.open().await.expect("open");
        sink.write(&SinkBatch { records: vec![record("a", "x")], ..SinkBatch::default() }).await.expect("write");
        let mut other = JsonlSink::new(dir.path());
        other
            .rewind(&HashMap::from([("jsonl:elsewhere:/x".to_string(), "newswire-2000-01-01.jsonl:0".to_string())]))
            .await
            .expect("rewind");
        assert_eq!(std::fs::read_to_string(sink.current_file()).expect("file").lines().count(), 1);
        // Where the log ends now is the position to commit before writing.
        let len = std::fs::metadata(sink.current_file()).expect("file").len();
        let name = sink.current_file().file_name().expect("name").to_string_lossy().into_owned();
        assert_eq!(other.position().map(|p| p.1), Some(format!("{name}:{len}")));
    }

    #[tokio::test]
    async fn a_new_log_killed_before_its_first_checkpoint_is_cut_to_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let mut sink = JsonlSink::new(&out);
        sink.open().await.expect("open");
        sink.rewind(&HashMap::new()).await.expect("rewind");
        let (key, start) = sink.position().expect("a starting position, committed before the first write");
        sink.write(&SinkBatch { records: vec![record("a", "x")], ..SinkBatch::default() }).await.expect("write");
        // The process dies before the batch's checkpoint commits.
        let mut restarted = JsonlSink::new(&out);
        restarted.open().await.expect("open");
        restarted.rewind(&HashMap::from([(key, start)])).await.expect("rewind");
        assert!(!restarted.current_file().exists(), "the uncommitted file is gone");
        restarted.write(&SinkBatch { records: vec![record("a", "x")], ..SinkBatch::default() }).await.expect("write");
        let text = std::fs::read_to_string(restarted.current_file()).expect("file");
        assert_eq!(text.lines().count(), 1, "the replay is written once: {text}");
    }
}
