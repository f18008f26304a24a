//! In-flow control for a node that delivers (`delivery_mode` smtp or capture), after Postfix's
//! `in_flow_delay`: acceptance takes a token for each message, delivery gives one back for each
//! message it finishes an attempt on. While tokens are left, acceptance does not wait at all;
//! when they run out (acceptance is outrunning delivery), each new message waits for a token,
//! at most `in_flow_delay`, then is accepted anyway. Accepted mail then grows no faster than it
//! leaves, and on a busy machine the delivery side keeps its share of the CPU.
//!
//! The bucket holds [`CAPACITY`] tokens, so bursts up to that size are accepted at full speed;
//! it is refilled whenever the delivery loop finds the queue drained (nothing is behind).

use std::time::Duration;

use tokio::sync::Semaphore;

/// Tokens in a full bucket.
pub const CAPACITY: usize = 2048;

pub struct Inflow {
    tokens: Semaphore,
    delay: Duration,
}

impl Inflow {
    pub fn new(delay: Duration) -> Inflow {
        Inflow {
            tokens: Semaphore::new(CAPACITY),
            delay,
        }
    }

    /// Delivery finished an attempt on `n` messages.
    pub fn returned(&self, n: usize) {
        let room = CAPACITY.saturating_sub(self.tokens.available_permits());
        self.tokens.add_permits(n.min(room));
    }

    /// The queue is drained: nothing is behind.
    pub fn refill(&self) {
        self.returned(CAPACITY);
    }

    /// Tokens left.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.tokens.available_permits()
    }
}

#[async_trait::async_trait]
impl sesame_engine::InflowGate for Inflow {
    async fn admit(&self) {
        if let Ok(Ok(permit)) = tokio::time::timeout(self.delay, self.tokens.acquire()).await {
            permit.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_engine::InflowGate;

    /// A full bucket admits at once; an empty one makes a message wait until delivery returns
    /// a token, or at most the delay; tokens never exceed the capacity.
    #[tokio::test(start_paused = true)]
    async fn tokens_bound_the_wait() {
        let gate = std::sync::Arc::new(Inflow::new(Duration::from_secs(1)));
        let t0 = tokio::time::Instant::now();
        for _ in 0..CAPACITY {
            gate.admit().await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO, "a full bucket never waits");
        assert_eq!(gate.available(), 0);

        // Empty: the delay bounds the wait.
        gate.admit().await;
        assert_eq!(t0.elapsed(), Duration::from_secs(1));

        // Empty, and delivery finishes one after 200 ms: admitted then.
        let g = gate.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            g.returned(1);
        });
        let t1 = tokio::time::Instant::now();
        gate.admit().await;
        assert_eq!(t1.elapsed(), Duration::from_millis(200));

        gate.refill();
        gate.returned(10);
        assert_eq!(gate.available(), CAPACITY, "never above capacity");
    }
}
