//! The command line: help, exit codes, `check`, `clean`, `parse`, and the
//! offline config shipped in config/.

use std::path::PathBuf;

use crate::harness::{Workdir, run, stderr, stdout};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn help_and_bad_usage() {
    let work = Workdir::new();
    let out = run(&["--help"], work.path()).await;
    assert_eq!(out.status.code(), Some(0));
    for cmd in ["run", "backfill", "check", "clean", "parse"] {
        assert!(stdout(&out).contains(cmd), "help lists {cmd}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell], work.path()).await;
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(stdout(&out).contains("backfill"), "{shell} completion knows the commands");
    }
    let out = run(&["man"], work.path()).await;
    assert!(stdout(&out).contains(".TH newswire 1 "), "{}", stdout(&out));
    let out = run(&["man", "backfill"], work.path()).await;
    assert!(stdout(&out).contains(".TH newswire-backfill 1 "), "{}", stdout(&out));
    assert!(stdout(&out).contains("archives"), "{}", stdout(&out));
    let out = run(&["man", "frobnicate"], work.path()).await;
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["frobnicate"], work.path()).await;
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["check", "-c", "does-not-exist.toml"], work.path()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does-not-exist.toml: cannot read the config file"), "{}", stderr(&out));
}

#[tokio::test]
async fn check_lists_feeds_and_rejects_bad_configs_with_file_line_and_key() {
    let work = Workdir::new();
    let good =
        work.config(&[("alpha", "https://example.com/a.xml".into()), ("beta", "https://example.com/b.xml".into())], "");
    let out = run(&["check", "-c", good.to_str().expect("utf-8")], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("ok, 2 feeds, sinks: sqlite, jsonl"), "{text}");
    assert!(text.contains("alpha\thttps://example.com/a.xml\t15m"), "{text}");

    let bad = work.path().join("bad.toml");
    std::fs::write(&bad, "[[feed]]\nname = \"a\"\nurl = \"https://example.com/a\"\nintreval = \"5m\"\n")
        .expect("write");
    let out = run(&["check", "-c", "bad.toml"], work.path()).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.toml:4:1: feed[0]"), "{err}");
    assert!(err.contains("unknown field `intreval`"), "{err}");

    std::fs::write(
        &bad,
        "[[feed]]\nname = \"a\"\nurl = \"https://example.com/a\"\nclean_disable = [\"no.such.rule\"]\n",
    )
    .expect("write");
    let out = run(&["check", "-c", "bad.toml"], work.path()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("feed \"a\": rule \"no.such.rule\": no built-in rule has this name"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn every_shipped_config_is_valid() {
    let work = Workdir::new();
    for name in ["newswire.toml", "offline.toml"] {
        let path = repo().join("config").join(name);
        let out = run(&["check", "-c", path.to_str().expect("utf-8")], work.path()).await;
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
    }
}

/// The README's main command, `backfill -c config/offline.toml`, on a copy
/// of the checkout's layout (config/ and the fixtures it reads), run from
/// another directory: the records land in the checkout's data/, where the
/// README says, since relative paths are taken from the config's directory.
#[tokio::test]
async fn offline_config_backfills_the_fixtures_into_the_checkouts_data() {
    let checkout = Workdir::new();
    std::fs::create_dir(checkout.path().join("config")).expect("mkdir");
    let config = checkout.path().join("config/offline.toml");
    std::fs::copy(repo().join("config/offline.toml"), &config).expect("copy the config");
    std::os::unix::fs::symlink(repo().join("tests"), checkout.path().join("tests")).expect("link the fixtures");
    let elsewhere = Workdir::new();
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8")], elsewhere.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("feeds: 6 ok, 0 failed; items: 10 new"), "{}", stdout(&out));
    assert_eq!(checkout.count("SELECT COUNT(*) FROM records"), 10);
    assert_eq!(checkout.count("SELECT COUNT(*) FROM records WHERE language = 'fr'"), 1);
    assert!(checkout.path().join("data/jsonl").is_dir(), "JSON Lines beside the database");
    assert_eq!(std::fs::read_dir(elsewhere.path()).expect("ls").count(), 0, "nothing written where it ran");
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8")], elsewhere.path()).await;
    assert!(stdout(&out).contains("items: 0 new, 0 updated, 0 unchanged"), "{}", stdout(&out));
    // `check` says where the data goes.
    let out = run(&["check", "-c", config.to_str().expect("utf-8")], elsewhere.path()).await;
    let data = std::fs::canonicalize(checkout.path().join("data")).expect("data dir");
    assert!(stdout(&out).contains(&format!("data_dir: {} (relative paths", data.display())), "{}", stdout(&out));
}

/// Without -c: $NEWSWIRE_CONFIG, then ./newswire.toml (the system file
/// comes after both; settings.rs tests it on a stand-in path). `check`
/// names the file and how it was found.
#[tokio::test]
async fn the_config_is_found_through_the_environment_then_the_current_directory() {
    let work = Workdir::new();
    let local = work.config(&[("local-feed", "https://example.com/a.xml".into())], "");
    let other = work.path().join("other.toml");
    std::fs::write(&other, "[[feed]]\nname = \"env-feed\"\nurl = \"https://example.com/b.xml\"\n").expect("write");
    let check = |env: Option<&str>, cwd: &std::path::Path| {
        let mut command = tokio::process::Command::new(crate::harness::bin());
        command.arg("check").current_dir(cwd).env_remove("NEWSWIRE_CONFIG");
        if let Some(value) = env {
            command.env("NEWSWIRE_CONFIG", value);
        }
        async move { command.output().await }
    };
    let out = check(Some("other.toml"), work.path()).await.expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("env-feed"), "{}", stdout(&out));
    assert!(stdout(&out).contains("(from $NEWSWIRE_CONFIG)"), "{}", stdout(&out));

    let out = check(None, work.path()).await.expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("local-feed"), "{}", stdout(&out));
    let shown = std::fs::canonicalize(&local).expect("path");
    assert!(stdout(&out).contains(&format!("config: {} (from ./newswire.toml", shown.display())), "{}", stdout(&out));

    // A variable naming a missing file is an error naming it, not a fallback.
    let out = check(Some("missing.toml"), work.path()).await.expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.toml: cannot read the config file"), "{}", stderr(&out));

    // Nowhere to look (unless this machine has /etc/newswire/newswire.toml).
    if !std::path::Path::new("/etc/newswire/newswire.toml").exists() {
        let empty = Workdir::new();
        let out = check(None, empty.path()).await.expect("run");
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("no config file: give -c FILE, set NEWSWIRE_CONFIG"), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn clean_prints_paragraphs_or_json() {
    let work = Workdir::new();
    let file = work.path().join("item.html");
    std::fs::write(
        &file,
        "<p>First &amp; foremost.</p><script>x()</script><p>Second<br>line.</p>\
         <div class=\"sharedaddy\"><a href=\"?share=x\">Share on X</a></div><p>Advertisement</p>",
    )
    .expect("write");
    let out = run(&["clean", file.to_str().expect("utf-8")], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // One paragraph per line: a paragraph's `<br>` lines joined by a space.
    assert_eq!(stdout(&out), "First & foremost.\nSecond line.\n");
    let out = run(&["clean", "--json", file.to_str().expect("utf-8")], work.path()).await;
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON output");
    assert_eq!(value["paragraphs"][1], "Second\nline.");
    assert!(value["embeds"].is_array());
    // Every removal names its rule.
    assert_eq!(value["removed"][0]["rule"], "markup.share_widget", "{value}");
    assert_eq!(value["removed"][1]["rule"], "advertisement.label", "{value}");
    assert_eq!(value["removed"][1]["kind"], "advertisement", "{value}");
}

#[tokio::test]
async fn parse_prints_items_as_published() {
    let work = Workdir::new();
    let feed = repo().join("tests/fixtures/feeds/world.rss");
    let out = run(&["parse", "--json", feed.to_str().expect("utf-8")], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let items: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["id"], "gazette-2024-0311-ports");
    assert_eq!(items[0]["authors"][0], "Mara Lindqvist");
    assert!(items[0]["content"].as_str().expect("content").contains("<h2>"), "content is before cleaning");
    let out =
        run(&["parse", repo().join("tests/fixtures/pages/not-a-feed.html").to_str().expect("utf-8")], work.path())
            .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a feed: the document is an HTML page"), "{}", stderr(&out));
}

/// A site with a page that declares its feed, and one that does not but
/// serves a feed at a common path.
async fn site() -> std::net::SocketAddr {
    use axum::http::header;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    r#"<html><head><link rel="alternate" type="application/rss+xml" href="/news.rss"><link rel="alternate" type="application/rss+xml" href="/missing.rss"></head><body>Home</body></html>"#,
                )
            }),
        )
        .route("/news.rss", get(|| async { ([(header::CONTENT_TYPE, "application/rss+xml")], crate::server::WORLD_RSS) }))
        .route("/blog/", get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html><body>No links here</body></html>") }))
        .route("/feed", get(|| async { ([(header::CONTENT_TYPE, "application/atom+xml")], crate::server::TECH_ATOM) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_discover_prints_config_entries() {
    let addr = site().await;
    let work = Workdir::new();
    let page = format!("http://{addr}/");
    let out = run(&["feeds", "discover", "--allow-private", &page], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("[[feed]]").count(), 1, "only the feed that reads as a feed: {text}");
    assert!(text.contains("name = \"harbour-gazette-world\""), "{text}");
    assert!(text.contains(&format!("url = \"http://{addr}/news.rss\"")), "{text}");
    // What it prints is a valid config fragment.
    std::fs::write(work.path().join("found.toml"), &text).expect("write");
    let check = run(&["check", "-c", "found.toml"], work.path()).await;
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));

    let blog = format!("http://{addr}/blog/");
    let out = run(&["feeds", "discover", "--allow-private", &blog], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("url = \"http://{addr}/feed\"")),
        "common paths are tried: {}",
        stdout(&out)
    );

    // Without --allow-private the guard refuses the loopback address.
    let out = run(&["feeds", "discover", &page], work.path()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("127.0.0.1 is not a public address"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opml_import_export_round_trip_and_list() {
    let server = crate::server::FixtureServer::start().await;
    let work = Workdir::new();
    let config = work.config(&[("world", server.url("/rss.xml"))], "");
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.insert_str(0, "# my feeds, hand-curated\n");
    std::fs::write(&config, text).expect("write");
    let opml = format!(
        r#"<?xml version="1.0"?><opml version="2.0"><head><title>Reader export</title></head><body>
<outline text="Science"><outline text="Field Notes" type="rss" xmlUrl="{}" category="climate"/></outline>
<outline text="Circuit Weekly" type="rss" xmlUrl="{}"/>
<outline text="Duplicate of world" xmlUrl="{}"/>
<outline text="Local" xmlUrl="file:///etc/hosts"/>
</body></opml>"#,
        server.url("/feed.json"),
        server.url("/atom.xml"),
        server.url("/rss.xml")
    );
    std::fs::write(work.path().join("subs.opml"), opml).expect("write opml");
    let cfg = config.to_str().expect("utf-8");
    let out = run(&["feeds", "import", "-c", cfg, "subs.opml"], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported 2 feeds"), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 already there, 1 refused"), "{}", stdout(&out));
    assert!(stderr(&out).contains("refused: file:///etc/hosts"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&config).expect("read");
    assert!(text.starts_with("# my feeds, hand-curated\n"), "comments kept: {text}");
    assert!(text.contains("name = \"field-notes\""), "{text}");
    assert!(text.contains("tags = [\"Science\", \"climate\"]"), "{text}");

    // The imported feeds work.
    let out = run(&["backfill", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("feeds: 3 ok"), "{}", stdout(&out));

    // list shows each feed's status.
    let out = run(&["feeds", "list", "-c", cfg], work.path()).await;
    let listing = stdout(&out);
    assert!(listing.lines().any(|l| l.starts_with("field-notes\tok\t")), "{listing}");
    assert_eq!(listing.lines().count(), 4, "{listing}");

    // export → import into an empty config gives the same feeds and tags.
    let out = run(&["feeds", "export", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(work.path().join("exported.opml"), stdout(&out)).expect("write");
    std::fs::write(work.path().join("empty.toml"), "[defaults]\nallow_private = true\n").expect("write");
    let out = run(&["feeds", "import", "-c", "empty.toml", "exported.opml"], work.path()).await;
    assert!(stdout(&out).contains("imported 3 feeds"), "{}", stdout(&out));
    let again = std::fs::read_to_string(work.path().join("empty.toml")).expect("read");
    for name in ["world", "field-notes", "circuit-weekly"] {
        assert!(again.contains(&format!("name = \"{name}\"")), "{name}: {again}");
    }
    assert!(again.contains("tags = [\"Science\", \"climate\"]"), "{again}");
}

#[tokio::test]
async fn extract_prints_the_article_of_a_page() {
    let work = Workdir::new();
    let pages = repo().join("tests/fixtures/pages");
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .expect("fixture pages")
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".expected.txt").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 25, "the fixture pages are there");
    // Through the binary, every page: the share of expected paragraphs
    // printed, averaged (the cleaner's own test scores words and 4-grams).
    let mut total = 0.0;
    for name in &names {
        let out = run(&["extract", pages.join(format!("{name}.html")).to_str().expect("utf-8")], work.path()).await;
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let printed = stdout(&out);
        let want: Vec<String> = std::fs::read_to_string(pages.join(format!("{name}.expected.txt")))
            .expect("expected text")
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect();
        let found = want
            .iter()
            .filter(|p| printed.lines().any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == **p))
            .count();
        total += found as f64 / want.len().max(1) as f64;
    }
    let mean = total / names.len() as f64;
    assert!(mean >= 0.9, "mean paragraph recall through `newswire extract`: {mean:.3}");
    let page = pages.join("01-wordpress-classic.html");
    let out = run(&["extract", "--json", page.to_str().expect("utf-8")], work.path()).await;
    let article: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert!(article["paragraphs"].as_array().is_some_and(|p| !p.is_empty()));
    assert!(article["title"].is_string());
}

/// `install-assets --prefix` writes a manual page for every command and
/// subcommand (as clap lists them) and the bash, zsh and fish completions
/// where packages put them; groff reads every page without a warning, `man`
/// finds them under the prefix, bash loads the completion.
#[tokio::test]
async fn install_assets_puts_pages_and_completions_where_a_package_would() {
    use clap::CommandFactory;
    fn pages(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        out.push(format!("{path}.1"));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
            pages(sub, &format!("{path}-{}", sub.get_name()), out);
        }
    }
    let mut want = Vec::new();
    pages(&newswire::cli::Cli::command(), "newswire", &mut want);
    want.sort();
    assert!(want.len() >= 15, "{want:?}");

    let work = Workdir::new();
    let prefix = work.path().join("stage/usr");
    let out = run(&["install-assets", "--prefix", prefix.to_str().expect("utf-8")], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let man1 = prefix.join("share/man/man1");
    let mut found: Vec<String> = std::fs::read_dir(&man1)
        .expect("man1 written")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, want, "one page per command");
    let completions = [
        "share/bash-completion/completions/newswire",
        "share/zsh/site-functions/_newswire",
        "share/fish/vendor_completions.d/newswire.fish",
    ];
    for relative in completions {
        let text = std::fs::read_to_string(prefix.join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"));
        assert!(text.contains("backfill") && text.contains("install-assets"), "{relative} knows the commands");
    }
    // Every file written is listed on stdout, and nothing else.
    let listed = stdout(&out).lines().count();
    assert_eq!(listed, want.len() + completions.len(), "{}", stdout(&out));

    if std::process::Command::new("groff").arg("--version").output().is_ok() {
        for page in &want {
            let check = std::process::Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(man1.join(page))
                .output()
                .expect("groff");
            assert!(
                check.status.success() && check.stderr.is_empty(),
                "{page}: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    } else {
        eprintln!("skipped the groff check: groff is not installed");
    }
    if std::process::Command::new("man").arg("--version").output().is_ok() {
        let shown = std::process::Command::new("man")
            .arg("-M")
            .arg(prefix.join("share/man"))
            .arg("newswire-feeds-import")
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .expect("man");
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.status.success() && text.contains("OPML"), "{text}{}", String::from_utf8_lossy(&shown.stderr));
    } else {
        eprintln!("skipped the man check: man is not installed");
    }
    let bash = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p newswire", prefix.join(completions[0]).display()))
        .output()
        .expect("bash");
    assert!(String::from_utf8_lossy(&bash.stdout).contains("newswire"), "{}", String::from_utf8_lossy(&bash.stderr));
}
