//! The delivery role's runtime loop: claim ready messages in batches, deliver each with bounded
//! concurrency, sleep when idle (woken early by the send pipeline's queue waker), stop on
//! shutdown. Two hand-offs share it:
//!
//! - **capture** (`delivery_mode = capture`, `serve --dev`): [`Engine::deliver_claimed`] signs
//!   and stores the message in the dev inbox;
//! - **smtp**: [`Engine::deliver_smtp`] signs it and hands one job per recipient domain to the
//!   outbound MTA (`sesame-mta`), then records Delivery/DeliveryDelay/Bounce events and
//!   reschedules what is left.
//!
//! Each claimed batch's bodies and suppression entries are read together
//! ([`Engine::prefetch`]) before its messages start.
//!
//! Bounded (STYLE principle 3): at most `batch` messages are claimed at a time and at most
//! `concurrency` are in flight, so memory does not grow with the backlog. A message whose
//! delivery fails without a result is left leased; the lease expires and it is claimed again.
//! On start, the leases this node held before a crash are released at once (the node id is kept
//! in the data directory), so a restarted node does not wait for its own old leases.

use std::sync::Arc;
use std::time::Duration;

use sesame_engine::deliver::prefetch::Prefetched;
use sesame_engine::Engine;
use sesame_model::{QueuedMessage, Transport};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// Longest sleep while idle (the notifier normally wakes the loop first).
pub const IDLE_POLL: Duration = Duration::from_millis(500);

/// How long the loop waits after the send pipeline woke it before claiming: messages accepted
/// in that window share one claim transaction instead of one each.
pub const CLAIM_COALESCE: Duration = Duration::from_millis(5);

/// Where claimed messages go.
#[derive(Clone)]
pub enum Handoff {
    /// The dev inbox.
    Capture,
    /// The outbound MTA.
    Smtp(Arc<dyn Transport>),
}

impl Handoff {
    fn name(&self) -> &'static str {
        match self {
            Handoff::Capture => "capture mode: messages go to the dev inbox",
            Handoff::Smtp(_) => "smtp mode: messages go to the recipients' mail servers",
        }
    }

    /// Lease of a claimed message. Capture is quick; an SMTP attempt may legitimately take
    /// the RFC 5321 §4.5.3.2 timeouts (up to 10 minutes for the end of DATA), and a lease that
    /// ran out mid-transaction would let another node deliver the message a second time.
    fn lease_ms(&self) -> i64 {
        match self {
            Handoff::Capture => 60_000,
            Handoff::Smtp(_) => 20 * 60_000,
        }
    }

    async fn deliver(
        &self,
        engine: &Engine,
        node: &str,
        msg: QueuedMessage,
        pre: Prefetched,
    ) -> anyhow::Result<()> {
        match self {
            Handoff::Capture => engine.deliver_claimed_with(node, msg, pre).await?,
            Handoff::Smtp(t) => engine.deliver_smtp_with(node, msg, pre, t.as_ref()).await?,
        }
        Ok(())
    }
}

/// Tuning of the loop.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Messages claimed per round.
    pub batch: usize,
    /// Messages delivered at the same time.
    pub concurrency: usize,
}

/// Runs until `shutdown` turns `true`; in-flight deliveries finish first.
pub async fn run_delivery(
    engine: Engine,
    node: String,
    handoff: Handoff,
    limits: Limits,
    wake: Arc<Notify>,
    inflow: Option<Arc<crate::inflow::Inflow>>,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(%node, concurrency = limits.concurrency, "delivery started ({})", handoff.name());
    match engine.store.release_leases(&node).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(%node, released = n, "released the leases this node held before it stopped")
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not release this node's old leases; they expire on their own")
        }
    }
    let lease_ms = handoff.lease_ms();
    let mut in_flight: JoinSet<()> = JoinSet::new();
    // Whether messages may be ready: at start, after a wake-up from the send pipeline, after
    // the idle poll (retries come due), and while claims come back full. A finished delivery
    // alone does not make anything ready, so it does not cost a claim transaction.
    let mut claim_now = true;
    loop {
        if *shutdown.borrow() {
            break;
        }
        while in_flight.try_join_next().is_some() {}
        let room = limits
            .concurrency
            .saturating_sub(in_flight.len())
            .min(limits.batch);
        // Under load, claim when enough slots are free that the claim is worth its write
        // transaction (claiming for each freed slot would cost one transaction per message).
        let refill = (limits.concurrency / 8).clamp(1, limits.batch);
        if claim_now && room >= refill {
            let claimed = match engine
                .store
                .claim_messages(&node, sesame_engine::now_ms(), lease_ms, room)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming queued messages failed");
                    vec![]
                }
            };
            let got = claimed.len();
            if got < room {
                // Nothing more is due: delivery is not behind acceptance.
                if let Some(gate) = &inflow {
                    gate.refill();
                }
            }
            // The batch's bodies and suppression entries in two queries, not two per message.
            let prefetched = engine.prefetch(&claimed).await;
            for (msg, pre) in claimed.into_iter().zip(prefetched) {
                let engine = engine.clone();
                let node = node.clone();
                let handoff = handoff.clone();
                let inflow = inflow.clone();
                in_flight.spawn(async move {
                    // Whatever the outcome, this message no longer waits for delivery.
                    let _token = ReturnToken(inflow);
                    let id = msg.message_id.clone();
                    match handoff.deliver(&engine, &node, msg, pre).await {
                        Ok(()) => tracing::debug!(message_id = %id, "delivery attempt finished"),
                        Err(e) => {
                            tracing::warn!(message_id = %id, error = %e, "delivery failed; retried when the lease expires")
                        }
                    }
                });
            }
            if got == room {
                // Possibly more ready: claim again (once `refill` slots are free).
                continue;
            }
            claim_now = false;
        }
        tokio::select! {
            _ = wake.notified() => {
                // New mail: let what is accepted in the next few milliseconds share the claim.
                tokio::time::sleep(CLAIM_COALESCE).await;
                claim_now = true;
            }
            _ = tokio::time::sleep(IDLE_POLL) => claim_now = true,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = shutdown.changed() => {}
        }
    }
    while in_flight.join_next().await.is_some() {}
    tracing::info!("delivery stopped");
}

/// Gives an in-flow token back when a delivery task ends, however it ends.
struct ReturnToken(Option<Arc<crate::inflow::Inflow>>);

impl Drop for ReturnToken {
    fn drop(&mut self) {
        if let Some(gate) = &self.0 {
            gate.returned(1);
        }
    }
}

/// This node's stable id: `<data_dir>/node-id`, created on first start. Leases carry it, so a
/// restarted node recognises (and releases) its own.
pub fn node_id(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => {
            let id = format!("node-{}", uuid::Uuid::new_v4().simple());
            let tmp = data_dir.join("node-id.tmp");
            std::fs::write(&tmp, format!("{id}\n"))?;
            std::fs::rename(&tmp, &path)?;
            Ok(id)
        }
    }
}
