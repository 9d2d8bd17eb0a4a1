//! newswire-cleaner: feed and page content in, clean article paragraphs out.
//!
//! The cleaner turns an item's content (HTML or plain text) into the
//! paragraphs of the article, and says what it removed and why, and which
//! social posts and media the article embedded.
//!
//! It is pure and synchronous: no I/O, no async runtime, no global state but
//! compiled rule tables. The pipeline runs it on a bounded blocking pool.
//!
//! Main types:
//!
//! - [`Cleaner`]: compiled once (built-in rules plus a feed's own rules from
//!   the config), then [`Cleaner::clean`] per item.
//! - [`Input`]: HTML or plain text.
//! - [`Cleaned`]: paragraphs, [`Removed`] pieces and [`Embed`]s.
//!
//! Helpers for the record: [`html_to_text`] for titles and other short
//! fields, [`looks_like_html`], and [`detect_language`].

mod html;
mod lang;
mod normalize;

use newswire_core::config::CleanRuleConfig;
use newswire_core::{Embed, Removed};

pub use lang::detect_language;
pub use normalize::normalize_paragraph;

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
/// rules. Build one per distinct rule set and share it between threads.
#[derive(Debug, Clone, Default)]
pub struct Cleaner {
    custom: Vec<CustomRule>,
}

#[derive(Debug, Clone)]
struct CustomRule {
    config: CleanRuleConfig,
    regex: regex::Regex,
}

impl Cleaner {
    /// Compile a cleaner with the given extra rules and disabled built-ins.
    pub fn new(custom: &[CleanRuleConfig], disable: &[String]) -> Result<Cleaner, RuleError> {
        if let Some(name) = disable.first() {
            // No built-in rules exist yet to disable.
            return Err(RuleError::UnknownRule(name.clone()));
        }
        let mut rules = Vec::with_capacity(custom.len());
        for rule in custom {
            let regex = regex::Regex::new(&rule.pattern)
                .map_err(|e| RuleError::BadPattern { name: rule.name.clone(), message: e.to_string() })?;
            rules.push(CustomRule { config: rule.clone(), regex });
        }
        Ok(Cleaner { custom: rules })
    }

    /// Clean one input.
    pub fn clean(&self, input: Input<'_>) -> Cleaned {
        let mut cleaned = match input {
            Input::Html(html) => html::to_paragraphs(html),
            Input::Text(text) => Cleaned {
                paragraphs: text.lines().map(normalize_paragraph).filter(|p| !p.is_empty()).collect(),
                ..Cleaned::default()
            },
        };
        if !self.custom.is_empty() {
            self.apply_custom(&mut cleaned);
        }
        cleaned
    }

    fn apply_custom(&self, cleaned: &mut Cleaned) {
        use newswire_core::config::RulePosition;
        // "Start" and "end" mean the first and last three paragraphs.
        const EDGE: usize = 3;
        let n = cleaned.paragraphs.len();
        let mut kept = Vec::with_capacity(n);
        for (i, p) in std::mem::take(&mut cleaned.paragraphs).into_iter().enumerate() {
            let hit = self.custom.iter().find(|r| {
                let in_place = match r.config.position {
                    RulePosition::Any => true,
                    RulePosition::Start => i < EDGE,
                    RulePosition::End => i + EDGE >= n,
                };
                in_place && r.regex.is_match(&p)
            });
            match hit {
                Some(rule) => cleaned.removed.push(Removed { kind: rule.config.kind, text: p }),
                None => kept.push(p),
            }
        }
        cleaned.paragraphs = kept;
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
            Input::Html(html) => {
                let mut c = html::to_paragraphs(html);
                c.removed.clear();
                c.embeds.clear();
                c
            }
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
    use newswire_core::RemovedKind;

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
            name: "sponsor".into(),
            kind: RemovedKind::CallToAction,
            pattern: "^Sponsored by".into(),
            position: newswire_core::config::RulePosition::End,
        }];
        let cleaner = Cleaner::new(&rules, &[]).expect("rules compile");
        let text = "Sponsored by Acme, the race began.\nMiddle.\nMore.\nAnd more.\nSponsored by Acme.";
        let c = cleaner.clean(Input::Text(text));
        assert_eq!(c.paragraphs, ["Sponsored by Acme, the race began.", "Middle.", "More.", "And more."]);
        assert_eq!(c.removed, [Removed { kind: RemovedKind::CallToAction, text: "Sponsored by Acme.".into() }]);
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
