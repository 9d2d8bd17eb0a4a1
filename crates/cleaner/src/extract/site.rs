//! Site rules as the pipeline uses them: a config's `[[site_rule]]` and
//! `[[feed.site_rule]]` lists compiled once at load into [`SiteRules`], and
//! the choice of the rule for a page's host ([`PageRules`]).

use std::sync::Arc;

use newswire_core::config::SiteRuleConfig;

use super::{SiteRuleError, SiteRules};

/// A site rule compiled, with the host it applies to.
#[derive(Debug)]
pub struct CompiledRule {
    config: SiteRuleConfig,
    rules: SiteRules,
}

/// A site rule whose selector does not parse: which rule, which list
/// (`body` or `remove`) and index, and the error.
#[derive(Debug)]
pub struct BadRule {
    /// Index of the rule in its list.
    pub rule: usize,
    /// `body[2]` or `remove[0]`.
    pub field: String,
    /// Byte span of the selector in the config text.
    pub span: std::ops::Range<usize>,
    /// The error, naming the selector.
    pub error: SiteRuleError,
}

/// Compile a list of site rules, once, at config load.
pub fn compile(rules: &[SiteRuleConfig]) -> Result<Vec<CompiledRule>, BadRule> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let body: Vec<String> = rule.body.iter().map(|s| s.get_ref().clone()).collect();
        let remove: Vec<String> = rule.remove.iter().map(|s| s.get_ref().clone()).collect();
        match SiteRules::new(&body, &remove) {
            Ok(rules) => out.push(CompiledRule { config: rule.clone(), rules }),
            Err(error) => {
                let SiteRuleError::BadSelector(bad) = &error;
                let found = rule
                    .body
                    .iter()
                    .enumerate()
                    .map(|(j, s)| (format!("body[{j}]"), s))
                    .chain(rule.remove.iter().enumerate().map(|(j, s)| (format!("remove[{j}]"), s)))
                    .find(|(_, s)| s.get_ref() == bad);
                let (field, span) = found.map_or((String::new(), 0..0), |(f, s)| (f, s.span()));
                return Err(BadRule { rule: i, field, span, error });
            }
        }
    }
    Ok(out)
}

/// The site rules for one feed's pages: its own, then the shared top-level
/// ones, tried in that order; the first whose host matches the page wins.
#[derive(Debug, Default)]
pub struct PageRules {
    own: Vec<CompiledRule>,
    shared: Arc<Vec<CompiledRule>>,
}

impl PageRules {
    /// A feed's own compiled rules and the shared top-level ones.
    pub fn new(own: Vec<CompiledRule>, shared: Arc<Vec<CompiledRule>>) -> Self {
        PageRules { own, shared }
    }

    /// The rules for a page on `host`, if any applies.
    pub fn for_host(&self, host: &str) -> Option<&SiteRules> {
        self.own.iter().chain(self.shared.iter()).find(|r| r.config.matches(host)).map(|r| &r.rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_selectors_name_the_rule_field_and_selector() {
        let text = "[[feed]]\nname = \"f\"\nurl = \"https://e.com/feed\"\n[[feed.site_rule]]\nbody = [\"p\"]\nremove = [\"aside\", \"div[\"]\n";
        let config = newswire_core::config::parse(text, std::path::Path::new("t.toml")).expect("config");
        let bad = compile(&config.feeds()[0].site_rules).expect_err("bad selector");
        assert_eq!((bad.rule, bad.field.as_str()), (0, "remove[1]"));
        assert_eq!(bad.error.to_string(), "invalid CSS selector \"div[\"");
        assert_eq!(&text[bad.span.clone()], "\"div[\"");
    }

    #[test]
    fn a_feeds_own_rules_come_before_the_shared_ones_and_match_by_host() {
        let text = "[[site_rule]]\nhost = \"e.com\"\nbody = [\"main\"]\n[[site_rule]]\nhost = \"other.org\"\nbody = [\"div.x\"]\n\
                    [[feed]]\nname = \"f\"\nurl = \"https://e.com/feed\"\n[[feed.site_rule]]\nhost = \"e.com\"\nbody = [\"article\"]\n";
        let config = newswire_core::config::parse(text, std::path::Path::new("t.toml")).expect("config");
        let shared = Arc::new(compile(&config.site_rules).expect("shared"));
        let own = compile(&config.feeds()[0].site_rules[..1]).expect("own");
        let rules = PageRules::new(own, shared);
        let body = |host: &str| rules.for_host(host).map(|r| r.body().collect::<Vec<_>>());
        assert_eq!(body("www.e.com"), Some(vec!["article"]), "the feed's own rule wins");
        assert_eq!(body("other.org"), Some(vec!["div.x"]));
        assert_eq!(body("elsewhere.net"), None);
    }
}
