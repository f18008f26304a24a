//! Operator queries on the queue (`sesame queue list/show/retry/delete`, `/metrics` gauges) and
//! the tombstones of deleted messages (schema: `migrations/*/0003_queue_tombstones.sql`).
//!
//! None of these ever takes a live lease away from a delivery, except `delete_queued` with
//! `force`: every write is one conditional statement whose condition includes "no live lease"
//! (`lease_until IS NULL OR lease_until < now`, the claim condition of `claim_rows`). On
//! PostgreSQL a concurrent claim and an operator write lock the same row, and READ COMMITTED
//! re-checks the loser's condition against the winner's row, so a message cannot be claimed and
//! deleted at once; on SQLite the write lock serialises them.

use sesame_model::{QueueCursor, QueueEntry, QueueFilter, QueueStats, StoreError};
use sqlx::{ColumnIndex, Decode, Executor, Row, Type};

use crate::connect::Pool;
use crate::error::map_err;
use crate::rows::{self, Columns};
use crate::SqlStore;

/// The queue columns of `sending.rs` plus the lease.
const ENTRY_COLUMNS: &str = "message_id, account_id, region, mail_from, recipients, meta, \
     created_at, next_attempt_at, attempts, lease_owner, lease_until";

/// "No live lease at `$n`" — the complement of what makes a message in delivery.
fn free_at(n: usize) -> String {
    format!("(lease_until IS NULL OR lease_until < ${n})")
}

fn entry<R>(row: &R) -> Result<QueueEntry, StoreError>
where
    R: Row + Columns,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(QueueEntry {
        message: rows::queued_message(row)?,
        lease_owner: row.opt_text("lease_owner")?,
        lease_until: row.try_get("lease_until").map_err(map_err)?,
    })
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl SqlStore {
    pub(crate) async fn list_queue_rows(
        &self,
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        limit: usize,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if filter.account.is_some() {
            conditions.push(format!("account_id = ${}", next()));
        }
        if filter.region.is_some() {
            conditions.push(format!("region = ${}", next()));
        }
        if after.is_some() {
            let (t, id) = (next(), next());
            conditions.push(format!(
                "(next_attempt_at > ${t} OR (next_attempt_at = ${t} AND message_id > ${id}))"
            ));
        }
        let limit_at = next();
        let filter_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {} ", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM queue {filter_sql}\
             ORDER BY next_attempt_at, message_id LIMIT ${limit_at}"
        );
        with_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            if let Some(a) = &filter.account {
                q = q.bind(a.as_str());
            }
            if let Some(r) = &filter.region {
                q = q.bind(r.as_str());
            }
            if let Some(c) = after {
                q = q.bind(c.next_attempt_at).bind(c.message_id.as_str());
            }
            let found = q.bind(limit_param(limit)).fetch_all(pool).await.map_err(map_err)?;
            found.iter().map(entry).collect()
        })
    }

    pub(crate) async fn get_queued_row(
        &self,
        message_id: &str,
    ) -> Result<Option<QueueEntry>, StoreError> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM queue WHERE message_id = $1");
        with_pool!(self, pool => {
            let found = sqlx::query(&sql)
                .bind(message_id)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            found.as_ref().map(entry).transpose()
        })
    }

    pub(crate) async fn retry_queued_now_rows(
        &self,
        message_id: Option<&str>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let sql = match message_id {
            None => format!(
                "UPDATE queue SET next_attempt_at = $1 WHERE next_attempt_at > $1 AND {}",
                free_at(1)
            ),
            Some(_) => format!(
                "UPDATE queue SET next_attempt_at = $1 WHERE message_id = $2 \
                 AND next_attempt_at > $1 AND {}",
                free_at(1)
            ),
        };
        let moved = with_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(now_ms);
            if let Some(id) = message_id {
                q = q.bind(id);
            }
            q.execute(pool).await.map_err(map_err)?.rows_affected()
        });
        if let (0, Some(id)) = (moved, message_id) {
            // Nothing moved: say why (gone, in delivery, or simply already due).
            return match self.get_queued_row(id).await? {
                None => Err(StoreError::NotFound),
                Some(e) if e.in_delivery(now_ms) => Err(StoreError::Conflict),
                Some(_) => Ok(0),
            };
        }
        Ok(moved)
    }

    pub(crate) async fn delete_queued_row(
        &self,
        message_id: &str,
        force: bool,
        now_ms: i64,
    ) -> Result<QueueEntry, StoreError> {
        let delete = format!(
            "DELETE FROM queue WHERE message_id = $1 AND ($2 OR {}) RETURNING {ENTRY_COLUMNS}",
            free_at(3)
        );
        const TOMBSTONE: &str = "INSERT INTO queue_tombstones (message_id, created_at, \
             deleted_at) VALUES ($1, $2, $3) ON CONFLICT (message_id) DO NOTHING";
        // Classify a refusal inside the transaction, so the answer matches what was refused.
        let lookup = format!("SELECT {ENTRY_COLUMNS} FROM queue WHERE message_id = $1");
        macro_rules! body {
            ($tx:ident) => {{
                let found = (&mut *$tx)
                    .fetch_optional(
                        sqlx::query(&delete)
                            .bind(message_id)
                            .bind(force)
                            .bind(now_ms),
                    )
                    .await
                    .map_err(map_err)?;
                let Some(row) = found else {
                    let still = (&mut *$tx)
                        .fetch_optional(sqlx::query(&lookup).bind(message_id))
                        .await
                        .map_err(map_err)?;
                    return Err(if still.is_some() {
                        StoreError::Conflict
                    } else {
                        StoreError::NotFound
                    });
                };
                let removed = entry(&row)?;
                (&mut *$tx)
                    .execute(
                        sqlx::query(TOMBSTONE)
                            .bind(message_id)
                            .bind(removed.message.created_at)
                            .bind(now_ms),
                    )
                    .await
                    .map_err(map_err)?;
                $tx.commit().await.map_err(map_err)?;
                Ok(removed)
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool) => {
                let _turn = self.sqlite_write_turn().await?;
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
                body!(tx)
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(map_err)?;
                body!(tx)
            }
        }
    }

    pub(crate) async fn queue_tombstone_rows(
        &self,
        created_before: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT message_id FROM queue_tombstones WHERE created_at < $1 \
             ORDER BY created_at, message_id LIMIT $2";
        with_pool!(self, pool => {
            let found = sqlx::query(SQL)
                .bind(created_before)
                .bind(limit_param(limit))
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
            found.iter().map(|r| r.text("message_id")).collect()
        })
    }

    pub(crate) async fn clear_queue_tombstone_rows(
        &self,
        message_ids: &[String],
    ) -> Result<u64, StoreError> {
        let mut removed = 0;
        // 500 binds per statement: far below both backends' parameter limits.
        for chunk in message_ids.chunks(500) {
            let marks = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("DELETE FROM queue_tombstones WHERE message_id IN ({marks})");
            removed += with_pool!(self, pool => {
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.execute(pool).await.map_err(map_err)?.rows_affected()
            });
        }
        Ok(removed)
    }

    /// One scan of `queue` (no index serves MIN(created_at)) and a count of the publishing
    /// outbox; `/metrics` caches the answer.
    pub(crate) async fn queue_stats_rows(&self, now_ms: i64) -> Result<QueueStats, StoreError> {
        const SQL: &str = "SELECT COUNT(*) AS depth, \
             CAST(COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
               AS deferred, \
             CAST(COALESCE(SUM(CASE WHEN lease_until >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) \
               AS in_delivery, \
             MIN(created_at) AS oldest, \
             (SELECT COUNT(*) FROM event_dispatch) AS backlog, \
             (SELECT MIN(e.timestamp) FROM event_dispatch d JOIN events e \
                ON e.event_id = d.event_id) AS backlog_oldest FROM queue";
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        with_pool!(self, pool => {
            let row = sqlx::query(SQL)
                .bind(now_ms)
                .fetch_one(pool)
                .await
                .map_err(map_err)?;
            Ok(QueueStats {
                depth: count(row.int("depth")?),
                deferred: count(row.int("deferred")?),
                in_delivery: count(row.int("in_delivery")?),
                oldest_created_at: row.try_get("oldest").map_err(map_err)?,
                publishing_backlog: count(row.int("backlog")?),
                publishing_oldest_at: row.try_get("backlog_oldest").map_err(map_err)?,
            })
        })
    }
}
