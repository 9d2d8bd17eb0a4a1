//! Page metadata: JSON-LD, OpenGraph, meta tags, `<title>`, `<html lang>`.
//!
//! The collector sees every element once, during the extractor's first
//! walk over the tree, and keeps what it finds by source; [`Metadata::finish`]
//! then picks per field in order of trust: JSON-LD, OpenGraph and article
//! meta tags, plain meta tags, then the document itself (`<h1>`, `<title>`).

use crate::parse::attr;
use ego_tree::NodeRef;
use markup5ever::local_name;
use scraper::Node;
use scraper::node::Element;
use serde_json::Value;

use crate::normalize::normalize_paragraph;

/// JSON-LD `@type`s that describe an article.
const ARTICLE_TYPES: [&str; 9] = [
    "NewsArticle",
    "Article",
    "BlogPosting",
    "ReportageNews",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "ReviewNewsArticle",
    "BackgroundNewsArticle",
    "LiveBlogPosting",
];

/// What the page says about itself, by source.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    ld: LdArticle,
    og_title: Option<String>,
    og_image: Option<String>,
    og_site: Option<String>,
    og_published: Option<String>,
    meta_published: Option<String>,
    meta_authors: Vec<String>,
    meta_language: Option<String>,
    html_lang: Option<String>,
    title: Option<String>,
    h1: Option<String>,
    twitter_image: Option<String>,
    twitter_title: Option<String>,
}

#[derive(Debug, Default)]
struct LdArticle {
    found: bool,
    headline: Option<String>,
    authors: Vec<String>,
    published: Option<String>,
    image: Option<String>,
    body: Option<String>,
    language: Option<String>,
    publisher: Option<String>,
}

/// The fields the extractor reports, chosen.
#[derive(Debug, Default)]
pub(crate) struct Metadata {
    pub(crate) title: Option<String>,
    pub(crate) authors: Vec<String>,
    pub(crate) published: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) language: Option<String>,
    pub(crate) lead_image: Option<String>,
    pub(crate) site_name: Option<String>,
    /// JSON-LD `articleBody`, the fallback when the DOM yields little.
    pub(crate) ld_body: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    let s = normalize_paragraph(s);
    if s.is_empty() { None } else { Some(s) }
}

fn text_children(node: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    for child in node.children() {
        if let Node::Text(t) = child.value() {
            out.push_str(t);
        }
    }
    out
}

impl Collector {
    /// Look at one element (called once per element, in document order).
    pub(crate) fn element(&mut self, node: NodeRef<'_, Node>, e: &Element) {
        match e.name() {
            "html" if self.html_lang.is_none() => {
                self.html_lang = attr(e, local_name!("lang")).or_else(|| e.attr("xml:lang")).and_then(non_empty);
            }
            "title" if self.title.is_none() => self.title = non_empty(&text_children(node)),
            "h1" if self.h1.is_none() => self.h1 = non_empty(&crate::markup::text_of(node)),
            "meta" => self.meta(e),
            "script"
                if attr(e, local_name!("type"))
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) =>
            {
                let text = text_children(node);
                if let Ok(value) = serde_json::from_str::<Value>(text.trim()) {
                    self.json_ld(&value, 0);
                }
            }
            "time" => {
                if self.meta_published.is_none()
                    && attr(e, local_name!("itemprop")).is_some_and(|p| p == "datePublished")
                    && let Some(dt) = attr(e, local_name!("datetime"))
                {
                    self.meta_published = non_empty(dt);
                }
            }
            _ => {}
        }
    }

    fn meta(&mut self, e: &Element) {
        let Some(content) = attr(e, local_name!("content")) else { return };
        let key = attr(e, local_name!("property"))
            .or_else(|| attr(e, local_name!("name")))
            .or_else(|| attr(e, local_name!("itemprop")));
        if let Some(lang) = attr(e, local_name!("http-equiv"))
            && lang.eq_ignore_ascii_case("content-language")
            && self.meta_language.is_none()
        {
            self.meta_language = non_empty(content);
            return;
        }
        let Some(key) = key else { return };
        let key = key.trim().to_ascii_lowercase();
        let slot = match key.as_str() {
            "og:title" => &mut self.og_title,
            "og:image" | "og:image:url" | "og:image:secure_url" => &mut self.og_image,
            "twitter:image" | "twitter:image:src" => &mut self.twitter_image,
            "twitter:title" => &mut self.twitter_title,
            "og:site_name" | "application-name" => &mut self.og_site,
            "article:published_time" | "og:article:published_time" => &mut self.og_published,
            "datepublished" | "date" | "pubdate" | "publishdate" | "publish-date" | "dc.date" | "dc.date.issued"
            | "dcterms.created" | "parsely-pub-date" | "sailthru.date" | "article.published" => {
                &mut self.meta_published
            }
            "author" | "article:author" | "dc.creator" | "parsely-author" | "sailthru.author" => {
                // article:author is often a profile URL: not a name.
                if let Some(name) = non_empty(content)
                    && !name.starts_with("http")
                    && !self.meta_authors.contains(&name)
                {
                    self.meta_authors.push(name);
                }
                return;
            }
            "og:locale" | "language" | "dc.language" => &mut self.meta_language,
            _ => return,
        };
        if slot.is_none() {
            *slot = non_empty(content);
        }
    }

    fn json_ld(&mut self, value: &Value, depth: usize) {
        if depth > 4 {
            return;
        }
        match value {
            Value::Array(items) => {
                for item in items {
                    self.json_ld(item, depth + 1);
                }
            }
            Value::Object(map) => {
                if let Some(graph) = map.get("@graph") {
                    self.json_ld(graph, depth + 1);
                }
                let is_article = match map.get("@type") {
                    Some(Value::String(t)) => ARTICLE_TYPES.contains(&t.as_str()),
                    Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str().is_some_and(|t| ARTICLE_TYPES.contains(&t))),
                    _ => false,
                };
                // A WebPage's mainEntity may be the article.
                if let Some(main) = map.get("mainEntity")
                    && main.is_object()
                {
                    self.json_ld(main, depth + 1);
                }
                if !is_article || self.ld.found {
                    return;
                }
                self.ld.found = true;
                let ld = &mut self.ld;
                ld.headline =
                    map.get("headline").or_else(|| map.get("name")).and_then(Value::as_str).and_then(non_empty);
                if let Some(author) = map.get("author").or_else(|| map.get("creator")) {
                    names(author, &mut ld.authors);
                }
                ld.published = map
                    .get("datePublished")
                    .or_else(|| map.get("dateCreated"))
                    .and_then(Value::as_str)
                    .and_then(non_empty);
                ld.image = map.get("image").or_else(|| map.get("thumbnailUrl")).and_then(image_url);
                ld.body = map.get("articleBody").and_then(Value::as_str).map(str::to_string);
                ld.language = map.get("inLanguage").and_then(Value::as_str).and_then(non_empty);
                ld.publisher = map
                    .get("publisher")
                    .and_then(|p| p.get("name").or(Some(p)))
                    .and_then(Value::as_str)
                    .and_then(non_empty);
            }
            _ => {}
        }
    }

    /// Choose each field from the most trusted source that has it.
    pub(crate) fn finish(self, page_url: Option<&str>) -> Metadata {
        let ld = self.ld;
        let title = ld.headline.or(self.og_title).or(self.twitter_title).or(self.h1).or(self.title);
        let authors = if ld.authors.is_empty() { self.meta_authors } else { ld.authors };
        // The first source whose date reads, by the same reader as feed dates.
        let published = [ld.published, self.og_published, self.meta_published]
            .into_iter()
            .flatten()
            .find_map(|d| newswire_core::dates::parse_date(&d));
        let language = self.html_lang.or(ld.language).or(self.meta_language).map(|l| normalize_lang(&l));
        let lead_image =
            self.og_image.or(ld.image).or(self.twitter_image).map(|u| resolve(page_url, &u)).filter(|u| !u.is_empty());
        let site_name = self.og_site.or(ld.publisher);
        Metadata { title, authors, published, language, lead_image, site_name, ld_body: ld.body }
    }
}

/// Author names from a JSON-LD `author`: a string, a Person, or a list.
fn names(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(name) = non_empty(s)
                && !name.starts_with("http")
                && !out.contains(&name)
            {
                out.push(name);
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(20) {
                names(item, out);
            }
        }
        Value::Object(map) => {
            if let Some(name) = map.get("name") {
                names(name, out);
            }
        }
        _ => {}
    }
}

/// The URL of a JSON-LD `image`: a string, an ImageObject, or a list.
fn image_url(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => non_empty(s),
        Value::Array(items) => items.iter().find_map(image_url),
        Value::Object(map) => map.get("url").or_else(|| map.get("contentUrl")).and_then(image_url),
        _ => None,
    }
}

/// "en-US" → "en", "pt_BR" → "pt": the primary subtag, lowercase.
fn normalize_lang(lang: &str) -> String {
    lang.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase()
}

/// Resolve a possibly relative URL against the page's.
pub(crate) fn resolve(page_url: Option<&str>, href: &str) -> String {
    let href = href.trim();
    match page_url.and_then(|p| url::Url::parse(p).ok()) {
        Some(base) => base.join(href).map(|u| u.to_string()).unwrap_or_else(|_| href.to_string()),
        None => href.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_date_that_reads_is_taken_in_utc() {
        let mut m = Collector::default();
        m.ld.published = Some("not a date".into());
        m.og_published = Some("2024-03-05T10:00:00+0100".into());
        m.meta_published = Some("2024-01-01".into());
        let published = m.finish(None).published.map(|d| d.to_rfc3339());
        assert_eq!(published.as_deref(), Some("2024-03-05T09:00:00+00:00"));
        let m = Collector { meta_published: Some("March 5, 2024".into()), ..Collector::default() };
        assert_eq!(m.finish(None).published.map(|d| d.to_rfc3339()).as_deref(), Some("2024-03-05T00:00:00+00:00"));
        let m = Collector { meta_published: Some("yesterday".into()), ..Collector::default() };
        assert_eq!(m.finish(None).published, None, "a date that does not read is left out, never guessed");
    }

    #[test]
    fn languages_and_urls() {
        assert_eq!(normalize_lang("en-US"), "en");
        assert_eq!(normalize_lang("pt_BR"), "pt");
        assert_eq!(resolve(Some("https://a.example/news/x.html"), "/img/a.jpg"), "https://a.example/img/a.jpg");
        assert_eq!(resolve(Some("https://a.example/news/x.html"), "//cdn.example/a.jpg"), "https://cdn.example/a.jpg");
        assert_eq!(resolve(None, "/img/a.jpg"), "/img/a.jpg");
    }
}
