//! Reads made for a whole claimed batch at once. Without them every delivered message cost
//! two queries of its own — its body, and the account suppression entry of each recipient —
//! and each query is a round trip to a database worker thread (bench/README.md, delivery).
//! [`Engine::prefetch`] makes one query for the bodies of a batch and one per scope for the
//! suppression entries of all its recipients; what it could not read (a large or missing body,
//! a failed query) is read by the message itself, as before.
//!
//! The entries are read when the batch is claimed, just before its messages are delivered: a
//! suppression change made meanwhile applies from the next claim, as one made during a
//! delivery always did.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use sesame_model::{QueuedMessage, Scope};
use sesame_policy::simulator;

use crate::records::kind;
use crate::suppression::{normalize_address, SuppressionRecord};
use crate::{Engine, EngineError};

/// Bodies up to this size are read with their batch; larger ones one by one (a batch of 64
/// then holds at most 16 MiB of bodies on top of what is being delivered).
pub const PREFETCH_BODY_MAX: usize = 256 * 1024;

/// What [`Engine::prefetch`] read for one message. `Default`: nothing (each read is made by
/// the message itself).
#[derive(Debug, Default)]
pub struct Prefetched {
    pub(crate) body: Option<Vec<u8>>,
    /// Normalized address → reason, for the listed addresses among every recipient of the
    /// batch in the message's scope; an address that is absent is not listed.
    pub(crate) listed: Option<Arc<HashMap<String, String>>>,
}

impl Engine {
    /// One [`Prefetched`] per message of `batch`, in order (see the module docs). Never fails:
    /// a query that fails leaves its part to the messages, with a warning.
    pub async fn prefetch(&self, batch: &[QueuedMessage]) -> Vec<Prefetched> {
        let mut out: Vec<Prefetched> = batch.iter().map(|_| Prefetched::default()).collect();
        if batch.is_empty() {
            return out;
        }
        let ids: Vec<String> = batch.iter().map(|m| m.message_id.clone()).collect();
        match self.bodies.prefetch_bodies(&ids, PREFETCH_BODY_MAX).await {
            Ok(mut bodies) => {
                for (m, p) in batch.iter().zip(out.iter_mut()) {
                    p.body = bodies.remove(&m.message_id);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading a batch of bodies failed; each message reads its own")
            }
        }
        // Scopes of the batch (few: usually one), each with the names to look up.
        let mut scopes: Vec<(Scope, BTreeSet<String>)> = Vec::new();
        for m in batch {
            let names = match scopes.iter_mut().find(|(s, _)| *s == m.scope) {
                Some((_, n)) => n,
                None => {
                    scopes.push((m.scope.clone(), BTreeSet::new()));
                    &mut scopes.last_mut().expect("just pushed").1
                }
            };
            for r in &m.recipients {
                if simulator::classify(r, None).is_some() {
                    continue; // never looked up
                }
                if let Ok(n) = normalize_address(r) {
                    names.insert(n);
                }
            }
        }
        for (scope, names) in scopes {
            let names: Vec<String> = names.into_iter().collect();
            let listed = match self.listed_among(&scope, &names).await {
                Ok(l) => Arc::new(l),
                Err(e) => {
                    tracing::warn!(error = %e, "reading a batch of suppression entries failed; each message reads its own");
                    continue;
                }
            };
            for (m, p) in batch.iter().zip(out.iter_mut()) {
                if m.scope == scope {
                    p.listed = Some(listed.clone());
                }
            }
        }
        out
    }

    /// The listed ones of `names` (normalized addresses) with their reasons.
    async fn listed_among(
        &self,
        scope: &Scope,
        names: &[String],
    ) -> Result<HashMap<String, String>, EngineError> {
        if names.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .store
            .get_resources_named(scope, kind::SUPPRESSED_DESTINATION, names)
            .await?;
        rows.into_iter()
            .map(|r| {
                let rec: SuppressionRecord = serde_json::from_value(r.data).map_err(|e| {
                    EngineError::Internal(format!("corrupt suppression entry: {e}"))
                })?;
                Ok((r.key.name, rec.reason))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use sesame_model::Store;

    use super::*;
    use crate::deliver::testkit::{events, fixture, send, sorted, suppress};
    use crate::now_ms;

    /// One batch: every body read at once, byte for byte; the listed recipients of all its
    /// messages with their reasons (domains lower-cased as Q-190 lists them, simulator
    /// addresses never looked up); and delivery with what was read decides as a lookup per
    /// recipient would (Q-189, F-134: `OnAccountSuppressionList`).
    #[tokio::test]
    async fn a_batch_is_read_at_once_and_decides_as_lookups_would() {
        let f = fixture().await;
        suppress(
            &f,
            &[
                ("gone@example.net", "BOUNCE"),
                ("angry@example.net", "COMPLAINT"),
            ],
        )
        .await;
        let first = send(
            &f,
            "sender@example.test",
            &["gone@Example.NET", "fine@example.net"],
            None,
        )
        .await;
        let second = send(
            &f,
            "sender@example.test",
            &["angry@example.net", "success@simulator.amazonses.com"],
            None,
        )
        .await;
        let batch = f
            .store
            .claim_messages("node-a", now_ms(), 60_000, 10)
            .await
            .unwrap();
        assert_eq!(batch.len(), 2);
        let pre = f.engine.prefetch(&batch).await;
        assert_eq!(pre.len(), 2);
        for (m, p) in batch.iter().zip(&pre) {
            let stored = f.bodies.bodies.lock().unwrap()[&m.message_id].clone();
            assert_eq!(p.body.as_deref(), Some(stored.as_slice()));
            let listed = p.listed.as_ref().expect("suppression entries read");
            let mut l: Vec<(&str, &str)> = listed
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            l.sort();
            assert_eq!(
                l,
                [
                    ("angry@example.net", "COMPLAINT"),
                    ("gone@example.net", "BOUNCE")
                ]
            );
        }
        for (m, p) in batch.into_iter().zip(pre) {
            f.engine.deliver_claimed_with("node-a", m, p).await.unwrap();
        }
        let ev = events(&f, &first).await;
        let types: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["Send", "Delivery", "Bounce"]);
        assert_eq!(
            sorted(&ev[1].1["delivery"]["recipients"]),
            ["fine@example.net"]
        );
        assert_eq!(
            ev[2].1["bounce"]["bounceSubType"],
            "OnAccountSuppressionList"
        );
        assert_eq!(
            sorted(&ev[2].1["bounce"]["bouncedRecipients"]),
            ["gone@Example.NET"]
        );
        let ev = events(&f, &second).await;
        let types: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["Send", "Delivery", "Bounce"]);
        assert_eq!(
            sorted(&ev[1].1["delivery"]["recipients"]),
            ["success@simulator.amazonses.com"]
        );
        assert_eq!(
            sorted(&ev[2].1["bounce"]["bouncedRecipients"]),
            ["angry@example.net"]
        );
    }

    /// A body over the limit is left to its message, which reads it itself.
    #[tokio::test]
    async fn large_bodies_are_read_by_their_message() {
        let f = fixture().await;
        let id = send(&f, "sender@example.test", &["fine@example.net"], None).await;
        f.bodies
            .bodies
            .lock()
            .unwrap()
            .get_mut(&id)
            .unwrap()
            .resize(PREFETCH_BODY_MAX + 1, b'x');
        let batch = f
            .store
            .claim_messages("node-a", now_ms(), 60_000, 10)
            .await
            .unwrap();
        let pre = f.engine.prefetch(&batch).await;
        assert!(pre[0].body.is_none());
        assert!(pre[0].listed.is_some());
        f.engine
            .deliver_claimed_with("node-a", batch[0].clone(), pre.into_iter().next().unwrap())
            .await
            .unwrap();
        let ev = events(&f, &id).await;
        assert_eq!(ev[1].0, "Delivery");
    }
}
