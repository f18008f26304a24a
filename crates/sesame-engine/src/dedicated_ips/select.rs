//! Which outbound address a message leaves from: the pool of its configuration set (spec F-33,
//! E-98, E-128; DECISIONS Q-131), then an order among the pool's IPs that gives warming IPs
//! their share of the traffic (SH-3, SH-4). Pure: the inventory and a seed are passed in.

use std::net::IpAddr;

use super::warmup::{Warmup, WarmupStatus};

/// Holds the account's dedicated IPs that are in no other pool (F-33); read-only.
pub const DEFAULT_POOL: &str = "ses-default-dedicated-pool";
/// The instance's shared addresses (SH-2): here every configured outbound IP.
pub const SHARED_POOL: &str = "ses-shared-pool";

/// The two names SES reserves (F-31, E-98): never created, deleted or described.
pub fn is_reserved(name: &str) -> bool {
    name == DEFAULT_POOL || name == SHARED_POOL
}

/// One configured outbound address as one account (scope) sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpState {
    pub ip: IpAddr,
    /// The existing named pool it belongs to; `None` = `ses-default-dedicated-pool`.
    pub pool: Option<String>,
    /// The pool is MANAGED (F-37..F-48): not listed, warm-up not applicable on the wire.
    pub managed: bool,
    /// `None` for IPv6 addresses: the API's `Ip` is IPv4, so they are not dedicated
    /// IPs of the API, never pooled and never warm-up capped; they belong to the default pool.
    pub warmup: Option<Warmup>,
}

impl IpState {
    /// The current warm-up percentage (100 for addresses without warm-up).
    pub fn percentage_at(&self, now_ms: i64) -> u8 {
        self.warmup.map_or(100, |w| w.percentage_at(now_ms))
    }

    /// Messages this address may send for this account in one UTC day under the standard plan
    /// (`u64::MAX`: no cap). A managed pool's IPs are limited by their per-ISP allowances
    /// instead (`managed.rs`); this applies to them only when mail names `ses-shared-pool`.
    pub fn daily_limit_at(&self, now_ms: i64) -> u64 {
        self.warmup.map_or(u64::MAX, |w| w.daily_limit_at(now_ms))
    }

    /// Whether `GetDedicatedIps` lists it: IPv4 and not in a managed pool (F-13, Q-133).
    pub fn listed(&self) -> bool {
        self.warmup.is_some() && !self.managed
    }

    /// `DedicatedIp` wire values: `(WarmupStatus, WarmupPercentage, PoolName)` (F-58, F-64).
    pub fn wire_at(&self, now_ms: i64) -> (WarmupStatus, i64, String) {
        let pool = self
            .pool
            .clone()
            .unwrap_or_else(|| DEFAULT_POOL.to_string());
        match (&self.warmup, self.managed) {
            (_, true) => (WarmupStatus::NotApplicable, -1, pool),
            (Some(w), false) => (
                w.status_at(now_ms),
                i64::from(w.percentage_at(now_ms)),
                pool,
            ),
            (None, false) => (WarmupStatus::Done, 100, pool),
        }
    }
}

/// The addresses mail may leave from, given the configuration set's `SendingPoolName`
/// (`None`: no set, or a set without a pool). `pools` are the names of the account's existing
/// named pools. Rules (F-33, E-128, Q-131):
/// - no pool, `ses-default-dedicated-pool`, or a pool that no longer exists: the IPs in no
///   named pool;
/// - `ses-shared-pool`: every configured address;
/// - a named pool: its IPs;
/// - a selection that comes out empty falls back to the shared pool (every configured
///   address): an empty default pool (E-128 [rec]), an empty standard pool (a MANAGED pool's
///   shared pool is narrower: `Inventory::spill_ips`, used by `Engine::choose_source_ip`);
/// - empty only when no outbound address is configured (the OS picks the source).
pub fn pool_ips(ips: &[IpState], pools: &[&str], sending_pool: Option<&str>) -> Vec<IpAddr> {
    let all = || ips.iter().map(|s| s.ip).collect::<Vec<_>>();
    let picked: Vec<IpAddr> = match sending_pool {
        Some(SHARED_POOL) => return all(),
        Some(p) if p != DEFAULT_POOL && pools.contains(&p) => ips
            .iter()
            .filter(|s| s.pool.as_deref() == Some(p))
            .map(|s| s.ip)
            .collect(),
        _ => ips
            .iter()
            .filter(|s| s.pool.is_none())
            .map(|s| s.ip)
            .collect(),
    };
    if picked.is_empty() {
        all()
    } else {
        picked
    }
}

/// Weights are parts of this total (1 % of traffic = 100 parts).
const PARTS: u64 = 10_000;

/// The order in which to try a pool's addresses for one message, given each address's current
/// warm-up percentage (100 = done or uncapped) and a per-message `seed` (e.g. [`seed_of`] the
/// message id). Addresses at 0 % are left out: they may send nothing.
///
/// The first address is drawn by weight (SH-4: a warming IP's percentage is its share of the
/// pool's traffic, the rest goes to warmed IPs; F-21): with warmed addresses present each
/// warming one weighs its percentage and the warmed ones split the remainder; without any,
/// the warming ones share by percentage and their daily caps do the limiting. The rest follow
/// as fallbacks for when the drawn one's daily cap is used up: warmed ones first (rotated by
/// the seed), then warming ones by decreasing percentage.
pub fn source_order(candidates: &[(IpAddr, u8)], seed: u64) -> Vec<IpAddr> {
    let live: Vec<(IpAddr, u8)> = candidates.iter().copied().filter(|c| c.1 > 0).collect();
    if live.is_empty() {
        return vec![];
    }
    let done: Vec<IpAddr> = live.iter().filter(|c| c.1 >= 100).map(|c| c.0).collect();
    let warming: Vec<(IpAddr, u8)> = live.iter().copied().filter(|c| c.1 < 100).collect();
    let mut weights: Vec<(IpAddr, u64)> = Vec::with_capacity(live.len());
    if done.is_empty() {
        weights.extend(warming.iter().map(|(ip, p)| (*ip, u64::from(*p))));
    } else {
        let raw: u64 = warming.iter().map(|(_, p)| u64::from(*p) * 100).sum();
        // Warming shares never exceed the whole; scale them down if they would.
        let scale = |w: u64| if raw > PARTS { w * PARTS / raw } else { w };
        weights.extend(
            warming
                .iter()
                .map(|(ip, p)| (*ip, scale(u64::from(*p) * 100))),
        );
        let warming_total: u64 = weights.iter().map(|w| w.1).sum();
        let rest = PARTS.saturating_sub(warming_total);
        let each = rest / done.len() as u64;
        let extra = rest % done.len() as u64;
        for (i, ip) in done.iter().enumerate() {
            weights.push((*ip, each + u64::from((i as u64) < extra)));
        }
    }
    let total: u64 = weights.iter().map(|w| w.1).sum();
    let first = if total == 0 {
        weights[0].0
    } else {
        let mut r = seed % total;
        let mut pick = weights[0].0;
        for (ip, w) in &weights {
            if r < *w {
                pick = *ip;
                break;
            }
            r -= w;
        }
        pick
    };
    let mut order = vec![first];
    if !done.is_empty() {
        let start = (seed % done.len() as u64) as usize;
        for i in 0..done.len() {
            let ip = done[(start + i) % done.len()];
            if ip != first {
                order.push(ip);
            }
        }
    }
    let mut rest: Vec<(IpAddr, u8)> = warming.into_iter().filter(|c| c.0 != first).collect();
    rest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    order.extend(rest.into_iter().map(|c| c.0));
    order
}

/// A stable 64-bit seed for [`source_order`] from a message id (FNV-1a): the same message
/// tries its addresses in the same order on every attempt and node.
pub fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The HELO name of an outbound address: `<a-b-c-d>.smtp-out.<service_domain>`; IPv6
/// addresses use their eight hexadecimal groups joined by `-`.
pub fn helo_name(ip: IpAddr, service_domain: &str) -> String {
    let label = match ip {
        IpAddr::V4(v4) => v4
            .octets()
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join("-"),
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{s:x}"))
            .collect::<Vec<_>>()
            .join("-"),
    };
    format!("{label}.smtp-out.{service_domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn st(a: &str, pool: Option<&str>, managed: bool) -> IpState {
        let addr = ip(a);
        IpState {
            ip: addr,
            pool: pool.map(str::to_string),
            managed,
            warmup: addr.is_ipv4().then(|| Warmup::done(0)),
        }
    }

    /// F-33 / E-128 / Q-131, one row per case: (SendingPoolName, expected addresses).
    #[test]
    fn pool_selection_table() {
        let ips = vec![
            st("127.0.1.7", Some("marketing"), false),
            st("127.0.1.8", None, false),
            st("127.0.1.9", Some("managed"), true),
            st("::1", None, false),
        ];
        let pools = ["marketing", "managed", "empty"];
        let all = vec![ip("127.0.1.7"), ip("127.0.1.8"), ip("127.0.1.9"), ip("::1")];
        for (pool, expected) in [
            (None, vec![ip("127.0.1.8"), ip("::1")]),
            (Some(DEFAULT_POOL), vec![ip("127.0.1.8"), ip("::1")]),
            (Some("deleted-meanwhile"), vec![ip("127.0.1.8"), ip("::1")]),
            (Some("marketing"), vec![ip("127.0.1.7")]),
            (Some("managed"), vec![ip("127.0.1.9")]),
            (Some(SHARED_POOL), all.clone()),
            (Some("empty"), all.clone()),
        ] {
            assert_eq!(pool_ips(&ips, &pools, pool), expected, "{pool:?}");
        }
        // Every IP pooled: mail without a pool uses all of them.
        let pooled = vec![
            st("127.0.1.7", Some("marketing"), false),
            st("127.0.1.8", Some("marketing"), false),
        ];
        assert_eq!(pool_ips(&pooled, &["marketing"], None).len(), 2);
        // No configured address: empty (the OS picks the source).
        assert!(pool_ips(&[], &[], Some("marketing")).is_empty());
    }

    #[test]
    fn wire_values() {
        let mut s = st("127.0.1.7", None, false);
        s.warmup = Some(Warmup::set(42, 0, false));
        assert_eq!(
            s.wire_at(0),
            (WarmupStatus::InProgress, 42, DEFAULT_POOL.to_string())
        );
        assert!(s.listed());
        let m = st("127.0.1.9", Some("auto"), true);
        assert_eq!(
            m.wire_at(0),
            (WarmupStatus::NotApplicable, -1, "auto".to_string())
        );
        assert!(!m.listed());
        assert!(!st("::1", None, false).listed());
        assert_eq!(st("::1", None, false).daily_limit_at(0), u64::MAX);
    }

    /// SH-4: with a warmed IP present, an IP at 10 % takes 10 % of first picks.
    #[test]
    fn warming_ip_gets_its_share() {
        let c = [(ip("127.0.1.7"), 10), (ip("127.0.1.8"), 100)];
        let mut first_warming = 0;
        for seed in 0..PARTS {
            let o = source_order(&c, seed);
            assert_eq!(o.len(), 2, "the other is the fallback");
            if o[0] == ip("127.0.1.7") {
                first_warming += 1;
            }
        }
        assert_eq!(first_warming, 1_000);
    }

    /// Without warmed IPs the warming ones share by percentage; 0 % IPs are never tried.
    #[test]
    fn only_warming_ips() {
        let c = [
            (ip("127.0.1.7"), 3),
            (ip("127.0.1.8"), 6),
            (ip("127.0.1.9"), 0),
        ];
        let mut counts = [0; 2];
        for seed in 0..9 {
            let o = source_order(&c, seed);
            assert_eq!(o.len(), 2);
            assert!(!o.contains(&ip("127.0.1.9")));
            counts[usize::from(o[0] == ip("127.0.1.8"))] += 1;
        }
        assert_eq!(counts, [3, 6]);
        assert!(source_order(&[(ip("127.0.1.9"), 0)], 7).is_empty());
    }

    /// Fallbacks: warmed IPs first, then warming ones by decreasing percentage.
    #[test]
    fn fallback_order() {
        let c = [
            (ip("127.0.1.1"), 20),
            (ip("127.0.1.2"), 60),
            (ip("127.0.1.3"), 100),
            (ip("127.0.1.4"), 100),
        ];
        for seed in [0u64, 1, 2_500, 7_999, 9_999, u64::MAX] {
            let o = source_order(&c, seed);
            assert_eq!(o.len(), 4, "each once");
            let rest: Vec<_> = o[1..].to_vec();
            let warming_pos: Vec<usize> = [ip("127.0.1.2"), ip("127.0.1.1")]
                .iter()
                .filter_map(|w| rest.iter().position(|x| x == w))
                .collect();
            assert!(warming_pos.windows(2).all(|p| p[0] < p[1]), "{o:?}");
            for done in [ip("127.0.1.3"), ip("127.0.1.4")] {
                if let Some(d) = rest.iter().position(|x| *x == done) {
                    assert!(warming_pos.iter().all(|w| d < *w), "{o:?}");
                }
            }
        }
        // Shares over 100 % are scaled down: warmed IPs then get nothing first.
        let heavy = [
            (ip("127.0.1.1"), 80),
            (ip("127.0.1.2"), 80),
            (ip("127.0.1.3"), 100),
        ];
        assert!((0..PARTS).all(|s| source_order(&heavy, s)[0] != ip("127.0.1.3")));
    }

    #[test]
    fn seeds_and_helo() {
        assert_eq!(seed_of(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(seed_of("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(seed_of("m-1"), seed_of("m-2"));
        assert_eq!(
            helo_name(ip("127.0.1.7"), "mail.example.net"),
            "127-0-1-7.smtp-out.mail.example.net"
        );
        assert_eq!(
            helo_name(ip("2001:db8::1"), "sd"),
            "2001-db8-0-0-0-0-0-1.smtp-out.sd"
        );
    }
}
