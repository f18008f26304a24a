//! Queries on `verification_schedule`: when each identity's next DNS verification check is due,
//! and the lease that keeps nodes sharing the database from checking one identity twice at
//! once (spec D-39, D-99; DECISIONS Q-81). Same claim pattern as the queue (`sending`): on
//! PostgreSQL `FOR UPDATE SKIP LOCKED`, on SQLite one `BEGIN IMMEDIATE` transaction.

use sesame_model::{Scope, StoreError};

use crate::connect::Pool;
use crate::error::map_err;
use crate::rows;
use crate::SqlStore;

const UPSERT: &str = "INSERT INTO verification_schedule (account_id, region, identity, due_at) \
    VALUES ($1, $2, $3, $4) \
    ON CONFLICT (account_id, region, identity) DO UPDATE SET due_at = excluded.due_at";

const INSERT_IF_ABSENT: &str =
    "INSERT INTO verification_schedule (account_id, region, identity, due_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, region, identity) DO NOTHING";

/// Claims one identity whatever its due time, when nobody holds a live lease on it.
const CLAIM_ONE: &str = "UPDATE verification_schedule SET lease_owner = $4, lease_until = $5 \
    WHERE account_id = $1 AND region = $2 AND identity = $3 AND lease_until <= $6";

const FINISH: &str = "UPDATE verification_schedule SET due_at = $5, lease_owner = NULL, \
    lease_until = 0 WHERE account_id = $1 AND region = $2 AND identity = $3 AND lease_owner = $4";

const FINISH_DELETE: &str = "DELETE FROM verification_schedule \
    WHERE account_id = $1 AND region = $2 AND identity = $3 AND lease_owner = $4";

const DELETE: &str =
    "DELETE FROM verification_schedule WHERE account_id = $1 AND region = $2 AND identity = $3";

const DUE: &str = "SELECT due_at FROM verification_schedule \
    WHERE account_id = $1 AND region = $2 AND identity = $3";

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl SqlStore {
    pub(crate) async fn schedule_verification_row(
        &self,
        scope: &Scope,
        identity: &str,
        due_at: i64,
        only_if_absent: bool,
    ) -> Result<(), StoreError> {
        let sql = if only_if_absent {
            INSERT_IF_ABSENT
        } else {
            UPSERT
        };
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(identity)
                .bind(due_at)
                .execute(pool)
                .await
                .map_err(map_err)?;
        });
        Ok(())
    }

    pub(crate) async fn verification_due_row(
        &self,
        scope: &Scope,
        identity: &str,
    ) -> Result<Option<i64>, StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query(DUE)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(identity)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            match row {
                Some(r) => Ok(Some(sqlx::Row::try_get::<i64, _>(&r, 0).map_err(map_err)?)),
                None => Ok(None),
            }
        })
    }

    pub(crate) async fn claim_verification_rows(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Scope, String)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lease_until = now_ms.saturating_add(lease_ms);
        let sql = |lock: &str| {
            format!(
                "UPDATE verification_schedule SET lease_owner = $1, lease_until = $2 \
                 WHERE (account_id, region, identity) IN \
                 (SELECT account_id, region, identity FROM verification_schedule \
                  WHERE due_at <= $3 AND lease_until <= $3 ORDER BY due_at LIMIT $4{lock}) \
                 RETURNING account_id, region, identity"
            )
        };
        let claimed = match &self.pool {
            Pool::Sqlite(pool) => {
                let _turn = self.sqlite_write_turn().await?;
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
                let found = sqlx::query(&sql(""))
                    .bind(node)
                    .bind(lease_until)
                    .bind(now_ms)
                    .bind(limit_param(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let out = found
                    .iter()
                    .map(|r| Ok((rows::scope(r)?, rows::Columns::text(r, "identity")?)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                tx.commit().await.map_err(map_err)?;
                out
            }
            Pool::Postgres(pool) => {
                let found = sqlx::query(&sql(" FOR UPDATE SKIP LOCKED"))
                    .bind(node)
                    .bind(lease_until)
                    .bind(now_ms)
                    .bind(limit_param(limit))
                    .fetch_all(pool)
                    .await
                    .map_err(map_err)?;
                found
                    .iter()
                    .map(|r| Ok((rows::scope(r)?, rows::Columns::text(r, "identity")?)))
                    .collect::<Result<Vec<_>, StoreError>>()?
            }
        };
        Ok(claimed)
    }

    pub(crate) async fn claim_verification_row(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        // An identity never scheduled (created before this version, or FAILED and finished)
        // gets a row first, so the lease exists for others to see.
        self.schedule_verification_row(scope, identity, now_ms, true)
            .await?;
        let n = with_pool!(self, pool => {
            sqlx::query(CLAIM_ONE)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(identity)
                .bind(node)
                .bind(now_ms.saturating_add(lease_ms))
                .bind(now_ms)
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected()
        });
        Ok(n == 1)
    }

    pub(crate) async fn finish_verification_row(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        next_due: Option<i64>,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(self, pool => {
            let q = match next_due {
                Some(due) => sqlx::query(FINISH)
                    .bind(scope.account.as_str())
                    .bind(scope.region.as_str())
                    .bind(identity)
                    .bind(node)
                    .bind(due),
                None => sqlx::query(FINISH_DELETE)
                    .bind(scope.account.as_str())
                    .bind(scope.region.as_str())
                    .bind(identity)
                    .bind(node),
            };
            q.execute(pool).await.map_err(map_err)?.rows_affected()
        });
        Ok(n == 1)
    }

    pub(crate) async fn delete_verification_row(
        &self,
        scope: &Scope,
        identity: &str,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(self, pool => {
            sqlx::query(DELETE)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(identity)
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected()
        });
        Ok(n == 1)
    }
}
