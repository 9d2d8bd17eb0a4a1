//! Serving a farm over HTTP on 127.0.0.1, with ETags (a matching
//! If-None-Match gets a 304), counting requests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::farm::Farm;

struct Served {
    docs: HashMap<String, (bytes::Bytes, String, &'static str)>,
    requests: AtomicU64,
    not_modified: AtomicU64,
}

/// A running farm server.
pub struct FarmServer {
    /// Where it listens.
    pub addr: SocketAddr,
    served: Arc<Served>,
}

impl FarmServer {
    /// Serve `farm` on an ephemeral port of 127.0.0.1.
    pub async fn start(farm: &Farm) -> anyhow::Result<FarmServer> {
        let docs =
            farm.feeds.iter().map(|f| (f.path.clone(), (f.body.clone(), f.etag.clone(), f.content_type))).collect();
        let served = Arc::new(Served { docs, requests: AtomicU64::new(0), not_modified: AtomicU64::new(0) });
        let app = Router::new().fallback(serve).with_state(Arc::clone(&served));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("farm server stopped: {e}");
            }
        });
        Ok(FarmServer { addr, served })
    }

    /// URL of a farm path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// (requests, of which 304).
    pub fn counts(&self) -> (u64, u64) {
        (self.served.requests.load(Ordering::Relaxed), self.served.not_modified.load(Ordering::Relaxed))
    }
}

async fn serve(State(served): State<Arc<Served>>, uri: Uri, headers: HeaderMap) -> Response {
    served.requests.fetch_add(1, Ordering::Relaxed);
    let Some((body, etag, content_type)) = served.docs.get(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        served.not_modified.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag.clone())]).into_response();
    }
    ([(header::CONTENT_TYPE, (*content_type).to_string()), (header::ETAG, etag.clone())], body.clone()).into_response()
}
