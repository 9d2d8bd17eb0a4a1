//! The read API: JSON under `/api/` on the status server (`[server]`).
//!
//! - `GET /api/records`: a page of records by filters (the same as
//!   `newswire records`), oldest first, `next` cursor and a `Link: <…>;
//!   rel="next"` header when more match.
//! - `GET /api/records/{id}`: one record with its earlier versions.
//! - `GET /api/search?q=`: `/api/records` with a required full-text query,
//!   newest first.
//! - `GET /api/clusters`, `GET /api/clusters/{id}`: stories seen more than
//!   once, and one with its copies.
//! - `GET /api/feeds`: each feed's state, last error and record count.
//! - `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the
//!   handlers and types here ([`ApiDoc`]).
//!
//! Reads go through newswire-storer's [`RecordReader`]: see
//! `newswire_storer::read` for order, cursors, filters and limits. With
//! `[server] token_env`, every `/api/` request needs `Authorization: Bearer
//! <token>` (401 otherwise; `/healthz`, `/readyz`, `/metrics` stay open).
//! A bad parameter is a 400 whose JSON body names it: `{"error": "...",
//! "parameter": "limit"}`.
//!
//! - `params.rs`: query strings to store queries.
//! - `handlers.rs`: the endpoints.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use newswire_core::config::Secret;
use newswire_storer::read::{QueryError, RecordReader};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

mod handlers;
pub mod params;

/// What the API serves from.
#[derive(Clone)]
pub struct Api {
    /// The store's reader.
    pub reader: Arc<dyn RecordReader>,
    /// The bearer token every request must carry, when configured.
    pub token: Option<Secret>,
}

/// The `/api/` routes, behind the token check when there is a token.
pub fn router(api: Api) -> Router {
    let token = api.token.clone();
    let routes = Router::new()
        .route("/api/records", get(handlers::records))
        .route("/api/records/{id}", get(handlers::record))
        .route("/api/search", get(handlers::search))
        .route("/api/clusters", get(handlers::clusters))
        .route("/api/clusters/{id}", get(handlers::cluster))
        .route("/api/feeds", get(handlers::feeds))
        .route("/api/openapi.json", get(openapi))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(api);
    match token {
        Some(token) => routes.layer(axum::middleware::from_fn_with_state(Arc::new(token), require_token)),
        None => routes,
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// The query parameter at fault, for a 400.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

/// An error answer: a status and an [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn not_found(what: &str) -> ApiError {
        ApiError { status: StatusCode::NOT_FOUND, body: ErrorBody { error: what.to_string(), parameter: None } }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody { error: e.to_string(), parameter: Some(e.field.to_string()) },
        }
    }
}

impl From<newswire_core::sink::StoreError> for ApiError {
    fn from(e: newswire_core::sink::StoreError) -> ApiError {
        // The detail goes to the log, not to the client.
        tracing::warn!(error = %e, "read API: the store failed");
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: ErrorBody { error: "the store could not answer".into(), parameter: None },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

async fn require_token(State(token): State<Arc<Secret>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same(given.as_bytes(), token.expose().as_bytes()) {
        return next.run(request).await;
    }
    let body = ErrorBody { error: "a bearer token is required".into(), parameter: None };
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], axum::Json(body)).into_response()
}

/// Equal, in a time that does not depend on where they differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The OpenAPI document of the read API.
#[derive(OpenApi)]
#[openapi(
    info(title = "newswire read API", description = "Records, stories and feeds from newswire's store (docs/api.md)."),
    paths(handlers::records, handlers::record, handlers::search, handlers::clusters, handlers::cluster, handlers::feeds),
    components(schemas(ErrorBody, handlers::RecordPage, handlers::ClusterPage)),
    modifiers(&BearerToken)
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], ApiDoc::openapi().to_pretty_json().unwrap_or_default())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
        assert!(!same(b"", b"secret"));
    }

    #[test]
    fn the_document_lists_every_endpoint() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        for path in
            ["/api/records", "/api/records/{id}", "/api/search", "/api/clusters", "/api/clusters/{id}", "/api/feeds"]
        {
            assert!(doc["paths"][path]["get"].is_object(), "{path}");
        }
        assert!(doc["components"]["schemas"]["Record"].is_object(), "the record's schema is there");
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
