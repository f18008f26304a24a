//! The event publishing outbox, `event_dispatch` (`migrations/*/0009_event_dispatch.sql`).
//! Rows are written by `insert_events!` (sending.rs) in the transactions that append events;
//! the dispatcher (`sesame_engine::publish`) claims, finishes or retries them here.
//!
//! Claims follow the verification schedule's pattern: SQLite serialises them with
//! `BEGIN IMMEDIATE`, PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two nodes never hold one
//! row while its lease is live.

use sesame_model::{DispatchItem, StoreError};
use sqlx::Row;

use crate::connect::Pool;
use crate::error::map_err;
use crate::{rows, SqlStore};

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Due, unleased rows that are the earliest pending row of their message (Q-160: per-message
/// order). `$1` node, `$2` lease end, `$3` now, `$4` limit; `{lock}` is PostgreSQL's row lock.
fn claim_sql(lock: &str) -> String {
    format!(
        "UPDATE event_dispatch SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE seq IN (SELECT d.seq FROM event_dispatch d \
           WHERE d.due_at <= $3 AND d.lease_until <= $3 \
             AND NOT EXISTS (SELECT 1 FROM event_dispatch e WHERE e.account_id = d.account_id \
               AND e.region = d.region AND e.message_id = d.message_id AND e.seq < d.seq) \
           ORDER BY d.seq LIMIT $4{lock}) \
         RETURNING seq, attempts"
    )
}

const LOAD_SQL: &str = "SELECT d.seq AS seq, d.attempts AS attempts, e.event_id AS event_id, \
     e.account_id AS account_id, e.region AS region, e.message_id AS message_id, \
     e.event_type AS event_type, e.timestamp AS timestamp, e.data AS data \
     FROM event_dispatch d JOIN events e ON e.event_id = d.event_id \
     WHERE d.lease_owner = $1 AND d.lease_until = $2 ORDER BY d.seq";

macro_rules! load_claimed {
    ($exec:expr, $node:expr, $lease_until:expr) => {{
        let found = sqlx::query(LOAD_SQL)
            .bind($node)
            .bind($lease_until)
            .fetch_all($exec)
            .await
            .map_err(map_err)?;
        found
            .iter()
            .map(|r| {
                let scope = rows::scope(r)?;
                Ok(DispatchItem {
                    seq: r.try_get::<i64, _>("seq").map_err(map_err)?,
                    attempts: r.try_get::<i64, _>("attempts").map_err(map_err)? - 1,
                    event: rows::event(r, &scope)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?
    }};
}

impl SqlStore {
    pub(crate) async fn claim_event_dispatch_rows(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DispatchItem>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The lease end doubles as the claim's token: LOAD_SQL reads back exactly the rows this
        // call leased (a node claims one batch at a time, and `now_ms` moves forward).
        let lease_until = now_ms.saturating_add(lease_ms);
        let (claimed, items) = match &self.pool {
            Pool::Sqlite(pool) => {
                let _turn = self.sqlite_write_turn().await?;
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
                let claimed: Vec<i64> = sqlx::query(&claim_sql(""))
                    .bind(node)
                    .bind(lease_until)
                    .bind(now_ms)
                    .bind(limit_param(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .iter()
                    .map(|r| r.try_get::<i64, _>("seq").map_err(map_err))
                    .collect::<Result<_, _>>()?;
                let items = load_claimed!(&mut *tx, node, lease_until);
                tx.commit().await.map_err(map_err)?;
                (claimed, items)
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(map_err)?;
                let claimed: Vec<i64> = sqlx::query(&claim_sql(" FOR UPDATE OF d SKIP LOCKED"))
                    .bind(node)
                    .bind(lease_until)
                    .bind(now_ms)
                    .bind(limit_param(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .iter()
                    .map(|r| r.try_get::<i64, _>("seq").map_err(map_err))
                    .collect::<Result<_, _>>()?;
                let items = load_claimed!(&mut *tx, node, lease_until);
                tx.commit().await.map_err(map_err)?;
                (claimed, items)
            }
        };
        if claimed.len() != items.len() {
            // Rows whose event is gone (events pruned before they were dispatched): nothing
            // left to publish, drop them so they do not block their message.
            let orphans: Vec<i64> = claimed
                .into_iter()
                .filter(|s| !items.iter().any(|i| i.seq == *s))
                .collect();
            self.finish_event_dispatch_rows(node, &orphans).await?;
        }
        Ok(items)
    }

    pub(crate) async fn finish_event_dispatch_rows(
        &self,
        node: &str,
        seqs: &[i64],
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        for chunk in seqs.chunks(256) {
            n += with_pool!(self, pool => {
                let mut qb = sqlx::QueryBuilder::new("DELETE FROM event_dispatch WHERE lease_owner = ");
                qb.push_bind(node).push(" AND seq IN (");
                let mut sep = qb.separated(", ");
                for s in chunk {
                    sep.push_bind(*s);
                }
                qb.push(")");
                qb.build().execute(pool).await.map_err(map_err)?.rows_affected()
            });
        }
        Ok(n)
    }

    pub(crate) async fn retry_event_dispatch_row(
        &self,
        node: &str,
        seq: i64,
        due_at: i64,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE event_dispatch SET due_at = $1, lease_owner = NULL, lease_until = 0 \
                 WHERE seq = $2 AND lease_owner = $3",
            )
            .bind(due_at)
            .bind(seq)
            .bind(node)
            .execute(pool)
            .await
            .map_err(map_err)?
            .rows_affected()
        });
        Ok(n == 1)
    }
}
