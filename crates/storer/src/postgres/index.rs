//! The near-duplicate index in PostgreSQL (see [`crate::index`]), shared by
//! every instance on the schema.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::StoreError;
use newswire_core::state::{Indexed, Match};

use super::keys;
use super::store::PostgresStore;
use super::{pg_err, pool_err, strip_nul, strip_nul_opt, timed};
use crate::index;

/// Keys of stored fingerprints (row id, fingerprint, indexed at) as
/// (key, at, rid) columns, for a delete by primary key. A fingerprint of
/// another format has no keys.
fn stored_keys(rows: &[(i64, Vec<u8>, DateTime<Utc>)]) -> (Vec<i64>, Vec<DateTime<Utc>>, Vec<i64>) {
    let (mut keys, mut ats, mut rids) = (Vec::new(), Vec::new(), Vec::new());
    for (rid, sig, at) in rows {
        let Some(fp) = Fingerprint::from_bytes(sig) else { continue };
        for key in fp.keys() {
            keys.push(key);
            ats.push(*at);
            rids.push(*rid);
        }
    }
    (keys, ats, rids)
}

/// Delete index keys by primary key, given as columns.
async fn forget_keys(
    tx: &deadpool_postgres::Transaction<'_>,
    keys: &(Vec<i64>, Vec<DateTime<Utc>>, Vec<i64>),
) -> Result<(), StoreError> {
    if keys.0.is_empty() {
        return Ok(());
    }
    let delete = tx
        .prepare_cached(
            "DELETE FROM lsh USING unnest($1::bigint[], $2::timestamptz[], $3::bigint[]) AS old(key, at, rid)
             WHERE lsh.key = old.key AND lsh.at = old.at AND lsh.rid = old.rid",
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
pub(super) async fn index_in(tx: &deadpool_postgres::Transaction<'_>, entries: &[Indexed]) -> Result<(), StoreError> {
    // One row per id (the last entry wins): ON CONFLICT cannot touch a row
    // twice in one statement.
    let mut last: HashMap<Cow<'_, str>, &Indexed> = HashMap::with_capacity(entries.len());
    for entry in entries {
        last.insert(strip_nul(&entry.id), entry);
    }
    let ids: Vec<Cow<'_, str>> = last.keys().cloned().collect();
    let previous = tx
        .prepare_cached("SELECT rid, sig, at FROM fingerprints WHERE id = ANY($1::text[]) FOR UPDATE")
        .await
        .map_err(|e| pg_err("cannot prepare the index", e))?;
    let old: Vec<(i64, Vec<u8>, DateTime<Utc>)> = tx
        .query(&previous, &[&ids])
        .await
        .map_err(|e| pg_err("cannot read the index", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    forget_keys(tx, &stored_keys(&old)).await?;

    let (mut sigs, mut clusters, mut ats) = (Vec::new(), Vec::new(), Vec::new());
    for id in &ids {
        let entry = last[id];
        sigs.push(entry.fingerprint.to_bytes());
        clusters.push(strip_nul_opt(&entry.cluster));
        ats.push(entry.at);
    }
    // A record indexed again keeps its row id (an update of its row).
    let upsert = tx
        .prepare_cached(
            "INSERT INTO fingerprints (id, sig, cluster, at)
             SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::timestamptz[])
             ON CONFLICT (id) DO UPDATE SET sig = excluded.sig, cluster = excluded.cluster, at = excluded.at
             RETURNING id, rid",
        )
        .await
        .map_err(|e| pg_err("cannot prepare the index", e))?;
    let rids: HashMap<String, i64> = tx
        .query(&upsert, &[&ids, &sigs, &clusters, &ats])
        .await
        .map_err(|e| pg_err("cannot write fingerprints", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let (mut keys, mut key_ats, mut key_rids) = (Vec::new(), Vec::new(), Vec::new());
    for id in &ids {
        let entry = last[id];
        let Some(&rid) = rids.get(id.as_ref()) else { continue };
        for key in entry.fingerprint.keys() {
            keys.push(key);
            key_ats.push(entry.at);
            key_rids.push(rid);
        }
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO lsh (key, at, rid) SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[])
             ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(|e| pg_err("cannot prepare the index", e))?;
    tx.execute(&insert, &[&keys, &key_ats, &key_rids]).await.map_err(|e| pg_err("cannot write the index", e))?;
    Ok(())
}

/// Store a feed's shingle counts inside `tx`.
pub(super) async fn sketch_in(
    tx: &deadpool_postgres::Transaction<'_>,
    feed: &str,
    sketch: &[u8],
) -> Result<(), StoreError> {
    let upsert = tx
        .prepare_cached(
            "INSERT INTO feed_sketches (feed, sketch) VALUES ($1, $2)
             ON CONFLICT (feed) DO UPDATE SET sketch = excluded.sketch",
        )
        .await
        .map_err(|e| pg_err("cannot prepare the shingle counts", e))?;
    tx.execute(&upsert, &[&feed, &sketch])
        .await
        .map_err(|e| pg_err(&format!("cannot write the shingle counts of feed {feed}"), e))?;
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

    /// The stored shingle counts of one feed.
    pub(super) async fn feed_sketch_inner(&self, feed: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let stmt = client
            .prepare_cached("SELECT sketch FROM feed_sketches WHERE feed = $1")
            .await
            .map_err(|e| pg_err("cannot prepare the shingle counts", e))?;
        let row = client
            .query_opt(&stmt, &[&strip_nul(feed)])
            .await
            .map_err(|e| pg_err("cannot read the shingle counts", e))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Key filters this handle's instance has built (see `keys.rs`), for
    /// tests and tools.
    pub async fn key_filter_builds(&self) -> u64 {
        self.keys.lock().await.builds()
    }

    /// The lookup for a whole batch in five statements: the key log since
    /// the last lookup (see `keys.rs`), the newest entries of every
    /// distinct key of the batch that `lsh` may hold (a backward range scan
    /// of the primary key per key, as in the SQLite store; row ids, read from
    /// the index alone where the heap is marked all-visible), the batch's
    /// own rows (a record is not its own copy), the fingerprints of every
    /// record's best candidates, and the first records of their stories
    /// (see [`crate::index`]).
    pub(super) async fn find_similar_inner(
        &self,
        items: &[(String, Fingerprint)],
        since: DateTime<Utc>,
        threshold: f64,
    ) -> Result<Vec<Option<Match>>, StoreError> {
        let mut client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let by_keys = client
            .prepare_cached(
                "SELECT k.key, hit.rid FROM unnest($1::bigint[]) AS k(key)
                 CROSS JOIN LATERAL (
                     SELECT rid FROM lsh WHERE lsh.key = k.key AND lsh.at >= $2 ORDER BY at DESC LIMIT $3
                 ) AS hit",
            )
            .await
            .map_err(|e| pg_err("cannot prepare the index lookup", e))?;
        let by_rid = client
            .prepare_cached("SELECT rid, id, sig, cluster FROM fingerprints WHERE rid = ANY($1::bigint[])")
            .await
            .map_err(|e| pg_err("cannot prepare the index lookup", e))?;
        let by_id = client
            .prepare_cached("SELECT id, rid, sig FROM fingerprints WHERE id = ANY($1::text[])")
            .await
            .map_err(|e| pg_err("cannot prepare the index lookup", e))?;
        let keys: Vec<Vec<i64>> = items.iter().map(|(_, fp)| fp.keys()).collect();
        let mut distinct: Vec<i64> = keys.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        // Only the keys `lsh` may hold, as of now (see `keys.rs`): the
        // others would each cost an index descent that finds nothing.
        {
            let mut known = self.keys.lock().await;
            known.sync(&mut client).await?;
            distinct.retain(|&key| known.may_hold(key));
        }
        let mut lists: HashMap<i64, Vec<i64>> = HashMap::with_capacity(distinct.len());
        if !distinct.is_empty() {
            for row in client
                .query(&by_keys, &[&distinct, &since, &index::PER_KEY])
                .await
                .map_err(|e| pg_err("cannot read the index", e))?
            {
                lists.entry(row.get(0)).or_default().push(row.get(1));
            }
        }
        // The records themselves, when indexed already (their text changed).
        let mut own: HashMap<String, i64> = HashMap::new();
        if !lists.is_empty() {
            let ids: Vec<Cow<'_, str>> = items.iter().map(|(id, _)| strip_nul(id)).collect();
            for row in client.query(&by_id, &[&ids]).await.map_err(|e| pg_err("cannot read the index", e))? {
                own.insert(row.get(0), row.get(1));
            }
        }
        let mut ranked: Vec<Vec<i64>> = Vec::with_capacity(items.len());
        let mut wanted: Vec<i64> = Vec::new();
        for ((id, _), keys) in items.iter().zip(&keys) {
            let per_key: Vec<&[i64]> = keys.iter().filter_map(|k| lists.get(k).map(Vec::as_slice)).collect();
            let best = index::rank(index::weighted(&per_key), own.get(strip_nul(id).as_ref()), keys.len());
            wanted.extend(best.iter().copied());
            ranked.push(best);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut stored: HashMap<i64, (String, Vec<u8>, Option<String>)> = HashMap::with_capacity(wanted.len());
        if !wanted.is_empty() {
            for row in client.query(&by_rid, &[&wanted]).await.map_err(|e| pg_err("cannot read the index", e))? {
                stored.insert(row.get(0), (row.get(1), row.get(2), row.get(3)));
            }
        }
        // The first records of the candidates' stories not among them.
        let found: std::collections::HashSet<&str> = stored.values().map(|(id, _, _)| id.as_str()).collect();
        let mut firsts: Vec<&str> = stored
            .values()
            .filter_map(|(_, _, cluster)| cluster.as_deref())
            .filter(|story| !found.contains(story))
            .collect();
        firsts.sort_unstable();
        firsts.dedup();
        let mut first_sigs: HashMap<String, Vec<u8>> = HashMap::with_capacity(firsts.len());
        if !firsts.is_empty() {
            for row in client.query(&by_id, &[&firsts]).await.map_err(|e| pg_err("cannot read the index", e))? {
                first_sigs.insert(row.get(0), row.get(2));
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for ((_, fp), best) in items.iter().zip(&ranked) {
            let candidates: Vec<index::Candidate<'_>> = best
                .iter()
                .filter_map(|rid| stored.get(rid))
                .map(|(id, sig, cluster)| index::Candidate { id, sig, cluster: cluster.as_deref() })
                .collect();
            let firsts: Vec<(&str, &[u8])> = index::missing_firsts(&candidates)
                .into_iter()
                .filter_map(|story| first_sigs.get(story).map(|sig| (story, sig.as_slice())))
                .collect();
            out.push(index::best(fp, &candidates, &firsts, threshold));
        }
        Ok(out)
    }

    pub(super) async fn prune_index_inner(&self, before: DateTime<Utc>, limit: usize) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let tx = client.transaction().await.map_err(|e| pg_err("cannot begin transaction", e))?;
        // SKIP LOCKED: instances pruning at once take different rows.
        let old: Vec<(i64, Vec<u8>, DateTime<Utc>)> = tx
            .query(
                "DELETE FROM fingerprints WHERE id IN (
                     SELECT id FROM fingerprints WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED
                 ) RETURNING rid, sig, at",
                &[&before, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(|e| pg_err("cannot prune the index", e))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        forget_keys(&tx, &stored_keys(&old)).await?;
        // The key log's old rows go too (they describe what the filters
        // of running instances already hold).
        keys::prune_log(&tx, i64::try_from(limit).unwrap_or(i64::MAX)).await?;
        tx.commit().await.map_err(|e| pg_err("cannot commit", e))?;
        Ok(old.len() as u64)
    }
}
