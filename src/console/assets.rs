//! The console's stylesheet and script, embedded in the binary. Their URLs
//! carry a hash of their content (`console.js?v=…`), so they are cached for
//! a year and a new build's assets are fetched at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Name, content type, bytes.
const FILES: [(&str, &str, &[u8]); 2] = [
    ("console.css", "text/css; charset=utf-8", include_bytes!("assets/console.css")),
    ("console.js", "text/javascript; charset=utf-8", include_bytes!("assets/console.js")),
];

/// Each file's content hash, hex.
static HASHES: LazyLock<Vec<String>> =
    LazyLock::new(|| FILES.iter().map(|(_, _, bytes)| format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))).collect());

/// The URL of asset `name`, with its hash.
pub(super) fn url(name: &str) -> String {
    let hash = FILES.iter().position(|(n, _, _)| *n == name).map_or("", |i| HASHES[i].as_str());
    format!("/console/assets/{name}?v={hash}")
}

pub(super) async fn serve(Path(file): Path<String>) -> Response {
    let Some(i) = FILES.iter().position(|(n, _, _)| *n == file) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    let (_, content_type, bytes) = FILES[i];
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::ETAG, &format!("\"{}\"", HASHES[i])),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response()
}
