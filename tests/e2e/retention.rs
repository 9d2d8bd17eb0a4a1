//! Retention on a store with old and new records: `newswire prune
//! --dry-run` and `prune`, the daemon's rounds, JSON Lines day files, and
//! nothing a checkpoint needs removed (a pruned article is not written
//! again by the next poll).

use crate::daemon::wait_for;
use crate::harness::{run, stderr, stdout};
use crate::records::backfilled;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_records_and_day_files_go_and_checkpoints_stay() {
    let (work, cfg) = backfilled().await;
    let text = std::fs::read_to_string(&cfg).expect("read config");
    std::fs::write(&cfg, format!("{text}\n[retention]\nmax_age = \"30d\"\ninterval = \"1s\"\n")).expect("config");
    // Two records of the port feed made 40 days old; a day file of 2001.
    let db = work.db();
    db.execute("UPDATE records SET fetched_at = '2001-01-01T00:00:00Z' WHERE guid IN ('ferry', 'bridge')", [])
        .expect("age them");
    let jsonl = work.path().join("data/jsonl");
    std::fs::write(jsonl.join("newswire-2001-01-01.jsonl"), "{}\n").expect("an old day file");
    let items = work.count("SELECT COUNT(*) FROM item_state");
    let states = work.count("SELECT COUNT(*) FROM feed_state");
    let positions = work.count("SELECT COUNT(*) FROM sink_positions");

    let out = run(&["prune", "-c", &cfg, "--dry-run"], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("would remove 2 records"), "{}", stdout(&out));
    assert!(stdout(&out).contains("newswire-2001-01-01.jsonl"), "{}", stdout(&out));
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 3, "a dry run removes nothing");

    let out = run(&["prune", "-c", &cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("removed 2 records"), "{}", stdout(&out));
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 1);
    // The full-text index followed the deletes.
    for (word, n) in [("timetable", 0), ("school", 1)] {
        let out = run(&["records", "-c", &cfg, "--query", word], work.path()).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), n, "{word}");
    }
    assert!(!jsonl.join("newswire-2001-01-01.jsonl").exists());
    let today = std::fs::read_dir(&jsonl).expect("jsonl dir").count();
    assert_eq!(today, 1, "today's file, which the committed position names, stays");
    assert_eq!(work.count("SELECT COUNT(*) FROM item_state"), items, "item state is the checkpoint's");
    assert_eq!(work.count("SELECT COUNT(*) FROM feed_state"), states);
    assert_eq!(work.count("SELECT COUNT(*) FROM sink_positions"), positions);

    // The feeds still list the pruned items: they are known, not new.
    let out = run(&["backfill", "-c", &cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 1, "{}", stdout(&out));

    // The daemon prunes on its own, every interval.
    db.execute("UPDATE records SET fetched_at = '2001-01-01T00:00:00Z'", []).expect("age the last one");
    let mut daemon = tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", &cfg])
        .env("RUST_LOG", "warn")
        .current_dir(work.path())
        .spawn()
        .expect("start the daemon");
    wait_for("the daemon's round", || async { work.try_count("SELECT COUNT(*) FROM records") == Some(0) }).await;
    daemon.kill().await.expect("stop the daemon");
}

/// `[retention]` changed in the config applies on SIGHUP: a daemon started
/// without it prunes, at once, once a reload brings `max_age`; and a
/// per-feed age added by a second reload prunes that feed's records too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_applies_retention_changes() {
    let (work, cfg) = backfilled().await;
    let db = work.db();
    db.execute("UPDATE records SET fetched_at = '2001-01-01T00:00:00Z' WHERE guid IN ('ferry', 'bridge')", [])
        .expect("age them");
    let port = crate::daemon::free_port();
    let addr = format!("127.0.0.1:{port}");
    let text = std::fs::read_to_string(&cfg).expect("read config");
    let base = format!("{text}\n[server]\nlisten = \"{addr}\"\n");
    std::fs::write(&cfg, &base).expect("config");
    let mut daemon = tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", &cfg])
        .env("RUST_LOG", "warn")
        .current_dir(work.path())
        .spawn()
        .expect("start the daemon");
    // Ready: the SIGHUP handler is installed and the scheduler runs.
    wait_for("ready", || async { crate::daemon::get(&addr, "/readyz").await.is_some_and(|r| r.0 == 200) }).await;
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 3, "no [retention]: kept");

    let pid = daemon.id().expect("pid").to_string();
    let hup = || std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success();
    std::fs::write(&cfg, format!("{base}\n[retention]\nmax_age = \"30d\"\n")).expect("config");
    assert!(hup());
    wait_for("old records pruned after the reload", || async {
        work.try_count("SELECT COUNT(*) FROM records") == Some(1)
    })
    .await;

    // The last record is days old, within max_age; its feed's own age is not.
    db.execute("UPDATE records SET fetched_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 days')", [])
        .expect("age it a little");
    let feed: String = db.query_row("SELECT feed FROM records", [], |r| r.get(0)).expect("the last record");
    std::fs::write(&cfg, format!("{base}\n[retention]\nmax_age = \"30d\"\n[retention.feed]\n{feed} = \"1d\"\n"))
        .expect("config");
    assert!(hup());
    wait_for("the feed's own age applied", || async { work.try_count("SELECT COUNT(*) FROM records") == Some(0) })
        .await;
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status =
        tokio::time::timeout(std::time::Duration::from_secs(30), daemon.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
}
