//! The delivery role's runtime loop in capture mode: claim ready messages in batches, deliver
//! each with [`Engine::deliver_claimed`] with bounded concurrency, sleep when idle (woken early
//! by the send pipeline's queue waker), stop on shutdown.
//!
//! Bounded (STYLE principle 3): at most [`BATCH`] messages are claimed at a time and at most
//! [`CONCURRENCY`] are in flight, so memory does not grow with the backlog. A message whose
//! delivery fails is left leased; the lease ([`LEASE_MS`]) expires and it is claimed again.

use std::sync::Arc;
use std::time::Duration;

use sesame_engine::Engine;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// Messages claimed per round.
pub const BATCH: usize = 32;
/// Messages delivered at the same time.
pub const CONCURRENCY: usize = 8;
/// Lease of a claimed message: long enough for a capture, short enough to recover a crash.
pub const LEASE_MS: i64 = 60_000;
/// Longest sleep while idle (the notifier normally wakes the loop first).
pub const IDLE_POLL: Duration = Duration::from_millis(500);

/// Runs until `shutdown` turns `true`; in-flight deliveries finish first.
pub async fn run_capture_delivery(
    engine: Engine,
    node: String,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(%node, "delivery started (capture mode: messages go to the dev inbox)");
    let mut in_flight: JoinSet<()> = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let room = CONCURRENCY.saturating_sub(in_flight.len()).min(BATCH);
        let claimed = if room == 0 {
            vec![]
        } else {
            match engine
                .store
                .claim_messages(&node, sesame_engine::now_ms(), LEASE_MS, room)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming queued messages failed");
                    vec![]
                }
            }
        };
        let got = claimed.len();
        for msg in claimed {
            let engine = engine.clone();
            let node = node.clone();
            in_flight.spawn(async move {
                let id = msg.message_id.clone();
                match engine.deliver_claimed(&node, msg).await {
                    Ok(()) => tracing::debug!(message_id = %id, "delivered (captured)"),
                    Err(e) => {
                        tracing::warn!(message_id = %id, error = %e, "delivery failed; retried when the lease expires")
                    }
                }
            });
        }
        if got == room && room > 0 {
            // Possibly more ready: claim again as soon as a slot frees up.
            if in_flight.len() >= CONCURRENCY {
                in_flight.join_next().await;
            }
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = shutdown.changed() => {}
        }
    }
    while in_flight.join_next().await.is_some() {}
    tracing::info!("delivery stopped");
}
