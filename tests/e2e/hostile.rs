//! Hostile input, end to end: the built binary against a server that
//! misbehaves on purpose (hostile/server.rs). Each case asserts its precise
//! outcome: the `failed: FEED: cause` line of the backfill, or the good items
//! kept in SQLite; and every run also holds good feeds that must complete.
//!
//! The configs forbid private addresses except 127.0.0.1 (`allowed_networks`),
//! so the server is reachable while 127.0.0.2, ::1 and 169.254.169.254 are
//! not; public-looking names are pinned with NEWSWIRE_RESOLVE.

mod server;

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::harness::{Workdir, bin, stderr, stdout};
use server::{EXPECTED_AUTH, HostileServer, dead_port};

/// The password of the basic-auth feeds, passed in the environment.
const PASSWORD: &str = "pw-never-logged";
/// The password written into feed URLs.
const URL_SECRET: &str = "s3cr3t-in-url";

/// One `[[feed]]`: name, URL, extra TOML lines.
struct Feed(&'static str, String, &'static str);

/// Write a config: every feed of a run fetched at once, `per_host` requests
/// to one host at most, no rate limit, only 127.0.0.1 among the private
/// addresses, small timeouts and caps, no retries unless a feed asks.
fn config(work: &Workdir, per_host: usize, feeds: &[Feed]) -> PathBuf {
    let mut text = format!(
        "[pipeline]\ndata_dir = \"{}\"\nconcurrency = 64\nclean_workers = 2\nper_host_concurrency = {per_host}\n\
         per_host_rate = 0\nallowed_networks = [\"127.0.0.1/32\"]\n\n\
         [defaults]\nallow_private = false\ntimeout = \"2s\"\nconnect_timeout = \"2s\"\nretries = 0\nmax_body = \"1MiB\"\n\n\
         [[sink]]\nkind = \"sqlite\"\n\n[[sink]]\nkind = \"jsonl\"\n",
        work.path().join("data").display()
    );
    for Feed(name, url, extra) in feeds {
        text.push_str(&format!("\n[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}\n"));
    }
    let path = work.path().join("newswire.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// `newswire [args] backfill -c CONFIG` to completion.
async fn backfill(work: &Workdir, config: &Path, server: &HostileServer, args: &[&str]) -> Output {
    tokio::process::Command::new(bin())
        .args(args)
        .args(["backfill", "-c", config.to_str().expect("utf-8 path")])
        .current_dir(work.path())
        .env("RUST_LOG", "warn")
        .env("NEWSWIRE_RESOLVE", server.resolve())
        .env("NEWSWIRE_HOSTILE_PASSWORD", PASSWORD)
        .output()
        .await
        .expect("run newswire")
}

/// The cause on the one `failed: FEED: ` line of a backfill's output.
fn failure(out: &str, feed: &str) -> String {
    let prefix = format!("failed: {feed}: ");
    let found: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix(&prefix)).collect();
    assert_eq!(found.len(), 1, "one failure line for {feed}:\n{out}");
    found[0].to_string()
}

/// Every stdout line is a row of the summary table, a failure or the
/// totals: no message carried a newline that split it.
fn assert_lines_well_formed(out: &str) {
    for line in out.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let table_row =
            line.starts_with("feed ") || (cols.len() >= 5 && cols[1..5].iter().all(|c| c.parse::<u64>().is_ok()));
        assert!(
            table_row || line.starts_with("failed: ") || line.starts_with("feeds: "),
            "stray output line {line:?}:\n{out}"
        );
    }
}

/// (guid, url, title) of a feed's records, by guid.
fn records(work: &Workdir, feed: &str) -> Vec<(String, Option<String>, Option<String>)> {
    let db = work.db();
    let mut stmt = db.prepare("SELECT guid, url, title FROM records WHERE feed = ?1 ORDER BY guid").expect("prepare");
    stmt.query_map([feed], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("query").map(|r| r.expect("row")).collect()
}

fn feed_state(work: &Workdir, feed: &str) -> serde_json::Value {
    let state: String = work
        .db()
        .query_row("SELECT state FROM feed_state WHERE feed = ?1", [feed], |r| r.get(0))
        .unwrap_or_else(|e| panic!("state of {feed}: {e}"));
    serde_json::from_str(&state).expect("state is JSON")
}

/// The log events of a `--log-format json` run: every stderr line must be
/// one JSON object (nothing split a log entry).
fn log_events(err: &str) -> Vec<serde_json::Value> {
    err.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line:?}")))
        .collect()
}

/// Whether `needle` occurs in any file under the data directory (SQLite
/// database and WAL, JSONL), byte for byte.
fn data_contains(work: &Workdir, needle: &str) -> Option<PathBuf> {
    let mut dirs = vec![work.path().join("data")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read data dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if std::fs::read(&path)
                .expect("read data file")
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                return Some(path);
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_name_the_feed_and_the_cause() {
    let server = HostileServer::start().await;
    let work = Workdir::new();
    let dead = dead_port().await;
    let u = |path: &str| server.url(path);
    let feeds = [
        Feed("good-a", u("/good/a.xml"), ""),
        Feed("good-b", u("/good/b.xml"), ""),
        Feed("slow-drip", u("/drip"), ""),
        Feed("slow-headers", u("/drip-headers"), ""),
        // Generous timeouts where the cap, not the clock, must end the poll.
        Feed("endless", u("/endless"), "timeout = \"20s\""),
        Feed("big-length", u("/big-length"), "timeout = \"20s\""),
        Feed("bad-gzip", u("/bad-gzip"), ""),
        Feed("not-http", u("/garbage"), ""),
        Feed("many-headers", u("/many-headers"), ""),
        Feed("no-location", u("/redirect/no-location"), ""),
        Feed("bad-location", u("/redirect/invalid"), ""),
        Feed("gzip-bomb", u("/gzip-bomb"), "timeout = \"20s\""),
        Feed("truncated", u("/truncated"), ""),
        Feed("hang-up", u("/close"), ""),
        Feed("refused", format!("http://127.0.0.1:{dead}/feed.xml"), ""),
        Feed("bad-length", u("/bad-length"), ""),
        Feed("huge-header", u("/huge-header"), ""),
        Feed("html", u("/html"), ""),
        Feed("empty", u("/empty"), ""),
        Feed("unauthorized", u("/status/401"), ""),
        Feed("forbidden", u("/status/403"), ""),
        Feed("missing", u("/status/404"), ""),
        Feed("loop", u("/loop/a"), ""),
        Feed("chain", u("/chain/0"), ""),
        Feed("to-loopback", u("/to/loopback"), ""),
        Feed("to-decimal-loopback", u("/to/decimal-loopback"), ""),
        Feed("to-mapped-loopback", u("/to/mapped-loopback"), ""),
        Feed("to-ipv6-loopback", u("/to/ipv6-loopback"), ""),
        Feed("to-metadata", u("/to/metadata"), ""),
        Feed("to-file", u("/to/file"), ""),
        Feed("to-evil", u("/to/evil"), ""),
        Feed("evil-direct", format!("http://evil.example.com:{}/good/c.xml", server.port), ""),
    ];
    let cfg = config(&work, 64, &feeds);
    let out = backfill(&work, &cfg, &server, &["--log-format", "json"]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    assert!(text.contains("feeds: 2 ok, 30 failed; items: 4 new, 0 updated, 0 unchanged"), "{text}");
    assert_lines_well_formed(&text);
    assert_eq!(records(&work, "good-a").len(), 2);
    assert_eq!(records(&work, "good-b").len(), 2);
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 4);

    let p = server.port;
    let base = format!("http://news.example.com:{p}");
    let not_public = |url: &str, ip: &str| {
        format!("refused {url}: {ip} is not a public address; set allow_private = true to allow it")
    };
    let evil = format!(
        "refused http://evil.example.com:{p}/good/c.xml: evil.example.com resolves only to non-public addresses \
         (127.0.0.2); set allow_private = true to allow them"
    );
    let send_failed =
        |url: &str, cause: &str| format!("request to {url} failed: error sending request: client error {cause}");
    let too_large = |path: &str| format!("body of {base}{path} is larger than the 1 MiB cap");
    let body_failed = |path: &str, cause: &str| {
        format!("reading the body of {base}{path} failed: error decoding response body: {cause}")
    };
    // (feed, the cause printed, the error kind logged)
    let expected: Vec<(&str, String, &str)> = vec![
        ("slow-drip", format!("request to {base}/drip timed out after 2s"), "timeout"),
        ("slow-headers", format!("request to {base}/drip-headers timed out after 2s"), "timeout"),
        ("endless", too_large("/endless"), "too_large"),
        ("gzip-bomb", too_large("/gzip-bomb"), "too_large"),
        ("big-length", too_large("/big-length"), "too_large"),
        ("bad-gzip", body_failed("/bad-gzip", "Invalid gzip header"), "connect"),
        (
            "truncated",
            body_failed(
                "/truncated",
                "error reading a body from connection: end of file before message length reached",
            ),
            "connect",
        ),
        (
            "hang-up",
            send_failed(&format!("{base}/close"), "(SendRequest): connection closed before message completed"),
            "connect",
        ),
        (
            "refused",
            send_failed(
                &format!("http://127.0.0.1:{dead}/feed.xml"),
                "(Connect): tcp connect error: Connection refused (os error 111)",
            ),
            "connect",
        ),
        ("not-http", send_failed(&format!("{base}/garbage"), "(SendRequest): invalid HTTP version parsed"), "connect"),
        (
            "bad-length",
            send_failed(&format!("{base}/bad-length"), "(SendRequest): invalid content-length parsed"),
            "connect",
        ),
        (
            "huge-header",
            send_failed(&format!("{base}/huge-header"), "(SendRequest): message head is too large"),
            "connect",
        ),
        (
            "many-headers",
            send_failed(&format!("{base}/many-headers"), "(SendRequest): message head is too large"),
            "connect",
        ),
        ("html", format!("{base}/html: not a feed: the document is an HTML page"), "parse"),
        ("empty", format!("{base}/empty: not a feed: the document is empty"), "parse"),
        ("unauthorized", format!("{base}/status/401 answered HTTP 401 Unauthorized"), "status"),
        ("forbidden", format!("{base}/status/403 answered HTTP 403 Forbidden"), "status"),
        ("missing", format!("{base}/status/404 answered HTTP 404 Not Found"), "status"),
        ("no-location", format!("{base}/redirect/no-location answered HTTP 302 Found"), "status"),
        (
            "bad-location",
            format!("{base}/redirect/invalid redirected to an invalid location \"http://[::1\": invalid IPv6 address"),
            "redirect",
        ),
        ("loop", format!("redirect loop at {base}/loop/a (via {base}/loop/a)"), "redirect"),
        ("chain", format!("more than 10 redirects from {base}/chain/0"), "redirect"),
        ("to-loopback", not_public(&format!("http://127.0.0.2:{p}/good/c.xml"), "127.0.0.2"), "forbidden"),
        ("to-decimal-loopback", not_public(&format!("http://127.0.0.2:{p}/good/c.xml"), "127.0.0.2"), "forbidden"),
        (
            "to-mapped-loopback",
            not_public(&format!("http://[::ffff:7f00:2]:{p}/good/c.xml"), "::ffff:127.0.0.2"),
            "forbidden",
        ),
        ("to-ipv6-loopback", not_public(&format!("http://[::1]:{p}/good/c.xml"), "::1"), "forbidden"),
        (
            "to-metadata",
            not_public("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "169.254.169.254"),
            "forbidden",
        ),
        ("to-file", "refused file:///etc/passwd: only http and https may be fetched here".into(), "forbidden"),
        ("to-evil", evil.clone(), "forbidden"),
        ("evil-direct", evil, "forbidden"),
    ];
    assert_eq!(expected.len(), 30);
    let events = log_events(&stderr(&out));
    for (feed, cause, kind) in &expected {
        assert_eq!(&failure(&text, feed), cause, "feed {feed}");
        let logged: Vec<&serde_json::Value> =
            events.iter().filter(|e| e["message"] == "feed poll failed" && e["feed"] == *feed).collect();
        assert_eq!(logged.len(), 1, "{feed}: {logged:?}");
        assert_eq!((&logged[0]["kind"], &logged[0]["error"]), (&serde_json::json!(kind), &serde_json::json!(cause)));
    }
    // The guard refused every forbidden hop before connecting: the trap on
    // 127.0.0.2 saw nothing.
    let trapped: Vec<_> = server.seen.requests().into_iter().filter(|r| r.local.to_string() != "127.0.0.1").collect();
    assert!(trapped.is_empty(), "requests reached 127.0.0.2: {trapped:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_keep_the_good_items() {
    let server = HostileServer::start().await;
    let work = Workdir::new();
    let u = |path: &str| server.url(path);
    let feeds = [
        Feed("good-a", u("/good/a.xml"), ""),
        Feed("cp1252", u("/doc/cp1252-declared-utf8"), ""),
        Feed("latin1", u("/doc/latin1-header"), ""),
        Feed("invalid-utf8", u("/doc/invalid-utf8"), ""),
        Feed("bom", u("/doc/bom"), ""),
        Feed("utf16-bom", u("/doc/utf16-bom"), ""),
        Feed("nul", u("/doc/nul"), ""),
        Feed("billion-laughs", u("/doc/billion-laughs"), ""),
        Feed("xxe", u("/doc/xxe"), ""),
        Feed("many", u("/doc/50k-items"), "max_items = 1000\nmax_body = \"16MiB\"\ntimeout = \"20s\""),
        Feed("huge-title", u("/doc/huge-title"), "max_body = \"32MiB\"\ntimeout = \"20s\""),
        Feed("javascript", u("/doc/javascript-links"), ""),
        Feed("cut-short", u("/doc/cut-short"), ""),
        Feed("deep-nesting", u("/doc/deep-nesting"), ""),
    ];
    let cfg = config(&work, 64, &feeds);
    let out = backfill(&work, &cfg, &server, &["--log-format", "json"]).await;
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    let events = log_events(&err);
    let warned = |feed: &str, message: &str, field: &str, value: &str| {
        assert!(
            events.iter().any(|e| e["feed"] == feed
                && e["message"] == message
                && e[field].to_string().trim_matches('"') == value),
            "no \"{message}\" with {field}={value} for {feed}:\n{err}"
        )
    };
    // 2 + 1 + 1 + 1 + 1 + 1 + 2 + 2 + 2 + 1000 + 2 + 5 + 3 + 2
    assert!(text.contains("feeds: 14 ok, 0 failed; items: 1025 new, 0 updated, 0 unchanged"), "{text}");
    assert_lines_well_formed(&text);

    let one = |feed: &str| -> (String, Option<String>, Option<String>) {
        let mut rows = records(&work, feed);
        assert_eq!(rows.len(), 1, "{feed}: {rows:?}");
        rows.remove(0)
    };
    let title = |feed: &str| one(feed).2.unwrap_or_else(|| panic!("{feed} has a title"));
    let titles =
        |feed: &str| -> Vec<String> { records(&work, feed).into_iter().map(|r| r.2.unwrap_or_default()).collect() };

    // Character sets: decoded right, or the bad bytes replaced; never fatal.
    assert_eq!(title("cp1252"), "Le café de la gare rouvre après les travaux – “enfin”");
    let repaired = "feed document needed repair";
    warned("cp1252", repaired, "warning", "repaired encoding: declared utf-8, decoded as windows-1252");
    assert_eq!(title("latin1"), "Zürich: größere Straßenbahn für die Älteren");
    assert_eq!(title("invalid-utf8"), "Café crème \u{fffd}\u{fffd}Zürich Malmö Ærø naïve");
    warned("invalid-utf8", repaired, "warning", "repaired encoding: declared utf-8, invalid utf-8 bytes replaced");
    assert_eq!(title("bom"), "Byte order mark, then a feed");
    assert_eq!(title("utf16-bom"), "Sixteen bits: ça marche");
    assert_eq!(titles("nul"), ["Nul in the title", "Clean title"]);
    assert_eq!(
        work.count("SELECT COUNT(*) FROM records WHERE instr(title, char(0)) > 0 OR instr(body, char(0)) > 0"),
        0
    );

    // Entities declared in a DTD are never expanded: not the billion
    // laughs, not an external file. The references stay as text.
    assert_eq!(titles("billion-laughs"), ["&lol9;", "After the laughs"]);
    assert_eq!(titles("xxe"), ["Leak &xxe; here", "After the entity"]);
    let body = |guid: &str| -> String {
        work.db().query_row("SELECT body FROM records WHERE guid = ?1", [guid], |r| r.get(0)).expect("record")
    };
    assert_eq!((body("laughs-1"), body("xxe-1")), ("&lol9;".to_string(), "&xxe;".to_string()));
    assert_eq!(data_contains(&work, "root:"), None, "/etc/passwd leaked into the records");
    assert!(!text.contains("root:") && !err.contains("root:"));

    // 50,000 items: the first max_items kept, the rest counted.
    let many = records(&work, "many");
    assert_eq!(many.len(), 1000);
    let mut guids: Vec<String> = many.into_iter().map(|r| r.0).collect();
    guids.sort_by_key(|g| g[5..].parse::<u32>().expect("numbered guid"));
    assert_eq!(guids.first().map(String::as_str), Some("many-1"));
    assert_eq!(guids.last().map(String::as_str), Some("many-1000"));
    warned("many", "feed has more items than max_items", "dropped", "49000");

    // A 20 MiB title is cut (at 4 KiB), the record written, the next item kept.
    let huge = records(&work, "huge-title");
    assert_eq!(huge.len(), 2);
    let long = huge[0].2.as_deref().expect("title");
    assert!(long.starts_with("Long Long ") && long.len() <= 4096 && long.len() > 4000, "{} bytes", long.len());
    assert_eq!(huge[1].2.as_deref(), Some("A normal title"));
    warned("huge-title", repaired, "warning", "cut 1 over-long fields");

    // Script, data and file links never become record URLs; the items are
    // kept (identified by their guid).
    let js = records(&work, "javascript");
    let urls: Vec<Option<&str>> = js.iter().map(|r| r.1.as_deref()).collect();
    assert_eq!(urls, [None, None, None, Some("https://js.example.org/4"), None]);
    assert_eq!(work.count("SELECT COUNT(*) FROM records WHERE url NOT LIKE 'https://%'"), 0);

    // A document cut off mid-item: the items before the cut are kept, and
    // what the cut item had (guid and title, no link yet).
    let cut = records(&work, "cut-short");
    assert_eq!(cut.len(), 3);
    assert_eq!(cut[2], ("cut-3".to_string(), None, Some("Story 3".to_string())));
    assert_eq!(titles("cut-short"), ["Story 1", "Story 2", "Story 3"]);
    warned(
        "cut-short",
        repaired,
        "warning",
        "document is malformed: reading stopped at the error, items before it kept",
    );

    // Markup nested 5,000 deep inside an item: the items are kept.
    assert_eq!(titles("deep-nesting"), ["Deep", "After the depths"]);

    assert_eq!(titles("good-a"), ["Story 1", "Story 2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_retries_and_validators() {
    let server = HostileServer::start().await;
    let work = Workdir::new();
    let u = |path: &str| server.url(path);
    let feeds = [
        Feed("good-a", u("/good/a.xml"), ""),
        Feed("retry-after-short", u("/retry/429-short"), "retries = 1"),
        Feed("retry-after-long", u("/retry/429-long"), "retries = 2"),
        Feed("unavailable", u("/retry/503"), "retries = 1"),
        Feed("etag", u("/etag.xml"), ""),
        Feed("gone", u("/gone"), ""),
        Feed("moved", u("/moved"), ""),
    ];
    let cfg = config(&work, 64, &feeds);
    let base = format!("http://news.example.com:{}", server.port);

    let out = backfill(&work, &cfg, &server, &[]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    assert!(text.contains("feeds: 5 ok, 2 failed; items: 10 new, 0 updated, 0 unchanged"), "{text}");
    assert_lines_well_formed(&text);
    // A short Retry-After is waited for within the poll: the second attempt
    // succeeds. A 503 is retried after a backoff.
    assert_eq!(server.seen.hits("/retry/429-short"), 2);
    assert_eq!(records(&work, "retry-after-short").len(), 2);
    assert_eq!(server.seen.hits("/retry/503"), 2);
    assert_eq!(records(&work, "unavailable").len(), 2);
    // A long one ends the poll at once with the status, and pushes the next
    // poll back at least that far.
    assert_eq!(
        failure(&text, "retry-after-long"),
        format!("{base}/retry/429-long answered HTTP 429 Too Many Requests")
    );
    assert_eq!(server.seen.hits("/retry/429-long"), 1, "a Retry-After of an hour is not waited for");
    let state = feed_state(&work, "retry-after-long");
    assert_eq!(state["last_status"], 429);
    let at = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(state[key].as_str().unwrap_or_else(|| panic!("{key} in {state}")))
            .expect("a timestamp")
    };
    assert!(at("next_due_at") - at("last_polled_at") >= chrono::Duration::seconds(3600), "{state}");
    // 410: the feed is disabled.
    assert_eq!(
        failure(&text, "gone"),
        format!("{base}/gone answered HTTP 410 Gone: the feed is gone; it is disabled until its URL changes")
    );
    assert_eq!(feed_state(&work, "gone")["disabled"], true);
    // 301: followed, and the new URL recorded for the operator.
    assert_eq!(records(&work, "moved").len(), 2);
    assert_eq!(feed_state(&work, "moved")["moved_to"], format!("{base}/good/c.xml"));
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l.contains("feed moved permanently; update its url in the config") && l.contains("moved")),
        "{err}"
    );

    // Second pass: the ETag is sent back and the 304 costs nothing; the
    // disabled feed is skipped.
    let out = backfill(&work, &cfg, &server, &[]).await;
    let text = stdout(&out);
    assert!(text.contains("feeds: 5 ok, 1 failed; items: 0 new, 0 updated, 0 unchanged"), "{text}");
    let etag_requests: Vec<Option<String>> = server
        .seen
        .requests()
        .into_iter()
        .filter(|r| r.path == "/etag.xml")
        .map(|r| r.headers.get("if-none-match").cloned())
        .collect();
    assert_eq!(etag_requests, [None, Some("\"v1\"".to_string())]);
    assert_eq!(feed_state(&work, "etag")["last_status"], 304);
    assert_eq!(records(&work, "etag").len(), 2);
    assert_eq!(server.seen.hits("/gone"), 1, "a disabled feed is not polled again");
    assert!(stderr(&out).contains("feed is disabled after HTTP 410"), "{}", stderr(&out));
    assert!(!text.contains("failed: gone:"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_leak_and_stay_on_their_host() {
    let server = HostileServer::start().await;
    let work = Workdir::new();
    let dead = dead_port().await;
    let p = server.port;
    let with_creds = |path: &str| format!("http://reader:{URL_SECRET}@news.example.com:{p}{path}");
    let auth = "username = \"reader\"\npassword_env = \"NEWSWIRE_HOSTILE_PASSWORD\"";
    let feeds = [
        Feed("good-a", server.url("/good/a.xml"), ""),
        Feed("creds-ok", with_creds("/creds/feed.xml"), ""),
        Feed("creds-404", with_creds("/status/404"), ""),
        Feed("creds-refused", format!("http://reader:{URL_SECRET}@127.0.0.1:{dead}/feed.xml"), ""),
        Feed("creds-timeout", with_creds("/drip"), ""),
        Feed("creds-loop", with_creds("/loop/a"), ""),
        Feed("creds-to-evil", with_creds("/to/evil"), ""),
        Feed("creds-other-host", with_creds("/creds/moved"), ""),
        Feed("token-ok", server.url("/good/b.xml?token=tok-secret-123&page=1"), ""),
        Feed("token-404", server.url("/status/404?api_key=tok-secret-123"), ""),
        Feed("auth", server.url("/auth/feed.xml"), auth),
        Feed("auth-missing", server.url("/auth/feed.xml"), ""),
        Feed("auth-same-host", server.url("/auth/moved-here"), auth),
        Feed("auth-other-host", server.url("/auth/moved"), auth),
    ];
    let cfg = config(&work, 64, &feeds);
    // Debug logs: the most a log could give away.
    let out = backfill(&work, &cfg, &server, &["--log", "debug"]).await;
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
    assert!(text.contains("feeds: 7 ok, 7 failed; items: 11 new, 0 updated, 0 unchanged"), "{text}");
    assert_lines_well_formed(&text);

    // Credentials in a feed URL are shown as ***:*** in every message.
    let hidden = format!("http://***:***@news.example.com:{p}");
    assert_eq!(failure(&text, "creds-404"), format!("{hidden}/status/404 answered HTTP 404 Not Found"));
    assert_eq!(failure(&text, "creds-timeout"), format!("request to {hidden}/drip timed out after 2s"));
    assert_eq!(failure(&text, "creds-loop"), format!("redirect loop at {hidden}/loop/a (via {hidden}/loop/a)"));
    assert_eq!(
        failure(&text, "creds-refused"),
        format!(
            "request to http://***:***@127.0.0.1:{dead}/feed.xml failed: error sending request: client error \
             (Connect): tcp connect error: Connection refused (os error 111)"
        )
    );
    assert!(failure(&text, "creds-to-evil").starts_with("refused http://evil.example.com:"), "{text}");
    assert_eq!(records(&work, "creds-ok").len(), 1);
    let feed_url: String = work
        .db()
        .query_row("SELECT feed_url FROM records WHERE feed = 'creds-ok'", [], |r| r.get(0))
        .expect("creds-ok record");
    assert_eq!(feed_url, format!("{hidden}/creds/feed.xml"));
    assert_eq!(feed_state(&work, "creds-ok")["url"], format!("{hidden}/creds/feed.xml"));
    assert_eq!(
        feed_state(&work, "creds-404")["last_error"],
        format!("{hidden}/status/404 answered HTTP 404 Not Found")
    );
    // So are secret-looking query parameters.
    let news = format!("http://news.example.com:{p}");
    assert_eq!(failure(&text, "token-404"), format!("{news}/status/404?api_key=*** answered HTTP 404 Not Found"));
    let token_url: String = work
        .db()
        .query_row("SELECT feed_url FROM records WHERE feed = 'token-ok' LIMIT 1", [], |r| r.get(0))
        .expect("token-ok record");
    assert_eq!(token_url, format!("{news}/good/b.xml?token=***&page=1"));

    // Basic auth from username + password_env reaches the feed's host, and
    // the server really checks it.
    assert_eq!(records(&work, "auth").len(), 2);
    assert_eq!(
        failure(&text, "auth-missing"),
        format!("http://news.example.com:{p}/auth/feed.xml answered HTTP 401 Unauthorized")
    );
    assert_eq!(records(&work, "auth-same-host").len(), 2, "a redirect on the same host keeps the credentials");
    // Credentials, from the config or from the URL, are not sent to the host
    // a redirect points at.
    assert_eq!(records(&work, "auth-other-host").len(), 1);
    assert_eq!(records(&work, "creds-other-host").len(), 1);
    let requests = server.seen.requests();
    let auth_of = |path: &str| -> Vec<Option<&str>> {
        let mut v: Vec<Option<&str>> = requests
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.headers.get("authorization").map(String::as_str))
            .collect();
        v.sort();
        v
    };
    assert_eq!(auth_of("/auth/feed.xml"), [None, Some(EXPECTED_AUTH)]);
    assert_eq!(auth_of("/auth/moved"), [Some(EXPECTED_AUTH)]);
    assert_eq!(auth_of("/auth/feed2.xml"), [Some(EXPECTED_AUTH)]);
    assert_eq!(auth_of("/auth/elsewhere.xml"), [None]);
    assert_eq!(auth_of("/creds/elsewhere.xml"), [None]);
    for r in requests.iter().filter(|r| r.path.ends_with("/elsewhere.xml")) {
        assert_eq!(r.headers.get("host"), Some(&format!("other.example.com:{p}")));
    }

    // Neither secret (nor its Basic encoding) anywhere: output, logs,
    // records, feed state, `check`.
    let check = tokio::process::Command::new(bin())
        .args(["check", "-c", cfg.to_str().expect("utf-8 path")])
        .env("NEWSWIRE_HOSTILE_PASSWORD", PASSWORD)
        .output()
        .await
        .expect("run newswire check");
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(stdout(&check).contains(&format!("creds-ok\t{hidden}/creds/feed.xml")), "{}", stdout(&check));
    for secret in
        [URL_SECRET, PASSWORD, "tok-secret-123", "cmVhZGVyOnB3LW5ldmVyLWxvZ2dlZA", "cmVhZGVyOnMzY3IzdC1pbi11cmw"]
    {
        for (what, output) in [("stdout", &text), ("stderr", &err), ("check", &stdout(&check))] {
            assert!(!output.contains(secret), "{secret} in {what}:\n{output}");
        }
        assert_eq!(data_contains(&work, secret), None, "{secret} in the data");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_injection_cannot_forge_a_log_line() {
    let server = HostileServer::start().await;
    let feeds = [Feed("good-a", server.url("/good/a.xml"), ""), Feed("inject", server.url("/doc/log-injection"), "")];
    let forged = "2024-01-01T00:00:00Z ERROR forged";
    for format in ["json", "text"] {
        let work = Workdir::new();
        let cfg = config(&work, 64, &feeds);
        let out = backfill(&work, &cfg, &server, &["--log-format", format, "--log", "debug"]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{}\n{err}", stdout(&out));
        assert!(stdout(&out).contains("feeds: 2 ok, 0 failed; items: 3 new"), "{}", stdout(&out));
        if format == "json" {
            let events = log_events(&err);
            assert!(events.iter().any(|e| e["message"] == "backfill finished"), "{err}");
        }
        assert!(!err.lines().any(|l| l.starts_with(forged)), "a forged log line:\n{err}");
        // The record keeps the text, with the newlines folded and the
        // escape characters gone.
        let title = records(&work, "inject").remove(0).2.expect("title");
        assert_eq!(title, "Harmless 2024-01-01T00:00:00Z ERROR forged=\"entry\"[31m red [0m end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_on_one_host_share_its_concurrency_limit() {
    let server = HostileServer::start().await;
    let work = Workdir::new();
    let names = ["polite-1", "polite-2", "polite-3", "polite-4", "polite-5", "polite-6"];
    let feeds: Vec<Feed> = names.iter().map(|n| Feed(n, server.url(&format!("/polite/{}", &n[7..])), "")).collect();
    let cfg = config(&work, 1, &feeds);
    let out = backfill(&work, &cfg, &server, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("feeds: 6 ok, 0 failed; items: 6 new"), "{}", stdout(&out));
    assert_eq!(server.seen.requests().len(), 6);
    // Each response takes 100 ms and all six feeds are fetched at once
    // (concurrency 64): only the host limit keeps them apart.
    assert_eq!(server.seen.max_in_flight.load(std::sync::atomic::Ordering::SeqCst), 1);
}
