//! The status server: `/healthz`, `/readyz`, `/metrics` and `/feeds`.
//!
//! - `/healthz`: the process is alive and serving (always 200).
//! - `/readyz`: 200 when the daemon's scheduler runs and every sink's last
//!   write succeeded; 503 naming the failing sink while writes are being
//!   retried (a sink that went away), so a load balancer or orchestrator can
//!   tell.
//! - `/metrics`: Prometheus text exposition of
//!   [`newswire_pipeline::metrics`].
//! - `/feeds`: JSON, one object per feed: last poll, status, next due, error
//!   count, last error.
//! - `/api/…`: the read API ([`crate::api`]), when the daemon gives one.
//! - `/` and `/console/…`: the web console ([`crate::console`]), behind the
//!   API's token when there is one.
//!
//! What it shows is published by the pipeline on its
//! [`Board`](newswire_pipeline::board::Board).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusHandle};
use newswire_pipeline::board::Board;
use newswire_pipeline::metrics;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

#[derive(Clone)]
struct ServerState {
    board: Arc<Board>,
    metrics: PrometheusHandle,
}

/// Install the Prometheus recorder (once per process): every duration a
/// histogram with its buckets, every metric with its help text, and
/// `newswire_build_info`.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let mut builder = metrics_exporter_prometheus::PrometheusBuilder::new();
    for (name, buckets) in metrics::HISTOGRAM_BUCKETS {
        builder = builder.set_buckets_for_metric(Matcher::Full((*name).to_string()), buckets)?;
    }
    let handle = builder.install_recorder()?;
    metrics::describe();
    metrics::build_info(env!("CARGO_PKG_VERSION"), FEATURES);
    Ok(handle)
}

/// The sink features compiled in, for `newswire_build_info`.
const FEATURES: &str = match (cfg!(feature = "postgres"), cfg!(feature = "nats")) {
    (true, true) => "nats,postgres",
    (true, false) => "postgres",
    (false, true) => "nats",
    (false, false) => "none",
};

/// Bind `listen` and serve until `shutdown`. Returns the bound address (a
/// port of 0 picks a free one) and the server task.
pub async fn serve(
    listen: SocketAddr,
    board: Arc<Board>,
    metrics: PrometheusHandle,
    api: Option<crate::api::Api>,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen} for the status server: {e}"))?;
    let addr = listener.local_addr()?;
    let console = crate::console::Console {
        board: Arc::clone(&board),
        started: std::time::Instant::now(),
        reader: api.as_ref().map(|api| Arc::clone(&api.reader)),
        token: api.as_ref().and_then(|api| api.token.clone()),
    };
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .route("/feeds", get(feeds))
        .with_state(ServerState { board, metrics });
    let app = match api {
        Some(api) => app.merge(crate::api::router(api)),
        None => app,
    };
    let app = app.merge(crate::console::router(console));
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
    if !state.board.running() {
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
    metrics::sqlite_memory();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

async fn feeds(State(state): State<ServerState>) -> Response {
    axum::Json(state.board.snapshot()).into_response()
}
