//! The read API's endpoints (see [`super`]).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use newswire_core::Record;
use newswire_storer::read::{ClusterDetail, ClusterSummary, FeedSummary, QueryError, RecordDetail};
use serde::Serialize;
use utoipa::ToSchema;

use super::params::{ClusterParams, RecordParams, pairs};
use super::{Api, ApiError, ErrorBody};

/// A page of records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordPage {
    /// The records (docs/record.md), in the page's order.
    pub records: Vec<Record>,
    /// The cursor of the next page (`cursor=`), or null on the last page.
    pub next: Option<String>,
}

/// A page of stories.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterPage {
    /// The stories, by id.
    pub clusters: Vec<ClusterSummary>,
    /// The `after` of the next page, or null on the last page.
    pub next: Option<String>,
}

/// A page of records matching the filters, oldest first.
#[utoipa::path(get, path = "/api/records", params(RecordParams),
    responses(
        (status = 200, description = "A page; `Link: <…>; rel=\"next\"` when more match", body = RecordPage),
        (status = 400, description = "A bad parameter, named in `parameter`", body = ErrorBody),
        (status = 401, description = "The bearer token is missing or wrong", body = ErrorBody),
    ))]
pub async fn records(State(api): State<Api>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    page("/api/records", &api, raw, false).await
}

/// Full-text search: records with every word of `q` in title, summary or
/// body, newest first; the other filters of `/api/records` apply too.
#[utoipa::path(get, path = "/api/search", params(RecordParams),
    responses(
        (status = 200, description = "A page; `Link: <…>; rel=\"next\"` when more match", body = RecordPage),
        (status = 400, description = "A bad parameter (`q` missing, too long), named in `parameter`", body = ErrorBody),
        (status = 401, description = "The bearer token is missing or wrong", body = ErrorBody),
    ))]
pub async fn search(State(api): State<Api>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    page("/api/search", &api, raw, true).await
}

async fn page(path: &str, api: &Api, raw: Option<String>, search: bool) -> Result<Response, ApiError> {
    let pairs = pairs(raw.as_deref());
    let params = RecordParams::from_pairs(pairs.clone())?;
    if search && params.q.is_none() {
        return Err(QueryError { field: "q", message: "is required".into() }.into());
    }
    let query = params.query(search)?;
    let page = api.reader.records(&query).await?;
    let next = page.next.map(|c| c.encode());
    let link = next.as_deref().map(|n| format!("<{path}?{}>; rel=\"next\"", RecordParams::with_cursor(&pairs, n)));
    let mut response = axum::Json(RecordPage { records: page.records, next }).into_response();
    if let Some(value) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// One record with its earlier versions.
#[utoipa::path(get, path = "/api/records/{id}", params(("id" = String, Path, description = "The record id")),
    responses(
        (status = 200, description = "The record, its version and the versions before it", body = RecordDetail),
        (status = 404, description = "No such record", body = ErrorBody),
    ))]
pub async fn record(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    match api.reader.record(&id).await? {
        Some(detail) => Ok(axum::Json(detail).into_response()),
        None => Err(ApiError::not_found("no such record")),
    }
}

/// Stories seen more than once, by id.
#[utoipa::path(get, path = "/api/clusters", params(ClusterParams),
    responses(
        (status = 200, description = "A page of stories", body = ClusterPage),
        (status = 400, description = "A bad parameter, named in `parameter`", body = ErrorBody),
    ))]
pub async fn clusters(State(api): State<Api>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let query = ClusterParams::query(pairs(raw.as_deref()))?;
    let clusters = api.reader.clusters(&query).await?;
    let full = clusters.len() as u32 == query.limit.unwrap_or(newswire_storer::read::DEFAULT_PAGE);
    let next = if full { clusters.last().map(|c| c.id.clone()) } else { None };
    Ok(axum::Json(ClusterPage { clusters, next }).into_response())
}

/// One story: its first record and every copy.
#[utoipa::path(get, path = "/api/clusters/{id}", params(("id" = String, Path, description = "The story id (its first record's id)")),
    responses(
        (status = 200, description = "The story", body = ClusterDetail),
        (status = 404, description = "No record names this story", body = ErrorBody),
    ))]
pub async fn cluster(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    match api.reader.cluster(&id).await? {
        Some(story) => Ok(axum::Json(story).into_response()),
        None => Err(ApiError::not_found("no such story")),
    }
}

/// Every feed the store knows: state (last poll, status, last error) and
/// record count.
#[utoipa::path(get, path = "/api/feeds",
    responses((status = 200, description = "The feeds, by name", body = Vec<FeedSummary>)))]
pub async fn feeds(State(api): State<Api>) -> Result<Response, ApiError> {
    Ok(axum::Json(api.reader.feeds().await?).into_response())
}
