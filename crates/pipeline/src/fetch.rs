//! The fetch stage: up to `concurrency` polls at once, each a conditional
//! GET (or a `file://` read) bounded by the feed's timeout and body cap.
//! Pure I/O: nothing here parses or hashes.
//!
//! [`request`] is the one place a feed's settings become a
//! [`FetchRequest`]: feed polls, pages of history and article pages
//! ([`crate::pages`]) all go through it.

use chrono::{DateTime, Utc};
use newswire_core::config::FeedSpec;
use newswire_fetcher::{FetchError, FetchRequest, Fetched, Fetcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::job::FeedJob;
use crate::stage::run_stage;

/// What the fetch stage hands on: the job and what its request got.
#[derive(Debug)]
pub struct FetchedBatch {
    /// The poll that was made.
    pub job: FeedJob,
    /// When it was made.
    pub polled_at: DateTime<Utc>,
    /// What it got.
    pub result: Result<Fetched, FetchError>,
}

/// A request for `url` with the feed's limits (address guard, timeout, body
/// cap, retries, proxy), `headers`, and the feed's credentials when
/// `credentials` (they belong to the feed's origin). Unconditional and
/// never `file://`: a feed poll adds its validators and file permission.
pub fn request<'a>(
    spec: &'a FeedSpec,
    url: &'a Url,
    headers: &'a [(String, String)],
    credentials: bool,
) -> FetchRequest<'a> {
    FetchRequest {
        url,
        etag: None,
        last_modified: None,
        allow_private: spec.allow_private,
        allow_file: false,
        timeout: spec.timeout,
        max_body: spec.max_body,
        retries: spec.retries,
        headers,
        basic_auth: spec
            .basic_auth
            .as_ref()
            .filter(|_| credentials)
            .map(|(user, password)| (user.as_str(), password.expose())),
        proxy: spec.proxy.as_deref(),
    }
}

/// The request for one job: the feed itself, conditional when its stored
/// validators belong to its URL (after a change of URL, ask
/// unconditionally), or a page of its history, unconditional.
pub fn job_request(job: &FeedJob) -> FetchRequest<'_> {
    let spec = &job.feed.spec;
    let same_url = job.page.is_none() && job.state.validators_for(&spec.url);
    let url = job.page.as_ref().map_or(&spec.url, |(page, _)| page);
    FetchRequest {
        etag: job.state.etag.as_deref().filter(|_| same_url),
        last_modified: job.state.last_modified.as_deref().filter(|_| same_url),
        allow_file: spec.allow_file,
        ..request(spec, url, &spec.headers, true)
    }
}

/// Up to `concurrency` polls at once.
pub async fn fetch_stage(
    jobs: mpsc::Receiver<FeedJob>,
    fetcher: Fetcher,
    out: mpsc::Sender<FetchedBatch>,
    concurrency: usize,
    abort: CancellationToken,
) {
    run_stage("fetch", None, jobs, out, concurrency, abort, move |job| {
        let fetcher = fetcher.clone();
        async move {
            let batch = fetch_one(&fetcher, job).await;
            crate::failpoint::hit("after_fetch");
            batch
        }
    })
    .await;
}

/// Poll one feed.
pub async fn fetch_one(fetcher: &Fetcher, job: FeedJob) -> FetchedBatch {
    let polled_at = Utc::now();
    let result = fetcher.fetch(&job_request(&job)).await;
    FetchedBatch { job, polled_at, result }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::tests::feed;
    use newswire_core::state::FeedState;

    #[test]
    fn a_poll_is_conditional_only_at_the_url_its_validators_came_from() {
        let feed = feed("headers = { \"X-Client\" = \"nw\" }\nusername = \"u\"\npassword_env = \"PATH\"\n");
        let mut state = FeedState::default();
        state.reset_for_url(&feed.spec.url);
        (state.etag, state.last_modified) = (Some("\"e\"".into()), Some("lm".into()));
        let job = FeedJob::poll(std::sync::Arc::clone(&feed), state.clone());
        let r = job_request(&job);
        assert_eq!((r.etag, r.last_modified), (Some("\"e\""), Some("lm")));
        assert_eq!(r.url, &feed.spec.url);
        assert_eq!(r.headers, [("X-Client".to_string(), "nw".to_string())]);
        assert_eq!(r.basic_auth.map(|(u, _)| u), Some("u"));
        // Validators of another URL are not sent.
        state.url = "https://e.com/old-feed".into();
        let job = FeedJob::poll(std::sync::Arc::clone(&feed), state.clone());
        assert_eq!((job_request(&job).etag, job_request(&job).last_modified), (None, None));
        // Nor for a page of history.
        state.url = newswire_core::canon::redact(feed.spec.url.as_str());
        let page = Url::parse("https://e.com/feed?page=2").expect("url");
        let job = FeedJob { feed: std::sync::Arc::clone(&feed), state, page: Some((page.clone(), 2)) };
        let r = job_request(&job);
        assert_eq!((r.etag, r.url), (None, &page));
    }

    #[test]
    fn a_request_without_credentials_carries_the_feeds_limits_only() {
        let feed = feed("username = \"u\"\npassword_env = \"PATH\"\ntimeout = \"7s\"\nmax_body = \"1MiB\"\n");
        let url = Url::parse("https://elsewhere.org/a").expect("url");
        let r = request(&feed.spec, &url, &[], false);
        assert_eq!(r.basic_auth, None);
        assert_eq!((r.timeout, r.max_body), (std::time::Duration::from_secs(7), 1024 * 1024));
        assert!(!r.allow_file && r.etag.is_none());
        assert!(request(&feed.spec, &url, &[], true).basic_auth.is_some());
    }
}
