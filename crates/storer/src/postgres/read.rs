//! [`RecordReader`] over PostgreSQL: keyset pages on `records_fetched_id`,
//! full text through the `search` column (migration 5; see [`crate::read`]).

use chrono::{DateTime, Utc};
use newswire_core::Record;
use newswire_core::sink::{BoxFuture, StoreError};
use newswire_core::state::FeedState;
use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::store::PostgresStore;
use super::{NAME, json_err, pg_err, pool_err, timed};
use crate::read::{
    ClusterCopy, ClusterDetail, ClusterQuery, ClusterSummary, Cursor, DEFAULT_PAGE, FEEDS_SQL, FeedSummary, MAX_PAGE,
    Page, RecordDetail, RecordQuery, RecordReader, TimeField, Version,
};

/// The record columns, in [`record_of`]'s order.
const RECORD_COLUMNS: &str = "id, schema, feed, feed_url, guid, url, title, authors, published_at, updated_at, \
    fetched_at, language, summary, body, word_count, categories, content_hash, source, embeds, removed, cluster, \
    similarity";

type Arg = Box<dyn ToSql + Sync + Send>;

/// The SQL and arguments of one page of `query` (one row more than the
/// page, to tell whether there is a next).
fn records_sql(query: &RecordQuery) -> Result<(String, Vec<Arg>), StoreError> {
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE TRUE");
    let mut args: Vec<Arg> = Vec::new();
    let mut arg = |sql: &mut String, text: &str, value: Arg| {
        args.push(value);
        sql.push_str(&text.replace('$', &format!("${}", args.len())));
    };
    let column = match query.time_field {
        TimeField::Fetched => "fetched_at",
        TimeField::Published => "published_at",
    };
    if let Some(since) = query.since {
        arg(&mut sql, &format!(" AND {column} >= $"), Box::new(since));
    }
    if let Some(until) = query.until {
        arg(&mut sql, &format!(" AND {column} < $"), Box::new(until));
    }
    if !query.feeds.is_empty() {
        arg(&mut sql, " AND feed = ANY($)", Box::new(query.feeds.clone()));
    }
    if let Some(tag) = &query.tag {
        arg(&mut sql, " AND categories ? $", Box::new(tag.clone()));
    }
    if let Some(lang) = &query.lang {
        arg(&mut sql, " AND (language = $", Box::new(lang.clone()));
        arg(&mut sql, " OR starts_with(language, $))", Box::new(format!("{lang}-")));
    }
    if let Some(cluster) = &query.cluster {
        arg(&mut sql, " AND (cluster = $", Box::new(cluster.clone()));
        arg(&mut sql, " OR id = $)", Box::new(cluster.clone()));
    }
    let words = query.words();
    if !words.is_empty() {
        arg(&mut sql, " AND search @@ plainto_tsquery('simple', $)", Box::new(words.join(" ")));
    }
    let (cmp, dir) = if query.newest_first { ("<", "DESC") } else { (">", "ASC") };
    if let Some(after) = &query.after {
        let at = DateTime::parse_from_rfc3339(&after.at)
            .map_err(|_| StoreError::fatal(NAME, "the cursor was not made by this store".to_string()))?
            .with_timezone(&Utc);
        arg(&mut sql, &format!(" AND (fetched_at, id) {cmp} ($"), Box::new(at));
        arg(&mut sql, ", $)", Box::new(after.id.clone()));
    }
    sql.push_str(&format!(" ORDER BY fetched_at {dir}, id {dir}"));
    arg(&mut sql, " LIMIT $", Box::new(i64::from(query.page_size()) + 1));
    Ok((sql, args))
}

fn json<T: serde::de::DeserializeOwned>(row: &Row, i: usize, name: &str) -> Result<T, StoreError> {
    serde_json::from_value(row.try_get::<_, Value>(i).map_err(|e| pg_err(name, e))?)
        .map_err(|e| json_err(&format!("corrupt {name}"), e))
}

/// A record from a row of [`RECORD_COLUMNS`].
fn record_of(row: &Row) -> Result<Record, StoreError> {
    let err = |e| pg_err("cannot read a record", e);
    let source: String = row.try_get(17).map_err(err)?;
    Ok(Record {
        id: row.try_get(0).map_err(err)?,
        schema: u32::try_from(row.try_get::<_, i32>(1).map_err(err)?).unwrap_or(0),
        feed: row.try_get(2).map_err(err)?,
        feed_url: row.try_get(3).map_err(err)?,
        guid: row.try_get(4).map_err(err)?,
        url: row.try_get(5).map_err(err)?,
        title: row.try_get(6).map_err(err)?,
        authors: json(row, 7, "authors")?,
        published_at: row.try_get(8).map_err(err)?,
        updated_at: row.try_get(9).map_err(err)?,
        fetched_at: row.try_get(10).map_err(err)?,
        language: row.try_get(11).map_err(err)?,
        summary: row.try_get(12).map_err(err)?,
        body: row.try_get(13).map_err(err)?,
        word_count: u64::try_from(row.try_get::<_, i64>(14).map_err(err)?).unwrap_or(0),
        categories: json(row, 15, "categories")?,
        content_hash: row.try_get(16).map_err(err)?,
        source: serde_json::from_value(Value::String(source)).map_err(|e| json_err("corrupt source", e))?,
        embeds: json(row, 18, "embeds")?,
        removed: json(row, 19, "removed")?,
        cluster: row.try_get(20).map_err(err)?,
        similarity: row.try_get(21).map_err(err)?,
        fingerprint: None,
    })
}

impl PostgresStore {
    async fn records_inner(&self, query: &RecordQuery) -> Result<Page, StoreError> {
        let (sql, args) = records_sql(query)?;
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref() as &(dyn ToSql + Sync)).collect();
        let rows = client.query(&sql, &params).await.map_err(|e| pg_err("cannot read records", e))?;
        let size = query.page_size() as usize;
        let more = rows.len() > size;
        let mut records = Vec::with_capacity(rows.len().min(size));
        for row in rows.iter().take(size) {
            records.push(record_of(row)?);
        }
        let next = match records.last() {
            Some(last) if more => {
                Some(Cursor::new(last.fetched_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), last.id.clone()))
            }
            _ => None,
        };
        Ok(Page { records, next })
    }

    async fn record_inner(&self, id: &str) -> Result<Option<RecordDetail>, StoreError> {
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let sql = format!("SELECT {RECORD_COLUMNS}, version FROM records WHERE id = $1");
        let Some(row) = client.query_opt(&sql, &[&id]).await.map_err(|e| pg_err("cannot read the record", e))? else {
            return Ok(None);
        };
        let record = record_of(&row)?;
        let version =
            u32::try_from(row.try_get::<_, i32>(22).map_err(|e| pg_err("cannot read the record", e))?).unwrap_or(0);
        let rows = client
            .query(
                "SELECT version, content_hash, title, summary, body, fetched_at FROM record_versions
                 WHERE id = $1 ORDER BY version",
                &[&id],
            )
            .await
            .map_err(|e| pg_err("cannot read versions", e))?;
        let mut versions = Vec::with_capacity(rows.len());
        for r in rows {
            let err = |e| pg_err("cannot read versions", e);
            versions.push(Version {
                version: u32::try_from(r.try_get::<_, i32>(0).map_err(err)?).unwrap_or(0),
                content_hash: r.try_get(1).map_err(err)?,
                title: r.try_get(2).map_err(err)?,
                summary: r.try_get(3).map_err(err)?,
                body: r.try_get(4).map_err(err)?,
                fetched_at: r.try_get(5).map_err(err)?,
            });
        }
        Ok(Some(RecordDetail { record, version, versions }))
    }

    async fn clusters_inner(&self, query: &ClusterQuery) -> Result<Vec<ClusterSummary>, StoreError> {
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let limit = i64::from(query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE));
        let since = query.since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        // By id, a page after `after`; or the most recently copied first.
        let (inner, outer, after) = match query.recent {
            false => ("cluster", "c.cluster", query.after.clone().unwrap_or_default()),
            true => ("MAX(fetched_at) DESC, cluster", "c.last DESC, c.cluster", String::new()),
        };
        let sql = format!(
            "SELECT c.cluster, c.n, c.last, r.title, r.feed, r.url FROM (
                SELECT cluster, COUNT(*) AS n, MAX(fetched_at) AS last FROM records
                WHERE cluster IS NOT NULL AND cluster > $1
                GROUP BY cluster HAVING MAX(fetched_at) >= $2
                ORDER BY {inner} LIMIT $3
             ) c LEFT JOIN records r ON r.id = c.cluster ORDER BY {outer}"
        );
        let rows =
            client.query(&sql, &[&after, &since, &limit]).await.map_err(|e| pg_err("cannot read clusters", e))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let err = |e| pg_err("cannot read clusters", e);
            out.push(ClusterSummary {
                id: r.try_get(0).map_err(err)?,
                copies: u64::try_from(r.try_get::<_, i64>(1).map_err(err)?).unwrap_or(0),
                last_fetched_at: r.try_get(2).map_err(err)?,
                title: r.try_get(3).map_err(err)?,
                feed: r.try_get(4).map_err(err)?,
                url: r.try_get(5).map_err(err)?,
            });
        }
        Ok(out)
    }

    async fn cluster_inner(&self, id: &str) -> Result<Option<ClusterDetail>, StoreError> {
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let rows = client
            .query(
                "SELECT id, feed, url, title, similarity, fetched_at FROM records
                 WHERE cluster = $1 ORDER BY fetched_at, id",
                &[&id],
            )
            .await
            .map_err(|e| pg_err("cannot read the cluster", e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut copies = Vec::with_capacity(rows.len());
        for r in rows {
            let err = |e| pg_err("cannot read the cluster", e);
            copies.push(ClusterCopy {
                id: r.try_get(0).map_err(err)?,
                feed: r.try_get(1).map_err(err)?,
                url: r.try_get(2).map_err(err)?,
                title: r.try_get(3).map_err(err)?,
                similarity: r.try_get(4).map_err(err)?,
                fetched_at: r.try_get(5).map_err(err)?,
            });
        }
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = $1");
        let first = client.query_opt(&sql, &[&id]).await.map_err(|e| pg_err("cannot read the cluster", e))?;
        let first = first.as_ref().map(record_of).transpose()?;
        Ok(Some(ClusterDetail { first, id: id.to_string(), copies }))
    }

    async fn feeds_inner(&self) -> Result<Vec<FeedSummary>, StoreError> {
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let rows = client.query(FEEDS_SQL, &[]).await.map_err(|e| pg_err("cannot read feeds", e))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let err = |e| pg_err("cannot read feeds", e);
            let state: Option<Value> = r.try_get(1).map_err(err)?;
            let state: Option<FeedState> =
                state.map(|s| serde_json::from_value(s).map_err(|e| json_err("corrupt feed state", e))).transpose()?;
            out.push(FeedSummary {
                feed: r.try_get(0).map_err(err)?,
                state,
                records: u64::try_from(r.try_get::<_, i64>(2).map_err(err)?).unwrap_or(0),
                last_fetched_at: r.try_get(3).map_err(err)?,
            });
        }
        Ok(out)
    }
}

impl RecordReader for PostgresStore {
    fn records<'a>(&'a self, query: &'a RecordQuery) -> BoxFuture<'a, Result<Page, StoreError>> {
        Box::pin(timed("read timed out", self.records_inner(query)))
    }

    fn record<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RecordDetail>, StoreError>> {
        Box::pin(timed("read timed out", self.record_inner(id)))
    }

    fn clusters<'a>(&'a self, query: &'a ClusterQuery) -> BoxFuture<'a, Result<Vec<ClusterSummary>, StoreError>> {
        Box::pin(timed("read timed out", self.clusters_inner(query)))
    }

    fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<ClusterDetail>, StoreError>> {
        Box::pin(timed("read timed out", self.cluster_inner(id)))
    }

    fn feeds(&self) -> BoxFuture<'_, Result<Vec<FeedSummary>, StoreError>> {
        Box::pin(timed("read timed out", self.feeds_inner()))
    }
}
