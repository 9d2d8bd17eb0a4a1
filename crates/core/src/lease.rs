//! The lease boundary: [`LeaseStore`].
//!
//! Several daemons sharing one state store split the feeds between them:
//! each feed is leased to one holder at a time, and a lease expires when
//! its holder stops renewing it (it died). The pipeline's lease plan drives
//! a `LeaseStore` and never knows which database is behind it; the storer's
//! PostgreSQL store implements it.

use std::time::Duration;

use crate::sink::{BoxFuture, StoreError};

/// Where feed leases live.
///
/// Expiry is the store's business, on the store's clock: a lease taken or
/// renewed with `ttl` is live until `ttl` after that, and a lease that is
/// not live can be taken by anyone.
pub trait LeaseStore: Send + Sync {
    /// Lease `feeds` to `holder` for `ttl`: each feed whose lease is free,
    /// expired or already `holder`'s. Returns the feeds `holder` now holds
    /// of those asked, sorted. Two holders racing for a feed: one gets it.
    fn acquire<'a>(
        &'a self,
        holder: &'a str,
        feeds: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;

    /// Extend every lease `holder` still holds by `ttl`; returns the feeds
    /// it holds, sorted. A feed missing from the answer was taken over
    /// after its lease expired.
    fn renew<'a>(&'a self, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;

    /// Every live lease, as (feed, holder).
    fn live(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, StoreError>>;

    /// Give up `holder`'s leases on `feeds` (another holder may take them
    /// at once). Returns how many were released.
    fn release<'a>(&'a self, holder: &'a str, feeds: &'a [String]) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Give up every lease `holder` holds (a graceful stop). Returns how
    /// many were released.
    fn release_all<'a>(&'a self, holder: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;
}
