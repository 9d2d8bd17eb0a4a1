//! Loading the config file and compiling what it describes.

use std::path::Path;
use std::sync::Arc;

use newswire_cleaner::Cleaner;
use newswire_core::config::{self, Config, ConfigError};

use newswire_cleaner::extract::site::{self, BadRule, PageRules};
use newswire_pipeline::FeedContext;

/// A loaded configuration and its feeds, each with its compiled cleaner.
pub struct Settings {
    /// The configuration.
    pub config: Config,
    /// Enabled and disabled feeds alike, in config order.
    pub feeds: Vec<Arc<FeedContext>>,
}

/// Read, parse and validate a config file and compile each feed's cleaner
/// rules. Every error names the file (and line and key where it can).
pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: shown.clone(),
        position: None,
        key: None,
        message: format!("cannot read the config file: {e}"),
    })?;
    let config = config::parse(&text, path)?;
    // A bad CSS selector names its feed, rule, field and line.
    let bad_rule = |owner: &str, who: String, bad: BadRule| ConfigError {
        file: shown.clone(),
        position: (!bad.span.is_empty()).then(|| config::line_col(&text, bad.span.start)),
        key: Some(format!("{owner}site_rule[{}].{}", bad.rule, bad.field)),
        message: format!("{who}: {}", bad.error),
    };
    // The top-level rules, compiled once and shared by every feed.
    let shared = Arc::new(site::compile(&config.site_rules).map_err(|bad| {
        let host = config.site_rules[bad.rule].host().unwrap_or_default();
        bad_rule("", format!("site rule for {host}"), bad)
    })?);
    let mut feeds = Vec::with_capacity(config.feeds.len());
    for (i, spec) in config.feeds().into_iter().enumerate() {
        let cleaner = Cleaner::new(&spec.clean_rules, &spec.clean_disable).map_err(|e| ConfigError {
            file: shown.clone(),
            position: None,
            key: Some(format!("feed[{i}]")),
            message: format!("feed \"{}\": {e}", spec.name),
        })?;
        // The spec lists the feed's own rules first, then the shared ones.
        let own = spec.site_rules.len().saturating_sub(shared.len());
        let own = site::compile(&spec.site_rules[..own])
            .map_err(|bad| bad_rule(&format!("feed[{i}]."), format!("feed \"{}\"", spec.name), bad))?;
        let pages = PageRules::new(own, Arc::clone(&shared));
        feeds.push(Arc::new(FeedContext { spec, cleaner, pages }));
    }
    Ok(Settings { config, feeds })
}
