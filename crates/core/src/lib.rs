//! newswire-core: the vocabulary every other newswire crate speaks.
//!
//! # Charter
//!
//! This crate holds the domain types and nothing that does I/O on its own:
//!
//! - [`record`]: the normalised article record (schema 1) that every sink
//!   writes, with its embeds and the audit trail of what the cleaner removed.
//! - [`config`]: the typed configuration, parsed once from TOML with errors
//!   that name the file, line and key, and validated in a pure function.
//! - [`dates`]: the one lenient date reader, for feed dates and the dates
//!   an article page states about itself.
//! - [`id`]: stable record ids and content hashes.
//! - [`fingerprint`]: near-duplicate fingerprints (consistently sampled
//!   shingles) that link syndicated copies of one story.
//! - [`frequency`]: per-feed shingle counts (a count-min sketch) that
//!   discount an outlet's furniture from those fingerprints.
//! - [`canon`]: URL canonicalisation (tracking parameters removed) and
//!   credential redaction for logs.
//! - [`state`]: a feed's checkpoint (validators, poll times, error counts
//!   and the content hashes of the items written) with its transition rules
//!   as methods of [`FeedState`](state::FeedState), and the one
//!   [`Status`](state::Status) vocabulary.
//! - [`template`]: what the cleaner learned of a feed's template
//!   (paragraphs its items repeat), stored with the feed's state.
//! - [`sink`]: the [`Sink`](sink::Sink) and [`StateStore`](sink::StateStore)
//!   traits the storer implements and the pipeline drives.
//! - [`lease`]: the [`LeaseStore`](lease::LeaseStore) trait through which
//!   several daemons share the feeds.
//! - [`error`]: the closed [`ErrorKind`](error::ErrorKind) vocabulary used as
//!   log field and metric label.
//!
//! It deliberately has no HTTP client, no database driver and no async
//! runtime: the traits return boxed futures so any runtime can drive them.
//! Dependencies point one way: every other crate depends on this one, and
//! this one on none of them.

pub mod canon;
pub mod config;
pub mod dates;
pub mod error;
pub mod fingerprint;
pub mod frequency;
pub mod id;
pub mod lease;
pub mod record;
pub mod sink;
pub mod state;
pub mod template;

pub use error::ErrorKind;
pub use record::{Embed, Record, Removed, RemovedKind, Source};

/// A hash map for the hot paths keyed by numbers: index keys, row ids,
/// positions. std's SipHash cost a few percent of a backfill's CPU across
/// the index's and the linker's per-batch maps (docs/performance.md);
/// foldhash is several times faster and, seeded at random per process, still
/// keeps a feed from choosing keys that collide.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
