//! Stories: records the near-duplicate index linked as copies of one story
//! (docs/clusters.md), the most recently copied first, each with its copies'
//! feeds and similarity.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use newswire_storer::read::{ClusterCopy, ClusterQuery};

use super::records::{no_reader, unavailable};
use super::{Console, external, layout, time};

/// Stories shown with their copies on the list.
pub const STORIES_SHOWN: usize = 25;
/// How far back the list looks for copies.
const WINDOW_DAYS: i64 = 7;

/// The console path of story `id`.
pub(super) fn href(id: &str) -> String {
    super::path("/console/stories/", id)
}

fn copies(copies: &[ClusterCopy]) -> Markup {
    let now = Utc::now();
    html! {
        table.copies {
            thead { tr { th { "Copy" } th { "Feed" } th { "Similarity" } th { "Fetched" } th { "Source" } } }
            tbody {
                @for c in copies {
                    tr data-feed=(c.feed) {
                        td { a href=(super::records::href(&c.id)) { (c.title.as_deref().unwrap_or("(untitled)")) } }
                        td { a href=(super::feeds::href(&c.feed)) { (c.feed) } }
                        td.num { @if let Some(s) = c.similarity { (format!("{s:.2}")) } }
                        td { (time(Some(c.fetched_at), now)) }
                        td { @if let Some(url) = &c.url { (external(url, "source")) } }
                    }
                }
            }
        }
    }
}

pub(super) async fn list(State(console): State<Console>) -> Response {
    let Some(reader) = console.reader.as_ref() else { return no_reader("Stories") };
    let query = ClusterQuery {
        since: Some(Utc::now() - Duration::days(WINDOW_DAYS)),
        limit: Some(STORIES_SHOWN as u32),
        after: None,
        recent: true,
    };
    let stories = match reader.clusters(&query).await {
        Ok(stories) => stories,
        Err(e) => return unavailable("stories", &e),
    };
    let mut shown = Vec::with_capacity(stories.len());
    for story in stories {
        match reader.cluster(&story.id).await {
            Ok(detail) => shown.push((story, detail.map(|d| d.copies).unwrap_or_default())),
            Err(e) => return unavailable("a story", &e),
        }
    }
    let now = Utc::now();
    let body = html! {
        h1 { "Stories" }
        p #count { (shown.len()) " stories copied in the last " (WINDOW_DAYS) " days, the most recently copied first" }
        @for (story, list) in &shown {
            article.story data-id=(story.id) {
                h2 { a href=(href(&story.id)) { (story.title.as_deref().unwrap_or("(first record no longer stored)")) } }
                p.meta {
                    @if let Some(feed) = &story.feed { "first in " a href=(super::feeds::href(feed)) { (feed) } ", " }
                    (story.copies) " copies, last " (time(Some(story.last_fetched_at), now))
                }
                (copies(list))
            }
        }
    };
    super::page(layout("Stories", "Stories", body))
}

pub(super) async fn one(State(console): State<Console>, Path(id): Path<String>) -> Response {
    let Some(reader) = console.reader.as_ref() else { return no_reader("Stories") };
    let detail = match reader.cluster(&id).await {
        Ok(Some(detail)) => detail,
        Ok(None) => {
            let body = html! { h1 { "No such story" } p { "No record is a copy of " code { (id) } "." } };
            return (StatusCode::NOT_FOUND, super::page(layout("No such story", "Stories", body))).into_response();
        }
        Err(e) => return unavailable("the story", &e),
    };
    let now = Utc::now();
    let title =
        detail.first.as_ref().and_then(|r| r.title.clone()).unwrap_or_else(|| "(first record no longer stored)".into());
    let body = html! {
        h1 { (title) }
        @if let Some(first) = &detail.first {
            p.meta { "First: " a href=(super::records::href(&first.id)) { "the record" } " in "
                a href=(super::feeds::href(&first.feed)) { (first.feed) } ", fetched " (time(Some(first.fetched_at), now)) }
        }
        h2 { (detail.copies.len()) " copies" }
        (copies(&detail.copies))
    };
    super::page(layout(&title, "Stories", body))
}
