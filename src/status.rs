//! The status server: `/healthz`, `/readyz`, `/metrics` and `/feeds`.
//!
//! - `/healthz`: the process is alive and serving (always 200).
//! - `/readyz`: 200 when the daemon's scheduler runs and every sink's last
//!   write succeeded; 503 naming the failing sink while writes are being
//!   retried (a sink that went away), so a load balancer or orchestrator can
//!   tell.
//! - `/metrics`: Prometheus text exposition of [`crate::metrics`].
//! - `/feeds`: JSON, one object per feed: last poll, status, next due, error
//!   count, last error.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::PrometheusHandle;
use newswire_core::state::Status;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How each sink's last write went. Written by the store stage, read by
/// `/readyz`.
#[derive(Debug, Default)]
pub struct SinkHealth {
    failing: Mutex<BTreeMap<String, String>>,
}

impl SinkHealth {
    /// A write to `sink` succeeded.
    pub fn sink_ok(&self, sink: &str) {
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        if failing.remove(sink).is_some() {
            info!(sink, "sink recovered");
        }
    }

    /// A write to `sink` failed and will be retried.
    pub fn sink_failing(&self, sink: &str, error: &str) {
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        failing.insert(sink.to_string(), error.to_string());
    }

    /// Failing sinks and their last error.
    pub fn failing(&self) -> BTreeMap<String, String> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// One feed as `/feeds` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedStatus {
    /// Feed name.
    pub name: String,
    /// Feed URL, redacted.
    pub url: String,
    /// `ok`, `failing`, `disabled`, `never_polled` or `polling`.
    pub status: Status,
    /// When it was last polled.
    pub last_poll: Option<DateTime<Utc>>,
    /// When it last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// When it is due next.
    pub next_due: Option<DateTime<Utc>>,
    /// HTTP status of the last poll.
    pub last_status: u16,
    /// Consecutive failures.
    pub error_count: u32,
    /// The last error.
    pub last_error: Option<String>,
    /// Where it moved (301/308), if it did.
    pub moved_to: Option<String>,
}

/// What the scheduler publishes and the server shows.
#[derive(Debug, Default)]
pub struct Board {
    feeds: Mutex<BTreeMap<String, FeedStatus>>,
    running: AtomicBool,
    /// How the sinks are doing.
    pub sinks: Arc<SinkHealth>,
}

impl Board {
    /// A board over the storage's sink health.
    pub fn new(sinks: Arc<SinkHealth>) -> Self {
        Board { feeds: Mutex::default(), running: AtomicBool::new(false), sinks }
    }

    /// Replace one feed's entry.
    pub fn set_feed(&self, status: FeedStatus) {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner).insert(status.name.clone(), status);
    }

    /// Forget a feed (removed from the config).
    pub fn remove_feed(&self, name: &str) {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
    }

    /// Mark the scheduler as running (or stopping).
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::SeqCst);
    }

    fn snapshot(&self) -> Vec<FeedStatus> {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }
}

#[derive(Clone)]
struct ServerState {
    board: Arc<Board>,
    metrics: PrometheusHandle,
}

/// Install the Prometheus recorder (once per process).
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    Ok(metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?)
}

/// Bind `listen` and serve until `shutdown`. Returns the bound address (a
/// port of 0 picks a free one) and the server task.
pub async fn serve(
    listen: SocketAddr,
    board: Arc<Board>,
    metrics: PrometheusHandle,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen} for the status server: {e}"))?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .route("/feeds", get(feeds))
        .with_state(ServerState { board, metrics });
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        if let Err(e) = served {
            warn!(error = %e, "status server stopped");
        }
    });
    info!(%addr, "status server listening");
    Ok((addr, task))
}

async fn readyz(State(state): State<ServerState>) -> Response {
    if !state.board.running.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: the scheduler is not running\n").into_response();
    }
    let failing = state.board.sinks.failing();
    if failing.is_empty() {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let mut text = String::from("not ready:\n");
    for (sink, error) in failing {
        text.push_str(&format!("sink {sink}: {error}\n"));
    }
    (StatusCode::SERVICE_UNAVAILABLE, text).into_response()
}

async fn render_metrics(State(state): State<ServerState>) -> Response {
    crate::metrics::sqlite_memory();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

async fn feeds(State(state): State<ServerState>) -> Response {
    axum::Json(state.board.snapshot()).into_response()
}
