//! `newswire man` and `newswire install-assets`: the manual pages, one per
//! command (`newswire.1`, `newswire-backfill.1`, `newswire-feeds-import.1`,
//! …, from the CLI's own help with clap_mangen), and the shell completions,
//! written where a package puts them under a prefix:
//!
//! - `PREFIX/share/man/man1/newswire*.1`
//! - `PREFIX/share/bash-completion/completions/newswire`
//! - `PREFIX/share/zsh/site-functions/_newswire`
//! - `PREFIX/share/fish/vendor_completions.d/newswire.fish`
//!
//! A package build runs `newswire install-assets --prefix "$pkgdir/usr"`;
//! by hand, `sudo newswire install-assets` (prefix `/usr/local`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::UsageError;
use crate::cli::Cli;

/// The CLI as the pages describe it: built, so each subcommand carries its
/// display name (`newswire-feeds-import`).
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every command that has a page: the top one and each subcommand, nested
/// ones included, hidden ones left out.
pub fn commands() -> Vec<clap::Command> {
    fn walk(cmd: &clap::Command, out: &mut Vec<clap::Command>) {
        out.push(cmd.clone());
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&command(), &mut out);
    out
}

fn page(cmd: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd)
        .manual("newswire manual")
        .source(concat!("newswire ", env!("CARGO_PKG_VERSION")))
        .date(date(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref()))
}

/// The pages' date: `$SOURCE_DATE_EPOCH`'s day when set (a reproducible
/// package build), else today. Never empty: an empty date shifts the other
/// fields of the `.TH` line.
fn date(source_date_epoch: Option<&str>) -> String {
    let at = source_date_epoch
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now);
    at.format("%Y-%m-%d").to_string()
}

/// `newswire man [COMMAND]...`: the page of the top command, or of the
/// subcommand named by the path (`newswire man feeds import`).
pub fn man(path: &[String], out: &mut dyn Write) -> anyhow::Result<u8> {
    let mut cmd = command();
    for (depth, name) in path.iter().enumerate() {
        cmd = cmd.find_subcommand(name).filter(|s| !s.is_hide_set()).cloned().ok_or_else(|| {
            UsageError(format!("no command \"{}\": `newswire --help` lists them", path[..=depth].join(" ")))
        })?;
    }
    page(cmd).render(out)?;
    Ok(0)
}

/// The shells completions are installed for, and where each goes under
/// the prefix.
pub const COMPLETIONS: [(Shell, &str); 3] = [
    (Shell::Bash, "share/bash-completion/completions/newswire"),
    (Shell::Zsh, "share/zsh/site-functions/_newswire"),
    (Shell::Fish, "share/fish/vendor_completions.d/newswire.fish"),
];

/// Where the manual pages go under the prefix.
pub const MAN_DIR: &str = "share/man/man1";

/// `newswire install-assets`: write every manual page and completion under
/// `prefix`, creating directories, replacing older files. Returns the files
/// written.
pub fn install(prefix: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let man_dir = prefix.join(MAN_DIR);
    std::fs::create_dir_all(&man_dir).with_context(|| format!("cannot create {}", man_dir.display()))?;
    for cmd in commands() {
        let page = page(cmd);
        let path = man_dir.join(page.get_filename());
        let mut text = Vec::new();
        page.render(&mut text)?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    for (shell, relative) in COMPLETIONS {
        let path = prefix.join(relative);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "newswire", &mut text);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_for_every_command_named_after_its_path() {
        let names: Vec<String> = commands().iter().map(|c| page(c.clone()).get_filename()).collect();
        for want in
            ["newswire.1", "newswire-run.1", "newswire-backfill.1", "newswire-feeds.1", "newswire-feeds-import.1"]
        {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "no page for the help subcommand: {names:?}");
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "one page per command");
    }

    #[test]
    fn the_date_follows_source_date_epoch() {
        assert_eq!(date(Some("1700000000")), "2023-11-14");
        assert_eq!(date(Some("junk")), chrono::Utc::now().format("%Y-%m-%d").to_string());
        assert_eq!(date(None).len(), 10);
    }

    #[test]
    fn man_renders_a_subcommand_and_refuses_an_unknown_one() {
        let mut out = Vec::new();
        man(&["feeds".into(), "import".into()], &mut out).expect("renders");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains(".TH newswire-feeds-import 1 "), "{text}");
        assert!(text.contains(&format!("\"newswire {}\" \"newswire manual\"", env!("CARGO_PKG_VERSION"))), "{text}");
        assert!(text.contains("OPML"), "the command's own help: {text}");
        let err = man(&["feeds".into(), "nope".into()], &mut Vec::new()).expect_err("unknown");
        assert!(err.to_string().contains("no command \"feeds nope\""), "{err}");
    }
}
