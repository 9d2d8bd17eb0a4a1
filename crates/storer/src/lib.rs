//! newswire-storer: the sinks and the state store.
//!
//! - [`sqlite::SqliteStore`]: the embedded default. Records and feed state in
//!   one SQLite database in WAL mode; as a sink it writes a batch's records
//!   and its checkpoint in one transaction.
//! - [`jsonl::JsonlSink`]: JSON Lines files rotated by day, fsynced before a
//!   write returns.
//! - [`postgres::PostgresStore`]: records, feed state and feed leases in a
//!   shared PostgreSQL database; like SQLite, a batch's records and its
//!   checkpoint go in one transaction.
//! - [`nats::NatsSink`]: JetStream publish, deduplicated by message id,
//!   returning only after every ack; never holds the state.
//!
//! - [`webhook::WebhookSink`]: batches POSTed as signed JSON to an HTTP
//!   receiver, retried with backoff behind a circuit breaker until accepted;
//!   never holds the state.
//!
//! - [`read`]: the read layer, [`RecordReader`](read::RecordReader): pages
//!   of records by filters and full text with a cursor, one record with its
//!   versions, stories, feeds; for `newswire records` and the HTTP API.
//!
//! - [`retention`]: [`RecordPruner`](retention::RecordPruner), removing
//!   records past their age in bounded batches.
//!
//! - [`index`]: the near-duplicate index both SQL stores keep
//!   (docs/clusters.md): fingerprints and an inverted index of their keys,
//!   looked up by key within the window, pruned past it.
//!
//! - [`priority`]: background threads (the full-text indexer, the WAL
//!   checkpointer, the pipeline's cleaning) below the store's writer.
//!
//! Every sink implements newswire-core's [`Sink`](newswire_core::sink::Sink);
//! the SQLite and PostgreSQL stores also implement
//! [`StateStore`](newswire_core::sink::StateStore). SQLite calls are
//! synchronous, so they run on tokio's blocking pool, never on the reactor
//! threads.
//!
//! Each backend with more than one subsystem is a folder, one file per
//! subsystem: `sqlite/` (store, schema, index, checkpointer, sink) and
//! `postgres/` (store, migrations, index, leases, sink).

//!
//! Features (both on by default): `postgres` compiles [`postgres`], `nats`
//! compiles [`nats`]. Without them the crate holds SQLite, JSON Lines and
//! the webhook sink (over reqwest, which the fetcher links anyway), and
//! links neither database client.

pub mod index;
pub mod jsonl;
mod key_filter;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod priority;
pub mod read;
pub mod retention;
pub mod sqlite;
pub mod webhook;

pub use jsonl::JsonlSink;
#[cfg(feature = "nats")]
pub use nats::{NatsOptions, NatsSink};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresSink, PostgresStore};
pub use read::RecordReader;
pub use sqlite::{SqliteReader, SqliteSink, SqliteStore};
pub use webhook::{WebhookOptions, WebhookSink};
