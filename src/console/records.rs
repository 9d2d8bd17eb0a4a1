//! Records: the newest, with full-text search, and one record's clean body
//! beside what the cleaner removed and its embeds. Read through the
//! storer's read layer ([`newswire_storer::read`]), the same queries as
//! `newswire records` and the API.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use newswire_core::Record;
use newswire_storer::read::{Cursor, RecordQuery};

use super::{Console, external, layout, time};

/// Records per page of the list.
pub const PAGE_RECORDS: u32 = 50;

/// The console path of record `id`.
pub(super) fn href(id: &str) -> String {
    super::path("/console/records/", id)
}

/// A page of records as a table: fetched, feed, title, language, words.
pub(super) fn table(records: &[Record]) -> Markup {
    let now = Utc::now();
    html! {
        table #records {
            thead { tr { th { "Fetched" } th { "Feed" } th { "Title" } th { "Language" } th { "Words" } } }
            tbody {
                @for r in records {
                    tr data-id=(r.id) {
                        td { (time(Some(r.fetched_at), now)) }
                        td { a href=(super::feeds::href(&r.feed)) { (r.feed) } }
                        td.title { a href=(href(&r.id)) { (r.title.as_deref().filter(|t| !t.is_empty()).unwrap_or("(untitled)")) } }
                        td { (r.language.as_deref().unwrap_or("")) }
                        td.num { (r.word_count) }
                    }
                }
            }
        }
    }
}

/// What went wrong reading the store, as a page (503: the store is busy or
/// away; the console itself is fine).
pub(super) fn unavailable(what: &str, error: &dyn std::fmt::Display) -> Response {
    let body = html! { h1 { "Cannot read " (what) } p.error { (error.to_string()) } };
    (StatusCode::SERVICE_UNAVAILABLE, super::page(layout("Store unavailable", "", body))).into_response()
}

/// The page's message when the daemon has no store the console can read.
pub(super) fn no_reader(current: &str) -> Response {
    let body = html! {
        h1 { (current) }
        p { "This daemon's records are not readable here: the console reads the SQLite store, or PostgreSQL when it holds the state." }
    };
    super::page(layout(current, current, body))
}

pub(super) async fn list(State(console): State<Console>, RawQuery(raw): RawQuery) -> Response {
    let Some(reader) = console.reader.as_ref() else { return no_reader("Records") };
    let mut query = RecordQuery { newest_first: true, limit: Some(PAGE_RECORDS), ..RecordQuery::default() };
    let mut q = String::new();
    let mut error = None;
    for (key, value) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "q" if !value.trim().is_empty() => {
                q = value.trim().to_string();
                query.text = Some(q.clone());
            }
            "feed" if !value.is_empty() => query.feeds.push(value.into_owned()),
            "after" => match Cursor::decode(&value) {
                Ok(cursor) => query.after = Some(cursor),
                Err(e) => error = Some(e.to_string()),
            },
            _ => {}
        }
    }
    if let Err(e) = query.check() {
        error = Some(e.to_string());
    }
    let page = match &error {
        Some(_) => None,
        None => match reader.records(&query).await {
            Ok(page) => Some(page),
            Err(e) => return unavailable("records", &e),
        },
    };
    let next = page.as_ref().and_then(|p| p.next.as_ref()).map(|cursor| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            link.append_pair("q", &q);
        }
        for feed in &query.feeds {
            link.append_pair("feed", feed);
        }
        link.append_pair("after", &cursor.encode());
        format!("/console/records?{}", link.finish())
    });
    let body = html! {
        h1 { "Records" }
        form.filter method="get" action="/console/records" role="search" {
            label for="search" { "Search" }
            input #search type="search" name="q" value=(q) placeholder="words in title, summary or body" autocomplete="off";
            @for feed in &query.feeds { input type="hidden" name="feed" value=(feed); }
            button type="submit" { "Search" }
        }
        @if let Some(error) = &error { p.error #query-error { (error) } }
        @if let Some(page) = &page {
            p #count {
                @if page.records.is_empty() { "No records" } @else { (page.records.len()) " records" }
                @if !q.is_empty() { " matching " q { (q) } }
                @if !query.feeds.is_empty() { " of " (query.feeds.join(", ")) }
                ", newest first"
            }
            (table(&page.records))
        }
        @if let Some(next) = next { nav.pages { a rel="next" href=(next) { "older" } } }
    };
    super::page(layout("Records", "Records", body))
}

/// Paragraphs of a body ("\n\n" between them).
fn paragraphs(text: &str) -> Markup {
    html! { @for p in text.split("\n\n").filter(|p| !p.trim().is_empty()) { p { (p) } } }
}

pub(super) async fn one(State(console): State<Console>, Path(id): Path<String>) -> Response {
    let Some(reader) = console.reader.as_ref() else { return no_reader("Records") };
    let detail = match reader.record(&id).await {
        Ok(Some(detail)) => detail,
        Ok(None) => {
            let body = html! { h1 { "No such record" } p { "No record has the id " code { (id) } "." } };
            return (StatusCode::NOT_FOUND, super::page(layout("No such record", "Records", body))).into_response();
        }
        Err(e) => return unavailable("the record", &e),
    };
    let now = Utc::now();
    let r = &detail.record;
    let mut removed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for part in &r.removed {
        removed.entry(part.kind.as_str()).or_default().push(part.text.as_str());
    }
    let title = r.title.as_deref().filter(|t| !t.is_empty()).unwrap_or("(untitled)");
    let body = html! {
        h1 #title { (title) }
        dl.facts {
            div { dt { "Feed" } dd { a href=(super::feeds::href(&r.feed)) { (r.feed) } } }
            div { dt { "Source" } dd #source { @if let Some(url) = &r.url { (external(url, url)) } @else { "—" } } }
            div { dt { "Published" } dd { (time(r.published_at, now)) } }
            div { dt { "Fetched" } dd { (time(Some(r.fetched_at), now)) } }
            @if !r.authors.is_empty() { div { dt { "Authors" } dd { (r.authors.join(", ")) } } }
            div { dt { "Language" } dd { (r.language.as_deref().unwrap_or("—")) } }
            div { dt { "Words" } dd { (r.word_count) } }
            div { dt { "Body from" } dd { (format!("{:?}", r.source).to_lowercase()) } }
            div { dt { "Version" } dd { (detail.version) } }
            @if let Some(cluster) = &r.cluster {
                div { dt { "Story" } dd { a href=(super::stories::href(cluster)) { "copy of a story" }
                    @if let Some(s) = r.similarity { " (similarity " (format!("{s:.2}")) ")" } } }
            }
            @if !r.categories.is_empty() { div { dt { "Categories" } dd { (r.categories.join(", ")) } } }
        }
        div.columns {
            section #body.record-body {
                h2 { "Clean body" }
                @if let Some(summary) = r.summary.as_deref().filter(|s| !s.is_empty()) { p.summary { (summary) } }
                (paragraphs(&r.body))
            }
            section #removed {
                h2 { "Removed (" (r.removed.len()) ")" }
                @if removed.is_empty() { p.none { "Nothing was removed." } }
                @for (kind, texts) in &removed {
                    h3 data-kind=(kind) { (kind.replace('_', " ")) " (" (texts.len()) ")" }
                    ul { @for text in texts { li { (text) } } }
                }
                h2 { "Embeds (" (r.embeds.len()) ")" }
                @if r.embeds.is_empty() { p.none { "No embeds." } }
                ul #embeds {
                    @for e in &r.embeds {
                        li {
                            b { (e.kind) } " "
                            @if let Some(author) = &e.author { (author) " " }
                            @if let Some(url) = &e.url { (external(url, url)) }
                            @if let Some(text) = &e.text { blockquote { (text) } }
                        }
                    }
                }
            }
        }
    };
    super::page(layout(title, "Records", body))
}
