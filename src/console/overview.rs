//! The overview: how much is coming in, how polls go, whether the sinks
//! take writes, version and uptime.

use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::html;
use newswire_core::state::Status;
use newswire_pipeline::activity::{self, HOURS, MINUTES};

use super::{Console, chart, layout, span};

/// Failing feeds listed on the overview (the feeds page has them all).
const FAILING_SHOWN: usize = 10;

pub(super) async fn show(State(console): State<Console>) -> Response {
    let now = Utc::now();
    let view = console.board.activity.overview(now);
    let feeds = console.board.snapshot();
    let failing_sinks = console.board.sinks.failing();
    let running = console.board.running();
    let mut failing: Vec<_> = feeds.iter().filter(|f| f.status == Status::Failing).collect();
    failing.sort_by(|a, b| b.error_count.cmp(&a.error_count).then_with(|| a.name.cmp(&b.name)));
    let count = |status: Status| feeds.iter().filter(|f| f.status == status).count();
    let hour_labels: Vec<String> = (0..HOURS as i64)
        .map(|i| activity::hour_start(view.last_hour - (HOURS as i64 - 1) + i))
        .map(|t| t.map(|t| t.format("%Y-%m-%d %H:00 UTC").to_string()).unwrap_or_default())
        .collect();
    let minute_labels: Vec<String> = (0..MINUTES as i64)
        .map(|i| (now - Duration::minutes(MINUTES as i64 - 1 - i)).format("%H:%M UTC").to_string())
        .collect();
    let polls_hour: u64 = view.polls_per_minute.iter().sum();
    let failed_hour: u64 = view.failures_per_minute.iter().sum();
    let records_day: u64 = view.records_per_hour[HOURS - 24..].iter().sum();
    let body = html! {
        h1 { "Overview" }
        section.facts id="facts" {
            dl {
                div { dt { "Health" } dd #health.(if running && failing_sinks.is_empty() { "ok" } else { "failing" }) {
                    @if !running { "not ready: the scheduler is not running" }
                    @else if failing_sinks.is_empty() { "ready" }
                    @else { "not ready" }
                } }
                div { dt { "Version" } dd #version { (env!("CARGO_PKG_VERSION")) } }
                div { dt { "Uptime" } dd #uptime { (span(console.started.elapsed().as_secs() as i64)) } }
                div { dt { "Polls, last minute" } dd #polls-minute { (view.polls_per_minute.last().copied().unwrap_or(0)) } }
                div { dt { "Polls, last hour" } dd #polls-hour { (polls_hour) } }
                div { dt { "Failed polls, last hour" } dd #failed-hour { (failed_hour) } }
                div { dt { "Records, last 24 h" } dd #records-day { (records_day) } }
            }
        }
        section id="sinks" {
            h2 { "Sinks" }
            @if failing_sinks.is_empty() {
                p.ok { "Every sink's last write succeeded." }
            } @else {
                ul.failing {
                    @for (sink, error) in &failing_sinks { li { b { (sink) } ": " (error) } }
                }
            }
        }
        section id="feeds-summary" {
            h2 { "Feeds" }
            p {
                (feeds.len()) " feeds: "
                @for (i, status) in [Status::Failing, Status::Ok, Status::Polling, Status::NeverPolled, Status::Disabled].into_iter().enumerate() {
                    @if i > 0 { ", " }
                    a href=(format!("/console/feeds?status={}", status.as_str())) { (count(status)) " " (status.as_str().replace('_', " ")) }
                }
            }
            @if !failing.is_empty() {
                table.failing-feeds {
                    thead { tr { th { "Failing feed" } th { "Errors in a row" } th { "Last error" } } }
                    tbody {
                        @for f in failing.iter().take(FAILING_SHOWN) {
                            tr {
                                td { a href=(super::feeds::href(&f.name)) { (f.name) } }
                                td.num { (f.error_count) }
                                td.error { (f.last_error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
                @if failing.len() > FAILING_SHOWN {
                    p { a href="/console/feeds?status=failing" { "all " (failing.len()) " failing feeds" } }
                }
            }
        }
        section.charts {
            h2 { "Records written per hour, last week" }
            (chart::bars(&view.records_per_hour, &hour_labels, "records written per hour (new and updated), oldest left"))
            h2 { "Polls per minute, last hour" }
            (chart::bars(&view.polls_per_minute, &minute_labels, "polls per minute, oldest left"))
            h2 { "Failed polls per minute, last hour" }
            (chart::bars(&view.failures_per_minute, &minute_labels, "failed polls per minute, oldest left"))
            p.note { "Counted by this daemon since it started (" (span(console.started.elapsed().as_secs() as i64)) " ago)." }
        }
    };
    super::page(layout("Overview", "Overview", html! { div data-refresh="10" { (body) } }))
}
