//! Running the binary and reading what it wrote.

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_newswire")
}

/// A temporary working directory with a config file in it.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `newswire.toml` with a SQLite and a JSONL sink, private
    /// addresses allowed (the server is on 127.0.0.1), and these feeds.
    pub fn config(&self, feeds: &[(&str, String)], extra_defaults: &str) -> PathBuf {
        let mut text = format!(
            "[pipeline]\ndata_dir = \"{}\"\nconcurrency = 4\nper_host_concurrency = 8\nper_host_rate = 0\n\n[defaults]\nallow_private = true\ntimeout = \"2s\"\n{extra_defaults}\n\n[[sink]]\nkind = \"sqlite\"\n\n[[sink]]\nkind = \"jsonl\"\n",
            self.path().join("data").display()
        );
        for (name, url) in feeds {
            text.push_str(&format!("\n[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
        }
        let path = self.path().join("newswire.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path().join("data/newswire.db")).expect("open the database")
    }

    /// Every JSONL line written, parsed.
    pub fn jsonl(&self) -> Vec<serde_json::Value> {
        let dir = self.path().join("data/jsonl");
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else { return out };
        let mut files: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).collect();
        files.sort();
        for file in files {
            for line in std::fs::read_to_string(&file).expect("read jsonl").lines() {
                out.push(serde_json::from_str(line).expect("each line is JSON"));
            }
        }
        out
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).expect("count query")
    }

    /// A count while the daemon may still be creating the database: None
    /// until the file and its tables exist.
    pub fn try_count(&self, sql: &str) -> Option<i64> {
        let path = self.path().join("data/newswire.db");
        if !path.exists() {
            return None;
        }
        let db = rusqlite::Connection::open(path).ok()?;
        db.query_row(sql, [], |r| r.get(0)).ok()
    }
}

/// Run the binary to completion.
pub async fn run(args: &[&str], cwd: &Path) -> Output {
    tokio::process::Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run newswire")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
