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
//! - Leases: see [`PostgresStore::acquire_leases`].
//! - The near-duplicate index ([`crate::index`], migration 3) lives here
//!   when the state does, shared by every instance on the schema: a batch's
//!   entries are written in the transaction of its checkpoint, lookups read
//!   committed entries, pruning skips rows another instance is pruning.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use futures_util::future::try_join_all;
use newswire_core::Record;
use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::{BoxFuture, Sink, SinkBatch, StateStore, StoreError};
use newswire_core::state::{Checkpoint, FeedState, Indexed, Match};
use serde_json::Value;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use crate::index;

const NAME: &str = "postgres";

/// Embedded migrations, applied in order. Never edit a shipped one: add the
/// next number.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "records and state", include_str!("../migrations/0001_records_and_state.sql")),
    (2, "feed leases", include_str!("../migrations/0002_feed_leases.sql")),
    (3, "near duplicates", include_str!("../migrations/0003_near_duplicates.sql")),
    (4, "sink positions", include_str!("../migrations/0004_sink_positions.sql")),
];

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

/// A schema name newswire accepts: lowercase ASCII letters, digits and
/// underscores, not starting with a digit, at most 63 bytes. Anything else
/// would need quoting in `search_path`.
fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The PostgreSQL database: the state store, the sink behind
/// [`PostgresSink`], and the feed leases. A cheap handle: clones share the
/// pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: Option<String>,
}

impl std::fmt::Debug for PostgresStore {
    // The URL may carry a password: only the schema is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connect to `url` (`postgres://user:pass@host:port/db`, no TLS), use
    /// `schema` (created if missing) or the default `search_path` when
    /// `None`, and apply the migrations.
    ///
    /// A server that cannot be reached gives a retryable error; a bad URL,
    /// bad credentials or a bad schema name a fatal one. The URL is never
    /// put in an error message (it may hold a password).
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<PostgresStore, StoreError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::fatal(NAME, format!("invalid postgres url: {e}")))?;
        if let Some(schema) = schema
            && !valid_schema(schema)
        {
            return Err(StoreError::fatal(
                NAME,
                format!("invalid schema name {schema:?}: use lowercase letters, digits and underscores"),
            ));
        }
        let mut options = config.get_options().map(str::to_owned).unwrap_or_default();
        if let Some(schema) = schema {
            options.push_str(&format!(" -c search_path={schema}"));
        }
        options.push_str(&format!(" -c statement_timeout={STATEMENT_TIMEOUT_MS}"));
        config.options(options.trim_start());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("newswire");
        }
        // Verified: a connection handed back after a timed-out query is
        // checked with a round trip before it is used again.
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Verified });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::fatal(NAME, format!("cannot build the connection pool: {e}")))?;
        let store = PostgresStore { pool, schema: schema.map(str::to_owned) };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema the store lives in, when one was given.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Apply the migrations not applied yet, in one transaction, under an
    /// advisory lock so concurrent starts do not race. Idempotent; run by
    /// [`connect`](Self::connect), public for `newswire migrate`.
    /// Returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        timed("cannot apply migrations", async {
            let mut client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let tx = client.transaction().await.map_err(|e| pg_err("cannot begin transaction", e))?;
            // The lock key is per schema: stores in different schemas migrate
            // independently. Released at commit or rollback.
            let key = format!("newswire_migrations:{}", self.schema.as_deref().unwrap_or(""));
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1)::bigint)", &[&key])
                .await
                .map_err(|e| pg_err("cannot take the migration lock", e))?;
            if let Some(schema) = &self.schema {
                // The name was validated: safe to splice.
                tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                    .await
                    .map_err(|e| pg_err(&format!("cannot create schema {schema}"), e))?;
            }
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS newswire_migrations (
                    version     INTEGER PRIMARY KEY,
                    name        TEXT NOT NULL,
                    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
                )",
            )
            .await
            .map_err(|e| pg_err("cannot create the migrations table", e))?;
            let rows = tx
                .query("SELECT version FROM newswire_migrations", &[])
                .await
                .map_err(|e| pg_err("cannot read the migrations table", e))?;
            let done: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
            if let Some(newest) = done.iter().max()
                && *newest > MIGRATIONS.len() as i32
            {
                return Err(StoreError::fatal(
                    NAME,
                    format!("database schema version {newest} is newer than this newswire knows; upgrade newswire"),
                ));
            }
            let mut applied = Vec::new();
            for (version, name, sql) in MIGRATIONS {
                if done.contains(version) {
                    continue;
                }
                tx.batch_execute(sql).await.map_err(|e| pg_err(&format!("migration {version} ({name}) failed"), e))?;
                tx.execute("INSERT INTO newswire_migrations (version, name) VALUES ($1, $2)", &[version, name])
                    .await
                    .map_err(|e| pg_err("cannot record the migration", e))?;
                applied.push(*version);
            }
            tx.commit().await.map_err(|e| pg_err("cannot commit the migrations", e))?;
            if !applied.is_empty() {
                tracing::info!(versions = ?applied, schema = ?self.schema, "postgres migrations applied");
            }
            Ok(applied)
        })
        .await
    }

    /// Write records and (optionally) a checkpoint in one transaction.
    pub async fn write(&self, records: &[Record], checkpoint: Option<&Checkpoint>) -> Result<(), StoreError> {
        timed("write timed out", self.write_inner(records, checkpoint)).await
    }

    async fn write_inner(&self, records: &[Record], checkpoint: Option<&Checkpoint>) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let tx = client.transaction().await.map_err(|e| pg_err("cannot begin transaction", e))?;
        if !records.is_empty() {
            let upsert = tx
                .prepare_cached(
                    "INSERT INTO records (id, schema, feed, feed_url, guid, url, title, authors, published_at,
                        updated_at, fetched_at, language, summary, body, word_count, categories, content_hash,
                        source, embeds, removed, cluster, similarity)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                        $19, $20, $21, $22)
                     ON CONFLICT (id) DO UPDATE SET
                        schema = excluded.schema, feed = excluded.feed, feed_url = excluded.feed_url,
                        guid = excluded.guid, url = excluded.url, title = excluded.title, authors = excluded.authors,
                        published_at = excluded.published_at, updated_at = excluded.updated_at,
                        fetched_at = excluded.fetched_at, language = excluded.language, summary = excluded.summary,
                        body = excluded.body, word_count = excluded.word_count, categories = excluded.categories,
                        content_hash = excluded.content_hash, source = excluded.source, embeds = excluded.embeds,
                        removed = excluded.removed, cluster = excluded.cluster, similarity = excluded.similarity,
                        version = records.version
                            + CASE WHEN records.content_hash <> excluded.content_hash THEN 1 ELSE 0 END",
                )
                .await
                .map_err(|e| pg_err("cannot prepare record upsert", e))?;
            let rows = records.iter().map(RecordRow::new).collect::<Result<Vec<_>, _>>()?;
            // The statements are sent together and pipelined on the one
            // connection: one round trip per batch, not per record. The
            // server still runs them in order, so an id twice in a batch
            // ends with its last version.
            let upsert = &upsert;
            let tx = &tx;
            try_join_all(rows.iter().map(|row| async move {
                tx.execute(
                    upsert,
                    &[
                        &row.id,
                        &row.schema,
                        &row.feed,
                        &row.feed_url,
                        &row.guid,
                        &row.url,
                        &row.title,
                        &row.authors,
                        &row.published_at,
                        &row.updated_at,
                        &row.fetched_at,
                        &row.language,
                        &row.summary,
                        &row.body,
                        &row.word_count,
                        &row.categories,
                        &row.content_hash,
                        &row.source,
                        &row.embeds,
                        &row.removed,
                        &row.cluster,
                        &row.similarity,
                    ],
                )
                .await
                .map_err(|e| pg_err(&format!("cannot write record {}", row.id), e))
            }))
            .await?;
        }
        if let Some(cp) = checkpoint {
            commit_in(&tx, cp).await?;
        }
        tx.commit().await.map_err(|e| pg_err("cannot commit", e))
    }

    /// How many records the store holds (for tests and tools).
    pub async fn count_records(&self) -> Result<u64, StoreError> {
        timed("count timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let row = client
                .query_one("SELECT COUNT(*) FROM records", &[])
                .await
                .map_err(|e| pg_err("cannot count records", e))?;
            Ok(row.get::<_, i64>(0) as u64)
        })
        .await
    }

    /// The stored body and version of one record, if present (for tests and
    /// tools).
    pub async fn record_version(&self, id: &str) -> Result<Option<(String, i32)>, StoreError> {
        timed("read timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let row = client
                .query_opt("SELECT body, version FROM records WHERE id = $1", &[&id])
                .await
                .map_err(|e| pg_err("cannot read record", e))?;
            Ok(row.map(|r| (r.get(0), r.get(1))))
        })
        .await
    }

    /// Whether the database answers (for readiness checks).
    pub async fn check(&self) -> Result<(), StoreError> {
        timed("database check timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            client.execute("SELECT 1", &[]).await.map_err(|e| pg_err("database check failed", e))?;
            Ok(())
        })
        .await
    }

    /// Close the pool: connections in use finish their work and are dropped.
    pub fn close(&self) {
        self.pool.close();
    }

    /// Lease `feeds` to `holder` for `ttl`: each feed whose lease is free,
    /// expired or already held by `holder` is (re)leased to it until
    /// `now() + ttl`. Returns the feeds `holder` now holds, sorted.
    ///
    /// One statement, `INSERT … ON CONFLICT DO UPDATE … WHERE`: two
    /// instances racing for a feed serialize on its row, and the second
    /// re-reads the row the first wrote, sees a live lease that is not its
    /// own, and leaves it. Expiry uses the database's clock only.
    pub async fn acquire_leases(
        &self,
        holder: &str,
        feeds: &[String],
        ttl: Duration,
    ) -> Result<Vec<String>, StoreError> {
        // Sorted and deduplicated: instances lock rows in one order (no
        // deadlock) and a feed appears once in the statement.
        let mut feeds: Vec<Cow<'_, str>> = feeds.iter().map(|f| strip_nul(f)).collect();
        feeds.sort_unstable();
        feeds.dedup();
        let holder = strip_nul(holder);
        timed("lease timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let stmt = client
                .prepare_cached(
                    "INSERT INTO feed_leases (feed, holder, expires_at)
                     SELECT f, $1, now() + make_interval(secs => $3)
                     FROM unnest($2::text[]) WITH ORDINALITY AS t(f, n) ORDER BY n
                     ON CONFLICT (feed) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE feed_leases.expires_at < now() OR feed_leases.holder = excluded.holder
                     RETURNING feed",
                )
                .await
                .map_err(|e| pg_err("cannot prepare lease", e))?;
            let rows = client
                .query(&stmt, &[&holder, &feeds, &ttl.as_secs_f64()])
                .await
                .map_err(|e| pg_err("cannot acquire leases", e))?;
            let mut held: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            held.sort_unstable();
            Ok(held)
        })
        .await
    }

    /// Extend every lease `holder` still holds to `now() + ttl`; returns the
    /// feeds it holds, sorted. A feed missing from the answer was taken over
    /// by another instance after its lease expired: stop polling it.
    pub async fn renew(&self, holder: &str, ttl: Duration) -> Result<Vec<String>, StoreError> {
        let holder = strip_nul(holder);
        timed("lease renewal timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let rows = client
                .query(
                    "UPDATE feed_leases SET expires_at = now() + make_interval(secs => $2)
                     WHERE holder = $1 RETURNING feed",
                    &[&holder, &ttl.as_secs_f64()],
                )
                .await
                .map_err(|e| pg_err("cannot renew leases", e))?;
            let mut held: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            held.sort_unstable();
            Ok(held)
        })
        .await
    }

    /// Give up every lease `holder` holds (on a graceful stop), so other
    /// instances take the feeds over at once rather than after expiry.
    /// Returns how many were released.
    pub async fn release(&self, holder: &str) -> Result<u64, StoreError> {
        let holder = strip_nul(holder);
        timed("lease release timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            client
                .execute("DELETE FROM feed_leases WHERE holder = $1", &[&holder])
                .await
                .map_err(|e| pg_err("cannot release leases", e))
        })
        .await
    }

    /// Every unexpired lease, as (feed, holder): how the instances share the
    /// feeds now.
    pub async fn live_leases(&self) -> Result<Vec<(String, String)>, StoreError> {
        timed("lease listing timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let rows = client
                .query("SELECT feed, holder FROM feed_leases WHERE expires_at >= now()", &[])
                .await
                .map_err(|e| pg_err("cannot list leases", e))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
        .await
    }

    /// Give up some of `holder`'s leases (an instance holding more than its
    /// share hands the excess back). Returns how many were released.
    pub async fn release_feeds(&self, holder: &str, feeds: &[String]) -> Result<u64, StoreError> {
        let holder = strip_nul(holder);
        let feeds: Vec<Cow<'_, str>> = feeds.iter().map(|f| strip_nul(f)).collect();
        timed("lease release timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            client
                .execute("DELETE FROM feed_leases WHERE holder = $1 AND feed = ANY($2::text[])", &[&holder, &feeds])
                .await
                .map_err(|e| pg_err("cannot release leases", e))
        })
        .await
    }
}

/// One record as SQL parameters: texts without NUL, lists as JSONB.
struct RecordRow<'a> {
    id: Cow<'a, str>,
    schema: i32,
    feed: Cow<'a, str>,
    feed_url: Cow<'a, str>,
    guid: Option<Cow<'a, str>>,
    url: Option<Cow<'a, str>>,
    title: Option<Cow<'a, str>>,
    authors: Value,
    published_at: Option<chrono::DateTime<chrono::Utc>>,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
    fetched_at: chrono::DateTime<chrono::Utc>,
    language: Option<Cow<'a, str>>,
    summary: Option<Cow<'a, str>>,
    body: Cow<'a, str>,
    word_count: i64,
    categories: Value,
    content_hash: Cow<'a, str>,
    source: &'static str,
    embeds: Value,
    removed: Value,
    cluster: Option<Cow<'a, str>>,
    similarity: Option<f64>,
}

impl<'a> RecordRow<'a> {
    fn new(r: &'a Record) -> Result<RecordRow<'a>, StoreError> {
        Ok(RecordRow {
            id: strip_nul(&r.id),
            schema: i32::try_from(r.schema).map_err(|_| {
                StoreError::fatal(NAME, format!("record {} has schema {} out of range", r.id, r.schema))
            })?,
            feed: strip_nul(&r.feed),
            feed_url: strip_nul(&r.feed_url),
            guid: strip_nul_opt(&r.guid),
            url: strip_nul_opt(&r.url),
            title: strip_nul_opt(&r.title),
            authors: to_jsonb("authors", &r.authors)?,
            published_at: r.published_at,
            updated_at: r.updated_at,
            fetched_at: r.fetched_at,
            language: strip_nul_opt(&r.language),
            summary: strip_nul_opt(&r.summary),
            body: strip_nul(&r.body),
            word_count: i64::try_from(r.word_count).unwrap_or(i64::MAX),
            categories: to_jsonb("categories", &r.categories)?,
            content_hash: strip_nul(&r.content_hash),
            source: r.source.as_str(),
            embeds: to_jsonb("embeds", &r.embeds)?,
            removed: to_jsonb("removed", &r.removed)?,
            cluster: strip_nul_opt(&r.cluster),
            similarity: r.similarity,
        })
    }
}

/// Write sink positions inside `tx`.
async fn positions_in(
    tx: &deadpool_postgres::Transaction<'_>,
    positions: &[(String, String)],
) -> Result<(), StoreError> {
    for (sink, position) in positions {
        tx.execute(
            "INSERT INTO sink_positions (sink, position) VALUES ($1, $2)
             ON CONFLICT (sink) DO UPDATE SET position = excluded.position",
            &[&strip_nul(sink), &strip_nul(position)],
        )
        .await
        .map_err(|e| pg_err("cannot write a sink position", e))?;
    }
    Ok(())
}

/// Write a checkpoint (feed state and item marks) inside `tx`.
async fn commit_in(tx: &deadpool_postgres::Transaction<'_>, cp: &Checkpoint) -> Result<(), StoreError> {
    let feed = strip_nul(&cp.state.feed);
    let state = to_jsonb("feed state", &cp.state)?;
    let upsert_state = tx
        .prepare_cached(
            "INSERT INTO feed_state (feed, state) VALUES ($1, $2)
             ON CONFLICT (feed) DO UPDATE SET state = excluded.state",
        )
        .await
        .map_err(|e| pg_err("cannot prepare feed state", e))?;
    tx.execute(&upsert_state, &[&feed, &state])
        .await
        .map_err(|e| pg_err(&format!("cannot write state of feed {feed}"), e))?;
    positions_in(tx, &cp.positions).await?;
    if !cp.fingerprints.is_empty() {
        index_in(tx, &cp.fingerprints).await?;
    }
    if cp.items.is_empty() {
        return Ok(());
    }
    // One statement for all marks. ON CONFLICT cannot touch a row twice in
    // one statement, so an id given twice keeps only its last hash.
    let mut last: HashMap<Cow<'_, str>, Cow<'_, str>> = HashMap::with_capacity(cp.items.len());
    for item in &cp.items {
        last.insert(strip_nul(&item.id), strip_nul(&item.content_hash));
    }
    let (ids, hashes): (Vec<Cow<'_, str>>, Vec<Cow<'_, str>>) = last.into_iter().unzip();
    let marks = tx
        .prepare_cached(
            "INSERT INTO item_state (id, feed, content_hash)
             SELECT id, $2, hash FROM unnest($1::text[], $3::text[]) AS t(id, hash)
             ON CONFLICT (id) DO UPDATE SET feed = excluded.feed, content_hash = excluded.content_hash",
        )
        .await
        .map_err(|e| pg_err("cannot prepare item state", e))?;
    tx.execute(&marks, &[&ids, &feed, &hashes]).await.map_err(|e| pg_err("cannot write item state", e))?;
    Ok(())
}

/// Keys of stored fingerprints as (key, at, id) columns, for a delete by
/// primary key. A fingerprint of another format has no keys.
fn stored_keys(rows: &[(String, Vec<u8>, DateTime<Utc>)]) -> (Vec<i64>, Vec<DateTime<Utc>>, Vec<String>) {
    let (mut keys, mut ats, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for (id, sig, at) in rows {
        let Some(fp) = Fingerprint::from_bytes(sig) else { continue };
        for key in fp.keys() {
            keys.push(key);
            ats.push(*at);
            ids.push(id.clone());
        }
    }
    (keys, ats, ids)
}

/// Delete index keys by primary key, given as columns.
async fn forget_keys(
    tx: &deadpool_postgres::Transaction<'_>,
    keys: &(Vec<i64>, Vec<DateTime<Utc>>, Vec<String>),
) -> Result<(), StoreError> {
    if keys.0.is_empty() {
        return Ok(());
    }
    let delete = tx
        .prepare_cached(
            "DELETE FROM lsh USING unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS old(key, at, id)
             WHERE lsh.key = old.key AND lsh.at = old.at AND lsh.id = old.id",
        )
        .await
        .map_err(|e| pg_err("cannot prepare the index", e))?;
    tx.execute(&delete, &[&keys.0, &keys.1, &keys.2]).await.map_err(|e| pg_err("cannot update the index", e))?;
    Ok(())
}

/// Add (or replace) near-duplicate index entries inside `tx`: the old keys
/// of records indexed before are removed first (from their stored
/// fingerprints, by primary key), then fingerprints and keys are written,
/// one statement each.
async fn index_in(tx: &deadpool_postgres::Transaction<'_>, entries: &[Indexed]) -> Result<(), StoreError> {
    // One row per id (the last entry wins): ON CONFLICT cannot touch a row
    // twice in one statement.
    let mut last: HashMap<Cow<'_, str>, &Indexed> = HashMap::with_capacity(entries.len());
    for entry in entries {
        last.insert(strip_nul(&entry.id), entry);
    }
    let ids: Vec<Cow<'_, str>> = last.keys().cloned().collect();
    let previous = tx
        .prepare_cached("SELECT id, sig, at FROM fingerprints WHERE id = ANY($1::text[]) FOR UPDATE")
        .await
        .map_err(|e| pg_err("cannot prepare the index", e))?;
    let old: Vec<(String, Vec<u8>, DateTime<Utc>)> = tx
        .query(&previous, &[&ids])
        .await
        .map_err(|e| pg_err("cannot read the index", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    forget_keys(tx, &stored_keys(&old)).await?;

    let (mut sigs, mut clusters, mut ats) = (Vec::new(), Vec::new(), Vec::new());
    let (mut keys, mut key_ats, mut key_ids) = (Vec::new(), Vec::new(), Vec::new());
    for id in &ids {
        let entry = last[id];
        sigs.push(entry.fingerprint.to_bytes());
        clusters.push(strip_nul_opt(&entry.cluster));
        ats.push(entry.at);
        for key in entry.fingerprint.keys() {
            keys.push(key);
            key_ats.push(entry.at);
            key_ids.push(id.clone());
        }
    }
    let upsert = tx
        .prepare_cached(
            "INSERT INTO fingerprints (id, sig, cluster, at)
             SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::timestamptz[])
             ON CONFLICT (id) DO UPDATE SET sig = excluded.sig, cluster = excluded.cluster, at = excluded.at",
        )
        .await
        .map_err(|e| pg_err("cannot prepare the index", e))?;
    tx.execute(&upsert, &[&ids, &sigs, &clusters, &ats]).await.map_err(|e| pg_err("cannot write fingerprints", e))?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO lsh (key, at, id) SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[])
             ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(|e| pg_err("cannot prepare the index", e))?;
    tx.execute(&insert, &[&keys, &key_ats, &key_ids]).await.map_err(|e| pg_err("cannot write the index", e))?;
    Ok(())
}

impl PostgresStore {
    /// Rows of the near-duplicate index: (fingerprints, keys), for tests
    /// and tools.
    pub async fn index_size(&self) -> Result<(u64, u64), StoreError> {
        timed("count timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let row = client
                .query_one("SELECT (SELECT COUNT(*) FROM fingerprints), (SELECT COUNT(*) FROM lsh)", &[])
                .await
                .map_err(|e| pg_err("cannot count the index", e))?;
            Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
        })
        .await
    }

    async fn find_similar_inner(
        &self,
        items: &[(String, Fingerprint)],
        since: DateTime<Utc>,
        threshold: f64,
    ) -> Result<Vec<Option<Match>>, StoreError> {
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        // Per key, the newest entries within the window (a backward range
        // scan of the primary key), as in the SQLite store.
        let by_keys = client
            .prepare_cached(
                "SELECT hit.id FROM unnest($1::bigint[]) AS k(key)
                 CROSS JOIN LATERAL (
                     SELECT id FROM lsh WHERE lsh.key = k.key AND lsh.at >= $2 ORDER BY at DESC LIMIT $3
                 ) AS hit",
            )
            .await
            .map_err(|e| pg_err("cannot prepare the index lookup", e))?;
        let fingerprints = client
            .prepare_cached("SELECT id, sig, cluster FROM fingerprints WHERE id = ANY($1::text[])")
            .await
            .map_err(|e| pg_err("cannot prepare the index lookup", e))?;
        let mut out = Vec::with_capacity(items.len());
        for (id, fp) in items {
            let keys = fp.keys();
            let hits: Vec<String> = client
                .query(&by_keys, &[&keys, &since, &index::PER_KEY])
                .await
                .map_err(|e| pg_err("cannot read the index", e))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let own = strip_nul(id).into_owned();
            let ranked = index::rank(hits, Some(&own), keys.len());
            if ranked.is_empty() {
                out.push(None);
                continue;
            }
            let rows = client.query(&fingerprints, &[&ranked]).await.map_err(|e| pg_err("cannot read the index", e))?;
            let found: Vec<(String, Vec<u8>, Option<String>)> =
                rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
            let candidates = found.iter().map(|(id, sig, cluster)| (id.as_str(), sig.as_slice(), cluster.as_deref()));
            out.push(index::best(fp, candidates, threshold));
        }
        Ok(out)
    }

    async fn prune_index_inner(&self, before: DateTime<Utc>, limit: usize) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let tx = client.transaction().await.map_err(|e| pg_err("cannot begin transaction", e))?;
        // SKIP LOCKED: instances pruning at once take different rows.
        let old: Vec<(String, Vec<u8>, DateTime<Utc>)> = tx
            .query(
                "DELETE FROM fingerprints WHERE id IN (
                     SELECT id FROM fingerprints WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED
                 ) RETURNING id, sig, at",
                &[&before, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(|e| pg_err("cannot prune the index", e))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        forget_keys(&tx, &stored_keys(&old)).await?;
        tx.commit().await.map_err(|e| pg_err("cannot commit", e))?;
        Ok(old.len() as u64)
    }
}

impl StateStore for PostgresStore {
    fn positions(&self) -> BoxFuture<'_, Result<HashMap<String, String>, StoreError>> {
        Box::pin(timed("reading sink positions timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let rows = client
                .query("SELECT sink, position FROM sink_positions", &[])
                .await
                .map_err(|e| pg_err("cannot read sink positions", e))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        }))
    }

    fn commit_positions<'a>(&'a self, positions: &'a [(String, String)]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(timed("committing sink positions timed out", async {
            let mut client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let tx = client.transaction().await.map_err(|e| pg_err("cannot begin transaction", e))?;
            positions_in(&tx, positions).await?;
            tx.commit().await.map_err(|e| pg_err("cannot commit sink positions", e))
        }))
    }

    fn load_all(&self) -> BoxFuture<'_, Result<Vec<FeedState>, StoreError>> {
        Box::pin(timed("reading feed state timed out", async {
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let rows = client
                .query("SELECT state FROM feed_state ORDER BY feed", &[])
                .await
                .map_err(|e| pg_err("cannot read feed state", e))?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let value: Value = row.get(0);
                out.push(serde_json::from_value(value).map_err(|e| json_err("corrupt feed state", e))?);
            }
            Ok(out)
        }))
    }

    fn known_hashes<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<HashMap<String, String>, StoreError>> {
        Box::pin(timed("reading item state timed out", async move {
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
            let stripped: Vec<Cow<'_, str>> = ids.iter().map(|id| strip_nul(id)).collect();
            let rows = client
                .query("SELECT id, content_hash FROM item_state WHERE id = ANY($1::text[])", &[&stripped])
                .await
                .map_err(|e| pg_err("cannot read item state", e))?;
            let found: HashMap<String, String> =
                rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, String>(1))).collect();
            // Answer under the ids as asked (an id with a NUL was stored
            // without it).
            let mut out = HashMap::with_capacity(found.len());
            for (id, stripped) in ids.iter().zip(&stripped) {
                if let Some(hash) = found.get(stripped.as_ref()) {
                    out.insert(id.clone(), hash.clone());
                }
            }
            Ok(out)
        }))
    }

    fn commit<'a>(&'a self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write(&[], Some(checkpoint)))
    }

    fn find_similar<'a>(
        &'a self,
        items: &'a [(String, Fingerprint)],
        since: DateTime<Utc>,
        threshold: f64,
    ) -> BoxFuture<'a, Result<Vec<Option<Match>>, StoreError>> {
        Box::pin(timed("index lookup timed out", self.find_similar_inner(items, since, threshold)))
    }

    fn prune_index(&self, before: DateTime<Utc>, limit: usize) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(timed("index pruning timed out", self.prune_index_inner(before, limit)))
    }
}

/// The PostgreSQL store as a sink. When it holds the state it commits each
/// batch's checkpoint with the batch's records, in one transaction.
#[derive(Debug)]
pub struct PostgresSink {
    store: PostgresStore,
    holds_state: bool,
}

impl PostgresSink {
    /// A sink over `store`; `holds_state` when the store is also the
    /// pipeline's state store.
    pub fn new(store: PostgresStore, holds_state: bool) -> Self {
        PostgresSink { store, holds_state }
    }
}

impl Sink for PostgresSink {
    fn name(&self) -> &str {
        NAME
    }

    fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        // The migrations ran at connect.
        Box::pin(async { Ok(()) })
    }

    fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
        let checkpoint = self.holds_state.then_some(&batch.checkpoint);
        Box::pin(self.store.write(&batch.records, checkpoint))
    }

    fn holds_state(&self) -> bool {
        self.holds_state
    }

    fn check(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.store.check())
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        // Every write is committed before it returns: nothing to flush. The
        // pool stays open for the state store, which may share it.
        Box::pin(async { Ok(()) })
    }
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

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema("newswire_test_ab12"));
        assert!(!valid_schema("a;drop"));
        assert!(!valid_schema("1abc"));
        assert!(!valid_schema("Upper"));
        assert!(!valid_schema(""));
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, (version, _, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i32 + 1);
        }
    }
}
