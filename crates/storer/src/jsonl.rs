//! JSON Lines files, one per UTC day of writing.
//!
//! Each record is one line. A write appends the batch's lines to the file of
//! the day and calls fsync before returning, so the checkpoint that follows
//! is never ahead of the data. The files are an append log: an updated
//! article appears again with the same id; readers keep the last line per id.

use std::io::Write;
use std::path::{Path, PathBuf};

use newswire_core::sink::{BoxFuture, Sink, SinkBatch, StoreError};

const NAME: &str = "jsonl";

/// The JSON Lines sink.
#[derive(Debug)]
pub struct JsonlSink {
    dir: PathBuf,
}

impl JsonlSink {
    /// A sink writing `<dir>/newswire-YYYY-MM-DD.jsonl`.
    pub fn new(dir: &Path) -> Self {
        JsonlSink { dir: dir.to_path_buf() }
    }

    /// The file a record written now goes to.
    pub fn current_file(&self) -> PathBuf {
        self.dir.join(format!("newswire-{}.jsonl", chrono::Utc::now().format("%Y-%m-%d")))
    }
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

    fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
        let path = self.current_file();
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
            tokio::task::spawn_blocking(move || {
                let shown = path.display().to_string();
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| io_err(format!("cannot open {shown}"), e))?;
                file.write_all(&buf).map_err(|e| io_err(format!("cannot write {shown}"), e))?;
                file.sync_data().map_err(|e| io_err(format!("cannot sync {shown}"), e))
            })
            .await
            .map_err(|e| StoreError::fatal(NAME, format!("write task failed: {e}")))?
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
}
