//! SIGINT and SIGTERM: the first asks for a graceful stop, the second ends
//! the process at once.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Watch for stop signals. The first cancels `shutdown` and starts the
/// grace timer, after which `abort` is cancelled; a second signal exits the
/// process with status 1 (what was not committed is fetched again next run).
pub fn spawn(shutdown: CancellationToken, abort: CancellationToken, grace: Duration) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        info!(grace_s = grace.as_secs(), "stop requested: finishing in-flight work (signal again to exit now)");
        shutdown.cancel();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = tokio::time::sleep(grace) => {
                warn!("grace period over: abandoning in-flight work");
                abort.cancel();
                return;
            }
            _ = abort.cancelled() => return,
        }
        warn!("second signal: exiting now");
        std::process::exit(1);
    });
    Ok(())
}
