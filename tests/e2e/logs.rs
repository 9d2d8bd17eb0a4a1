//! Logs: colour only on a terminal and never with `NO_COLOR`; in JSON mode
//! every line on stderr is a JSON object, the fatal error included.

use std::path::PathBuf;

use crate::harness::{Workdir, bin, run, stderr};

/// A config reading one fixture feed from disk (no server needed).
fn config(work: &Workdir) -> PathBuf {
    let feed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds/world.rss");
    work.config(&[("world", format!("file://{}", feed.display()))], "")
}

const ESC: &str = "\u{1b}[";
/// How a coloured INFO level starts (green); a progress bar on the
/// terminal moves the cursor with escapes too, but never colours.
const GREEN: &str = "\u{1b}[32m";

#[tokio::test]
async fn a_fatal_error_in_json_mode_is_a_json_line() {
    let work = Workdir::new();
    let out = run(&["--log-format", "json", "check", "-c", "missing.toml"], work.path()).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let lines: Vec<serde_json::Value> =
        err.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let fatal = lines.iter().find(|l| l["message"] == "fatal error").unwrap_or_else(|| panic!("{err}"));
    assert_eq!(fatal["level"], "ERROR");
    assert!(fatal["error"].as_str().is_some_and(|e| e.contains("missing.toml: cannot read the config file")), "{err}");
    // Text mode keeps the plain line.
    let out = run(&["check", "-c", "missing.toml"], work.path()).await;
    assert!(stderr(&out).starts_with("error: missing.toml: cannot read the config file"), "{}", stderr(&out));
}

#[tokio::test]
async fn json_mode_writes_only_json_lines_and_text_mode_no_colour_into_a_pipe() {
    let work = Workdir::new();
    let config = config(&work);
    let config = config.to_str().expect("utf-8");
    let out = tokio::process::Command::new(bin())
        .args(["--log-format", "json", "--log", "info", "backfill", "-c", config])
        .current_dir(work.path())
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.lines().count() >= 2, "info events were logged: {err}");
    for line in err.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
    let out = tokio::process::Command::new(bin())
        .args(["--log", "info", "backfill", "-c", config])
        .current_dir(work.path())
        .env_remove("NO_COLOR")
        .output()
        .await
        .expect("run");
    let err = stderr(&out);
    assert!(err.contains("backfill finished"), "{err}");
    assert!(!err.contains(ESC), "no colour codes into a pipe: {err:?}");
}

/// On a terminal (a pseudo-terminal from util-linux `script`) text logs are
/// coloured, unless `NO_COLOR` is set.
#[tokio::test]
async fn colour_on_a_terminal_unless_no_color() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` (a pseudo-terminal) is not installed");
        return;
    }
    let work = Workdir::new();
    let config = config(&work);
    let command = format!("{} --log info backfill -c {}", bin(), config.display());
    let on_terminal = |no_color: Option<&str>| {
        let mut script = tokio::process::Command::new("script");
        script.args(["-q", "-e", "-c", &command, "/dev/null"]).current_dir(work.path()).env_remove("NO_COLOR");
        if let Some(value) = no_color {
            script.env("NO_COLOR", value);
        }
        script.stdin(std::process::Stdio::null());
        async move { script.output().await.expect("run script") }
    };
    let out = on_terminal(None).await;
    let seen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{seen}");
    assert!(seen.contains("backfill finished"), "{seen}");
    assert!(seen.contains(GREEN), "coloured on a terminal: {seen:?}");
    let out = on_terminal(Some("1")).await;
    let seen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(seen.contains("backfill finished"), "{seen}");
    assert!(!seen.contains(GREEN), "NO_COLOR: {seen:?}");
    assert!(!seen.contains("\u{1b}[2m"), "no dimmed timestamps either: {seen:?}");
}
