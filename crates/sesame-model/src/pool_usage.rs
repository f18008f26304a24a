//! Hourly counters of managed dedicated IP pools (spec F-37..F-48, SH-4; DECISIONS Q-133):
//! per (scope, pool, source IP or the shared pool, ISP, hour). The engine's adaptive warm-up
//! and automatic allocation (`sesame_engine::dedicated_ips::managed`) are computed from them;
//! the store keeps them (`Store::add_pool_usage` and friends) so every node sharing a database
//! sees the same volumes and the same rolling 24-hour allowances.

use serde::{Deserialize, Serialize};

/// The `ip` of counters of mail a managed pool sent through the shared pool (spillover, or a
/// pool without IPs) and of recipients it deferred for lack of capacity.
pub const SHARED_IP: &str = "";

/// What one row counts, in recipients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolUsageCounts {
    /// Recipients given this source (charged against the allowance when `ip` is a pool IP).
    pub sent: u64,
    /// Recipients the receiving MTA accepted (2xx) from this IP: what makes the allowance grow.
    pub delivered: u64,
    /// Recipients answered with throttling or blocking feedback (F-19, SH-4): what makes it
    /// shrink.
    pub throttled: u64,
    /// Recipients deferred for lack of capacity (only on [`SHARED_IP`] rows).
    pub deferred: u64,
}

impl PoolUsageCounts {
    pub fn is_zero(&self) -> bool {
        *self == PoolUsageCounts::default()
    }
}

/// One row: a pool's counters for one source and ISP in one hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolUsage {
    pub pool: String,
    /// The dedicated IP, or [`SHARED_IP`].
    pub ip: String,
    /// ISP label (SH-5: `Gmail`, `Yahoo`, … `Other`).
    pub isp: String,
    /// Hours since the Unix epoch (UTC).
    pub hour: i64,
    pub counts: PoolUsageCounts,
}
