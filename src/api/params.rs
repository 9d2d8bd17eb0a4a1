//! Query strings of the read API: parsed by hand from the raw query, so
//! that a repeated `feed` is a list, an unknown parameter is refused, and
//! every error names its parameter.

use chrono::{DateTime, Utc};
use newswire_storer::read::{ClusterQuery, Cursor, MAX_PAGE, QueryError, RecordQuery, TimeField};
use utoipa::IntoParams;

/// The parameters of `GET /api/records` and `GET /api/search`.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordParams {
    /// Records at or after this time (`2024-03-01` or RFC 3339).
    pub since: Option<String>,
    /// Records before this time (`2024-03-01` or RFC 3339).
    pub until: Option<String>,
    /// Which time `since` and `until` bound: `fetched` (default) or `published`.
    pub by: Option<String>,
    /// Records of this feed; repeat for any of several.
    pub feed: Option<Vec<String>>,
    /// Records with this category, exactly.
    pub tag: Option<String>,
    /// Records in this language (`en` also matches `en-GB`).
    pub lang: Option<String>,
    /// The records of this story: its first record and its copies.
    pub cluster: Option<String>,
    /// Full text: every word in title, summary or body (at most 256
    /// characters, 16 words). Required by `/api/search`.
    pub q: Option<String>,
    /// Records per page, 1 to 1000; default 100.
    pub limit: Option<u32>,
    /// `oldest` (default for `/api/records`) or `newest` first (default for
    /// `/api/search`).
    pub order: Option<String>,
    /// Where to continue: the `next` of the page before (also in its `Link`
    /// header). Give the same other parameters.
    pub cursor: Option<String>,
}

/// The parameters of `GET /api/clusters`.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClusterParams {
    /// Stories with a copy fetched at or after this time.
    pub since: Option<String>,
    /// Stories per page, 1 to 1000; default 100.
    pub limit: Option<u32>,
    /// Continue after this story id (the `next` of the page before).
    pub after: Option<String>,
}

fn bad(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError { field, message: message.into() }
}

/// The (name, value) pairs of a raw query string.
pub fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect()
}

fn date(field: &'static str, text: &str) -> Result<DateTime<Utc>, QueryError> {
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Ok(d.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| bad(field, format!("\"{}\" is not a date: use 2024-03-01 or RFC 3339", shorten(text))))
}

fn limit(text: &str) -> Result<u32, QueryError> {
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))
        .ok_or_else(|| bad("limit", format!("must be a number from 1 to {MAX_PAGE}")))
}

/// At most 64 characters of user text, for an error message.
fn shorten(text: &str) -> String {
    text.chars().take(64).collect()
}

fn once(slot: &mut Option<String>, field: &'static str, value: String) -> Result<(), QueryError> {
    if slot.replace(value).is_some() {
        return Err(bad(field, "given more than once"));
    }
    Ok(())
}

impl RecordParams {
    /// Read the pairs of a query string; unknown or repeated parameters are
    /// refused (only `feed` repeats).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<RecordParams, QueryError> {
        let mut p = RecordParams::default();
        let mut limit_text = None;
        for (name, value) in pairs {
            match name.as_str() {
                "since" => once(&mut p.since, "since", value)?,
                "until" => once(&mut p.until, "until", value)?,
                "by" => once(&mut p.by, "by", value)?,
                "feed" => p.feed.get_or_insert_with(Vec::new).push(value),
                "tag" => once(&mut p.tag, "tag", value)?,
                "lang" => once(&mut p.lang, "lang", value)?,
                "cluster" => once(&mut p.cluster, "cluster", value)?,
                "q" => once(&mut p.q, "q", value)?,
                "limit" => once(&mut limit_text, "limit", value)?,
                "order" => once(&mut p.order, "order", value)?,
                "cursor" => once(&mut p.cursor, "cursor", value)?,
                _ => return Err(unknown(&name)),
            }
        }
        p.limit = limit_text.as_deref().map(limit).transpose()?;
        Ok(p)
    }

    /// The store query, checked ([`RecordQuery::check`]); `newest_default`
    /// is the order when `order` is not given.
    pub fn query(&self, newest_default: bool) -> Result<RecordQuery, QueryError> {
        let query = RecordQuery {
            since: self.since.as_deref().map(|t| date("since", t)).transpose()?,
            until: self.until.as_deref().map(|t| date("until", t)).transpose()?,
            time_field: match self.by.as_deref() {
                None | Some("fetched") => TimeField::Fetched,
                Some("published") => TimeField::Published,
                Some(_) => return Err(bad("by", "must be fetched or published")),
            },
            feeds: self.feed.clone().unwrap_or_default(),
            tag: self.tag.clone(),
            lang: self.lang.clone(),
            cluster: self.cluster.clone(),
            text: self.q.clone(),
            limit: self.limit,
            newest_first: match self.order.as_deref() {
                None => newest_default,
                Some("oldest") => false,
                Some("newest") => true,
                Some(_) => return Err(bad("order", "must be oldest or newest")),
            },
            after: self.cursor.as_deref().map(Cursor::decode).transpose()?,
        };
        query.check()?;
        Ok(query)
    }

    /// The query string of the same request with `cursor` set to `next`.
    pub fn with_cursor(pairs: &[(String, String)], next: &str) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs.iter().filter(|(n, _)| n != "cursor") {
            out.append_pair(name, value);
        }
        out.append_pair("cursor", next);
        out.finish()
    }
}

impl ClusterParams {
    /// Read the pairs of a query string into a store query.
    pub fn query(pairs: Vec<(String, String)>) -> Result<ClusterQuery, QueryError> {
        let mut p = ClusterParams::default();
        let (mut since, mut limit_text) = (None, None);
        for (name, value) in pairs {
            match name.as_str() {
                "since" => once(&mut since, "since", value)?,
                "limit" => once(&mut limit_text, "limit", value)?,
                "after" => once(&mut p.after, "after", value)?,
                _ => return Err(unknown(&name)),
            }
        }
        Ok(ClusterQuery {
            since: since.as_deref().map(|t| date("since", t)).transpose()?,
            limit: limit_text.as_deref().map(limit).transpose()?,
            after: p.after,
            recent: false,
        })
    }
}

fn unknown(name: &str) -> QueryError {
    QueryError { field: "query", message: format!("unknown parameter \"{}\"", shorten(name)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<RecordQuery, &'static str> {
        RecordParams::from_pairs(pairs(Some(raw))).and_then(|p| p.query(false)).map_err(|e| e.field)
    }

    #[test]
    fn parameters_become_a_query_or_an_error_naming_them() {
        let q =
            parse("feed=a&feed=b&q=harbour+tunnel&limit=5&order=newest&by=published&since=2024-03-01").expect("parses");
        assert_eq!(q.feeds, ["a", "b"]);
        assert_eq!(q.text.as_deref(), Some("harbour tunnel"));
        assert_eq!((q.limit, q.newest_first, q.time_field), (Some(5), true, TimeField::Published));
        for (raw, field) in [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=x", "limit"),
            ("since=yesterday", "since"),
            ("until=2024-13-01", "until"),
            ("by=created", "by"),
            ("order=up", "order"),
            ("cursor=zz", "cursor"),
            ("q=", "q"),
            ("q=a&q=b", "q"),
            ("colour=red", "query"),
        ] {
            assert_eq!(parse(raw).map(|_| ()), Err(field), "{raw}");
        }
        let long = format!("q={}", "a".repeat(300));
        assert_eq!(parse(&long).map(|_| ()), Err("q"));
    }

    #[test]
    fn the_next_link_keeps_the_other_parameters() {
        let pairs = pairs(Some("feed=a&cursor=old&q=x%20y"));
        assert_eq!(RecordParams::with_cursor(&pairs, "abc"), "feed=a&q=x+y&cursor=abc");
    }
}
