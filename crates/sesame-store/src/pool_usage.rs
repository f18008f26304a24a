//! Queries on `managed_pool_usage`: the hourly counters of managed dedicated IP pools (spec
//! F-37..F-48, SH-4; DECISIONS Q-133; `migrations/*/0012_managed_pool_usage.sql`).

use crate::error::map_err;
use crate::rows::Columns;
use crate::SqlStore;
use sesame_model::{PoolUsage, PoolUsageCounts, Scope, StoreError};

const UPSERT: &str = "INSERT INTO managed_pool_usage \
    (account_id, region, pool, isp, hour, ip, sent, delivered, throttled, deferred) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
    ON CONFLICT (account_id, region, pool, isp, hour, ip) DO UPDATE SET \
    sent = managed_pool_usage.sent + excluded.sent, \
    delivered = managed_pool_usage.delivered + excluded.delivered, \
    throttled = managed_pool_usage.throttled + excluded.throttled, \
    deferred = managed_pool_usage.deferred + excluded.deferred";

/// The limited form: an existing row is only updated while its new `sent` stays within `$11`,
/// and a refused update returns no row (the `ip_usage` technique: the database serialises
/// concurrent updates of the row, so what racing nodes are granted never exceeds the limit).
fn upsert_limited() -> String {
    format!("{UPSERT} WHERE managed_pool_usage.sent + excluded.sent <= $11 RETURNING sent")
}

const SELECT: &str = "SELECT pool, ip, isp, hour, sent, delivered, throttled, deferred \
    FROM managed_pool_usage WHERE account_id = $1 AND region = $2 AND pool = $3 AND hour >= $4";

/// SQL integers are signed 64-bit.
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count(r: &impl Columns, col: &str) -> Result<u64, StoreError> {
    Ok(r.int(col)?.max(0) as u64)
}

fn decode(r: &impl Columns) -> Result<PoolUsage, StoreError> {
    Ok(PoolUsage {
        pool: r.text("pool")?,
        ip: r.text("ip")?,
        isp: r.text("isp")?,
        hour: r.int("hour")?,
        counts: PoolUsageCounts {
            sent: count(r, "sent")?,
            delivered: count(r, "delivered")?,
            throttled: count(r, "throttled")?,
            deferred: count(r, "deferred")?,
        },
    })
}

impl SqlStore {
    pub(crate) async fn add_pool_usage_row(
        &self,
        scope: &Scope,
        u: &PoolUsage,
        sent_limit: Option<u64>,
    ) -> Result<bool, StoreError> {
        if u.counts.is_zero() {
            return Ok(true);
        }
        if sent_limit.is_some_and(|l| u.counts.sent > l) {
            // The insert branch of the upsert has no WHERE: refuse here what could never fit.
            return Ok(false);
        }
        let limited = upsert_limited();
        let sql = if sent_limit.is_some() {
            limited.as_str()
        } else {
            UPSERT
        };
        with_pool!(self, pool => {
            let q = sqlx::query(sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(&u.pool)
                .bind(&u.isp)
                .bind(u.hour)
                .bind(&u.ip)
                .bind(int(u.counts.sent))
                .bind(int(u.counts.delivered))
                .bind(int(u.counts.throttled))
                .bind(int(u.counts.deferred));
            match sent_limit {
                Some(l) => Ok(q
                    .bind(int(l))
                    .fetch_optional(pool)
                    .await
                    .map_err(map_err)?
                    .is_some()),
                None => {
                    q.execute(pool).await.map_err(map_err)?;
                    Ok(true)
                }
            }
        })
    }

    pub(crate) async fn pool_usage_rows(
        &self,
        scope: &Scope,
        pool_name: &str,
        isp: Option<&str>,
        since_hour: i64,
    ) -> Result<Vec<PoolUsage>, StoreError> {
        let sql = match isp {
            Some(_) => format!("{SELECT} AND isp = $5 ORDER BY hour, isp, ip"),
            None => format!("{SELECT} ORDER BY hour, isp, ip"),
        };
        with_pool!(self, pool => {
            let mut q = sqlx::query(&sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(pool_name)
                .bind(since_hour);
            if let Some(isp) = isp {
                q = q.bind(isp);
            }
            let rows = q.fetch_all(pool).await.map_err(map_err)?;
            rows.iter().map(decode).collect()
        })
    }

    pub(crate) async fn delete_pool_usage_rows(
        &self,
        scope: &Scope,
        pool_name: &str,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let r = sqlx::query(
                "DELETE FROM managed_pool_usage WHERE account_id = $1 AND region = $2 AND pool = $3",
            )
            .bind(scope.account.as_str())
            .bind(scope.region.as_str())
            .bind(pool_name)
            .execute(pool)
            .await
            .map_err(map_err)?;
            Ok(r.rows_affected())
        })
    }

    pub(crate) async fn prune_pool_usage_rows(&self, before_hour: i64) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let r = sqlx::query("DELETE FROM managed_pool_usage WHERE hour < $1")
                .bind(before_hour)
                .execute(pool)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected())
        })
    }
}
