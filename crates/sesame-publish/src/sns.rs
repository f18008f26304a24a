//! The SNS HTTP(S) delivery loop (DECISIONS ). It keeps up to [`Options::batch`]
//! posts in flight, claiming due records from the engine's outbox with a lease as slots free
//! up, and reports each result: 2xx → done; anything else → the engine schedules the
//! next attempt or dead-letters the record. A node that dies mid-round leaves leased records
//! that become claimable when the lease runs out, so a message is delivered at least once.

use std::time::Duration;

use sesame_engine::sns::outbox::{Claimed, FailureOutcome, DEAD_LETTER_RETENTION_MS};
use sesame_engine::Engine;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::http::{post, TlsRoots};

#[derive(Clone, Debug)]
pub struct Options {
    /// Most posts in flight at once.
    pub batch: usize,
    /// Pause between rounds when nothing was due.
    pub idle_poll: Duration,
    /// Per-attempt timeout (connect, TLS, request, status line). SNS waits 15 s.
    pub attempt_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 32,
            idle_poll: Duration::from_millis(250),
            attempt_timeout: Duration::from_secs(15),
        }
    }
}

/// Runs until `stop` turns true; lets the posts in flight finish first.
pub async fn run(engine: Engine, node: String, opts: Options, mut stop: watch::Receiver<bool>) {
    let tls = TlsRoots::system();
    // Longer than an attempt can take, so a live node never loses its lease mid-post.
    let lease_ms = (opts.attempt_timeout.as_millis() as i64) * 2 + 5_000;
    let mut next_prune = 0i64;
    let mut in_flight = JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        let now = now_ms();
        if now >= next_prune {
            // dead letters are kept 14 days. Hourly; any node may do it.
            next_prune = now + 3_600_000;
            match engine
                .sns_prune_dead_letters(now - DEAD_LETTER_RETENTION_MS)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "old SNS dead letters removed"),
                Err(e) => tracing::warn!(error = %e, "pruning SNS dead letters failed"),
            }
        }
        // Keep up to `batch` posts in flight: a slow endpoint holds one slot, not the round.
        let free = opts.batch.saturating_sub(in_flight.len());
        let claimed = if free == 0 {
            Vec::new()
        } else {
            match engine
                .sns_claim_deliveries(&node, now, lease_ms, free)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "claiming SNS deliveries failed");
                    Vec::new()
                }
            }
        };
        let claimed_any = !claimed.is_empty();
        for c in claimed {
            let engine = engine.clone();
            let tls = tls.clone();
            let timeout = opts.attempt_timeout;
            in_flight.spawn(async move { attempt(&engine, c, &tls, timeout).await });
        }
        if claimed_any && in_flight.len() < opts.batch {
            // More may be due right away.
            continue;
        }
        tokio::select! {
            _ = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = tokio::time::sleep(opts.idle_poll) => {}
            _ = stop.changed() => {}
        }
    }
    // Shutdown: let the posts in flight finish (each is bounded by its timeout).
    while in_flight.join_next().await.is_some() {}
}

/// One attempt of one record, with its outcome written back.
pub async fn attempt(engine: &Engine, c: Claimed, tls: &TlsRoots, timeout: Duration) {
    let r = &c.record;
    let result = post(&r.url, &r.headers, r.body.as_bytes(), tls, timeout).await;
    let error = match result {
        Ok(status) if (200..300).contains(&status) => {
            tracing::info!(id = %r.id, url = %r.url, message_type = %r.message_type, message_id = %r.message_id, status, "SNS message delivered");
            if let Err(e) = engine.sns_delivery_succeeded(&c).await {
                tracing::error!(id = %r.id, error = %e, "recording an SNS delivery failed (it will be sent again)");
            }
            return;
        }
        Ok(status) => format!("HTTP status {status}"),
        Err(e) => e.to_string(),
    };
    match engine.sns_delivery_failed(&c, &error, now_ms()).await {
        Ok(FailureOutcome::Retry { at_ms }) => {
            tracing::info!(id = %r.id, url = %r.url, attempts = r.attempts + 1, error, retry_in_ms = at_ms - now_ms(), "SNS delivery failed; will retry");
        }
        Ok(FailureOutcome::DeadLetter) => {}
        Err(e) => {
            tracing::error!(id = %r.id, error = %e, "recording an SNS delivery failure failed")
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
