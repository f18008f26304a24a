//! The event dispatcher loop (DECISIONS Q-160): claims committed events from the store's
//! publishing outbox with a lease and hands each to its destinations
//! ([`Engine::dispatch_event`]): configuration-set SNS, Firehose (stream sinks), EventBridge
//! (bus rules) and CloudWatch (`/metrics` counters) destinations, and identity notification
//! topics. A dispatched event is removed from the outbox; a failed one is put back with
//! backoff and keeps blocking the later events of its message, so per message the hand-off
//! order is the commit order. A node killed mid-batch leaves leased rows that any node claims
//! again when the lease ends: at-least-once, nothing lost across restarts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sesame_engine::publishing::DispatchReport;
use sesame_engine::sinks::{SinkRecord, SinkTarget};
use sesame_engine::Engine;
use sesame_metrics::Metrics;
use sesame_model::DispatchItem;
use tokio::sync::watch;

use crate::sinks::Sinks;

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

/// Runs until `stop` turns true; finishes the round in progress first. Stream and bus sink
/// records of a round are written per target after the round's hand-offs (one fsync, one
/// batch of JetStream acknowledgements, …); an event is finished only when every target it
/// wrote to took its records, otherwise it is retried with backoff. CloudWatch destination
/// counts go to `metrics` once the event is finished.
pub async fn run(
    engine: Engine,
    node: String,
    opts: Options,
    sinks: Arc<Sinks>,
    metrics: Option<Arc<Metrics>>,
    mut stop: watch::Receiver<bool>,
) {
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
        let mut dispatched = Vec::with_capacity(claimed.len());
        for item in &claimed {
            match engine.dispatch_event(&item.event).await {
                Ok(report) => {
                    if !report.event_destinations.is_empty()
                        || !report.identity_notifications.is_empty()
                        || !report.sink_records.is_empty()
                    {
                        tracing::debug!(event_id = %item.event.event_id, event_type = %item.event.event_type,
                            message_id = %item.event.message_id, destinations = report.event_destinations.len(),
                            notifications = report.identity_notifications.len(),
                            sink_records = report.sink_records.len(), "event dispatched");
                    }
                    dispatched.push((item, report));
                }
                Err(e) => retry(&engine, &node, item, &e.to_string()).await,
            }
        }
        let failed = write_sinks(&sinks, &dispatched).await;
        let mut done = Vec::with_capacity(dispatched.len());
        for (item, report) in &dispatched {
            if let Some(why) = report
                .sink_records
                .iter()
                .find_map(|r| failed.get(&r.target))
            {
                retry(&engine, &node, item, why).await;
                continue;
            }
            if let Some(m) = &metrics {
                for c in &report.cloudwatch {
                    m.count_destination_event(
                        item.event.scope.account.as_str(),
                        item.event.scope.region.as_str(),
                        &c.configuration_set,
                        &c.event_destination,
                        &c.metric,
                        &c.dimensions,
                    );
                }
            }
            done.push(item.seq);
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

/// Writes the round's sink records grouped by target, in claim order; returns the targets that
/// failed, with the error.
async fn write_sinks(
    sinks: &Sinks,
    dispatched: &[(&DispatchItem, DispatchReport)],
) -> HashMap<SinkTarget, String> {
    let mut order: Vec<&SinkTarget> = Vec::new();
    let mut groups: HashMap<&SinkTarget, Vec<&SinkRecord>> = HashMap::new();
    for (_, report) in dispatched {
        for r in &report.sink_records {
            groups
                .entry(&r.target)
                .or_insert_with(|| {
                    order.push(&r.target);
                    Vec::new()
                })
                .push(r);
        }
    }
    let mut failed = HashMap::new();
    for target in order {
        let records = &groups[target];
        if let Err(e) = sinks.write(target, records).await {
            tracing::warn!(target = %target.uri(), records = records.len(), error = %e, "writing events to a sink failed; will retry");
            failed.insert(target.clone(), e);
        }
    }
    failed
}

async fn retry(engine: &Engine, node: &str, item: &DispatchItem, why: &str) {
    tracing::warn!(event_id = %item.event.event_id, attempts = item.attempts + 1, error = %why,
        "publishing an event failed; will retry");
    if let Err(e) = engine.retry_event_dispatch(node, item, now_ms()).await {
        tracing::error!(error = %e, "rescheduling an event failed (its lease will expire)");
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
