//! The database handle: records and a checkpoint in one transaction, and
//! the state store's reads.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::try_join_all;
use newswire_core::Record;
use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::{BoxFuture, StateStore, StoreError};
use newswire_core::state::{Checkpoint, FeedState, Match};
use serde_json::Value;
use tokio_postgres::NoTls;

use super::index::{index_in, sketch_in};
use super::migrations::valid_schema;
use super::{
    CONNECT_TIMEOUT, NAME, POOL_SIZE, STATEMENT_TIMEOUT_MS, json_err, pg_err, pool_err, strip_nul, strip_nul_opt,
    timed, to_jsonb,
};

/// The PostgreSQL database: the state store, the sink behind
/// [`PostgresSink`](super::PostgresSink), and the feed leases. A cheap handle: clones share the
/// pool.
#[derive(Clone)]
pub struct PostgresStore {
    pub(super) pool: Pool,
    pub(super) schema: Option<String>,
    /// The keys `lsh` may hold, as of this instance's last lookup
    /// (`keys.rs`); shared by clones, taken by one lookup at a time.
    pub(super) keys: std::sync::Arc<tokio::sync::Mutex<super::keys::KnownKeys>>,
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
        let store = PostgresStore { pool, schema: schema.map(str::to_owned), keys: Default::default() };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema the store lives in, when one was given.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
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
    if let Some(sketch) = &cp.sketch {
        sketch_in(tx, &feed, sketch).await?;
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

    fn feed_sketch<'a>(&'a self, feed: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(timed("shingle counts read timed out", self.feed_sketch_inner(feed)))
    }

    fn prune_index(&self, before: DateTime<Utc>, limit: usize) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(timed("index pruning timed out", self.prune_index_inner(before, limit)))
    }
}
