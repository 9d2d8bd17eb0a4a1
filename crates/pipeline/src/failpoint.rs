//! Named crash points, for the crash tests (`tests/crash.rs`).
//!
//! `NEWSWIRE_FAILPOINT=NAME:N` makes the process abort (SIGABRT: no
//! destructors, no flush, as a kill would) the Nth time it reaches the
//! point called NAME. Unset, a point costs one load of a `OnceLock`. The
//! points sit where a crash is most likely to lose or double data:
//!
//! - `after_fetch`: a feed fetched, nothing cleaned or stored;
//! - `after_clean`: a batch cleaned, not stored;
//! - `between_sinks`: a batch in one sink and not the next;
//! - `before_commit`: a batch in every sink but the one that commits the
//!   checkpoint;
//! - `after_commit`: the checkpoint committed, the report not yet sent.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The names a plan may use.
pub const POINTS: &[&str] = &["after_fetch", "after_clean", "between_sinks", "before_commit", "after_commit"];

struct Plan {
    name: String,
    at: u64,
    hits: AtomicU64,
}

fn plan() -> Option<&'static Plan> {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let value = std::env::var("NEWSWIRE_FAILPOINT").ok()?;
        let (name, at) = value.split_once(':').unwrap_or((value.as_str(), "1"));
        let at = at.parse().ok().filter(|n| *n > 0)?;
        POINTS.contains(&name).then(|| Plan { name: name.to_string(), at, hits: AtomicU64::new(0) })
    })
    .as_ref()
}

/// Reach the point `name`: abort if the plan says this is the hit.
pub fn hit(name: &str) {
    if let Some(plan) = plan()
        && plan.name == name
        && plan.hits.fetch_add(1, Ordering::Relaxed) + 1 == plan.at
    {
        eprintln!("failpoint {name} reached: aborting");
        std::process::abort();
    }
}
