//! OPML: the feed lists other readers import and export.
//!
//! [`read_opml`] takes the subscription outlines (those with an `xmlUrl`)
//! from any OPML 1.0/2.0 document, with their folder (the enclosing
//! outline's text) and categories as tags. [`write_opml`] writes OPML 2.0.
//! Only http(s) feed URLs are read: a `file://` URL in an imported list is
//! refused, since files are read only for URLs written in the config.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One subscription.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outline {
    /// Its title (or text).
    pub title: String,
    /// The feed URL.
    pub xml_url: String,
    /// The site URL, when given.
    pub html_url: Option<String>,
    /// Folder and categories, in order, without duplicates.
    pub tags: Vec<String>,
}

/// An OPML document that cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("not a readable OPML document: {0}")]
pub struct OpmlError(pub String);

fn attrs(e: &BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let key = a.key.local_name().as_ref().to_string();
            quick_xml::escape::unescape(&a.value).ok().map(|v| (key, v.trim().to_string()))
        })
        .collect()
}

fn get<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// Subscriptions in an OPML document, in order. Outlines whose URL is not
/// http(s) are skipped and named in the second list.
pub fn read_opml(text: &str) -> Result<(Vec<Outline>, Vec<String>), OpmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut out = Vec::new();
    let mut refused = Vec::new();
    // Folder names of the open outlines (None for subscriptions).
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut saw_opml = false;
    loop {
        let event = reader.read_event().map_err(|e| OpmlError(e.to_string()))?;
        let (e, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.local_name().as_ref().eq_ignore_ascii_case("outline") {
                    folders.pop();
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = e.local_name();
        if name.as_ref().eq_ignore_ascii_case("opml") {
            saw_opml = true;
        }
        if !name.as_ref().eq_ignore_ascii_case("outline") {
            continue;
        }
        let a = attrs(e);
        let title = get(&a, "title").or_else(|| get(&a, "text")).unwrap_or_default().to_string();
        match get(&a, "xmlUrl") {
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    refused.push(url.to_string());
                } else {
                    let mut tags: Vec<String> = folders.iter().flatten().cloned().collect();
                    for cat in get(&a, "category").unwrap_or_default().split(',') {
                        let cat = cat.trim().trim_start_matches('/');
                        for part in cat.split('/') {
                            let part = part.trim();
                            if !part.is_empty() && !tags.iter().any(|t| t == part) {
                                tags.push(part.to_string());
                            }
                        }
                    }
                    out.push(Outline {
                        title,
                        xml_url: url.to_string(),
                        html_url: get(&a, "htmlUrl").map(str::to_string),
                        tags,
                    });
                }
                if !empty {
                    folders.push(None);
                }
            }
            None if !empty => folders.push(Some(title).filter(|t| !t.is_empty())),
            None => {}
        }
    }
    if !saw_opml {
        return Err(OpmlError("no <opml> element".into()));
    }
    Ok((out, refused))
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// An OPML 2.0 document listing `outlines`, with tags as categories.
pub fn write_opml(title: &str, outlines: &[Outline]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str(&format!("  <head>\n    <title>{}</title>\n  </head>\n  <body>\n", escape(title)));
    for o in outlines {
        out.push_str(&format!(
            "    <outline type=\"rss\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\"",
            escape(&o.xml_url),
            t = escape(&o.title)
        ));
        if let Some(html) = &o.html_url {
            out.push_str(&format!(" htmlUrl=\"{}\"", escape(html)));
        }
        if !o.tags.is_empty() {
            out.push_str(&format!(" category=\"{}\"", escape(&o.tags.join(","))));
        }
        out.push_str("/>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_subscriptions_with_folders_and_categories() {
        let opml = r#"<?xml version="1.0"?>
<opml version="1.0"><head><title>Mine</title></head><body>
  <outline text="News">
    <outline text="Gazette &amp; Co" type="rss" xmlUrl="https://gazette.example.com/rss.xml" htmlUrl="https://gazette.example.com/" category="/World,Europe"/>
    <outline text="Local file" xmlUrl="file:///etc/passwd"/>
  </outline>
  <outline title="Tech" text="ignored" xmlUrl="https://tech.example.org/atom.xml"></outline>
</body></opml>"#;
        let (found, refused) = read_opml(opml).expect("reads");
        assert_eq!(refused, ["file:///etc/passwd"]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].title, "Gazette & Co");
        assert_eq!(found[0].tags, ["News", "World", "Europe"]);
        assert_eq!(found[0].html_url.as_deref(), Some("https://gazette.example.com/"));
        assert_eq!(found[1].title, "Tech");
        assert!(found[1].tags.is_empty());
    }

    #[test]
    fn round_trips_through_opml_2() {
        let outlines = vec![
            Outline {
                title: "A \"quoted\" <feed>".into(),
                xml_url: "https://a.example.com/f?x=1&y=2".into(),
                html_url: None,
                tags: vec!["world".into(), "en".into()],
            },
            Outline {
                title: "B".into(),
                xml_url: "https://b.example.com/f".into(),
                html_url: Some("https://b.example.com/".into()),
                tags: vec![],
            },
        ];
        let text = write_opml("newswire feeds", &outlines);
        assert!(text.contains("<opml version=\"2.0\">"));
        let (back, refused) = read_opml(&text).expect("reads its own output");
        assert!(refused.is_empty());
        assert_eq!(back, outlines);
    }

    #[test]
    fn rejects_what_is_not_opml() {
        let err = read_opml("<rss version=\"2.0\"><channel/></rss>").expect_err("not OPML");
        assert_eq!(err.to_string(), "not a readable OPML document: no <opml> element");
    }
}
