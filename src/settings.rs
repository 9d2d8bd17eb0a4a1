//! Loading the config file and compiling what it describes.

use std::path::Path;
use std::sync::Arc;

use newswire_cleaner::Cleaner;
use newswire_core::config::{self, Config, ConfigError};

use crate::pipeline::FeedContext;

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
    let mut feeds = Vec::with_capacity(config.feeds.len());
    for (i, spec) in config.feeds().into_iter().enumerate() {
        let cleaner = Cleaner::new(&spec.clean_rules, &spec.clean_disable).map_err(|e| ConfigError {
            file: shown.clone(),
            position: None,
            key: Some(format!("feed[{i}]")),
            message: format!("feed \"{}\": {e}", spec.name),
        })?;
        feeds.push(Arc::new(FeedContext { spec, cleaner }));
    }
    Ok(Settings { config, feeds })
}
