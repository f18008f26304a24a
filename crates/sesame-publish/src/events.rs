//! The event dispatcher loop (DECISIONS Q-160): claims committed events from the store's
//! publishing outbox with a lease and hands each to its destinations
//! ([`Engine::dispatch_event`]): configuration-set SNS destinations and identity notification
//! topics today. A dispatched event is removed from the outbox; a failed one is put back with
//! backoff and keeps blocking the later events of its message, so per message the hand-off
//! order is the commit order. A node killed mid-batch leaves leased rows that any node claims
//! again when the lease ends: at-least-once, nothing lost across restarts.

use std::time::Duration;

use sesame_engine::Engine;
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Options {
    /// Most events claimed per round. A round is dispatched sequentially: each hand-off is a
    /// few store writes, and only the head event of a message is ever claimed, so a batch
    /// never holds two events of one message.
    pub batch: usize,
    /// Pause between rounds when nothing was due.
    pub idle_poll: Duration,
    /// How long a claim is held; far longer than a round takes, so a live node keeps it.
    pub lease: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 128,
            idle_poll: Duration::from_millis(200),
            lease: Duration::from_secs(60),
        }
    }
}

/// Runs until `stop` turns true; finishes the round in progress first.
pub async fn run(engine: Engine, node: String, opts: Options, mut stop: watch::Receiver<bool>) {
    let lease_ms = opts.lease.as_millis() as i64;
    loop {
        if *stop.borrow() {
            break;
        }
        let claimed = match engine
            .claim_event_dispatch(&node, now_ms(), lease_ms, opts.batch)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "claiming events to publish failed");
                Vec::new()
            }
        };
        let full = claimed.len() >= opts.batch;
        let mut done = Vec::with_capacity(claimed.len());
        for item in &claimed {
            match engine.dispatch_event(&item.event).await {
                Ok(report) => {
                    if !report.event_destinations.is_empty()
                        || !report.identity_notifications.is_empty()
                    {
                        tracing::debug!(event_id = %item.event.event_id, event_type = %item.event.event_type,
                            message_id = %item.event.message_id, destinations = report.event_destinations.len(),
                            notifications = report.identity_notifications.len(), "event published");
                    }
                    done.push(item.seq);
                }
                Err(e) => {
                    tracing::warn!(event_id = %item.event.event_id, attempts = item.attempts + 1, error = %e,
                        "publishing an event failed; will retry");
                    if let Err(e) = engine.retry_event_dispatch(&node, item, now_ms()).await {
                        tracing::error!(error = %e, "rescheduling an event failed (its lease will expire)");
                    }
                }
            }
        }
        if !done.is_empty() {
            if let Err(e) = engine.finish_event_dispatch(&node, &done).await {
                // The lease expires and the events are published again (at-least-once).
                tracing::error!(error = %e, "marking events published failed");
            }
        }
        if full {
            continue; // more may be due right away
        }
        tokio::select! {
            _ = tokio::time::sleep(opts.idle_poll) => {}
            _ = stop.changed() => {}
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
