//! newswire-cleaner: feed and page content in, clean article paragraphs out.
//!
//! The cleaner turns an item's content (HTML or plain text) into the
//! paragraphs of the article, and says what it removed and why, and which
//! social posts and media the article embedded.
//!
//! It is pure and synchronous: no I/O, no async runtime, no global state but
//! compiled rule tables. The pipeline runs it on a bounded blocking pool.
//!
//! # How it works
//!
//! 1. HTML is capped in size and parsed by the cleaner's own tree builder
//!    (`parse.rs`) into scraper's tree types, linear by construction (it
//!    never re-opens formatting elements and drops start tags deeper than
//!    256, where html5ever is quadratic), and walked once: block elements make
//!    paragraphs, embed markup (`blockquote.twitter-tweet`, iframes, …)
//!    becomes [`Embed`]s, widgets (share buttons, related posts, newsletter
//!    boxes, ad slots), captions and more-links are dropped and recorded.
//! 2. Every paragraph, from HTML or from text, goes through the rule engine.
//!    Built-in rules are data (see `rules.rs` and docs/cleaner.md): a name,
//!    a kind, a language, a position constraint, a length cap, a pattern and
//!    a role. A paragraph is dropped only when a rule matches it, or when an
//!    embed anchor next to it claims it (a tweet's "— Name (@handle) date"
//!    line takes the tweet text above it).
//! 3. Paragraphs are normalised: NFC, whitespace collapsed, typography kept;
//!    a paragraph's own line breaks (`<br>`, `<pre>`) stay as `\n`.
//!
//! Every removal names its rule ([`Removed::rule`]), markup rules
//! (`markup.*`) included, and every rule can be turned off by that name.
//! Guards keep what could be the article: the markup guard (an element
//! holding a large share of the item's text, a `<pre>`, a heading before
//! article text, a quotation's caption) and the text guards (reported
//! speech, one-sentence credits, credits of names; `<pre>` and table cells
//! untouched, quotations open to embed rules only).
//!
//! What it deliberately does not do: main-content extraction from whole
//! pages (boilerplate around an article in a page template is the
//! extractor's job), bylines, editor's notes and author bios (left as
//! article text), and language-specific stemming or scoring. It never drops
//! a paragraph on a guess: losing article text is the worst error.
//!
//! Main types:
//!
//! - [`Cleaner`]: compiled once (built-in rules minus disabled ones, plus a
//!   feed's own rules from the config), then [`Cleaner::clean`] per item.
//!   Cheap to build: the built-in tables are compiled once per process.
//! - [`Input`]: HTML or plain text.
//! - [`Cleaned`]: paragraphs, [`Removed`] pieces and [`Embed`]s.
//! - [`builtin_rules`]: the built-in rules, for docs and `newswire check`.
//!
//! Helpers for the record: [`html_to_text`] for titles and other short
//! fields, [`looks_like_html`], and [`detect_language`]; [`teaser`]: whether
//! a feed's text is only the start of the article.

pub mod classifier;
mod engine;
pub mod extract;
mod guards;
mod hints;
mod html;
#[cfg(test)]
mod html5lib_suite;
mod lang;
mod markup;
mod normalize;
mod parse;
mod rules;
pub mod teaser;
mod template;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod tree_promise;

use newswire_core::config::CleanRuleConfig;
use newswire_core::{Embed, Removed, RemovedKind};

use crate::classifier::Model;
use crate::engine::{CustomRule, RuleSet};
use crate::html::MarkupSwitches;
use crate::markup::MarkupRule;

pub use extract::{Article, Fallback, SiteRuleError, SiteRules, extract};
pub use lang::detect_language;
pub use normalize::normalize_paragraph;
pub use teaser::looks_like_teaser;
pub use template::{TEMPLATE_RULE, TemplateSettings, TemplateTable, fingerprint as template_fingerprint};

/// Content to clean.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// An HTML document or fragment.
    Html(&'a str),
    /// Plain text, one paragraph per line (blank lines ignored).
    Text(&'a str),
}

impl<'a> Input<'a> {
    /// HTML when the text looks like markup, plain text otherwise.
    pub fn detect(text: &'a str) -> Input<'a> {
        if looks_like_html(text) { Input::Html(text) } else { Input::Text(text) }
    }
}

/// The result of cleaning one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Article paragraphs in order, normalised (NFC, whitespace collapsed).
    pub paragraphs: Vec<String>,
    /// What was removed, and why, in order of appearance.
    pub removed: Vec<Removed>,
    /// Social posts and media the article embedded.
    pub embeds: Vec<Embed>,
}

impl Cleaned {
    /// The body as stored in the record: paragraphs joined by a blank line.
    pub fn body(&self) -> String {
        self.paragraphs.join("\n\n")
    }

    /// The paragraphs of a body [`Cleaned::body`] joined: the pieces between
    /// blank lines, empty ones left out. `body.split("\n\n")` with the
    /// empty pieces filtered gives the same, a good deal more slowly (a
    /// general substring search per piece: 1% of a backfill's CPU).
    pub fn paragraphs_of(body: &str) -> impl Iterator<Item = &str> {
        let mut from = 0;
        let mut breaks = memchr::memmem::find_iter(body.as_bytes(), b"\n\n");
        std::iter::from_fn(move || {
            while from <= body.len() {
                let end = breaks.next().unwrap_or(body.len());
                let piece = &body[from..end];
                from = end + 2;
                if !piece.is_empty() {
                    return Some(piece);
                }
            }
            None
        })
    }
}

/// A rule in the config that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `clean_disable` names a rule that does not exist.
    #[error("rule \"{0}\": no built-in rule has this name")]
    UnknownRule(String),
    /// A custom rule's pattern is not a valid regular expression.
    #[error("rule \"{name}\": invalid pattern: {message}")]
    BadPattern {
        /// The rule's name.
        name: String,
        /// What the regex compiler said.
        message: String,
    },
}

/// A compiled cleaner: built-in rules minus the disabled ones, plus custom
/// rules, and the block classifier (on by default, at the shipped model's
/// threshold). Build one per distinct rule set and share it between threads.
#[derive(Debug, Clone)]
pub struct Cleaner {
    /// Indexed like the built-in table; empty when nothing is disabled.
    disabled: Vec<bool>,
    /// The markup rules turned off.
    markup: MarkupSwitches,
    /// `template.learned` is in `clean_disable`.
    template_off: bool,
    custom: Vec<CustomRule>,
    /// The block classifier's threshold; None when it is off.
    classifier: Option<f32>,
}

impl Default for Cleaner {
    fn default() -> Cleaner {
        Cleaner {
            disabled: Vec::new(),
            markup: MarkupSwitches::default(),
            template_off: false,
            custom: Vec::new(),
            classifier: Model::shipped().map(Model::threshold),
        }
    }
}

/// Inputs with more blocks than this are left to the rules: no article is
/// that long, and what is (a generated or hostile page of thousands of
/// alike lines) is no place to guess. Also bounds the classifier's cost.
const MAX_CLASSIFIED_BLOCKS: usize = 1_000;

/// Most rounds of classifier and rules (each round that removes something
/// lets the next see the new edges).
const MAX_ROUNDS: usize = 6;

/// The rule that names the block classifier's removals.
pub const CLASSIFIER_RULE: &str = "classifier";

/// One paragraph of an input as `newswire clean --explain` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    /// The paragraph.
    pub text: String,
    /// The classifier's score (probability of furniture), as last scored;
    /// None when a rule removed the paragraph before the classifier ran.
    pub score: Option<f32>,
    /// The rule that removed it (`classifier` included), if one did.
    pub removed_by: Option<String>,
    /// Why the classifier may not remove it, if a guard protects it.
    pub protected: Option<&'static str>,
    /// The features that moved the score most: name and contribution to
    /// the log-odds.
    pub strongest: Vec<(String, f32)>,
}

/// A built-in rule, as listed by [`builtin_rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinRule {
    /// Stable name, for `clean_disable`.
    pub name: &'static str,
    /// What it removes.
    pub kind: RemovedKind,
    /// The language it was written for (ISO 639-1), or "*" for any.
    pub lang: &'static str,
    /// Where it may match: "any", "start", "end", "edge" (start or end),
    /// "last" (the last paragraph), "markup" (an HTML element), or "feed"
    /// (the feed's learned template).
    pub position: &'static str,
    /// The regular expression over one paragraph; for a markup rule, what
    /// element it matches, in words.
    pub pattern: &'static str,
}

/// Every built-in rule: the markup rules (`markup.*`, matched on HTML
/// elements), then the text rules in priority order.
pub fn builtin_rules() -> impl Iterator<Item = BuiltinRule> {
    let markup = MarkupRule::ALL.into_iter().map(|r| BuiltinRule {
        name: r.name(),
        kind: match r {
            MarkupRule::SocialEmbed => RemovedKind::SocialEmbed,
            MarkupRule::Iframe => RemovedKind::MediaEmbed,
            MarkupRule::ShareWidget | MarkupRule::RelatedWidget => RemovedKind::Widget,
            MarkupRule::NewsletterBox => RemovedKind::CallToAction,
            MarkupRule::AdSlot => RemovedKind::Advertisement,
            MarkupRule::Figcaption | MarkupRule::CaptionClass => RemovedKind::Caption,
            MarkupRule::MoreLink => RemovedKind::Truncation,
        },
        lang: "*",
        position: "markup",
        pattern: r.describes(),
    });
    let text = rules::BUILTIN.iter().map(|r| BuiltinRule {
        name: r.name,
        kind: r.kind,
        lang: r.lang,
        position: match r.position {
            rules::Position::Any => "any",
            rules::Position::Start => "start",
            rules::Position::End => "end",
            rules::Position::Edge => "edge",
            rules::Position::Last => "last",
        },
        pattern: r.pattern,
    });
    let template = std::iter::once(BuiltinRule {
        name: TEMPLATE_RULE,
        kind: RemovedKind::Template,
        lang: "*",
        position: "feed",
        pattern: "a paragraph seen in at least min_items distinct items of the feed (learned per feed)",
    });
    markup.chain(text).chain(template)
}

impl Cleaner {
    /// Compile a cleaner with the given extra rules and disabled built-ins.
    pub fn new(custom: &[CleanRuleConfig], disable: &[String]) -> Result<Cleaner, RuleError> {
        let mut disabled = Vec::new();
        let mut markup = MarkupSwitches::default();
        let mut template_off = false;
        for name in disable {
            if name == TEMPLATE_RULE {
                template_off = true;
                continue;
            }
            if let Some(rule) = MarkupRule::from_name(name) {
                markup.disabled |= 1 << rule.index();
                continue;
            }
            let Some(idx) = rules::BUILTIN.iter().position(|r| r.name == name.as_str()) else {
                return Err(RuleError::UnknownRule(name.clone()));
            };
            if disabled.is_empty() {
                disabled = vec![false; rules::BUILTIN.len()];
            }
            disabled[idx] = true;
        }
        let mut rules = Vec::with_capacity(custom.len());
        for rule in custom {
            let compiled = CustomRule::compile(rule)
                .map_err(|e| RuleError::BadPattern { name: rule.name.clone(), message: e.to_string() })?;
            rules.push(compiled);
        }
        Ok(Cleaner { disabled, markup, template_off, custom: rules, ..Cleaner::default() })
    }

    /// Turn the block classifier on or off, and set its threshold (None:
    /// the shipped model's). A build without a usable model has it off.
    pub fn with_classifier(mut self, enabled: bool, threshold: Option<f32>) -> Cleaner {
        self.classifier = match Model::shipped() {
            Some(m) if enabled => Some(threshold.unwrap_or(m.threshold())),
            _ => None,
        };
        self
    }

    /// The block classifier's threshold, None when it is off.
    pub fn classifier_threshold(&self) -> Option<f32> {
        self.classifier
    }

    /// Whether the feed's learned template may remove paragraphs (it may
    /// unless `template.learned` is in `clean_disable`).
    pub fn template_enabled(&self) -> bool {
        !self.template_off
    }

    /// Clean one input.
    pub fn clean(&self, input: Input<'_>) -> Cleaned {
        self.run(input, false, false).0
    }

    /// Clean one input, with the block classifier's score of every kept
    /// paragraph and whether a guard protects it (empty when the
    /// classifier is off or did not run): the extractor trims the
    /// article's edges with them.
    pub(crate) fn clean_scored(&self, input: Input<'_>) -> (Cleaned, Vec<(f32, bool)>) {
        let (cleaned, _, scores) = self.run(input, false, true);
        (cleaned, scores)
    }

    /// Every paragraph of an input with its classifier score, the rule that
    /// removed it, and the features that moved its score most (the
    /// classifier's threshold applies as configured; scores are shown
    /// even when it is off).
    pub fn explain(&self, input: Input<'_>) -> Vec<Explained> {
        self.run(input, true, false).1
    }

    fn run(&self, input: Input<'_>, explain: bool, kept_scores: bool) -> (Cleaned, Vec<Explained>, Vec<(f32, bool)>) {
        let (paragraphs, flags, markup, mut removed, mut embeds) = match input {
            Input::Html(html) => {
                let x = html::to_paragraphs(html, self.markup);
                (x.paragraphs, x.flags, x.markup, x.removed, x.embeds)
            }
            Input::Text(text) => {
                let paragraphs = text.lines().map(normalize_paragraph).filter(|p| !p.is_empty()).collect();
                (paragraphs, Vec::new(), Vec::new(), Vec::new(), Vec::new())
            }
        };
        let inputs = paragraphs.len();
        let originals = if explain { paragraphs.clone() } else { Vec::new() };
        let mut outcome = RuleSet { disabled: &self.disabled, custom: &self.custom }.apply(paragraphs, &flags);
        let model = Model::shipped();
        let mut scored = Vec::new();
        if explain {
            scored.resize_with(inputs, || None);
        }
        if let Some(model) = model
            && (self.classifier.is_some() || explain)
            && outcome.kept.len() <= MAX_CLASSIFIED_BLOCKS
        {
            // Rules and classifier to a fixed point: a footer the rules
            // place by position is at the end once the furniture under it
            // has gone, and cleaning clean text changes nothing.
            let rules = RuleSet { disabled: &self.disabled, custom: &self.custom };
            for _ in 0..MAX_ROUNDS {
                if !classifier::apply::round(model, self.classifier, &mut outcome, &flags, &markup, &mut scored) {
                    break;
                }
                rules.again(&mut outcome, &flags);
            }
        }
        let kept_scores = match model {
            Some(model) if kept_scores && self.classifier.is_some() && outcome.kept.len() <= MAX_CLASSIFIED_BLOCKS => {
                classifier::apply::kept_scores(model, &outcome, &flags, &markup)
            }
            _ => Vec::new(),
        };
        let mut explained = Vec::new();
        if explain && let Some(model) = model {
            let mut by: Vec<Option<String>> = vec![None; inputs];
            for (at, r) in &outcome.removed {
                // A removal's text is its paragraphs joined by a newline.
                let mut i = *at;
                for line in r.text.split('\n') {
                    while i < inputs && !originals[i].contains(line) {
                        i += 1;
                    }
                    if let Some(slot) = by.get_mut(i)
                        && slot.is_none()
                    {
                        *slot = Some(r.rule.clone());
                    }
                }
            }
            for (i, text) in originals.iter().enumerate() {
                let s = scored.get(i).and_then(Option::as_ref);
                explained.push(Explained {
                    score: s.map(|s| s.score),
                    removed_by: by[i].take(),
                    protected: classifier::apply::protected(&originals, &flags, i),
                    strongest: s
                        .map(|s| model.strongest(&s.vector, 5))
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(f, c)| (classifier::feature_name(f), c))
                        .collect(),
                    text: text.clone(),
                });
            }
        }
        // Markup removals sit before the paragraph they precede; rule
        // removals are that paragraph: order by (paragraph, markup first).
        let mut all: Vec<(usize, u8, Removed)> = removed.drain(..).map(|(at, r)| (at, 0, r)).collect();
        all.extend(outcome.removed.into_iter().map(|(at, r)| (at, 1, r)));
        all.sort_by_key(|(at, order, _)| (*at, *order));
        let mut all_embeds: Vec<(usize, u8, Embed)> = embeds.drain(..).map(|(at, e)| (at, 0, e)).collect();
        all_embeds.extend(outcome.embeds.into_iter().map(|(at, e)| (at, 1, e)));
        all_embeds.sort_by_key(|(at, order, _)| (*at, *order));
        let cleaned = Cleaned {
            paragraphs: outcome.kept,
            removed: all.into_iter().map(|(_, _, r)| r).collect(),
            embeds: all_embeds.into_iter().map(|(_, _, e)| e).collect(),
        };
        (cleaned, explained, kept_scores)
    }
}

/// Clean with the built-in rules only.
pub fn clean(input: Input<'_>) -> Cleaned {
    Cleaner::default().clean(input)
}

/// Whether text contains markup: a tag or an HTML entity.
pub fn looks_like_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'<' {
            if let Some(&next) = bytes.get(i + 1)
                && (next.is_ascii_alphabetic() || next == b'/' || next == b'!')
            {
                return true;
            }
        } else if b == b'&' {
            let rest = &text[i + 1..];
            let end = rest.find(';');
            if let Some(end) = end
                && end > 0
                && end <= 10
                && rest[..end].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'#')
            {
                return true;
            }
        }
    }
    false
}

/// Plain text of a short HTML fragment (a title, an author): tags dropped,
/// entities decoded, whitespace collapsed. Plain text comes back normalised.
pub fn html_to_text(text: &str) -> String {
    if looks_like_html(text) { html::inline_text(text) } else { normalize_paragraph(text) }
}

impl Cleaner {
    /// Structure only, for feeds with `clean = false`: HTML becomes
    /// paragraphs (scripts and styles dropped, entities decoded), text lines
    /// become paragraphs, and no boilerplate rule runs.
    pub fn passthrough(input: Input<'_>) -> Cleaned {
        match input {
            Input::Html(html) => Cleaned { paragraphs: html::structure_only(html), ..Cleaned::default() },
            Input::Text(text) => Cleaned {
                paragraphs: text.lines().map(normalize_paragraph).filter(|p| !p.is_empty()).collect(),
                ..Cleaned::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_of_a_body_are_its_pieces_between_blank_lines() {
        let pieces = ["", "a", "b c", "\n", "\n\n", "é\nf", " "];
        // Every body of up to three pieces joined by one to three newlines.
        let mut bodies = vec![String::new()];
        for _ in 0..3 {
            let mut longer = Vec::new();
            for body in &bodies {
                for piece in pieces {
                    for sep in ["\n", "\n\n", "\n\n\n"] {
                        longer.push(format!("{body}{sep}{piece}"));
                    }
                }
            }
            bodies.extend(longer);
        }
        for body in &bodies {
            let expected: Vec<&str> = body.split("\n\n").filter(|p| !p.is_empty()).collect();
            assert_eq!(Cleaned::paragraphs_of(body).collect::<Vec<_>>(), expected, "{body:?}");
        }
        let cleaned = Cleaned { paragraphs: vec!["One.".into(), "Two\nlines.".into()], ..Cleaned::default() };
        assert_eq!(Cleaned::paragraphs_of(&cleaned.body()).collect::<Vec<_>>(), cleaned.paragraphs);
    }

    #[test]
    fn cleaner_is_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Cleaner>();
    }

    #[test]
    fn text_lines_become_paragraphs() {
        let c = clean(Input::Text("  First   line.\n\n\tSecond\u{a0}line.\n"));
        assert_eq!(c.paragraphs, ["First line.", "Second line."]);
        assert_eq!(c.body(), "First line.\n\nSecond line.");
    }

    #[test]
    fn detects_html() {
        assert!(looks_like_html("<p>x</p>"));
        assert!(looks_like_html("a &amp; b"));
        assert!(!looks_like_html("a < b and c > d"));
        assert!(!looks_like_html("AT&T results"));
    }

    #[test]
    fn html_to_text_strips_tags_and_entities() {
        assert_eq!(html_to_text("Rock &amp; <b>roll</b>"), "Rock & roll");
        assert_eq!(html_to_text("  plain   title "), "plain title");
    }

    #[test]
    fn custom_rules_remove_matching_paragraphs_where_allowed() {
        let rules = vec![CleanRuleConfig {
            name: "underwriter".into(),
            kind: RemovedKind::CallToAction,
            pattern: "^Underwritten by".into(),
            position: newswire_core::config::RulePosition::End,
        }];
        let cleaner = Cleaner::new(&rules, &[]).expect("rules compile");
        let text = "Underwritten by Acme, the race began.\nMiddle.\nMore.\nAnd more.\nUnderwritten by Acme.";
        let c = cleaner.clean(Input::Text(text));
        assert_eq!(c.paragraphs, ["Underwritten by Acme, the race began.", "Middle.", "More.", "And more."]);
        assert_eq!(c.removed, [Removed::new(RemovedKind::CallToAction, "underwriter", "Underwritten by Acme.")]);
    }

    #[test]
    fn bad_rules_are_errors_naming_the_rule() {
        let rules = vec![CleanRuleConfig {
            name: "broken".into(),
            kind: RemovedKind::Custom,
            pattern: "(".into(),
            position: Default::default(),
        }];
        let err = Cleaner::new(&rules, &[]).expect_err("bad pattern");
        assert!(err.to_string().starts_with("rule \"broken\": invalid pattern"), "{err}");
        let err = Cleaner::new(&[], &["no-such-rule".into()]).expect_err("unknown rule");
        assert_eq!(err.to_string(), "rule \"no-such-rule\": no built-in rule has this name");
    }
}
