//! Message bodies in the database (`message_bodies`, migration 0010): the [`BodyStore`] that
//! `sesame serve` uses, replacing one spool file per message.
//!
//! Why: under load the file spool cost a file create, a rename and an unlink per message, and on
//! ext4 the inode allocator's search for inodes that were not "recently deleted" took a fifth of
//! the CPU of the delivery benchmark (bench/README.md). A row costs a few WAL pages instead, and
//! every node sharing a PostgreSQL database can read every body, so a message accepted on one
//! node can be delivered by another.
//!
//! - The send path stores a body in its queue row's transaction
//!   (`Store::accept_messages_with_bodies`, [`BodyStore::written_with_queue_row`]), so one
//!   commit makes both durable. [`BodyStore::write_body`] is the standalone write (one
//!   transaction, durable when it returns) for callers that have no queue row to join.
//! - The transaction that finishes a message (`finish_message`) deletes its body;
//!   [`BodyStore::remove_body`] is for the other paths (a failed send, `sesame queue delete`)
//!   and is idempotent.
//! - A body whose queue row never committed (the send failed after its body was written, or the
//!   process died in between; the client got no acknowledgement) is an orphan:
//!   [`SqlBodies::sweep_orphans`] removes those older than a grace period.

use std::collections::HashMap;

use async_trait::async_trait;
use sesame_model::{BodyStore, StoreError};
use sqlx::Row;

use crate::connect::{Pool, SqlStore};
use crate::error::map_err;

/// Ids per `IN (…)` list of [`SqlBodies::prefetch_bodies`].
const PREFETCH_CHUNK: usize = 500;

/// Message bodies kept in the store's database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqlBodies {
    store: SqlStore,
}

impl SqlStore {
    /// The body store on this database.
    pub fn bodies(&self) -> SqlBodies {
        SqlBodies {
            store: self.clone(),
        }
    }

    async fn write_body_row(&self, id: &str, body: &[u8], now_ms: i64) -> Result<(), StoreError> {
        let _turn = match &self.pool {
            crate::connect::Pool::Sqlite(_) => Some(self.sqlite_write_turn().await?),
            crate::connect::Pool::Postgres(_) => None,
        };
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO message_bodies (message_id, created_at, body) VALUES ($1, $2, $3) \
                 ON CONFLICT (message_id) DO UPDATE SET body = excluded.body, \
                 created_at = excluded.created_at",
            )
            .bind(id)
            .bind(now_ms)
            .bind(body)
            .execute(pool)
            .await
            .map_err(map_err)?;
            Ok(())
        })
    }
}

impl SqlBodies {
    /// Deletes bodies written before `before_ms` whose message is not queued (see the module
    /// docs). Returns how many were removed.
    pub async fn sweep_orphans(&self, before_ms: i64) -> Result<u64, StoreError> {
        with_pool!(self.store, pool => {
            Ok(sqlx::query(
                "DELETE FROM message_bodies WHERE created_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM queue WHERE queue.message_id = message_bodies.message_id)",
            )
            .bind(before_ms)
            .execute(pool)
            .await
            .map_err(map_err)?
            .rows_affected())
        })
    }
}

fn io_error(e: StoreError) -> std::io::Error {
    match e {
        StoreError::NotFound => std::io::Error::new(std::io::ErrorKind::NotFound, "no such body"),
        other => std::io::Error::other(other.to_string()),
    }
}

#[async_trait]
impl BodyStore for SqlBodies {
    async fn write_body(&self, id: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        self.store
            .write_body_row(id, &bytes, crate::connect::now_ms())
            .await
            .map_err(io_error)
    }

    async fn read_body(&self, id: &str) -> std::io::Result<Vec<u8>> {
        let row = with_pool!(self.store, pool => {
            sqlx::query("SELECT body FROM message_bodies WHERE message_id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(map_err)
                .map_err(io_error)?
                .map(|r| r.try_get::<Vec<u8>, _>("body"))
        });
        match row {
            Some(Ok(body)) => Ok(body),
            Some(Err(e)) => Err(std::io::Error::other(e.to_string())),
            None => Err(io_error(StoreError::NotFound)),
        }
    }

    /// One query per [`PREFETCH_CHUNK`] ids; the size condition is checked by the database
    /// (`length`/`octet_length` of a stored value do not read the value itself).
    async fn prefetch_bodies(
        &self,
        ids: &[String],
        max_each: usize,
    ) -> std::io::Result<HashMap<String, Vec<u8>>> {
        let mut out = HashMap::with_capacity(ids.len());
        let length = match &self.store.pool {
            Pool::Sqlite(_) => "length",
            Pool::Postgres(_) => "octet_length",
        };
        for chunk in ids.chunks(PREFETCH_CHUNK) {
            let sql = format!(
                "SELECT message_id, body FROM message_bodies WHERE {length}(body) <= $1 \
                 AND message_id IN ({})",
                crate::sending::placeholders(2, chunk.len())
            );
            let rows = with_pool!(self.store, pool => {
                let mut q = sqlx::query(&sql).bind(max_each as i64);
                for id in chunk {
                    q = q.bind(id);
                }
                let mut rows = Vec::new();
                for r in q.fetch_all(pool).await.map_err(map_err).map_err(io_error)? {
                    let id: String = r.try_get("message_id").map_err(|e| std::io::Error::other(e.to_string()))?;
                    let body: Vec<u8> = r.try_get("body").map_err(|e| std::io::Error::other(e.to_string()))?;
                    rows.push((id, body));
                }
                rows
            });
            out.extend(rows);
        }
        Ok(out)
    }

    fn removed_with_message(&self) -> bool {
        true
    }

    fn written_with_queue_row(&self) -> bool {
        true
    }

    async fn remove_body(&self, id: &str) -> std::io::Result<()> {
        with_pool!(self.store, pool => {
            sqlx::query("DELETE FROM message_bodies WHERE message_id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map_err(map_err)
                .map_err(io_error)?;
        });
        Ok(())
    }
}
