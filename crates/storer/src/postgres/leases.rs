//! Feed leases: each feed polled by one instance at a time, a lease
//! expiring when its holder dies.

use std::borrow::Cow;
use std::time::Duration;

use newswire_core::lease::LeaseStore;
use newswire_core::sink::{BoxFuture, StoreError};

use super::store::PostgresStore;
use super::{pg_err, pool_err, strip_nul, timed};

impl PostgresStore {
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

impl LeaseStore for PostgresStore {
    fn acquire<'a>(
        &'a self,
        holder: &'a str,
        feeds: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(self.acquire_leases(holder, feeds, ttl))
    }

    fn renew<'a>(&'a self, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(PostgresStore::renew(self, holder, ttl))
    }

    fn live(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, StoreError>> {
        Box::pin(self.live_leases())
    }

    fn release<'a>(&'a self, holder: &'a str, feeds: &'a [String]) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(self.release_feeds(holder, feeds))
    }

    fn release_all<'a>(&'a self, holder: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(PostgresStore::release(self, holder))
    }
}
