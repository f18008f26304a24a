//! Connections per destination (route key): at most N open (idle or busy), idle ones reused
//! across jobs and closed after the idle timeout.
//!
//! Invariant: every open session travels with the semaphore permit it was opened under, so
//! `permits.available_permits()` is always N minus the open connections of the destination.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::client::Session;

/// An open connection and the permit that counts it.
pub struct Conn {
    pub session: Session,
    pub permit: OwnedSemaphorePermit,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// One destination's connections.
pub struct Destination {
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    max: usize,
    /// Wakes a job waiting for a connection when a session is returned.
    returned: Notify,
    /// The earliest instant the next message may start (rate limit, [`Destination::pace`]).
    next_slot: Mutex<Option<tokio::time::Instant>>,
}

/// What a job gets from [`Destination::checkout`].
pub enum Checkout {
    /// An idle session that passed an RSET probe.
    Reused(Box<Conn>),
    /// Room for a new connection: open it under this permit.
    Fresh(OwnedSemaphorePermit),
}

impl Destination {
    fn new(max: usize) -> Destination {
        Destination {
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1))),
            max: max.max(1),
            returned: Notify::new(),
            next_slot: Mutex::new(None),
        }
    }

    /// Waits for this message's turn under a limit of `per_second` messages per second
    /// (0: returns at once). Slots are handed out in call order, spaced `1 / per_second`
    /// apart, so a burst is spread evenly instead of exceeding the rate and then stalling.
    pub async fn pace(&self, per_second: f64) {
        if !(per_second > 0.0 && per_second.is_finite()) {
            return;
        }
        let spacing = Duration::from_secs_f64(1.0 / per_second);
        let slot = {
            let mut next = self.next_slot.lock().expect("pace lock");
            let now = tokio::time::Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + spacing);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// A reusable idle session `usable` accepts, else room for a new one; waits while all N
    /// connections are busy.
    pub async fn checkout(
        &self,
        usable: impl Fn(&Session) -> bool,
        idle_timeout: Duration,
    ) -> Checkout {
        loop {
            let found = {
                let mut idle = self.idle.lock().expect("pool lock");
                // Most recently returned first: the warmest connection.
                let pos = idle
                    .iter()
                    .rposition(|i| i.since.elapsed() < idle_timeout && usable(&i.conn.session));
                pos.map(|p| idle.remove(p).conn)
            };
            if let Some(mut conn) = found {
                // The server may have closed it meanwhile; RSET is a cheap liveness probe and
                // guarantees a clean transaction state.
                if conn.session.reset().await.is_ok() {
                    return Checkout::Reused(Box::new(conn));
                }
                continue; // dropped: its permit is free again
            }
            if let Ok(p) = self.permits.clone().try_acquire_owned() {
                return Checkout::Fresh(p);
            }
            // All permits taken. An idle session this job cannot use (other source address,
            // no TLS, expired) gives its permit up rather than block us until it times out.
            let other = self.idle.lock().expect("pool lock").pop();
            if let Some(i) = other {
                let Conn {
                    mut session,
                    permit,
                } = i.conn;
                tokio::spawn(async move { session.quit().await });
                return Checkout::Fresh(permit);
            }
            tokio::select! {
                p = self.permits.clone().acquire_owned() => {
                    return Checkout::Fresh(p.expect("the semaphore is never closed"));
                }
                _ = self.returned.notified() => {}
            }
        }
    }

    /// Puts a session back for reuse.
    pub fn checkin(&self, conn: Conn) {
        self.idle.lock().expect("pool lock").push(Idle {
            conn,
            since: Instant::now(),
        });
        self.returned.notify_one();
    }

    /// Closes idle sessions older than `idle_timeout`; returns how many.
    fn reap(&self, idle_timeout: Duration) -> usize {
        let expired: Vec<Idle> = {
            let mut idle = self.idle.lock().expect("pool lock");
            let (old, keep): (Vec<_>, Vec<_>) = idle
                .drain(..)
                .partition(|i| i.since.elapsed() >= idle_timeout);
            *idle = keep;
            old
        };
        let n = expired.len();
        for i in expired {
            let Conn {
                mut session,
                permit,
            } = i.conn;
            tokio::spawn(async move {
                session.quit().await;
                drop(permit);
            });
        }
        n
    }

    fn unused(&self) -> bool {
        self.permits.available_permits() == self.max
            && self.idle.lock().expect("pool lock").is_empty()
    }

    /// Idle sessions right now (tests, metrics).
    pub fn idle_count(&self) -> usize {
        self.idle.lock().expect("pool lock").len()
    }
}

/// All destinations.
#[derive(Default)]
pub struct Pools {
    map: Mutex<HashMap<String, Arc<Destination>>>,
}

impl Pools {
    pub fn get(&self, key: &str, max: usize) -> Arc<Destination> {
        self.map
            .lock()
            .expect("pools lock")
            .entry(key.to_string())
            .or_insert_with(|| Arc::new(Destination::new(max)))
            .clone()
    }

    /// Closes expired idle sessions and forgets destinations nobody uses.
    pub fn reap(&self, idle_timeout: Duration) -> usize {
        let dests: Vec<(String, Arc<Destination>)> = self
            .map
            .lock()
            .expect("pools lock")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut closed = 0;
        for (_, d) in &dests {
            closed += d.reap(idle_timeout);
        }
        drop(dests);
        // Only the map holds an unused destination's Arc now; a job that got it meanwhile
        // holds another reference and keeps it.
        self.map
            .lock()
            .expect("pools lock")
            .retain(|_, d| Arc::strong_count(d) > 1 || !d.unused());
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-destination rate (issue 4 "per-destination rate limits"): 4 messages at 2/s
    /// start at 0, 0.5, 1.0 and 1.5 s; no limit starts them all at once; the spacing is per
    /// destination.
    #[tokio::test(start_paused = true)]
    async fn pace_spaces_messages_per_destination() {
        let d = Arc::new(Destination::new(4));
        let other = Arc::new(Destination::new(4));
        let t0 = tokio::time::Instant::now();
        let mut starts = Vec::new();
        for _ in 0..4 {
            d.pace(2.0).await;
            starts.push(t0.elapsed().as_millis());
        }
        assert_eq!(starts, vec![0, 500, 1000, 1500]);
        let before = t0.elapsed();
        other.pace(2.0).await;
        assert_eq!(t0.elapsed(), before, "another destination has its own rate");
        for _ in 0..100 {
            d.pace(0.0).await;
        }
        assert_eq!(t0.elapsed(), before, "0 means no limit");
        // Concurrent callers get distinct slots in call order.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t1 = tokio::time::Instant::now();
        let (a, b, c) = tokio::join!(
            async {
                d.pace(10.0).await;
                t1.elapsed().as_millis()
            },
            async {
                d.pace(10.0).await;
                t1.elapsed().as_millis()
            },
            async {
                d.pace(10.0).await;
                t1.elapsed().as_millis()
            },
        );
        assert_eq!((a, b, c), (0, 100, 200));
    }
}
