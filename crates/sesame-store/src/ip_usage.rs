//! Queries on `ip_usage`: the per-(scope, source IP, UTC day) message counters behind dedicated
//! IP warm-up caps (spec F-20, SH-4; DECISIONS Q-132).

use sesame_model::{Scope, StoreError};
use sqlx::Row;

use crate::error::map_err;
use crate::SqlStore;

/// Counters older than this many days before the day being written are deleted.
const KEEP_DAYS: i64 = 7;

/// The cap check and the increment are one upsert: an existing row is only updated while the
/// new total stays within `$6`, and a refused update returns no row. Of N nodes racing for the
/// last units of a day's cap, the database serialises the row updates, so the sum of what they
/// were granted never exceeds the cap. `RETURNING sent` tells a fresh row (sent = count) apart,
/// which is when old days are pruned, once per (scope, ip) and day.
const ADD: &str = "INSERT INTO ip_usage (account_id, region, ip, day, sent) \
    VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT (account_id, region, ip, day) DO UPDATE SET sent = ip_usage.sent + excluded.sent \
    WHERE ip_usage.sent + excluded.sent <= $6 \
    RETURNING sent";

const PRUNE: &str =
    "DELETE FROM ip_usage WHERE account_id = $1 AND region = $2 AND ip = $3 AND day < $4";

const GET: &str =
    "SELECT sent FROM ip_usage WHERE account_id = $1 AND region = $2 AND ip = $3 AND day = $4";

/// SQL integers are signed 64-bit.
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqlStore {
    pub(crate) async fn add_ip_sends_row(
        &self,
        scope: &Scope,
        ip: &str,
        day: i64,
        count: u64,
        limit: u64,
    ) -> Result<bool, StoreError> {
        if count == 0 {
            return Ok(true);
        }
        if count > limit {
            // The insert branch of the upsert has no WHERE: refuse here what could never fit.
            return Ok(false);
        }
        let sent: Option<i64> = with_pool!(self, pool => {
            let row = sqlx::query(ADD)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(ip)
                .bind(day)
                .bind(int(count))
                .bind(int(limit))
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.map(|r| r.try_get::<i64, _>(0)).transpose().map_err(map_err)?
        });
        let Some(sent) = sent else {
            return Ok(false);
        };
        if sent == int(count) {
            with_pool!(self, pool => {
                sqlx::query(PRUNE)
                    .bind(scope.account.as_str())
                    .bind(scope.region.as_str())
                    .bind(ip)
                    .bind(day - KEEP_DAYS)
                    .execute(pool)
                    .await
                    .map_err(map_err)?;
            });
        }
        Ok(true)
    }

    pub(crate) async fn ip_sends_row(
        &self,
        scope: &Scope,
        ip: &str,
        day: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query(GET)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(ip)
                .bind(day)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            match row {
                Some(r) => Ok(r.try_get::<i64, _>(0).map_err(map_err)?.max(0) as u64),
                None => Ok(0),
            }
        })
    }
}
