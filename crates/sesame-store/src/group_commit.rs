//! Group commit for `accept_messages` (STYLE principle 2: "reply only after fsync plus commit,
//! with group commit for throughput") and for `finish_message` (the delivery path: every
//! delivered message is moved to the sent-message log with its events in a durable commit).
//!
//! Every accepted message needs a durable commit before its 200/250, and a commit costs a
//! device flush (~1–10 ms). Concurrent callers therefore hand their batches to one committer
//! task per store: while a transaction is in flight the next callers queue up, and the next
//! round commits all of them in one transaction. A lone caller waits for no timer. If a merged
//! transaction fails, each caller's batch is retried on its own so one bad batch cannot fail
//! its neighbours.

use std::sync::{Arc, OnceLock};

use sesame_model::{AcceptOutcome, EventRecord, QueuedMessage, QuotaCheck, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::connect::SqlStore;
use crate::sending::ItemJson;

/// Most messages merged into one transaction.
const MAX_ITEMS_PER_COMMIT: usize = 512;
/// Bounded queue of waiting callers: ingress slows before memory grows.
const QUEUE_DEPTH: usize = 4096;

type Batch = Vec<(QueuedMessage, QuotaCheck, Vec<EventRecord>)>;

pub(crate) struct Job {
    batch: Batch,
    /// The JSON of each item of `batch`, made by the caller.
    json: Vec<ItemJson>,
    /// Empty, or one body per item of `batch` (`Store::accept_messages_with_bodies`).
    bodies: Vec<Vec<u8>>,
    now_ms: i64,
    reply: oneshot::Sender<Result<Vec<AcceptOutcome>, StoreError>>,
}

/// One finished message (see `SqlStore::finish_rows`).
#[derive(Clone, Debug)]
pub(crate) struct FinishItem {
    pub node: String,
    pub message_id: String,
    pub events: Vec<EventRecord>,
}

pub(crate) struct FinishJob {
    item: FinishItem,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The committer handles shared by clones of a store.
#[derive(Clone, Default)]
pub(crate) struct GroupCommit {
    tx: Arc<OnceLock<mpsc::Sender<Job>>>,
    finish_tx: Arc<OnceLock<mpsc::Sender<FinishJob>>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Job({} items)", self.batch.len())
    }
}

impl SqlStore {
    /// Accepts `batch` through the committer (see the module docs).
    pub(crate) async fn accept_grouped(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        bodies: Vec<Vec<u8>>,
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        if !bodies.is_empty() && bodies.len() != batch.len() {
            return Err(StoreError::Backend(format!(
                "{} bodies for {} messages",
                bodies.len(),
                batch.len()
            )));
        }
        let tx = self.group.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
            tokio::spawn(committer(self.clone(), rx));
            tx
        });
        let json = batch
            .iter()
            .map(|(m, _, events)| ItemJson::of(m, events))
            .collect::<Result<Vec<_>, _>>()?;
        let (reply, wait) = oneshot::channel();
        let job = Job {
            batch: batch.to_vec(),
            json,
            bodies,
            now_ms,
            reply,
        };
        tx.send(job)
            .await
            .map_err(|_| StoreError::Backend("the commit task has stopped".into()))?;
        wait.await
            .map_err(|_| StoreError::Backend("the commit task dropped the request".into()))?
    }
}

impl SqlStore {
    /// Finishes one message through the finish committer: concurrent deliveries that end at
    /// the same time share one transaction (one fsync) instead of one each.
    pub(crate) async fn finish_grouped(
        &self,
        node: &str,
        message_id: &str,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let tx = self.group.finish_tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
            tokio::spawn(finish_committer(self.clone(), rx));
            tx
        });
        let (reply, wait) = oneshot::channel();
        let job = FinishJob {
            item: FinishItem {
                node: node.to_string(),
                message_id: message_id.to_string(),
                events: events.to_vec(),
            },
            reply,
        };
        tx.send(job)
            .await
            .map_err(|_| StoreError::Backend("the commit task has stopped".into()))?;
        wait.await
            .map_err(|_| StoreError::Backend("the commit task dropped the request".into()))?
    }
}

async fn finish_committer(store: SqlStore, mut rx: mpsc::Receiver<FinishJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_ITEMS_PER_COMMIT {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let items: Vec<FinishItem> = jobs.iter().map(|j| j.item.clone()).collect();
        match store.finish_rows(&items).await {
            Ok(results) if results.len() == jobs.len() => {
                for (j, r) in jobs.into_iter().zip(results) {
                    let _ = j.reply.send(r);
                }
            }
            _ => {
                // Isolate the failure: each message in its own transaction.
                for j in jobs {
                    let r = store
                        .finish_row(&j.item.node, &j.item.message_id, &j.item.events)
                        .await;
                    let _ = j.reply.send(r);
                }
            }
        }
    }
}

async fn committer(store: SqlStore, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut items = first.batch.len();
        let mut bytes: usize = first.bodies.iter().map(Vec::len).sum();
        let mut jobs = vec![first];
        while items < MAX_ITEMS_PER_COMMIT && bytes < MAX_BODY_BYTES_PER_COMMIT {
            match rx.try_recv() {
                Ok(j) => {
                    items += j.batch.len();
                    bytes += j.bodies.iter().map(Vec::len).sum::<usize>();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let now = jobs.iter().map(|j| j.now_ms).max().unwrap_or_default();
        let merged: Vec<AcceptItem<'_>> = jobs.iter().flat_map(Job::items).collect();
        match store.accept_rows(&merged, now).await {
            Ok(outcomes) if outcomes.len() == merged.len() => {
                drop(merged);
                let mut rest = outcomes.as_slice();
                for j in jobs {
                    let (mine, tail) = rest.split_at(j.batch.len());
                    rest = tail;
                    let _ = j.reply.send(Ok(mine.to_vec()));
                }
            }
            Err(e) if jobs.len() == 1 => {
                drop(merged);
                let j = jobs.pop().expect("one job");
                let _ = j.reply.send(Err(e));
            }
            _ => {
                drop(merged);
                // Isolate the failure: each caller's batch in its own transaction.
                for j in jobs {
                    let items: Vec<AcceptItem<'_>> = j.items().collect();
                    let r = store.accept_rows(&items, j.now_ms).await;
                    drop(items);
                    let _ = j.reply.send(r);
                }
            }
        }
    }
}

/// Most body bytes merged into one accepting transaction: a round of large messages commits
/// in parts rather than as one huge transaction.
const MAX_BODY_BYTES_PER_COMMIT: usize = 32 * 1024 * 1024;

/// One message of an accepting transaction, borrowed from its caller's job.
pub(crate) struct AcceptItem<'a> {
    pub message: &'a QueuedMessage,
    pub check: &'a QuotaCheck,
    pub events: &'a [EventRecord],
    /// Inserted into `message_bodies` when the item is accepted.
    pub body: Option<&'a [u8]>,
    pub json: &'a ItemJson,
}

impl Job {
    fn items(&self) -> impl Iterator<Item = AcceptItem<'_>> {
        self.batch
            .iter()
            .enumerate()
            .map(|(i, (message, check, events))| AcceptItem {
                message,
                check,
                events,
                body: self.bodies.get(i).map(Vec::as_slice),
                json: &self.json[i],
            })
    }
}
