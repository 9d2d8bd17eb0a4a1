//! The config loader on arbitrary TOML text: `config::parse` (the body of
//! `load`, without the file read), then everything the daemon derives from
//! a valid config. Errors must point inside the text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use newswire_cleaner::{Cleaner, SiteRules};
use newswire_core::config::{SiteRuleConfig, parse};

/// Compile a site rule's selectors as the daemon does at load.
fn compile(rule: &SiteRuleConfig) {
    let body: Vec<String> = rule.body.iter().map(|s| s.get_ref().clone()).collect();
    let remove: Vec<String> = rule.remove.iter().map(|s| s.get_ref().clone()).collect();
    let _ = SiteRules::new(&body, &remove);
    let _ = rule.host();
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse(text, Path::new("conf/fuzz.toml")) {
        Ok(config) => {
            for feed in config.feeds() {
                let _ = Cleaner::new(&feed.clean_rules, &feed.clean_disable);
                feed.site_rules.iter().for_each(compile);
            }
            config.site_rules.iter().for_each(compile);
            let _ = config.sinks();
            let _ = config.sqlite_path();
            let _ = config.postgres_url();
        }
        Err(e) => {
            if let Some((line, col)) = e.position {
                let lines = text.split('\n').count();
                assert!(line >= 1 && line <= lines, "line {line} of {lines}");
                assert!(col >= 1);
            }
            let _ = e.to_string();
        }
    }
});
