//! Feed parsing against the fixture corpus (tests/fixtures, made by tests/compare/make_fixtures.py):
//! one test per leniency class, each asserting the values read.

use std::time::{Duration, Instant};

use newswire_fetcher::{ParsedFeed, parse_feed, parse_feed_with};
use url::Url;

fn web() -> Url {
    Url::parse("https://example.com/feed.xml").expect("base url")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> ParsedFeed {
    parse_feed(&fixture(name), &web(), 10_000).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn published(feed: &ParsedFeed, i: usize) -> Option<String> {
    feed.items[i].published.map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn updated(feed: &ParsedFeed, i: usize) -> Option<String> {
    feed.items[i].updated.map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[test]
fn well_formed_feeds_read_as_published() {
    let f = parse("wf_rss2_full.xml");
    assert_eq!(f.format, "rss");
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    let a = &f.items[0];
    assert_eq!(a.content.as_deref(), Some("<p>Full <b>text</b>.</p>"));
    assert_eq!(a.categories, ["World", "Europe"]);
    assert_eq!(a.authors, ["Jane Doe"]);

    let f = parse("wf_atom10.xml");
    assert_eq!(f.link.as_deref(), Some("https://example.org/"));
    let e = &f.items[0];
    assert_eq!(e.guid.as_deref(), Some("tag:example.org,2024:1"));
    assert_eq!(e.link.as_deref(), Some("https://example.org/2024/01/one"), "alternate, not the enclosure");
    assert_eq!(e.authors, ["Ann Author"]);
    assert_eq!(e.categories, ["Technology"]);
    assert_eq!(e.content.as_deref(), Some("<p>Body &amp; more</p>"));
    assert_eq!(published(&f, 0).as_deref(), Some("2024-01-02T09:00:00Z"));
    assert_eq!(f.items[1].title.as_deref(), Some("Entry <em>two</em>"));
    assert_eq!(f.items[1].content.as_deref(), Some("<p>XHTML <b>body</b></p>"));
    assert_eq!(updated(&f, 1).as_deref(), Some("2024-01-03T09:00:00Z"));

    let f = parse("wf_json11.json");
    assert_eq!(f.format, "json");
    assert_eq!(f.items[1].guid.as_deref(), Some("2"), "numeric id");
    assert_eq!(f.items[1].link.as_deref(), Some("https://example.com/j/2"));
    assert!(f.items[1].authors.is_empty(), "feed authors are not copied onto items");
    assert_eq!(f.items[0].authors, ["Jay Son"]);
}

#[test]
fn documents_that_read_as_empty_elsewhere_give_their_items() {
    let f = parse("zero_atom03.xml");
    assert_eq!(f.format, "atom");
    assert_eq!(f.items.len(), 2);
    assert_eq!(f.items[0].link.as_deref(), Some("https://old.example.com/2004/1"));
    assert_eq!(published(&f, 0).as_deref(), Some("2004-01-02T09:00:00Z"), "issued");
    assert_eq!(updated(&f, 0).as_deref(), Some("2004-01-02T10:00:00Z"), "modified");
    assert_eq!(f.items[0].content.as_deref(), Some("<p>Old body</p>"));
    assert_eq!(f.items[1].content.as_deref(), Some("Base64 body"), "mode=base64");

    let f = parse("zero_rss090.xml");
    assert_eq!(f.items.len(), 2);
    assert_eq!(f.items[1].title.as_deref(), Some("Second 0.90 item"));
    assert_eq!(f.items[1].link, None);

    let f = parse("zero_rdf_nolink.xml");
    assert_eq!(f.format, "rdf");
    assert_eq!(f.items.len(), 2);
    assert_eq!(f.items[0].guid.as_deref(), Some("urn:r:1"), "rdf:about");
    assert_eq!(f.items[0].link, None, "no link is made up from rdf:about");
    assert_eq!(updated(&f, 0).as_deref(), Some("2022-02-02T02:02:02Z"), "dc:date");

    assert_eq!(parse("zero_rdf_mixed.xml").items.len(), 2);
    for name in ["zero_rss2_default_xmlns.xml", "zero_rss2_purl_default.xml"] {
        let f = parse(name);
        assert_eq!(f.items.len(), 1, "{name}");
        assert_eq!(f.items[0].link.as_deref(), Some("https://example.com/news/1"));
    }
    let f = parse("zero_rss2_default_xmlns_unknown.xml");
    assert_eq!(f.items.len(), 2);
    assert_eq!(f.items[1].guid.as_deref(), Some("g2"));
}

#[test]
fn a_feed_without_items_says_so() {
    let xml = b"<rss version=\"2.0\"><channel><title>Quiet</title></channel></rss>";
    let f = parse_feed(xml, &web(), 10).expect("parses");
    assert!(f.items.is_empty());
    assert_eq!(f.warnings, ["0 items"]);
}

#[test]
fn any_rss_version_is_read() {
    for name in
        ["err_rss_noversion.xml", "err_rss_version_30.xml", "err_rss_version_093.xml", "err_rss_version_201.xml"]
    {
        let f = parse(name);
        assert_eq!(f.items.len(), 1, "{name}");
        assert_eq!(f.items[0].title.as_deref(), Some("Story one"), "{name}");
        assert_eq!(published(&f, 0).as_deref(), Some("2021-09-14T10:00:00Z"), "{name}");
    }
    let f = parse("err_doctype_netscape.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Story one"));
}

#[test]
fn lying_and_missing_charsets_are_repaired() {
    let f = parse("err_utf16_declared_on_utf8.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Café crème"));
    assert!(f.warnings.iter().any(|w| w.contains("declared utf-16")), "{:?}", f.warnings);

    let f = parse("err_cp1252_declared_utf8.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Café \u{201c}quoted\u{201d} crème"));
    assert_eq!(f.items[0].summary.as_deref(), Some("Naïve résumé \u{2013} ok"));
    assert!(f.warnings.iter().any(|w| w.starts_with("repaired encoding: declared utf-8")), "{:?}", f.warnings);

    let f = parse("err_utf8_declared_cp1252.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Café “quoted” crème"));
    assert!(f.warnings.contains(&"repaired encoding: declared windows-1252, decoded as utf-8".to_string()));

    assert_eq!(parse("err_latin1_declared.xml").items[0].title.as_deref(), Some("Café crème"));
    assert_eq!(parse("err_latin1_undeclared.xml").items[0].title.as_deref(), Some("Café crème brûlée à la française"));
    assert_eq!(parse("err_bom_utf8.xml").items[0].title.as_deref(), Some("BOM été"));
    assert_eq!(parse("err_bom_utf16le.xml").items[0].title.as_deref(), Some("UTF-16 été"));

    // The HTTP header's charset is evidence too.
    let latin = b"<rss version=\"2.0\"><channel><item><title>caf\xe9</title></item></channel></rss>";
    let f = parse_feed_with(latin, &web(), 10, Some("application/rss+xml; charset=ISO-8859-1")).expect("parses");
    assert_eq!(f.items[0].title.as_deref(), Some("café"));
}

#[test]
fn malformed_xml_is_read_leniently() {
    let f = parse("err_atom_unknown_type.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Odd type"));
    assert_eq!(f.items[0].summary.as_deref(), Some("*Markdown* summary"));
    assert_eq!(f.items[0].content.as_deref(), Some("Weird body"));

    let f = parse("err_cdata_unterminated.xml");
    assert_eq!(f.items.len(), 2, "the item after the open CDATA survives");
    assert_eq!(f.items[0].summary.as_deref(), Some("<p>Open CDATA never closed"));
    assert!(f.warnings.contains(&"repaired unterminated CDATA section".to_string()));

    let f = parse("err_html_entities.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Café\u{a0}society — … © ’"));
    assert_eq!(f.items[0].summary.as_deref(), Some("Hello\u{a0}world <b> €5"));

    let f = parse("err_unescaped_amp.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Tom & Jerry & Co"));
    assert_eq!(f.items[0].link.as_deref(), Some("https://example.com/news/1?a=1&b=2"));

    let f = parse("err_mismatched_tags.xml");
    assert_eq!(f.items.len(), 2);
    assert_eq!(f.items[1].guid.as_deref(), Some("g2"));

    let f = parse("err_unescaped_html_desc.xml");
    assert_eq!(f.items[0].summary.as_deref(), Some("<p>Para one<br>line</p><p>Para two</p>"));
    assert_eq!(f.items[1].title.as_deref(), Some("Two"));

    assert_eq!(parse("err_nul_bytes.xml").items[0].title.as_deref(), Some("Nul byte"));
    assert_eq!(parse("err_leading_junk.xml").items.len(), 1);

    let f = parse("err_undeclared_prefix.xml");
    assert_eq!(f.items[0].authors, ["Undeclared Prefix"]);
    assert_eq!(f.items[0].content.as_deref(), Some("<p>Body</p>"));

    let f = parse("err_truncated.xml");
    assert_eq!(f.items.len(), 2, "items before the cut are kept");
    assert_eq!(f.items[0].title.as_deref(), Some("Story one"));
}

#[test]
fn feeds_inside_html_pages_are_cut_out() {
    let f = parse("err_html_pre_escaped.html");
    assert_eq!(f.title.as_deref(), Some("Shown feed"));
    assert_eq!(f.items[0].title.as_deref(), Some("Shown & told"));
    assert_eq!(f.items[0].link.as_deref(), Some("https://shown.example.com/1"));
    assert!(f.warnings.contains(&"feed extracted from an HTML page".to_string()));

    assert_eq!(parse("err_html_highlighted.html").items[0].link.as_deref(), Some("https://hl.example.com/1"));
    assert_eq!(parse("err_html_inline_feed.html").items[0].title.as_deref(), Some("Inline item"));

    let err = parse_feed(&fixture("sf_not_a_feed.html"), &web(), 10).expect_err("a page without a feed");
    assert_eq!(err.message, "not a feed: the document is an HTML page");
}

#[test]
fn json_feed_is_read_leniently() {
    let f = parse("err_json_http_version.json");
    assert_eq!(f.items[0].authors, ["Old Author"]);
    assert_eq!(f.items[0].content.as_deref(), Some("Body A"));
    assert_eq!(published(&f, 0).as_deref(), Some("2020-01-10T14:33:00Z"));

    let f = parse("err_json_no_title.json");
    assert_eq!(f.title, None);
    assert_eq!(f.items[0].content.as_deref(), Some("<p>No feed title</p>"));

    let f = parse("err_json_tags_string.json");
    assert_eq!(f.items[0].categories, ["solo"]);
    assert_eq!(f.items[0].authors, ["Plain Name"]);
    assert_eq!(published(&f, 0).as_deref(), Some("2020-01-10T14:33:00Z"));
}

#[test]
fn author_names_and_only_names() {
    let one = |name: &str| parse(name).items[0].authors.clone();
    assert_eq!(one("au_rss_email_name.xml"), ["Jane Doe"]);
    assert_eq!(one("au_rss_name_angle.xml"), ["John Roe"]);
    assert_eq!(one("au_rss_bare_name.xml"), ["Bare Name"]);
    assert!(one("au_rss_bare_email.xml").is_empty(), "an address is not a name");
    assert_eq!(one("au_dc_creator_slash.xml"), ["Slash Creator"]);
    assert_eq!(one("au_dc_creator_noslash.xml"), ["Noslash Creator"]);
    assert_eq!(one("au_itunes_item.xml"), ["Item Voice"]);
    assert!(one("au_channel_not_copied.xml").is_empty(), "channel authors stay on the channel");
    let f = parse("au_atom_no_name.xml");
    assert!(f.items[0].authors.is_empty(), "an Atom person without a name gives none");
    assert_eq!(f.items[1].authors, ["First Person", "Second Person"]);
}

#[test]
fn ids_are_what_was_published() {
    let f = parse("id_rdf_about.xml");
    assert_eq!(f.items[1].guid.as_deref(), Some("urn:r:2"));
    let f = parse("id_missing.xml");
    assert_eq!(f.items[0].guid, None, "no guid is invented");
    assert_eq!(f.items[0].link, None);
    assert_eq!(parse("id_guid_numeric.xml").items[0].guid.as_deref(), Some("12345"));
}

#[test]
fn links_fall_back_resolve_and_stay_as_published() {
    let f = parse("ln_guid_permalink.xml");
    assert_eq!(f.items[0].link.as_deref(), Some("https://example.com/perma/1"));
    assert_eq!(f.items[1].link.as_deref(), Some("https://example.com/perma/2"));
    let f = parse("ln_guid_not_permalink.xml");
    assert_eq!(f.items[0].link, None, "isPermaLink=false");
    assert_eq!(f.items[0].guid.as_deref(), Some("https://example.com/not/1"));

    let f = parse("ln_xml_base.xml");
    assert_eq!(f.link.as_deref(), Some("https://base.example.com/"));
    assert_eq!(f.items[0].link.as_deref(), Some("https://base.example.com/blog/posts/1"));
    assert_eq!(f.items[1].link.as_deref(), Some("https://other.example.com/y/2"));

    let on_disk = Url::parse("file:///srv/feeds/rel.xml").expect("file url");
    let f = parse_feed(&fixture("ln_relative_self.xml"), &on_disk, 10).expect("parses");
    assert_eq!(f.items[0].link.as_deref(), Some("https://rel.example.com/news/rel-1"), "against the self link");
    let f =
        parse_feed(&fixture("ln_relative_self.xml"), &Url::parse("https://cdn.example.net/f.xml").expect("url"), 10)
            .expect("parses");
    assert_eq!(f.items[0].link.as_deref(), Some("https://cdn.example.net/news/rel-1"), "against the document URL");

    let f = parse("ln_bare_host.xml");
    assert_eq!(f.items[0].link.as_deref(), Some("https://example.com"), "no trailing slash added");
    assert_eq!(f.items[1].link.as_deref(), Some("HTTPS://Example.COM/Path/../Two?x=1&y=2"));
    assert_eq!(parse("ln_iri.xml").items[0].link.as_deref(), Some("https://例え.example/記事/1"));
    assert_eq!(parse("ln_atom_href_in_rss.xml").items[0].link.as_deref(), Some("https://example.com/via-atom"));
}

#[test]
fn dates_in_the_long_tail() {
    for (name, want) in [
        ("dt_iso_no_seconds.xml", "2020-01-10T14:33:00Z"),
        ("dt_iso_no_tz.xml", "2020-01-10T14:33:00Z"),
        ("dt_slash.xml", "2020-01-10T14:33:00Z"),
        ("dt_rfc822_no_comma.xml", "2020-01-10T14:33:00Z"),
        ("dt_single_digit.xml", "2020-01-03T04:05:06Z"),
        ("dt_ampm.xml", "2020-01-10T14:33:00Z"),
        ("dt_bad_tz.xml", "2020-01-10T14:33:00Z"),
        ("dt_missing_tz.xml", "2020-01-10T14:33:00Z"),
        ("dt_fr.xml", "2020-01-10T13:33:00Z"),
        ("dt_de.xml", "2020-10-10T12:33:00Z"),
        ("dt_es.xml", "2020-01-10T14:33:00Z"),
        ("dt_it.xml", "2020-01-10T14:33:00Z"),
        ("dt_pt.xml", "2020-02-10T14:33:00Z"),
        ("dt_nl.xml", "2020-03-10T14:33:00Z"),
        ("dt_two_digit_year.xml", "2020-01-10T14:33:00Z"),
        ("dt_edt.xml", "2020-01-10T14:33:00Z"),
    ] {
        assert_eq!(published(&parse(name), 0).as_deref(), Some(want), "{name}");
    }
    let f = parse("dt_dcterms.xml");
    assert_eq!(published(&f, 0).as_deref(), Some("2020-01-10T14:33:00Z"), "dcterms:issued");
    assert_eq!(updated(&f, 0).as_deref(), Some("2020-01-11T08:00:00Z"), "dcterms:modified");
    let f = parse("dt_dc_date.xml");
    assert_eq!(f.items[0].published, None, "dc:date is an update date, as feedparser reads it");
    assert_eq!(updated(&f, 0).as_deref(), Some("2020-01-10T13:33:00Z"));
    assert_eq!(parse("wf_rss2_basic.xml").items[0].updated, None, "RSS has no update date of its own");
}

#[test]
fn content_fallbacks_and_repairs() {
    assert_eq!(parse("ct_media_description.xml").items[0].summary.as_deref(), Some("Media words."));
    assert_eq!(parse("wf_youtube.xml").items[0].summary.as_deref(), Some("What the video is about."));
    let f = parse("ct_mojibake.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Café “double-encoded”"));
    assert_eq!(f.items[0].summary.as_deref(), Some("it’s résumé"));
    assert!(f.warnings.iter().any(|w| w.starts_with("repaired double-encoded utf-8")));
    assert_eq!(parse("ct_title_markup.xml").items[0].title.as_deref(), Some("<b>Bold</b> &amp; entity ’s"));
    let f = parse("ct_content_only.xml");
    assert_eq!(f.items[0].summary, None, "content is not copied into the summary");
    assert_eq!(f.items[0].content.as_deref(), Some("<p>Only content.</p>"));
}

#[test]
fn entities_are_never_expanded() {
    let started = Instant::now();
    let f = parse("sf_billion_laughs.xml");
    assert!(started.elapsed() < Duration::from_secs(1), "entity bomb took {:?}", started.elapsed());
    assert_eq!(f.items[0].title.as_deref(), Some("&lol9;"));
    let f = parse("sf_external_entity.xml");
    assert_eq!(f.items[0].title.as_deref(), Some("Secret: &xxe;"));
}

#[test]
fn huge_fields_are_capped_and_many_items_read() {
    let mut xml = String::from("<rss version=\"2.0\"><channel><title>Big</title><item><title>");
    xml.push_str(&"é".repeat(10 * 1024 * 1024));
    xml.push_str("</title><link>https://big.example.com/1</link></item></channel></rss>");
    let f = parse_feed(xml.as_bytes(), &web(), 10).expect("parses");
    let title = f.items[0].title.as_deref().unwrap_or_default();
    assert!(title.len() <= newswire_fetcher::parse::MAX_TITLE_BYTES && title.len() > 4000, "{}", title.len());
    assert_eq!(f.items[0].link.as_deref(), Some("https://big.example.com/1"));
    assert!(f.warnings.contains(&"cut 1 over-long fields".to_string()));

    let mut xml = String::from("<rss version=\"2.0\"><channel><title>Many</title>");
    for i in 0..50_000 {
        xml.push_str(&format!("<item><title>{i}</title><guid>g{i}</guid></item>"));
    }
    xml.push_str("</channel></rss>");
    let f = parse_feed(xml.as_bytes(), &web(), 10_000).expect("parses");
    assert_eq!(f.items.len(), 10_000);
    assert_eq!(f.dropped, 40_000);
    assert_eq!(f.items[9_999].guid.as_deref(), Some("g9999"));
}

#[test]
fn every_fixture_parses_without_panicking() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("fixtures").flatten().map(|e| e.file_name()).collect();
    names.sort();
    assert!(names.len() >= 60, "{} fixtures", names.len());
    for name in names {
        let name = name.to_string_lossy();
        let bytes = fixture(&name);
        let result = parse_feed(&bytes, &web(), 10_000);
        if name != "sf_not_a_feed.html" {
            let feed = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!feed.items.is_empty(), "{name}: no items");
        }
        // Every prefix of a document is read without a panic.
        for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len().saturating_sub(7)] {
            let _ = parse_feed(&bytes[..cut.min(bytes.len())], &web(), 10);
        }
    }
}
