//! Properties of the cleaner on generated input: it never panics, cleaning
//! is idempotent, every output paragraph is an input paragraph, and an
//! article without boilerplate signals comes out whole.

use newswire_cleaner::{Cleaner, Input, clean, normalize_paragraph};
use proptest::prelude::*;

/// Words of ordinary prose, including the first words of boilerplate
/// ("Follow", "Read", "Share", "Photo", "Credit", "Advertisement", "Related",
/// "Continue reading", "Sign up"): without a colon, a handle, a date line or
/// a provenance verb, none of them is a signal.
const WORDS: &[&str] = &[
    "the",
    "council",
    "said",
    "on",
    "Tuesday",
    "that",
    "follow",
    "read",
    "share",
    "photo",
    "credit",
    "image",
    "advertisement",
    "related",
    "posted",
    "by",
    "post",
    "first",
    "copyright",
    "reporting",
    "editing",
    "sign",
    "up",
    "subscribe",
    "continue",
    "reading",
    "more",
    "from",
    "this",
    "article",
    "source",
    "le",
    "conseil",
    "a",
    "voté",
    "lire",
    "aussi",
    "el",
    "artículo",
    "der",
    "Artikel",
    "o",
    "artigo",
    "l'articolo",
    "è",
    "2024",
    "tram",
    "budget",
    "vote",
    "residents",
    "Facebook",
    "Instagram",
    "X",
    "YouTube",
    "watch",
    "view",
    "listen",
    "newsletter",
    "—",
    "world",
    "city",
];

fn sentence() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(vec!["The", "A", "Residents", "Officials", "Le", "El", "Der", "O", "Il"]),
        prop::collection::vec(proptest::sample::select(WORDS), 6..30),
    )
        .prop_map(|(first, words)| format!("{first} {}.", words.join(" ")))
}

/// Paragraphs of prose: several sentences, no colons, parentheses, links,
/// handles or other boilerplate signals.
fn article() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::collection::vec(sentence(), 1..4).prop_map(|s| s.join(" ")), 1..12)
}

/// Paragraphs of two to four sentences each.
fn prose_paragraphs() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::collection::vec(sentence(), 2..5).prop_map(|s| s.join(" ")), 1..12)
}

/// Lines mixing prose with real boilerplate lines.
fn mixed() -> impl Strategy<Value = Vec<String>> {
    let boiler = proptest::sample::select(vec![
        "Advertisement",
        "Photo: Jane Doe / Agency",
        "READ MORE: Something else",
        "Putin and Assad meeting pic.twitter.com/WwTWRzO6zD",
        "— Amichai Stein (@AmichaiStein1) September 14, 2021",
        "View this post on Instagram",
        "A post shared by Club (@club)",
        "Share this:",
        "Twitter",
        "Facebook",
        "Posted by Club on Tuesday, January 9, 2024",
        "This article has been adapted from its original source.",
        "Watch on YouTube",
        "[…]",
        "© 2024 Paper. All rights reserved.",
    ]);
    prop::collection::vec(prop_oneof![3 => sentence(), 2 => boiler.prop_map(str::to_string)], 0..25)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC{0,400}") {
        let _ = clean(Input::Text(&s));
        let _ = clean(Input::Html(&s));
    }

    #[test]
    fn never_panics_on_tag_soup(parts in prop::collection::vec(prop_oneof![
        Just("<div>"), Just("</div>"), Just("<p>"), Just("</p>"), Just("<b id=x>"), Just("</b>"), Just("<blockquote class=\"twitter-tweet\">"),
        Just("</blockquote>"), Just("<table>"), Just("<td>"), Just("<script>"), Just("</script>"), Just("<!--"), Just("-->"),
        Just("<iframe src=\"https://youtube.com/embed/x\">"), Just("text "), Just("&amp;"), Just("<br>"), Just("<a href='"), Just("'>"),
    ], 0..200)) {
        let html = parts.concat();
        let _ = clean(Input::Html(&html));
    }

    #[test]
    fn cleaning_is_idempotent(lines in mixed()) {
        let once = clean(Input::Text(&lines.join("\n"))).paragraphs;
        let twice = clean(Input::Text(&once.join("\n"))).paragraphs;
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn output_paragraphs_come_from_the_input(lines in mixed()) {
        let input: Vec<String> = lines.iter().map(|l| normalize_paragraph(l)).collect();
        for p in clean(Input::Text(&lines.join("\n"))).paragraphs {
            prop_assert!(input.contains(&p), "{p:?} not in input");
        }
    }

    /// The rules never take prose, however many of their words it uses.
    #[test]
    fn prose_without_signals_comes_out_whole(paragraphs in article()) {
        let rules = Cleaner::default().with_classifier(false, None);
        let c = rules.clean(Input::Text(&paragraphs.join("\n")));
        prop_assert_eq!(&c.paragraphs, &paragraphs);
        prop_assert!(c.removed.is_empty());
        let html: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
        prop_assert_eq!(rules.clean(Input::Html(&html)).paragraphs, paragraphs);
    }

    /// Neither does the block classifier take paragraphs of prose. (A
    /// lone six-word sentence of call-to-action words, "Le a le more read
    /// subscribe the.", is a furniture line by its shape, and the model
    /// may take it: the property above holds for the rules alone.)
    #[test]
    fn paragraphs_of_prose_come_out_whole(paragraphs in prose_paragraphs()) {
        let c = clean(Input::Text(&paragraphs.join("\n")));
        prop_assert_eq!(&c.paragraphs, &paragraphs);
        let html: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
        prop_assert_eq!(clean(Input::Html(&html)).paragraphs, paragraphs);
    }

    /// The rules read HTML and its text alike. (The block classifier does
    /// not: a tag path and link text are evidence a line of text lacks, so
    /// this holds for the rules alone.)
    #[test]
    fn html_cleaning_is_idempotent_as_text(lines in mixed()) {
        let rules = Cleaner::default().with_classifier(false, None);
        let html: String = lines.iter().map(|p| format!("<p>{p}</p>")).collect();
        let once = rules.clean(Input::Html(&html)).paragraphs;
        let twice = rules.clean(Input::Text(&once.join("\n"))).paragraphs;
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn html_cleaning_is_idempotent(lines in mixed()) {
        let html: String = lines.iter().map(|p| format!("<p>{p}</p>")).collect();
        let once = clean(Input::Html(&html)).paragraphs;
        let again: String = once.iter().map(|p| format!("<p>{p}</p>")).collect();
        prop_assert_eq!(&clean(Input::Html(&again)).paragraphs, &once);
    }
}
