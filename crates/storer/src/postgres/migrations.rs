//! The schema: embedded migrations, applied at connect.

use newswire_core::sink::StoreError;

use super::store::PostgresStore;
use super::{NAME, pg_err, pool_err, timed};

/// Embedded migrations, applied in order. Never edit a shipped one: add the
/// next number.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "records and state", include_str!("../../migrations/0001_records_and_state.sql")),
    (2, "feed leases", include_str!("../../migrations/0002_feed_leases.sql")),
    (3, "near duplicates", include_str!("../../migrations/0003_near_duplicates.sql")),
    (4, "sink positions", include_str!("../../migrations/0004_sink_positions.sql")),
    (5, "search and versions", include_str!("../../migrations/0005_search_and_versions.sql")),
    (6, "feed sketches", include_str!("../../migrations/0006_feed_sketches.sql")),
    (7, "index row ids", include_str!("../../migrations/0007_index_row_ids.sql")),
    (8, "index key log", include_str!("../../migrations/0008_index_key_log.sql")),
];

/// A schema name newswire accepts: lowercase ASCII letters, digits and
/// underscores, not starting with a digit, at most 63 bytes. Anything else
/// would need quoting in `search_path`.
pub(super) fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl PostgresStore {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
