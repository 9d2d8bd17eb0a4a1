//! The declared `rust-version` is honest: no dependency in Cargo.lock asks
//! for a newer compiler, and every workspace crate declares the same one.
//!
//! A too-low `rust-version` is worse than none: the MSRV-aware resolver
//! (resolver 3) picks old releases to fit it, and users of that compiler get
//! a build error deep in a dependency. How the figure was chosen is in
//! docs/dependencies.md; clippy's `incompatible_msrv` lint (on in CI)
//! catches our own use of a standard-library API newer than it.

use std::process::Command;

use serde_json::Value;

/// `1.89`, `1.89.0` → (1, 89, 0); `None` for anything else.
fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let mut parts = version.split('.').map(str::parse::<u64>);
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn declared_rust_version_covers_every_dependency() {
    let meta = metadata();
    let members: Vec<&str> =
        meta["workspace_members"].as_array().expect("workspace_members").iter().filter_map(Value::as_str).collect();
    let packages = meta["packages"].as_array().expect("packages");

    let ours = env!("CARGO_PKG_RUST_VERSION");
    let declared = parse(ours).unwrap_or_else(|| panic!("rust-version {ours:?} is not a version"));

    let mut needs_more = Vec::new();
    let mut newest = (0, 0, 0);
    for package in packages {
        let name = package["name"].as_str().unwrap_or("?");
        let version = package["version"].as_str().unwrap_or("?");
        let id = package["id"].as_str().unwrap_or_default();
        let rust_version = package["rust_version"].as_str();
        if members.contains(&id) {
            assert_eq!(rust_version, Some(ours), "{name} declares another rust-version than the workspace");
            continue;
        }
        let Some(theirs) = rust_version else { continue };
        let needed = parse(theirs).unwrap_or_else(|| panic!("{name} {version}: rust-version {theirs:?}"));
        newest = newest.max(needed);
        if needed > declared {
            needs_more.push(format!("{name} {version} needs {theirs}"));
        }
    }
    assert!(
        needs_more.is_empty(),
        "rust-version = {ours:?} is older than the dependencies need: {}",
        needs_more.join(", ")
    );
    // Guards the guard: a metadata format change must not make it vacuous.
    assert!(newest > (1, 0, 0), "no dependency declares a rust-version: is cargo metadata's output read right?");
}

#[test]
fn versions_parse() {
    assert_eq!(parse("1.89"), Some((1, 89, 0)));
    assert_eq!(parse("1.89.0"), Some((1, 89, 0)));
    assert_eq!(parse("1.9"), Some((1, 9, 0)));
    assert!(parse("1.89") > parse("1.9"));
    assert_eq!(parse("1.x"), None);
    assert_eq!(parse("1.2.3.4"), None);
}
