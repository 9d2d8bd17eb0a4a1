//! `/metrics` read with a strict parser of the Prometheus text format
//! (0.0.4): every family has `# HELP` and `# TYPE`, durations are
//! histograms with buckets in seconds, counters end in `_total`, the names
//! and types are those docs/operating.md lists, and the build, feed and
//! reload metrics say what happened.
//!
//! The parser is here rather than a crate's: prometheus-parse skips the
//! lines it cannot read and files histogram buckets by name alone (every
//! label set in one), so a broken line or a mixed-up series would pass it;
//! prom_text_format_parser brings a second winnow, which deny.toml refuses;
//! openmetrics-parser is LGPL-3.0, outside deny.toml's licences.

use std::collections::{BTreeMap, BTreeSet};

use crate::daemon::{free_port, get, wait_for};
use crate::harness::Workdir;
use crate::server::FixtureServer;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One metric family: its TYPE, HELP and samples.
#[derive(Debug, Default)]
pub struct Family {
    pub kind: String,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

fn is_name(s: &str, colons: bool) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':'))
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) => {
            text.parse().map_err(|e| format!("bad value {text:?}: {e}"))
        }
        _ => Err(format!("bad value {text:?}")),
    }
}

/// `{a="x",b="y\"z"}` (after the name) → labels, and the rest of the line.
fn parse_labels(text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = text.strip_prefix('{').ok_or("labels must open with {")?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after) = rest.split_once("=\"").ok_or_else(|| format!("bad label in {text:?}"))?;
        if !is_name(name, false) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("unterminated label value in {text:?}")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?} in {text:?}")),
                },
                Some((_, '\n')) => return Err("a raw newline in a label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice in {text:?}"));
        }
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The family a sample belongs to, given the families with a TYPE.
fn family_of<'a>(name: &'a str, kinds: &BTreeMap<String, Family>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && kinds.get(base).is_some_and(|f| matches!(f.kind.as_str(), "histogram" | "summary"))
        {
            return base;
        }
    }
    name
}

/// Parse an exposition strictly: any line that is not a comment, `# HELP`,
/// `# TYPE` or a well-formed sample is an error, as is a second TYPE or
/// HELP, a TYPE after its samples, a family whose lines are not together,
/// a repeated series, and a histogram whose buckets are not cumulative up
/// to `+Inf` = `_count`.
pub fn parse(text: &str) -> Result<BTreeMap<String, Family>, String> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut seen: BTreeSet<(String, Vec<(String, String)>)> = BTreeSet::new();
    let mut enter = |family: &str, current: &mut Option<String>| -> Result<(), String> {
        if current.as_deref() != Some(family) {
            if finished.contains(family) {
                return Err(format!("{family}: its lines are not together"));
            }
            if let Some(previous) = current.take() {
                finished.insert(previous);
            }
            *current = Some(family.to_string());
        }
        Ok(())
    };
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
            match words.as_slice() {
                ["HELP", name, help] => {
                    enter(name, &mut current).map_err(at)?;
                    let family = families.entry(name.to_string()).or_default();
                    if family.help.replace(help.to_string()).is_some() {
                        return Err(at("a second HELP".into()));
                    }
                }
                ["TYPE", name, kind] => {
                    enter(name, &mut current).map_err(at)?;
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(kind) {
                        return Err(at(format!("unknown type {kind}")));
                    }
                    let family = families.entry(name.to_string()).or_default();
                    if !family.kind.is_empty() || !family.samples.is_empty() {
                        return Err(at("TYPE after another TYPE or after the samples".into()));
                    }
                    family.kind = kind.to_string();
                }
                ["HELP" | "TYPE", ..] => return Err(at("HELP or TYPE without a name and text".into())),
                _ => {}
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !is_name(name, true) {
            return Err(at(format!("bad metric name {name:?}")));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(at)?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let mut fields = rest.strip_prefix(' ').ok_or_else(|| at("no space before the value".into()))?.split(' ');
        let value = parse_value(fields.next().unwrap_or_default()).map_err(at)?;
        if let Some(stamp) = fields.next()
            && stamp.parse::<i64>().is_err()
        {
            return Err(at(format!("bad timestamp {stamp:?}")));
        }
        if fields.next().is_some() {
            return Err(at("text after the timestamp".into()));
        }
        let family = family_of(name, &families).to_string();
        enter(&family, &mut current).map_err(at)?;
        if !seen.insert((name.to_string(), labels.clone().into_iter().collect())) {
            return Err(at("the same series twice".into()));
        }
        families.entry(family).or_default().samples.push(Sample { name: name.to_string(), labels, value });
    }
    for (name, family) in &families {
        if family.kind == "histogram" {
            check_histogram(name, family)?;
        }
    }
    Ok(families)
}

/// One histogram series as read: its buckets (bound, count), `_count`, and
/// whether it had a `_sum`.
type Series = (Vec<(f64, f64)>, Option<f64>, bool);

fn check_histogram(name: &str, family: &Family) -> Result<(), String> {
    let mut series: BTreeMap<Vec<(String, String)>, Series> = BTreeMap::new();
    for s in &family.samples {
        let mut key: BTreeMap<String, String> = s.labels.clone();
        let le = key.remove("le");
        let entry = series.entry(key.into_iter().collect()).or_default();
        match (s.name.strip_prefix(name), le) {
            (Some("_bucket"), Some(le)) => entry.0.push((parse_value(&le)?, s.value)),
            (Some("_count"), None) => entry.1 = Some(s.value),
            (Some("_sum"), None) => entry.2 = true,
            _ => return Err(format!("{name}: unexpected sample {}", s.name)),
        }
    }
    for (labels, (buckets, count, sum)) in series {
        let count = count.ok_or_else(|| format!("{name}{labels:?}: no _count"))?;
        if !sum {
            return Err(format!("{name}{labels:?}: no _sum"));
        }
        if buckets.windows(2).any(|w| w[0].0 >= w[1].0 || w[0].1 > w[1].1) {
            return Err(format!("{name}{labels:?}: buckets not ascending and cumulative: {buckets:?}"));
        }
        match buckets.last() {
            Some(&(le, n)) if le == f64::INFINITY && n == count => {}
            _ => return Err(format!("{name}{labels:?}: the last bucket must be +Inf holding _count")),
        }
    }
    Ok(())
}

/// The metrics table of docs/operating.md: name → type.
fn documented() -> BTreeMap<String, String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operating.md")).expect("read the doc");
    doc.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix("`newswire_")?.strip_suffix('`')?;
            Some((format!("newswire_{name}"), cells.get(2)?.to_string()))
        })
        .collect()
}

#[test]
fn the_parser_is_strict() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n\n# HELP h H.\n# TYPE h histogram\n\
                h_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n";
    let families = parse(good).expect("good text parses");
    assert_eq!(families["a_total"].kind, "counter");
    assert_eq!(families["h"].samples.len(), 4);
    for (bad, why) in [
        ("a_total 1 2 3\n", "text after the timestamp"),
        ("a-b 1\n", "bad metric name"),
        ("a{x=\"1} 1\n", "unterminated"),
        ("a{x=\"\\t\"} 1\n", "bad escape"),
        ("a one\n", "bad value"),
        ("a 1\na 2\n", "the same series twice"),
        ("# TYPE a gauge\n# TYPE a gauge\n", "TYPE after another TYPE"),
        ("a 1\nb 1\na{x=\"y\"} 1\n", "not together"),
        ("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "cumulative"),
        ("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf"),
        ("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", "no _sum"),
    ] {
        let err = parse(bad).expect_err(bad);
        assert!(err.contains(why), "{bad:?}: {err}");
    }
}

/// A daemon polls two feeds, takes one good and one bad reload, and its
/// `/metrics` is read with [`parse`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_prometheus_conventions() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let feeds = [("world", server.url("/rss.xml")), ("versioned", server.url("/versioned.xml"))];
    let config = work.config(&feeds, "interval = \"1s\"");
    let mut text = std::fs::read_to_string(&config).expect("read config");
    text.push_str(&format!("\n[server]\nlisten = \"{addr}\"\n"));
    std::fs::write(&config, &text).expect("write config");
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .spawn()
        .expect("start the daemon");
    // Before the server answers: nothing; once it does, it must parse.
    let scrape = || async {
        let text = get(&addr, "/metrics").await.map(|r| r.1).unwrap_or_default();
        parse(&text).unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{text}"))
    };
    wait_for("both feeds polled and written", || async {
        let m = scrape().await;
        m.get("newswire_feed_last_success_timestamp_seconds").is_some_and(|f| f.samples.len() == 2)
            && m.contains_key("newswire_sink_write_duration_seconds")
    })
    .await;
    let pid = child.id().expect("pid").to_string();
    let hup = || std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success();
    assert!(hup());
    wait_for("the reload counted", || async { scrape().await.contains_key("newswire_config_reloads_total") }).await;

    let metrics = scrape().await;
    let docs = documented();
    for (name, family) in &metrics {
        assert!(family.help.as_deref().is_some_and(|h| !h.trim().is_empty()), "{name} has HELP");
        assert!(!family.kind.is_empty(), "{name} has TYPE");
        assert!(!["summary", "untyped"].contains(&family.kind.as_str()), "{name} is a {}", family.kind);
        assert!(name.starts_with("newswire_"), "{name}");
        assert_eq!(family.kind == "counter", name.ends_with("_total"), "{name}: counters end in _total");
        assert!(!name.contains("micro") && !name.contains("milli"), "{name}: seconds everywhere");
        if name.ends_with("_seconds") && !name.ends_with("timestamp_seconds") {
            assert_eq!(family.kind, "histogram", "{name}: a duration");
        }
        assert_eq!(docs.get(name), Some(&family.kind), "{name} is in docs/operating.md's table as a {}", family.kind);
        let declared = newswire_pipeline::metrics::ALL.iter().find(|m| m.0 == name).expect("declared in metrics.rs");
        assert_eq!(declared.1.as_str(), family.kind, "{name}");
    }
    for name in [
        "newswire_build_info",
        "newswire_feed_last_success_timestamp_seconds",
        "newswire_config_last_reload_successful",
        "newswire_config_last_reload_success_timestamp_seconds",
        "newswire_config_reloads_total",
        "newswire_fetch_polls_total",
        "newswire_store_items_total",
        "newswire_sink_write_duration_seconds",
        "newswire_pipeline_blocked_seconds",
        "newswire_scheduler_poll_lag_seconds",
        "newswire_scheduler_feeds",
        "newswire_sqlite_memory_bytes",
    ] {
        assert!(metrics.contains_key(name), "{name} is exported");
    }
    let value = |name: &str, label: Option<(&str, &str)>| {
        metrics[name]
            .samples
            .iter()
            .find(|s| label.is_none_or(|(k, v)| s.labels.get(k).map(String::as_str) == Some(v)))
            .map(|s| (s.value, s.labels.clone()))
            .unwrap_or_else(|| panic!("{name} {label:?}"))
    };
    let (one, labels) = value("newswire_build_info", None);
    assert_eq!(one, 1.0);
    assert_eq!(labels.get("version").map(String::as_str), Some(env!("CARGO_PKG_VERSION")));
    let features = match (cfg!(feature = "postgres"), cfg!(feature = "nats")) {
        (true, true) => "nats,postgres",
        (true, false) => "postgres",
        (false, true) => "nats",
        (false, false) => "none",
    };
    assert_eq!(labels.get("features").map(String::as_str), Some(features));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    for feed in ["world", "versioned"] {
        let (at, _) = value("newswire_feed_last_success_timestamp_seconds", Some(("feed", feed)));
        assert!((started - 1.0..=now + 1.0).contains(&at), "{feed}: {started} <= {at} <= {now}");
    }
    assert_eq!(value("newswire_config_last_reload_successful", None).0, 1.0);
    assert_eq!(value("newswire_config_reloads_total", Some(("result", "applied"))).0, 1.0);
    let (applied_at, _) = value("newswire_config_last_reload_success_timestamp_seconds", None);
    assert!((started - 1.0..=now + 1.0).contains(&applied_at), "{applied_at}");

    // A rejected reload: the gauge drops to 0, the time of the last good
    // one stays.
    std::fs::write(&config, "[[feed]]\nname = \"x\"\nurll = \"oops\"\n").expect("write a broken config");
    assert!(hup());
    wait_for("the rejection counted", || async {
        scrape()
            .await
            .get("newswire_config_reloads_total")
            .is_some_and(|f| f.samples.iter().any(|s| s.labels.get("result").map(String::as_str) == Some("rejected")))
    })
    .await;
    let metrics = scrape().await;
    let gauge = |name: &str| metrics[name].samples[0].value;
    assert_eq!(gauge("newswire_config_last_reload_successful"), 0.0);
    assert_eq!(gauge("newswire_config_last_reload_success_timestamp_seconds"), applied_at);

    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    assert_eq!(child.wait().await.expect("wait").code(), Some(0));
}
