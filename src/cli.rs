//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// newswire: pull news feeds, clean the articles, write one record each.
#[derive(Debug, Parser)]
#[command(
    name = "newswire",
    version,
    about,
    long_about = None,
    after_long_help = "The config file is the one given with -c, else $NEWSWIRE_CONFIG, else ./newswire.toml, \
                       else /etc/newswire/newswire.toml; relative paths in it are taken from its directory. \
                       Environment: NEWSWIRE_CONFIG, RUST_LOG (the log filter when --log is not given), \
                       NO_COLOR (plain text logs even on a terminal). Exit status: 0 success, 1 runtime \
                       failure, 2 bad usage or config. Each command has its own page: newswire-COMMAND(1)."
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, like RUST_LOG ("info", "newswire=debug"). Overrides RUST_LOG.
    #[arg(long, global = true)]
    pub log: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The config file option shared by commands. Without `-c` the file is
/// looked up ([`crate::settings::locate`]): `$NEWSWIRE_CONFIG`, then
/// `./newswire.toml`, then `/etc/newswire/newswire.toml`.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file [default: $NEWSWIRE_CONFIG, else ./newswire.toml, else
    /// /etc/newswire/newswire.toml]
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    /// Where the config is: `-c`, or the first place of the lookup.
    pub fn locate(&self) -> Result<crate::settings::Located, crate::UsageError> {
        crate::settings::locate(self.config.as_deref())
    }

    /// The config file's path ([`ConfigArg::locate`]).
    pub fn path(&self) -> Result<PathBuf, crate::UsageError> {
        Ok(self.locate()?.path)
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll every feed on its interval until SIGINT or SIGTERM.
    Run(ConfigArg),
    /// Poll the feeds once, write what is new, print a summary, exit.
    Backfill {
        /// The config.
        #[command(flatten)]
        config: ConfigArg,
        /// Only these feeds (repeatable).
        #[arg(long = "feed", value_name = "NAME")]
        feeds: Vec<String>,
        /// Walk each feed's history too: RFC 5005 archives, paged feeds,
        /// WordPress ?paged=N. Resumes an interrupted walk.
        #[arg(long)]
        archives: bool,
        /// Pages per feed at most with --archives (the feed itself is page 1).
        #[arg(long, default_value_t = 50, value_name = "N")]
        max_pages: u32,
        /// Leave out items published before this date (2024-03-01 or RFC 3339).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Validate the config and list its feeds.
    Check(ConfigArg),
    /// Apply the PostgreSQL migrations of the postgres sink (also done at
    /// every start).
    Migrate(ConfigArg),
    /// Print the clean body of one input, one paragraph per line.
    Clean {
        /// Treat the input as HTML.
        #[arg(long, conflicts_with = "text")]
        html: bool,
        /// Treat the input as plain text, one paragraph per line.
        #[arg(long)]
        text: bool,
        /// Print paragraphs, embeds and what was removed as JSON.
        #[arg(long, conflicts_with = "explain")]
        json: bool,
        /// Print every paragraph with the block classifier's score, the rule
        /// that removed it (if any), the guard that protects it (if any) and
        /// the features that moved its score most.
        #[arg(long)]
        explain: bool,
        /// Turn the block classifier off (as `classifier = false` in the
        /// config does).
        #[arg(long)]
        no_classifier: bool,
        /// The block classifier's threshold (default: the shipped model's).
        #[arg(long, value_name = "SCORE")]
        threshold: Option<f32>,
        /// File to clean, or - for standard input.
        input: String,
    },
    /// Manage feeds: import and export OPML, list, discover.
    Feeds {
        /// What to do.
        #[command(subcommand)]
        command: FeedsCommand,
    },
    /// Print the main article text of one page, cleaned, one paragraph per
    /// line (or, with --json, with its metadata).
    Extract {
        /// Print the article as JSON: title, authors, published, language,
        /// lead image, paragraphs, embeds, removed.
        #[arg(long)]
        json: bool,
        /// Allow a URL that resolves to a private or loopback address.
        #[arg(long)]
        allow_private: bool,
        /// An HTML file, - for standard input, or an http(s) URL.
        input: String,
    },
    /// List stories that appeared more than once (syndicated copies), with
    /// their copies: feed, similarity, url, title.
    Clusters {
        /// The config (its SQLite database is read).
        #[command(flatten)]
        config: ConfigArg,
        /// Only copies fetched since this date (2024-03-01 or RFC 3339).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Export records from the store (SQLite, or PostgreSQL when it holds
    /// the state) as JSON Lines, CSV or a table, oldest first; streams any
    /// number in constant memory. Stopped by --limit, it prints the cursor
    /// to resume from on stderr.
    Records(RecordsArgs),
    /// Remove records past their [retention] age (with their versions and
    /// search entries) and JSON Lines day files past max_age, as the daemon
    /// does every [retention] interval.
    Prune {
        /// The config.
        #[command(flatten)]
        config: ConfigArg,
        /// Print what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Rebuild the SQLite full-text index from the records (after a VACUUM,
    /// or to repair it), then check it.
    Reindex(ConfigArg),
    /// Ask a running daemon's status server whether it is ready (GET
    /// /readyz): exit 0 if it is, 1 if not, unreachable, or there is no
    /// address to ask. For a container HEALTHCHECK.
    Healthcheck {
        /// The config: only its [server] listen is read.
        #[command(flatten)]
        config: ConfigArg,
        /// The status server's address, instead of the config's [server] listen.
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<std::net::SocketAddr>,
        /// How long to wait for the answer.
        #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff): newswire's, or a command's (`newswire man
    /// feeds import`).
    Man {
        /// The command whose page to print; none for the top page.
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Write the manual pages (one per command) and the bash, zsh and fish
    /// completions under a prefix, where a package puts them:
    /// PREFIX/share/man/man1, PREFIX/share/bash-completion/completions,
    /// PREFIX/share/zsh/site-functions, PREFIX/share/fish/vendor_completions.d.
    InstallAssets {
        /// The installation prefix (a package build gives its staging
        /// directory's usr).
        #[arg(long, value_name = "DIR", default_value = "/usr/local")]
        prefix: std::path::PathBuf,
    },
    /// Print what the pipeline reads from one feed document.
    Parse {
        /// One JSON object per item.
        #[arg(long)]
        json: bool,
        /// Allow a URL that resolves to a private or loopback address.
        #[arg(long)]
        allow_private: bool,
        /// A feed file, or an http(s) URL.
        input: String,
    },
}

/// `newswire records` options.
#[derive(Debug, Args)]
pub struct RecordsArgs {
    /// The config.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only records at or after this time (2024-03-01 or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only records before this time (2024-03-01 or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Which time --since and --until bound.
    #[arg(long, value_enum, default_value_t = TimeBy::Fetched)]
    pub by: TimeBy,
    /// Only records of this feed (repeatable: any of them).
    #[arg(long = "feed", value_name = "NAME")]
    pub feeds: Vec<String>,
    /// Only records with this category or tag of the item, exactly.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Only records in this language (`en` also matches `en-GB`).
    #[arg(long, value_name = "CODE")]
    pub lang: Option<String>,
    /// Only the records of this story: its first record and its copies.
    #[arg(long, value_name = "ID")]
    pub cluster: Option<String>,
    /// Full text: records with every word in title, summary or body
    /// (case and accents ignored).
    #[arg(long, value_name = "WORDS")]
    pub query: Option<String>,
    /// Stop after this many records.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Newest first instead of oldest first.
    #[arg(long)]
    pub newest_first: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RecordFormat::Jsonl)]
    pub format: RecordFormat,
    /// Resume after the record a previous run stopped at (the cursor it
    /// printed); give the same filters.
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
}

/// Which time a record's date bounds apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeBy {
    /// When newswire fetched it.
    Fetched,
    /// When the feed says it was published.
    Published,
}

impl From<TimeBy> for newswire_storer::read::TimeField {
    fn from(by: TimeBy) -> Self {
        match by {
            TimeBy::Fetched => newswire_storer::read::TimeField::Fetched,
            TimeBy::Published => newswire_storer::read::TimeField::Published,
        }
    }
}

/// `newswire records --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordFormat {
    /// One JSON record per line (the record format, docs/record.md).
    Jsonl,
    /// RFC 4180 CSV with a header: the main fields, lists joined by "; ".
    Csv,
    /// Tab-separated lines for a terminal: time, feed, language, id, title.
    Table,
}

/// `newswire feeds …`.
#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Add the subscriptions of an OPML file to the config file, keeping its
    /// comments and layout. Feeds already there (same URL or name) are left.
    Import {
        /// The config file to add to.
        #[command(flatten)]
        config: ConfigArg,
        /// The OPML file.
        opml: std::path::PathBuf,
    },
    /// Print the config's feeds as OPML 2.0, tags as categories.
    Export {
        /// The config.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// List the feeds with their status from the state store.
    List {
        /// The config.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Find the feeds a site page links to (or serves at common paths) and
    /// print [[feed]] entries for them.
    Discover {
        /// Allow a URL that resolves to a private or loopback address.
        #[arg(long)]
        allow_private: bool,
        /// The site page, an http(s) URL.
        url: String,
    },
}

/// A date as `YYYY-MM-DD` (midnight UTC) or RFC 3339.
fn parse_date(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(d.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| format!("invalid date \"{text}\": use 2024-03-01 or 2024-03-01T12:00:00Z"))
}
