//! The sent-message log (schema: `migrations/*/0003_message_log.sql`): where a message's queue
//! row goes when it leaves the queue, so asynchronous feedback (DSNs, ARF reports; DECISIONS
//! ) that arrives minutes or days later still finds its scope, envelope and meta.
//!
//! `finish_message` (`finish_rows` in `sending.rs`) copies the leased queue rows into it inside
//! the transaction that deletes them; this file reads and prunes it.

use sesame_model::{QueuedMessage, StoreError};

use crate::error::map_err;
use crate::rows;
use crate::SqlStore;

const QUEUE_SQL: &str = "SELECT message_id, account_id, region, mail_from, recipients, meta, \
     created_at, next_attempt_at, attempts FROM queue WHERE message_id = $1";

/// A log row in the queue's shape: `next_attempt_at` is the time the message left the queue.
const LOG_SQL: &str = "SELECT message_id, account_id, region, mail_from, recipients, meta, \
     created_at, finished_at AS next_attempt_at, attempts FROM message_log WHERE message_id = $1";

impl SqlStore {
    /// Queue first, then the log. Two reads without a transaction: a message finished between
    /// them is found in the log by the second (the copy commits with the delete), so it is
    /// never missed.
    pub(crate) async fn find_message_row(
        &self,
        message_id: &str,
    ) -> Result<Option<(QueuedMessage, bool)>, StoreError> {
        with_pool!(self, pool => {
            if let Some(row) = sqlx::query(QUEUE_SQL)
                .bind(message_id)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?
            {
                return Ok(Some((rows::queued_message(&row)?, true)));
            }
            let row = sqlx::query(LOG_SQL)
                .bind(message_id)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.map(|r| Ok((rows::queued_message(&r)?, false))).transpose()
        })
    }

    pub(crate) async fn prune_message_log_rows(
        &self,
        older_than_ms: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query("DELETE FROM message_log WHERE finished_at < $1")
                .bind(older_than_ms)
                .execute(pool)
                .await
                .map_err(map_err)?;
            Ok(done.rows_affected())
        })
    }
}
