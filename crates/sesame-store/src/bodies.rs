//! Message bodies in the database (`message_bodies`, migration 0010): the [`BodyStore`] that
//! `sesame serve` uses, replacing one spool file per message.
//!
//! Why: under load the file spool cost a file create, a rename and an unlink per message, and on
//! ext4 the inode allocator's search for inodes that were not "recently deleted" took a fifth of
//! the CPU of the delivery benchmark (bench/README.md). A row costs a few WAL pages instead, and
//! every node sharing a PostgreSQL database can read every body, so a message accepted on one
//! node can be delivered by another.
//!
//! - [`BodyStore::write_body`] goes through a committer task like `accept_messages`
//!   (`group_commit.rs`): concurrent writes share one transaction, and the call returns once it
//!   committed — durable (SQLite `synchronous=FULL`, PostgreSQL's commit) before the send is
//!   acknowledged. The send path runs it at the same time as the queue row's own commit.
//! - The transaction that finishes a message (`finish_message`) deletes its body;
//!   [`BodyStore::remove_body`] is for the other paths (a failed send, `sesame queue delete`)
//!   and is idempotent.
//! - A body whose queue row never committed (the send failed after its body was written, or the
//!   process died in between; the client got no acknowledgement) is an orphan:
//!   [`SqlBodies::sweep_orphans`] removes those older than a grace period.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use sesame_model::{BodyStore, StoreError};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::connect::SqlStore;
use crate::error::map_err;

/// Most bodies merged into one transaction, and most bytes: a round of large messages commits
/// in parts rather than building one huge transaction.
const MAX_ITEMS_PER_COMMIT: usize = 256;
const MAX_BYTES_PER_COMMIT: usize = 32 * 1024 * 1024;
/// Bounded queue of waiting writers: ingress slows before memory grows.
const QUEUE_DEPTH: usize = 1024;

struct Write {
    id: String,
    body: Vec<u8>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The body committer handle shared by clones of a store.
#[derive(Clone, Default)]
pub(crate) struct BodyWriter {
    tx: Arc<OnceLock<mpsc::Sender<Write>>>,
}

impl std::fmt::Debug for BodyWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyWriter")
    }
}

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

    async fn write_bodies(&self, items: &[(&str, &[u8])], now_ms: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(map_err)?;
            for (id, body) in items {
                sqlx::query(
                    "INSERT INTO message_bodies (message_id, created_at, body) VALUES ($1, $2, $3) \
                     ON CONFLICT (message_id) DO UPDATE SET body = excluded.body, \
                     created_at = excluded.created_at",
                )
                .bind(*id)
                .bind(now_ms)
                .bind(*body)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)?;
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

    fn committer(&self) -> &mpsc::Sender<Write> {
        self.store.body_writer.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
            tokio::spawn(commit_loop(self.store.clone(), rx));
            tx
        })
    }
}

async fn commit_loop(store: SqlStore, mut rx: mpsc::Receiver<Write>) {
    while let Some(first) = rx.recv().await {
        let mut bytes = first.body.len();
        let mut round = vec![first];
        while round.len() < MAX_ITEMS_PER_COMMIT && bytes < MAX_BYTES_PER_COMMIT {
            match rx.try_recv() {
                Ok(w) => {
                    bytes += w.body.len();
                    round.push(w);
                }
                Err(_) => break,
            }
        }
        let now = crate::connect::now_ms();
        let items: Vec<(&str, &[u8])> = round
            .iter()
            .map(|w| (w.id.as_str(), w.body.as_slice()))
            .collect();
        match store.write_bodies(&items, now).await {
            Ok(()) => {
                for w in round {
                    let _ = w.reply.send(Ok(()));
                }
            }
            Err(_) if round.len() > 1 => {
                // Isolate the failure: each body in its own transaction.
                for w in round {
                    let r = store.write_bodies(&[(&w.id, &w.body)], now).await;
                    let _ = w.reply.send(r);
                }
            }
            Err(e) => {
                for w in round {
                    let _ = w.reply.send(Err(e.clone()));
                }
            }
        }
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
        let (reply, wait) = oneshot::channel();
        self.committer()
            .send(Write {
                id: id.to_string(),
                body: bytes,
                reply,
            })
            .await
            .map_err(|_| std::io::Error::other("the body commit task has stopped"))?;
        wait.await
            .map_err(|_| std::io::Error::other("the body commit task dropped the request"))?
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
