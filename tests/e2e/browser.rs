//! A headless Chromium driven through WebDriver (chromedriver), for the
//! console's browser tests.
//!
//! [`Browser::open`] finds `chromedriver` and `chromium` on the PATH
//! (Debian's `chromium-driver` and `chromium` packages; `.ci/run` installs
//! them), starts chromedriver on a free port and opens a session. Without
//! them the tests say they skipped, unless `NEWSWIRE_TEST_BROWSER=required`
//! (set by `.ci/run`), which makes a missing browser a failure: in CI the
//! browser tests never skip.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};

use crate::daemon::{free_port, wait_for};

/// Where the tests' screenshots go: under target/, never committed.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// A WebDriver session on a headless Chromium, and the chromedriver under
/// it (killed on drop).
pub struct Browser {
    pub client: Client,
    _driver: tokio::process::Child,
}

impl Browser {
    /// Open a session, or None (having said why) when there is no browser
    /// and the environment does not require one.
    pub async fn open(test: &str) -> Option<Browser> {
        let driver = on_path(&["chromedriver"]);
        let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"]);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            let why = "chromium and chromedriver are not both on the PATH (apt-get install chromium chromium-driver)";
            assert!(std::env::var("NEWSWIRE_TEST_BROWSER").as_deref() != Ok("required"), "{test}: {why}");
            eprintln!("skipped {test}: {why}");
            return None;
        };
        let port = free_port();
        let child = tokio::process::Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let addr = format!("127.0.0.1:{port}");
        wait_for("chromedriver to listen", || async { tokio::net::TcpStream::connect(&addr).await.is_ok() }).await;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                // --no-sandbox: CI runs as root, where Chromium's sandbox
                // refuses to start.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--no-first-run", "--disable-extensions"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://{addr}"))
            .await
            .expect("a WebDriver session on headless chromium");
        Some(Browser { client, _driver: child })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}"));
        element.text().await.expect("element text")
    }

    /// The value of a script's `return` (the page's own context).
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("run {script}: {e}"))
    }

    /// Save the page as `target/tmp/console-screenshots/NAME.png` and return
    /// the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Wait (bounded) until the script returns true.
    pub async fn wait_until(&self, what: &str, script: &str) {
        wait_for(what, || async { self.eval(script).await == json!(true) }).await;
    }

    /// End the session (Chromium quits before chromedriver answers), then
    /// chromedriver.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
