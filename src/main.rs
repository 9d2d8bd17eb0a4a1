use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use newswire::cli::{Cli, Command, FeedsCommand};
use newswire::{
    assets, backfill, daemon, exit_code, feeds, healthcheck, inspect, logging, memory, records, settings, signals,
};
use tokio_util::sync::CancellationToken;

/// jemalloc, not glibc's allocator: fewer instructions and less waiting
/// for the same backfill, its freed pages returned by
/// [`memory::release_periodically`] as glibc's are (src/memory.rs;
/// docs/performance.md, step 8). SQLite still allocates from glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts (`_RJEM_MALLOC_CONF` in the
/// environment overrides them): two arenas, not four a core (the pipeline's
/// threads allocate on one and free on another, and live blocks spread
/// over more arenas held more pages), and blocks of 256 KiB and more
/// (fetched documents, the index's tables) from the arena that returns
/// their pages when they are freed, as glibc's mapped blocks were. Peak
/// RSS on the news farm 278-290 MB with these, 313-322 MB with jemalloc's
/// defaults (docs/performance.md, step 8).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "jemalloc reads its settings from this symbol, a pointer to a C string; nothing else defines it"
)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_CONF: &[u8; 36] = b"narenas:2,oversize_threshold:262144\0";

fn main() -> ExitCode {
    memory::configure();
    let cli = Cli::parse();
    let format = cli.log_format;
    logging::init(format, cli.log.as_deref());
    memory::release_periodically(memory::RELEASE_EVERY);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            logging::fatal(format, &anyhow::Error::new(e).context("cannot start the async runtime"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            logging::fatal(format, &err);
            ExitCode::from(exit_code(&err))
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Run(c) => {
            let path = c.path()?;
            let settings = settings::load(&path)?;
            let (shutdown, abort) = (CancellationToken::new(), CancellationToken::new());
            signals::spawn(shutdown.clone(), abort.clone(), settings.config.pipeline.shutdown_grace.0)?;
            daemon::run(&settings, &path, shutdown, abort).await?;
            Ok(0)
        }
        Command::Backfill { config, feeds, archives, max_pages, since } => {
            let settings = settings::load(&config.path()?)?;
            let (shutdown, abort) = (CancellationToken::new(), CancellationToken::new());
            signals::spawn(shutdown.clone(), abort.clone(), settings.config.pipeline.shutdown_grace.0)?;
            let options = backfill::BackfillOptions { feeds, archives, max_pages, since };
            let summary = backfill::run(&settings, &options, shutdown, abort).await?;
            print!("{}", summary.table());
            print!("{}", summary.politeness_lines());
            for (feed, reason) in &summary.failures {
                println!("failed: {feed}: {reason}");
            }
            println!("{}", summary.line());
            Ok(if summary.feeds_failed > 0 { 1 } else { 0 })
        }
        Command::Check(c) => inspect::check(&c.locate()?),
        Command::Clusters { config, since } => feeds::clusters(&config.path()?, since),
        Command::Records(args) => records::run(&args.config.path()?, &args).await,
        Command::Reindex(c) => records::reindex(&c.path()?),
        Command::Prune { config, dry_run } => newswire::retention::prune(&config.path()?, dry_run).await,
        Command::Extract { json, allow_private, input } => inspect::extract(&input, json, allow_private).await,
        Command::Healthcheck { config, addr, timeout } => {
            Ok(healthcheck::run(config.config.as_deref(), addr, timeout).await)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "newswire", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man { command } => assets::man(&command, &mut std::io::stdout().lock()),
        Command::InstallAssets { prefix } => {
            for path in assets::install(&prefix)? {
                println!("{}", path.display());
            }
            Ok(0)
        }
        Command::Migrate(c) => {
            let settings = settings::load(&c.path()?)?;
            let applied = newswire::wiring::migrate(&settings.config).await?;
            println!("migrations applied: {applied:?}");
            Ok(0)
        }
        Command::Clean { html, text, json, explain, no_classifier, threshold, input } => {
            let classifier = inspect::ClassifierChoice { enabled: !no_classifier, threshold };
            inspect::clean(&input, html, text, json, explain, classifier)
        }
        Command::Parse { json, allow_private, input } => inspect::parse(&input, json, allow_private).await,
        Command::Feeds { command } => match command {
            FeedsCommand::Discover { allow_private, url } => inspect::discover(&url, allow_private).await,
            FeedsCommand::Import { config, opml } => feeds::import(&config.path()?, &opml),
            FeedsCommand::Export { config } => feeds::export(&config.path()?),
            FeedsCommand::List { config } => feeds::list(&config.path()?).await,
        },
    }
}

/// Output cut short by a closed pipe (`newswire check | head`) is not a
/// failure of the command.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
