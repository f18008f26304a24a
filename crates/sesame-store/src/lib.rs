//! `sesame-store`: the SQL adapter behind [`sesame_model::Store`]. It owns the database — the
//! connection pools for SQLite and PostgreSQL, the schema and its versioned migrations
//! (`migrations/{sqlite,postgres}/NNNN_name.sql`), and the mapping between rows and the model's
//! records — and nothing above it ever sees SQL.
//!
//! Map:
//! - [`connect`]: [`SqlStore`], URL parsing and the per-backend connection settings (SQLite WAL +
//!   `synchronous=FULL`, because an acknowledged write must survive kill -9 and power loss).
//! - [`migrate`]: embedded migrations, the `sesame_migrations` ledger, the PostgreSQL advisory lock
//!   that makes simultaneous start-up of several nodes safe.
//! - `accounts`, `resources`: the queries, one file per table group. Each query is written once
//!   in SQL both dialects accept (`$n` placeholders work in SQLite too); timestamps are unix
//!   milliseconds computed in Rust, never by the database clock.
//! - `sending`: the queue, events outbox, quotas, send statistics and dev inbox
//!   (`accept_messages` and friends); `quota`: their arithmetic (windows, token bucket, what an
//!   event adds to the statistics), pure and unit-tested.
//! - `ip_usage`: the per-(scope, source IP, UTC day) counters of dedicated IP warm-up caps.
//! - `pool_usage`: the hourly per-(scope, pool, IP, ISP) counters of managed dedicated IP pools.
//! - `message_log`: the sent-message log that `finish_message` fills, read by feedback
//!   ingestion (`find_message`, `prune_message_log`).
//! - `queue_ops`: the operator's queue queries (`sesame queue`, `/metrics` gauges) and the
//!   tombstones that let the server remove a deleted message's body from its spool.
//! - `verification`: the DNS verification schedule and its per-identity leases.
//! - `contacts`: the contacts of contact lists (the lists are resources of kind `contact-list`,
//!   whose deletion in `resources` takes their contacts with them, same transaction).
//! - `dkim_index`: the Easy DKIM token index the instance zone reads (rewritten by every
//!   identity write in `resources`, same transaction) and the operator's DKIM keys.
//! - `rows`: decoding rows of either backend into model records; `error`: sqlx → [`StoreError`].
//!
//! Ordering is byte order on both backends (SQLite's BINARY collation, PostgreSQL `COLLATE "C"`),
//! and name prefixes are matched with a half-open range `[prefix, successor(prefix))`, never with
//! `LIKE`, so `%` and `_` in names are ordinary characters.
//!
//! [`StoreError`]: sesame_model::StoreError

/// Runs `$body` with `$pool` bound to the concrete pool of `$store`. The body is written once and
/// compiled for each backend, which is how one SQL text serves both dialects without making
/// every function generic over `sqlx::Database`.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::connect::Pool::Sqlite($pool) => $body,
            $crate::connect::Pool::Postgres($pool) => $body,
        }
    };
}

mod accounts;
pub mod bodies;
pub mod connect;
mod contacts;
mod dispatch;
mod dkim_index;
mod error;
mod group_commit;
mod ip_usage;
mod message_log;
pub mod migrate;
mod pool_usage;
mod queue_ops;
mod quota;
mod resources;
mod rows;
mod sending;
mod store;
mod verification;

pub use connect::SqlStore;
pub use migrate::AppliedMigration;
