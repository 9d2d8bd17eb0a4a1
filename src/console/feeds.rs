//! The feeds table and one feed's page.
//!
//! The table is sorted and filtered on the server from the query string
//! (`?q=&status=&sort=&order=&page=`), so links and the filter form work
//! without JavaScript; with it, the script sorts and filters the rows in
//! place when the whole table is on the page. Failing feeds come first
//! unless another order is asked for.

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use newswire_core::state::Status;
use newswire_pipeline::board::FeedStatus;

use super::{Console, chart, external, layout, span, time};

/// Rows per page of the table.
pub const PAGE_ROWS: usize = 500;
/// Records on a feed's page.
const FEED_RECORDS: u32 = 20;

/// The columns: query key and heading.
const COLUMNS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("status", "Status"),
    ("last_poll", "Last poll"),
    ("next_due", "Next due"),
    ("interval", "Interval"),
    ("items", "Items 24 h"),
    ("errors", "Errors in a row"),
    ("last_error", "Last error"),
];

/// The console path of feed `name`, its name percent-encoded.
pub(super) fn href(name: &str) -> String {
    super::path("/console/feeds/", name)
}

/// Failing first, then those needing a look, then the quiet ones.
fn rank(status: Status) -> u8 {
    match status {
        Status::Failing => 0,
        Status::Disabled => 1,
        Status::NeverPolled => 2,
        Status::Polling => 3,
        Status::Ok => 4,
        Status::Off => 5,
    }
}

/// What the query string asks for.
#[derive(Debug, Default, PartialEq)]
struct Query {
    q: String,
    status: Option<String>,
    sort: Option<String>,
    desc: bool,
    page: usize,
}

impl Query {
    fn parse(raw: Option<&str>) -> Query {
        let mut query = Query::default();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "q" => query.q = value.trim().to_string(),
                "status" if !value.is_empty() => query.status = Some(value.into_owned()),
                "sort" if COLUMNS.iter().any(|(k, _)| *k == value) => query.sort = Some(value.into_owned()),
                "order" => query.desc = value == "desc",
                "page" => query.page = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        query
    }

    /// The query string for this query with `sort` and `order` (or `page`)
    /// changed.
    fn with(&self, sort: Option<&str>, desc: bool, page: usize) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            out.append_pair("q", &self.q);
        }
        if let Some(status) = &self.status {
            out.append_pair("status", status);
        }
        if let Some(sort) = sort {
            out.append_pair("sort", sort);
            out.append_pair("order", if desc { "desc" } else { "asc" });
        }
        if page > 0 {
            out.append_pair("page", &page.to_string());
        }
        format!("/console/feeds?{}", out.finish())
    }

    fn matches(&self, feed: &FeedStatus) -> bool {
        if self.status.as_deref().is_some_and(|s| s != feed.status.as_str()) {
            return false;
        }
        if self.q.is_empty() {
            return true;
        }
        let q = self.q.to_lowercase();
        [feed.name.as_str(), feed.url.as_str(), feed.last_error.as_deref().unwrap_or("")]
            .iter()
            .any(|field| field.to_lowercase().contains(&q))
    }
}

fn compare(a: &FeedStatus, b: &FeedStatus, key: &str, items: &HashMap<String, u64>) -> Ordering {
    let count = |f: &FeedStatus| items.get(&f.name).copied().unwrap_or(0);
    match key {
        "status" => rank(a.status).cmp(&rank(b.status)),
        "last_poll" => a.last_poll.cmp(&b.last_poll),
        "next_due" => a.next_due.cmp(&b.next_due),
        "interval" => a.interval_secs.cmp(&b.interval_secs),
        "items" => count(a).cmp(&count(b)),
        "errors" => a.error_count.cmp(&b.error_count),
        "last_error" => a.last_error.cmp(&b.last_error),
        _ => Ordering::Equal,
    }
}

/// The feeds the query selects, in its order.
fn select(mut feeds: Vec<FeedStatus>, query: &Query, items: &HashMap<String, u64>) -> Vec<FeedStatus> {
    feeds.retain(|f| query.matches(f));
    feeds.sort_by(|a, b| {
        let primary = match query.sort.as_deref() {
            Some(key) if key != "name" => compare(a, b, key, items),
            Some(_) => Ordering::Equal,
            None => rank(a.status).cmp(&rank(b.status)),
        };
        let order = primary.then_with(|| a.name.cmp(&b.name));
        if query.desc { order.reverse() } else { order }
    });
    feeds
}

fn status_badge(status: Status) -> Markup {
    html! { span class=(format!("status {}", status.as_str())) { (status.as_str().replace('_', " ")) } }
}

pub(super) async fn list(State(console): State<Console>, RawQuery(raw): RawQuery) -> Response {
    let now = Utc::now();
    let query = Query::parse(raw.as_deref());
    let items = console.board.activity.records_24h(now);
    let all = console.board.snapshot();
    let total = all.len();
    let feeds = select(all, &query, &items);
    let pages = feeds.len().div_ceil(PAGE_ROWS).max(1);
    let page = query.page.min(pages - 1);
    let shown = &feeds[(page * PAGE_ROWS).min(feeds.len())..((page + 1) * PAGE_ROWS).min(feeds.len())];
    let statuses = [Status::Failing, Status::Ok, Status::Polling, Status::NeverPolled, Status::Disabled];
    let body = html! {
        h1 { "Feeds" }
        form.filter method="get" action="/console/feeds" role="search" {
            label for="filter" { "Filter" }
            input #filter type="search" name="q" value=(query.q) placeholder="name, URL or error" autocomplete="off";
            select name="status" aria-label="status" {
                option value="" { "any status" }
                @for s in statuses {
                    option value=(s.as_str()) selected[query.status.as_deref() == Some(s.as_str())] { (s.as_str().replace('_', " ")) }
                }
            }
            button type="submit" { "Apply" }
        }
        p #count { (feeds.len()) " of " (total) " feeds" @if pages > 1 { ", page " (page + 1) " of " (pages) } }
        table #feeds.sortable data-complete=(if pages == 1 { "true" } else { "false" }) {
            thead { tr {
                @for (key, heading) in COLUMNS {
                    @let current = query.sort.as_deref() == Some(key);
                    @let aria = if current { if query.desc { "descending" } else { "ascending" } } else { "none" };
                    th data-key=(key) aria-sort=(aria) {
                        a href=(query.with(Some(key), current && !query.desc, 0)) { (heading) }
                    }
                }
            } }
            tbody {
                @for f in shown {
                    @let n = items.get(&f.name).copied().unwrap_or(0);
                    tr data-status=(f.status.as_str()) data-name=(f.name) {
                        td data-v=(f.name) { a href=(href(&f.name)) { (f.name) } }
                        td data-v=(rank(f.status)) { (status_badge(f.status)) }
                        td data-v=(f.last_poll.map_or(0, |t| t.timestamp())) { (time(f.last_poll, now)) }
                        td data-v=(f.next_due.map_or(0, |t| t.timestamp())) { (time(f.next_due, now)) }
                        td.num data-v=(f.interval_secs.unwrap_or(0)) { @if let Some(s) = f.interval_secs { (span(s as i64)) } }
                        td.num data-v=(n) { (n) }
                        td.num data-v=(f.error_count) { (f.error_count) }
                        td.error data-v=(f.last_error.as_deref().unwrap_or("")) { (f.last_error.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pages {
                @if page > 0 { a rel="prev" href=(query.with(query.sort.as_deref(), query.desc, page - 1)) { "previous" } }
                @if page + 1 < pages { a rel="next" href=(query.with(query.sort.as_deref(), query.desc, page + 1)) { "next" } }
            }
        }
    };
    super::page(layout("Feeds", "Feeds", body))
}

pub(super) async fn one(State(console): State<Console>, Path(name): Path<String>) -> Response {
    let now = Utc::now();
    let Some(feed) = console.board.snapshot().into_iter().find(|f| f.name == name) else {
        let body = html! { h1 { "No such feed" } p { "No feed is named " q { (name) } "." } };
        return (StatusCode::NOT_FOUND, super::page(layout("No such feed", "Feeds", body))).into_response();
    };
    let (polls, hours) = console.board.activity.feed(&feed.name, now);
    let week: u64 = hours.iter().sum();
    let query = newswire_storer::read::RecordQuery {
        feeds: vec![feed.name.clone()],
        newest_first: true,
        limit: Some(FEED_RECORDS),
        ..Default::default()
    };
    let recent = match console.reader.as_ref() {
        Some(reader) => match reader.records(&query).await {
            Ok(page) => Some(page.records),
            Err(e) => return super::records::unavailable("the feed's records", &e),
        },
        None => None,
    };
    let body = html! {
        h1 { (feed.name) }
        dl.facts {
            div { dt { "URL" } dd { (external(&feed.url, &feed.url)) } }
            div { dt { "Status" } dd #status { (status_badge(feed.status)) } }
            div { dt { "Last poll" } dd { (time(feed.last_poll, now)) } }
            div { dt { "Last success" } dd { (time(feed.last_success, now)) } }
            div { dt { "Next due" } dd { (time(feed.next_due, now)) } }
            div { dt { "Interval" } dd { @if let Some(s) = feed.interval_secs { (span(s as i64)) } @else { "—" } } }
            div { dt { "HTTP status" } dd { (feed.last_status) } }
            div { dt { "Errors in a row" } dd { (feed.error_count) } }
            @if let Some(error) = &feed.last_error { div { dt { "Last error" } dd.error { (error) } } }
            @if let Some(moved) = &feed.moved_to { div { dt { "Moved to" } dd { (external(moved, moved)) } } }
        }
        h2 { "Records per hour, last week" }
        p.spark-row { (chart::sparkline(&hours, 336, "records per hour over the last week")) " " (week) " this week" }
        h2 { "Recent polls" }
        @if polls.is_empty() {
            p { "Not polled since the daemon started." }
        } @else {
            table #polls {
                thead { tr { th { "When" } th { "Outcome" } th { "HTTP" } th { "Duration" } th { "New" } th { "Updated" } } }
                tbody {
                    @for p in &polls {
                        tr.(if p.failed() { "failed" } else { "ok" }) {
                            td { (time(Some(p.at), now)) }
                            td { (p.outcome.replace('_', " ")) }
                            td.num { (p.http_status) }
                            td.num { (format!("{} ms", p.duration.as_millis())) }
                            td.num { (p.new) }
                            td.num { (p.updated) }
                        }
                    }
                }
            }
        }
        @if let Some(recent) = &recent {
            h2 { "Newest records" }
            (super::records::table(recent))
            p { a href=(format!("/console/records?{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("feed", &feed.name).finish())) { "all its records" } }
        }
    };
    super::page(layout(&feed.name, "Feeds", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(name: &str, status: Status, errors: u32) -> FeedStatus {
        FeedStatus {
            name: name.into(),
            url: format!("https://{name}.example/feed"),
            status,
            last_poll: None,
            last_success: None,
            next_due: None,
            interval_secs: None,
            last_status: 200,
            error_count: errors,
            last_error: (errors > 0).then(|| format!("{name} answered 500")),
            moved_to: None,
        }
    }

    fn names(feeds: &[FeedStatus]) -> Vec<&str> {
        feeds.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn failing_first_then_by_name_and_any_column_either_way() {
        let feeds = vec![feed("b", Status::Ok, 0), feed("c", Status::Failing, 1), feed("a", Status::Ok, 0)];
        let items = HashMap::from([("a".to_string(), 5), ("b".to_string(), 9)]);
        assert_eq!(names(&select(feeds.clone(), &Query::parse(None), &items)), ["c", "a", "b"]);
        let by_items = Query::parse(Some("sort=items&order=desc"));
        assert_eq!(names(&select(feeds.clone(), &by_items, &items)), ["b", "a", "c"]);
        assert_eq!(names(&select(feeds, &Query::parse(Some("sort=name&order=desc")), &items)), ["c", "b", "a"]);
    }

    #[test]
    fn the_filter_matches_name_url_or_error_and_the_status() {
        let feeds = vec![feed("world", Status::Ok, 0), feed("tech", Status::Failing, 2)];
        let none = HashMap::new();
        assert_eq!(names(&select(feeds.clone(), &Query::parse(Some("q=ANSWERED")), &none)), ["tech"]);
        assert_eq!(names(&select(feeds.clone(), &Query::parse(Some("q=world.example")), &none)), ["world"]);
        assert_eq!(names(&select(feeds, &Query::parse(Some("status=ok")), &none)), ["world"]);
    }

    #[test]
    fn links_keep_the_filter_and_names_are_encoded() {
        let query = Query::parse(Some("q=a+b&status=failing&sort=bogus"));
        assert_eq!(query.sort, None);
        assert_eq!(query.with(Some("errors"), true, 0), "/console/feeds?q=a+b&status=failing&sort=errors&order=desc");
        assert_eq!(href("a b/<c>?"), "/console/feeds/a%20b%2F%3Cc%3E%3F");
    }
}
