//! Versioned schema migrations, embedded in the binary.
//!
//! Each migration is a pair of files, `migrations/sqlite/NNNN_name.sql` and
//! `migrations/postgres/NNNN_name.sql`, listed in [`MIGRATIONS`]. [`SqlStore::migrate`] applies
//! the missing ones in version order, each in its own transaction together with its row in the
//! `sesame_migrations(version, name, applied_at)` ledger, so a migration is either fully applied
//! and recorded or not at all.
//!
//! Concurrent start-up: on PostgreSQL every migration transaction first takes
//! `pg_advisory_xact_lock` (keyed by the schema, so instances in different schemas do not wait
//! for each other) and re-reads the ledger under it; a second node blocks until the first commits
//! and then finds nothing left to do. On SQLite the transaction starts with `BEGIN IMMEDIATE`,
//! which takes the database's single write lock up front with the same effect.
//!
//! Migrations are append-only: never edit one that has shipped; add the next number.

use sesame_model::StoreError;
use sqlx::{Executor, Row};

use crate::connect::{now_ms, Pool};
use crate::error::map_err;
use crate::SqlStore;

/// One schema change, in both dialects.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, in version order. A unit test checks this matches the files on disk.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "sending",
        sqlite: include_str!("../migrations/sqlite/0002_sending.sql"),
        postgres: include_str!("../migrations/postgres/0002_sending.sql"),
    },
    Migration {
        version: 3,
        name: "ip_usage",
        sqlite: include_str!("../migrations/sqlite/0003_ip_usage.sql"),
        postgres: include_str!("../migrations/postgres/0003_ip_usage.sql"),
    },
    Migration {
        version: 4,
        name: "message_log",
        sqlite: include_str!("../migrations/sqlite/0004_message_log.sql"),
        postgres: include_str!("../migrations/postgres/0004_message_log.sql"),
    },
    Migration {
        version: 5,
        name: "queue_tombstones",
        sqlite: include_str!("../migrations/sqlite/0005_queue_tombstones.sql"),
        postgres: include_str!("../migrations/postgres/0005_queue_tombstones.sql"),
    },
    Migration {
        version: 6,
        name: "verification_schedule",
        sqlite: include_str!("../migrations/sqlite/0006_verification_schedule.sql"),
        postgres: include_str!("../migrations/postgres/0006_verification_schedule.sql"),
    },
    Migration {
        version: 7,
        name: "reputation_stats",
        sqlite: include_str!("../migrations/sqlite/0007_reputation_stats.sql"),
        postgres: include_str!("../migrations/postgres/0007_reputation_stats.sql"),
    },
    Migration {
        version: 8,
        name: "dkim_selectors",
        sqlite: include_str!("../migrations/sqlite/0008_dkim_selectors.sql"),
        postgres: include_str!("../migrations/postgres/0008_dkim_selectors.sql"),
    },
    Migration {
        version: 9,
        name: "event_dispatch",
        sqlite: include_str!("../migrations/sqlite/0009_event_dispatch.sql"),
        postgres: include_str!("../migrations/postgres/0009_event_dispatch.sql"),
    },
    Migration {
        version: 10,
        name: "message_bodies",
        sqlite: include_str!("../migrations/sqlite/0010_message_bodies.sql"),
        postgres: include_str!("../migrations/postgres/0010_message_bodies.sql"),
    },
    Migration {
        version: 11,
        name: "contacts",
        sqlite: include_str!("../migrations/sqlite/0011_contacts.sql"),
        postgres: include_str!("../migrations/postgres/0011_contacts.sql"),
    },
    Migration {
        version: 12,
        name: "managed_pool_usage",
        sqlite: include_str!("../migrations/sqlite/0012_managed_pool_usage.sql"),
        postgres: include_str!("../migrations/postgres/0012_managed_pool_usage.sql"),
    },
];

/// The ledger. Same text for both dialects (SQLite maps BIGINT to INTEGER affinity).
const LEDGER_DDL: &str = "CREATE TABLE IF NOT EXISTS sesame_migrations (\
    version BIGINT NOT NULL PRIMARY KEY, \
    name TEXT NOT NULL, \
    applied_at BIGINT NOT NULL)";

/// First half of the PostgreSQL advisory lock key: ASCII "SESA". The second half is a hash of
/// the current schema. `coalesce` because a NULL argument would make the lock call a silent no-op.
const PG_LOCK: &str =
    "SELECT pg_advisory_xact_lock(1397052225, hashtext(coalesce(current_schema(), '')))";

/// A row of the `sesame_migrations` ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: i64,
    pub name: String,
    /// Unix milliseconds.
    pub applied_at: i64,
}

/// The part of a migration transaction common to both backends, once the transaction holds
/// the lock: create the ledger if needed, skip if already applied, else apply and record.
/// A macro rather than a generic fn because the executor and bind bounds differ per backend.
/// Calls go through `Executor::execute(&mut *tx, query)`, whose boxed `Send` future avoids the
/// "implementation of `Executor` is not general enough" error that `query.execute(&mut *tx)`
/// triggers when the `migrate` future must be `Send` (rustc's higher-ranked auto-trait check).
macro_rules! apply_in_tx {
    ($tx:ident, $m:expr, $sql:expr) => {{
        (&mut *$tx)
            .execute(sqlx::raw_sql(LEDGER_DDL))
            .await
            .map_err(map_err)?;
        let applied = (&mut *$tx)
            .fetch_optional(
                sqlx::query("SELECT version FROM sesame_migrations WHERE version = $1")
                    .bind($m.version),
            )
            .await
            .map_err(map_err)?
            .is_some();
        // When already applied, dropping `$tx` rolls back the empty transaction.
        if !applied {
            (&mut *$tx)
                .execute(sqlx::raw_sql($sql))
                .await
                .map_err(map_err)?;
            (&mut *$tx)
                .execute(
                    sqlx::query(
                        "INSERT INTO sesame_migrations (version, name, applied_at) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind($m.version)
                    .bind($m.name)
                    .bind(now_ms()),
                )
                .await
                .map_err(map_err)?;
            $tx.commit().await.map_err(map_err)?;
        }
    }};
}

impl SqlStore {
    /// Brings the schema up to date. Idempotent, and safe to run from several processes at once
    /// (see the module docs). Returns once every known migration is recorded as applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        for m in MIGRATIONS {
            match &self.pool {
                Pool::Sqlite(pool) => {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
                    apply_in_tx!(tx, m, m.sqlite);
                }
                Pool::Postgres(pool) => {
                    let mut tx = pool.begin().await.map_err(map_err)?;
                    (&mut *tx)
                        .execute(sqlx::query(PG_LOCK))
                        .await
                        .map_err(map_err)?;
                    apply_in_tx!(tx, m, m.postgres);
                }
            }
        }
        Ok(())
    }

    /// The ledger, oldest first. Fails with `Backend` if [`SqlStore::migrate`] never ran.
    pub async fn applied_migrations(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        const SQL: &str =
            "SELECT version, name, applied_at FROM sesame_migrations ORDER BY version";
        with_pool!(self, pool => {
            let rows = sqlx::query(SQL).fetch_all(pool).await.map_err(map_err)?;
            rows.iter()
                .map(|r| {
                    Ok(AppliedMigration {
                        version: r.try_get("version").map_err(map_err)?,
                        name: r.try_get("name").map_err(map_err)?,
                        applied_at: r.try_get("applied_at").map_err(map_err)?,
                    })
                })
                .collect()
        })
    }
}

/// `migrate` is called from spawned tasks (every node's start-up): its future must be `Send`.
#[allow(dead_code)]
fn migrate_future_is_send(store: &SqlStore) {
    fn is_send<T: Send>(_: T) {}
    is_send(store.migrate());
    is_send(store.applied_migrations());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `migrations/<dialect>/` is embedded, in order, with its name, and both
    /// dialects have the same list: a forgotten `include_str!` fails here, not in production.
    #[test]
    fn embedded_list_matches_the_files() {
        let expected: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        for dialect in ["sqlite", "postgres"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dialect);
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            files.sort();
            assert_eq!(files, expected, "{dialect}");
        }
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "versions are dense and ordered");
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
        }
    }
}
