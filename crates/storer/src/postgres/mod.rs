//! The PostgreSQL store: records, feed state and feed leases in a shared
//! database, so several daemons can split the feeds between them.
//!
//! - A pool of connections (deadpool-postgres, no TLS). Every query names
//!   bare tables; the optional schema is put on each connection's
//!   `search_path` at connect, so one database can hold several independent
//!   stores (the tests give each run its own schema).
//! - Migrations are embedded in the binary and applied at connect, each at
//!   most once, recorded in `newswire_migrations`, under a transaction-level
//!   advisory lock: instances starting together apply them one at a time.
//! - As a sink ([`PostgresSink`]) a batch's records and its checkpoint are
//!   written in one transaction, so the checkpoint is never ahead of the
//!   data. Records are upserted by id; `version` goes up when the content
//!   hash changes.
//! - PostgreSQL rejects NUL in text and in JSONB strings: every text is
//!   stripped of `\0` before it is sent.
//! - Errors: a lost connection, a pool or query timeout, or a transient
//!   server state (shutdown, deadlock, serialization failure, out of
//!   resources) is retryable: the pipeline backs off and writes the batch
//!   again, and the upsert makes the replay harmless. Everything else
//!   (constraint, schema, bad data) is fatal.
//! - Leases (`leases.rs`): see [`PostgresStore::acquire_leases`].
//! - The near-duplicate index ([`crate::index`], migration 3) lives here
//!   when the state does, shared by every instance on the schema: a batch's
//!   entries are written in the transaction of its checkpoint, lookups read
//!   committed entries, pruning skips rows another instance is pruning.
//!
//! - Reading ([`crate::read`], `read.rs`): keyset pages on
//!   `(fetched_at, id)`, full text through a generated `tsvector` column
//!   with a GIN index (migration 5), earlier versions kept by a trigger.
//!
//! One file per subsystem: `store.rs` (the handle, records and checkpoints,
//! the state store's reads), `migrations.rs`, `read.rs`, `index.rs` (the near-duplicate
//! index) with `keys.rs` (the keys it may hold), `leases.rs` and `sink.rs`. This file holds what they share: the
//! error mapping, the query timeout and NUL stripping.

use std::borrow::Cow;
use std::time::Duration;

use deadpool_postgres::PoolError;
use newswire_core::sink::StoreError;
use serde_json::Value;
use tokio_postgres::error::SqlState;

mod index;
mod keys;
mod leases;
mod migrations;
mod read;
mod retention;
mod sink;
mod store;

pub use sink::PostgresSink;
pub use store::PostgresStore;

const NAME: &str = "postgres";

/// Connections in the pool: one writer per sink task and a few readers.
const POOL_SIZE: usize = 8;
/// How long to wait for a connection to open (or for a free one in the pool).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write or read may take before it counts as a lost
/// connection (retryable). The server cancels the statement itself a little
/// earlier (`statement_timeout`), so a slow query does not outlive it.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
const STATEMENT_TIMEOUT_MS: u64 = 55_000;

/// Whether a PostgreSQL error may go away when the same work is tried again.
fn is_retryable(e: &tokio_postgres::Error) -> bool {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let class = &code.code()[..2];
        // 08: connection exception; 53: insufficient resources; 57P0x:
        // server shutting down or starting; 40001/40P01: serialization
        // failure and deadlock (a replay succeeds); 55P03: lock not
        // available; 57014: statement cancelled by statement_timeout.
        return class == "08"
            || class == "53"
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::LOCK_NOT_AVAILABLE
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::QUERY_CANCELED;
    }
    if e.is_closed() {
        return true;
    }
    // Refused, reset, timed out: the driver wraps the io::Error.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn pg_err(context: &str, e: tokio_postgres::Error) -> StoreError {
    // The driver's own message is terse ("db error"): the server's carries
    // the detail.
    let detail = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    StoreError { sink: NAME.into(), message: format!("{context}: {detail}"), retryable: is_retryable(&e) }
}

fn pool_err(context: &str, e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => pg_err(context, e),
        PoolError::Timeout(_) => {
            StoreError::retryable(NAME, format!("{context}: no connection within {CONNECT_TIMEOUT:?}"))
        }
        other => StoreError::fatal(NAME, format!("{context}: {other}")),
    }
}

fn json_err(context: &str, e: serde_json::Error) -> StoreError {
    StoreError::fatal(NAME, format!("{context}: {e}"))
}

/// Run `fut` with [`QUERY_TIMEOUT`]; running out counts as a lost
/// connection.
async fn timed<T>(
    context: &str,
    fut: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(QUERY_TIMEOUT, fut).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::retryable(NAME, format!("{context}: timed out after {QUERY_TIMEOUT:?}"))),
    }
}

/// `s` without NUL characters, which PostgreSQL refuses in text.
fn strip_nul(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "")) } else { Cow::Borrowed(s) }
}

fn strip_nul_opt(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(strip_nul)
}

/// Remove NUL from every string (keys too) of a JSON value: JSONB refuses
/// `\u0000`.
fn strip_nul_json(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', ""),
        Value::Array(items) => items.iter_mut().for_each(strip_nul_json),
        Value::Object(map) if map.keys().any(|k| k.contains('\0')) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                strip_nul_json(&mut v);
                map.insert(k.replace('\0', ""), v);
            }
        }
        Value::Object(map) => map.values_mut().for_each(strip_nul_json),
        _ => {}
    }
}

fn to_jsonb<T: serde::Serialize>(what: &str, value: &T) -> Result<Value, StoreError> {
    let mut v = serde_json::to_value(value).map_err(|e| json_err(what, e))?;
    strip_nul_json(&mut v);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_nul_from_text_and_json() {
        assert_eq!(strip_nul("a\0b"), "ab");
        assert!(matches!(strip_nul("ab"), Cow::Borrowed(_)));
        let mut v = serde_json::json!({"k\0": ["x\0y", {"z": "\0"}], "n": 1});
        strip_nul_json(&mut v);
        assert_eq!(v, serde_json::json!({"k": ["xy", {"z": ""}], "n": 1}));
    }
}
