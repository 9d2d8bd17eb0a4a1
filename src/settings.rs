//! Finding the config file, loading it and compiling what it describes.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use newswire_cleaner::Cleaner;
use newswire_core::config::{self, Config, ConfigError};

use newswire_cleaner::extract::site::{self, BadRule, PageRules};
use newswire_pipeline::FeedContext;

/// The variable naming the config file when `-c` is not given.
pub const CONFIG_ENV: &str = "NEWSWIRE_CONFIG";
/// The config file in the current directory, tried after [`CONFIG_ENV`].
pub const LOCAL_CONFIG: &str = "newswire.toml";
/// The system-wide config file, tried last (where the package and the
/// systemd unit put it).
pub const SYSTEM_CONFIG: &str = "/etc/newswire/newswire.toml";

/// How the config file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `-c FILE`.
    Flag,
    /// `$NEWSWIRE_CONFIG`.
    Env,
    /// `./newswire.toml`.
    Local,
    /// `/etc/newswire/newswire.toml`.
    System,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "-c",
            Source::Env => "$NEWSWIRE_CONFIG",
            Source::Local => "./newswire.toml in the current directory",
            Source::System => "the system config",
        })
    }
}

/// A config file's path and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file.
    pub path: PathBuf,
    /// Which step of the lookup named it.
    pub source: Source,
}

/// Find the config file: `flag` (`-c`) when given, then
/// `$NEWSWIRE_CONFIG` when set and not empty, then `./newswire.toml`, then
/// `/etc/newswire/newswire.toml`, the first two taken as named (a file that
/// is missing is then an error naming it), the last two only if they exist.
pub fn locate(flag: Option<&Path>) -> Result<Located, crate::UsageError> {
    locate_in(flag, std::env::var_os(CONFIG_ENV), Path::new(LOCAL_CONFIG), Path::new(SYSTEM_CONFIG))
}

/// [`locate`] with the environment's value and the two fallback paths given.
pub fn locate_in(
    flag: Option<&Path>,
    env: Option<OsString>,
    local: &Path,
    system: &Path,
) -> Result<Located, crate::UsageError> {
    if let Some(path) = flag {
        return Ok(Located { path: path.to_path_buf(), source: Source::Flag });
    }
    if let Some(path) = env.filter(|v| !v.is_empty()) {
        return Ok(Located { path: PathBuf::from(path), source: Source::Env });
    }
    for (path, source) in [(local, Source::Local), (system, Source::System)] {
        if path.is_file() {
            return Ok(Located { path: path.to_path_buf(), source });
        }
    }
    Err(crate::UsageError(format!(
        "no config file: give -c FILE, set {CONFIG_ENV}, or write {} or {}",
        local.display(),
        system.display()
    )))
}

/// Whether this build has the sink `kind` ("postgres" and "nats" are Cargo
/// features of the same names; the others are always there).
pub fn compiled(kind: &str) -> bool {
    (kind != "postgres" || cfg!(feature = "postgres")) && (kind != "nats" || cfg!(feature = "nats"))
}

/// Why a config naming `kind` cannot run in this build.
pub fn not_compiled(kind: &str) -> String {
    format!(
        "the {kind} sink is not in this build of newswire: build it with the \"{kind}\" feature \
         (cargo build --release --features {kind}; the default features include it)"
    )
}

/// Every sink (and the state store) the config names is in this build:
/// else the key and why.
fn compiled_in(config: &Config) -> Result<(), (String, String)> {
    for (i, sink) in config.sinks.iter().enumerate() {
        if !compiled(sink.kind()) {
            return Err((format!("sink[{i}]"), not_compiled(sink.kind())));
        }
    }
    if config.pipeline.state == config::StateKind::Postgres && !compiled("postgres") {
        return Err(("pipeline.state".into(), not_compiled("postgres")));
    }
    Ok(())
}

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
    compiled_in(&config).map_err(|(key, message)| ConfigError {
        file: shown.clone(),
        position: None,
        key: Some(key),
        message,
    })?;
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
        let cleaner = Cleaner::new(&spec.clean_rules, &spec.clean_disable)
            .map_err(|e| ConfigError {
                file: shown.clone(),
                position: None,
                key: Some(format!("feed[{i}]")),
                message: format!("feed \"{}\": {e}", spec.name),
            })?
            .with_classifier(spec.classifier, spec.classifier_threshold);
        // The spec lists the feed's own rules first, then the shared ones.
        let own = spec.site_rules.len().saturating_sub(shared.len());
        let own = site::compile(&spec.site_rules[..own])
            .map_err(|bad| bad_rule(&format!("feed[{i}]."), format!("feed \"{}\"", spec.name), bad))?;
        let pages = PageRules::new(own, Arc::clone(&shared));
        feeds.push(Arc::new(FeedContext { spec, cleaner, pages }));
    }
    Ok(Settings { config, feeds })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config naming a sink this build does not have is refused at load,
    /// naming the sink and the feature (`cargo test --no-default-features`
    /// runs the refusing side; the default build the accepting one).
    #[test]
    fn a_sink_left_out_of_the_build_is_refused_naming_the_feature() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (kind, sink) in [
            ("postgres", "[[sink]]\nkind = \"postgres\"\nurl = \"postgres://u@127.0.0.1/db\"\n"),
            ("nats", "[[sink]]\nkind = \"sqlite\"\n\n[[sink]]\nkind = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\n"),
        ] {
            let path = dir.path().join(format!("{kind}.toml"));
            std::fs::write(&path, sink).expect("write");
            match load(&path) {
                Ok(settings) => {
                    assert!(compiled(kind), "{kind} loads only when compiled in");
                    assert!(settings.config.sinks().iter().any(|s| s.kind() == kind));
                }
                Err(e) => {
                    assert!(!compiled(kind), "{kind} compiled in, yet refused: {e}");
                    let e = e.to_string();
                    assert!(e.contains(&format!("the {kind} sink is not in this build")), "{e}");
                    assert!(e.contains(&format!("\"{kind}\" feature")), "{e}");
                    assert!(e.contains("sink["), "names the key: {e}");
                }
            }
        }
        assert!(compiled("sqlite") && compiled("jsonl"));
        assert_eq!(compiled("postgres"), cfg!(feature = "postgres"));
        assert_eq!(compiled("nats"), cfg!(feature = "nats"));
    }

    #[test]
    fn lookup_order_flag_then_env_then_local_then_system() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = dir.path().join("newswire.toml");
        let system = dir.path().join("etc/newswire.toml");
        let flag = Path::new("given.toml");
        let env = || Some(OsString::from("from-env.toml"));
        let found = |flag: Option<&Path>, env: Option<OsString>| locate_in(flag, env, &local, &system);

        // Nothing anywhere: an error that names every place.
        let err = found(None, None).expect_err("nothing to find").0;
        for says in ["-c FILE", "NEWSWIRE_CONFIG", local.to_str().expect("utf-8"), system.to_str().expect("utf-8")] {
            assert!(err.contains(says), "{err} names {says}");
        }
        // The system file, once it exists.
        std::fs::create_dir_all(system.parent().expect("parent")).expect("mkdir");
        std::fs::write(&system, "").expect("write");
        assert_eq!(found(None, None).expect("found"), Located { path: system.clone(), source: Source::System });
        // ./newswire.toml before it.
        std::fs::write(&local, "").expect("write");
        assert_eq!(found(None, None).expect("found"), Located { path: local.clone(), source: Source::Local });
        // $NEWSWIRE_CONFIG before both, taken as named even when missing
        // (reading it then fails naming it); set but empty counts as unset.
        assert_eq!(found(None, env()).expect("found"), Located { path: "from-env.toml".into(), source: Source::Env });
        assert_eq!(
            found(None, Some(OsString::new())).expect("found"),
            Located { path: local.clone(), source: Source::Local }
        );
        // -c before everything.
        assert_eq!(found(Some(flag), env()).expect("found"), Located { path: flag.into(), source: Source::Flag });
        // A directory named newswire.toml is not a config.
        std::fs::remove_file(&local).expect("rm");
        std::fs::create_dir(&local).expect("mkdir");
        assert_eq!(found(None, None).expect("found"), Located { path: system, source: Source::System });
    }
}
