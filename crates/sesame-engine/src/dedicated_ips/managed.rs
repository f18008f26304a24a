//! Managed dedicated IP pools: the rules (spec F-37..F-48, SH-4, SH-5; DECISIONS Q-133). Pure:
//! the clock, the hourly counters (`sesame_model::PoolUsage`) and the pool's members are passed
//! in; `managed_ops.rs` reads them from the store and applies the results.
//!
//! **Per-(IP, ISP) adaptive warm-up** ([`IspWarmup`]). Each IP of a managed pool has, for each
//! ISP label (SH-5), an *allowance*: the recipients it may send to that ISP in any rolling
//! 24 hours. It starts at [`START_ALLOWANCE`] (3 % of [`FULL_ALLOWANCE`], like day 1 of the
//! standard plan, Q-132) and changes once per completed hour, from that hour's counters:
//!
//! | in hour *h* | the allowance |
//! |---|---|
//! | the ISP answered with throttling or blocking feedback ([`throttling_reply`]) | is halved (not below [`MIN_ALLOWANCE`]), and does not grow for [`THROTTLE_PAUSE_HOURS`] (F-19, SH-4) |
//! | otherwise | grows by one tenth of the recipients the ISP accepted (F-38: "grows with successful delivery") |
//! | and, when the last 24 h used less than half of it | loses 1/72 of what exceeds max([`START_ALLOWANCE`], twice the last 24 h's volume) (F-38: "when volume to an ISP drops, the warm-up percentage for that ISP also drops") |
//!
//! Sending the full allowance every day, an IP grows 10 % a day: from 1,500 to 12,500 (the end of
//! the early phase) in about 23 days, to 50,000 in about 37 — F-19's "2 to 6 weeks". An idle
//! warmed IP loses about a third of its excess a day.
//!
//! **Phases and spillover** ([`overflow`]). An (IP, ISP) is *early* while its allowance is below
//! [`EARLY_BELOW`] (25 %, 12,500 a day) and *later* from there. When no IP of the pool has room
//! for a message to an ISP, the excess goes through the shared pool if the pool has no IP or
//! any of its IPs is early for that ISP (F-38, F-39: new IPs warming → part of the sending moves
//! to the shared pool); otherwise it is deferred until the rolling window has room again
//! (F-38, F-42: later in warm-up the excess is throttled and retried, "queued and sent only
//! through the dedicated pool").
//!
//! **Automatic allocation** ([`plan`], [`ScalingParams`]): a pool without IPs draws its first
//! from the inventory once it sent [`ScalingParams::activation_volume`] recipients in
//! [`ScalingParams::window_hours`] (F-41: "hundreds of emails over a few days"; Q-133: 300 in
//! 3 days); it releases every IP when that falls below [`ScalingParams::release_volume`] (F-42),
//! and otherwise holds ⌈busiest ISP's 24 h volume / [`FULL_ALLOWANCE`]⌉ IPs (at least one), one
//! more when an ISP is deferred while every IP is near full for it (F-38: "the pool grows so
//! that traffic to that ISP is spread over more IPs"). IPs are added one per evaluation and
//! removed one per evaluation, never within [`ScalingParams::hold_ms`] of the last addition.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One hour in milliseconds: the counters' granularity.
pub const HOUR_MS: i64 = 3_600_000;
/// The rolling window of an allowance, in hours (SH-4: "a rolling 24-hour volume per ISP").
pub const WINDOW_HOURS: i64 = 24;
/// An (IP, ISP) allowance at 100 %: the standard plan's end (F-20, 50,000 a day).
pub const FULL_ALLOWANCE: u64 = 50_000;
/// A new (IP, ISP)'s allowance: 3 %, as plan day 1 of the standard warm-up.
pub const START_ALLOWANCE: u64 = 1_500;
/// The floor throttling can push an allowance down to (1 %).
pub const MIN_ALLOWANCE: u64 = 500;
/// An allowance grows by the accepted recipients divided by this.
pub const GROWTH_DIVISOR: u64 = 10;
/// Hours without growth after throttling feedback.
pub const THROTTLE_PAUSE_HOURS: i64 = 24;
/// An under-used allowance loses 1/this of its excess per hour (e-folding time: 3 days).
pub const DECAY_HOURS: u64 = 72;
/// Below this allowance an (IP, ISP) is in its early warm-up phase (25 %).
pub const EARLY_BELOW: u64 = FULL_ALLOWANCE / 4;
/// An ISP deferred while every IP's allowance for it is at least this (80 %) asks for one
/// more IP.
pub const SCALE_UP_AT: u64 = FULL_ALLOWANCE * 4 / 5;
/// Completed hours replayed at most when a state was not persisted for a long time (the
/// managed-pool job persists them every few minutes).
pub const REPLAY_HOURS: i64 = 8 * 24;
/// Counter rows are kept this long: the replay, its window and the 7-day views (F-46).
pub const KEEP_HOURS: i64 = REPLAY_HOURS + WINDOW_HOURS;
/// The period of the managed-pool console's cards (F-46: "last 7 days").
pub const REPORT_HOURS: i64 = 7 * 24;
/// ISPs shown by the capacity view (F-46: "top 10 most-used ISPs").
pub const TOP_ISPS: usize = 10;

/// The hour (since the Unix epoch, UTC) containing `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// The counters of one (IP, ISP) in one hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HourCounts {
    pub sent: u64,
    pub delivered: u64,
    pub throttled: u64,
}

/// The warm-up of one IP for one ISP, as stored on the IP's document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IspWarmup {
    /// Recipients it may send to the ISP in any rolling 24 hours.
    pub allowance: u64,
    /// Accepted recipients not yet turned into allowance (less than [`GROWTH_DIVISOR`]).
    #[serde(default)]
    pub credit: u64,
    /// The last completed hour applied.
    pub hour: i64,
    /// The last hour with throttling feedback.
    #[serde(default)]
    pub throttled_hour: Option<i64>,
}

impl IspWarmup {
    /// A new (IP, ISP) at `allowance`, with every hour up to `hour` applied.
    pub fn new(allowance: u64, hour: i64) -> IspWarmup {
        IspWarmup {
            allowance: allowance.clamp(MIN_ALLOWANCE, FULL_ALLOWANCE),
            credit: 0,
            hour,
            throttled_hour: None,
        }
    }

    /// The allowance as a percentage of [`FULL_ALLOWANCE`] (what SES would call the ISP's
    /// warm-up percentage, F-38).
    pub fn percentage(&self) -> u8 {
        (self.allowance.min(FULL_ALLOWANCE) * 100 / FULL_ALLOWANCE) as u8
    }

    /// In the early phase (see the module docs).
    pub fn early(&self) -> bool {
        self.allowance < EARLY_BELOW
    }

    /// The state with every completed hour up to `through` applied (see the module docs);
    /// `counts(h)` gives hour `h`'s counters. At most [`REPLAY_HOURS`] are replayed: older
    /// hours are skipped.
    pub fn advance(&self, through: i64, counts: impl Fn(i64) -> HourCounts) -> IspWarmup {
        let mut w = *self;
        if through <= w.hour {
            return w;
        }
        let start = (w.hour + 1).max(through - REPLAY_HOURS + 1);
        // The volume of the 24 hours ending with the hour being applied, kept sliding.
        let mut window: u64 = (start - WINDOW_HOURS + 1..start)
            .map(|h| counts(h).sent)
            .sum();
        for h in start..=through {
            let c = counts(h);
            window += c.sent;
            if c.throttled > 0 {
                w.allowance = (w.allowance / 2).max(MIN_ALLOWANCE);
                w.credit = 0;
                w.throttled_hour = Some(h);
            } else {
                let paused = w
                    .throttled_hour
                    .is_some_and(|t| h - t < THROTTLE_PAUSE_HOURS);
                if !paused {
                    let credit = w.credit + c.delivered;
                    w.allowance += credit / GROWTH_DIVISOR;
                    w.credit = credit % GROWTH_DIVISOR;
                }
                let target = START_ALLOWANCE.max(window.saturating_mul(2));
                if w.allowance > target {
                    w.allowance -= ((w.allowance - target) / DECAY_HOURS).max(1);
                }
            }
            w.allowance = w.allowance.min(FULL_ALLOWANCE);
            window -= counts(h - WINDOW_HOURS + 1).sent;
        }
        w.hour = through;
        w
    }
}

/// A managed pool's IP, as stored on the IP's document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedIp {
    /// When the pool got it (allocation from the inventory, or conversion, F-44).
    pub allocated_at: i64,
    /// The allowance of an ISP it has no state for yet: [`START_ALLOWANCE`] for an allocated
    /// IP, the standard warm-up level for an IP the pool had before its conversion.
    pub base_allowance: u64,
    /// Per ISP label.
    #[serde(default)]
    pub isps: BTreeMap<String, IspWarmup>,
}

impl ManagedIp {
    /// A new member at `now_ms` whose ISPs start at `base_allowance`.
    pub fn new(now_ms: i64, base_allowance: u64) -> ManagedIp {
        ManagedIp {
            allocated_at: now_ms,
            base_allowance: base_allowance.clamp(MIN_ALLOWANCE, FULL_ALLOWANCE),
            isps: BTreeMap::new(),
        }
    }

    /// The stored state for `isp`, or a new one as of the allocation.
    pub fn warmup(&self, isp: &str) -> IspWarmup {
        self.isps
            .get(isp)
            .copied()
            .unwrap_or_else(|| IspWarmup::new(self.base_allowance, hour_of(self.allocated_at) - 1))
    }
}

/// The allowance a converted IP keeps (F-44): its standard warm-up level, never below the start.
pub fn converted_allowance(standard_percentage: u8) -> u64 {
    (FULL_ALLOWANCE * u64::from(standard_percentage.min(100)) / 100).max(START_ALLOWANCE)
}

/// Per-hour counters of one source of one pool for one ISP, from the stored rows.
#[derive(Clone, Debug, Default)]
pub struct Hours(pub BTreeMap<i64, HourCounts>);

impl Hours {
    pub fn add(&mut self, hour: i64, c: HourCounts) {
        let e = self.0.entry(hour).or_default();
        e.sent += c.sent;
        e.delivered += c.delivered;
        e.throttled += c.throttled;
    }

    pub fn get(&self, hour: i64) -> HourCounts {
        self.0.get(&hour).copied().unwrap_or_default()
    }

    /// Recipients sent in the hours `from..=to`.
    pub fn sent(&self, from: i64, to: i64) -> u64 {
        self.0.range(from..=to).map(|(_, c)| c.sent).sum()
    }

    /// Recipients sent in the rolling window containing `hour` (it and the 23 before).
    pub fn sent_24h(&self, hour: i64) -> u64 {
        self.sent(hour - WINDOW_HOURS + 1, hour)
    }
}

/// One IP of the pool as a candidate for a message to one ISP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub ip: IpAddr,
    pub allowance: u64,
    /// Sent to the ISP in the current rolling window.
    pub sent_24h: u64,
}

impl Candidate {
    pub fn remaining(&self) -> u64 {
        self.allowance.saturating_sub(self.sent_24h)
    }
}

/// The order in which to try a managed pool's IPs for one message to one ISP: the first is
/// drawn with a probability proportional to its allowance (SH-3: "weighted round-robin, where
/// the weight is the IP's current warm-up allowance"), seeded per message like the standard
/// [`super::source_order`]; the others follow by decreasing room. IPs without room are left
/// out.
pub fn managed_order(candidates: &[Candidate], seed: u64) -> Vec<IpAddr> {
    let live: Vec<Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| c.remaining() > 0)
        .collect();
    if live.is_empty() {
        return vec![];
    }
    let total: u64 = live.iter().map(|c| c.allowance).sum();
    let mut r = seed % total.max(1);
    let mut first = live[0].ip;
    for c in &live {
        if r < c.allowance {
            first = c.ip;
            break;
        }
        r -= c.allowance;
    }
    let mut rest: Vec<Candidate> = live.into_iter().filter(|c| c.ip != first).collect();
    rest.sort_by(|a, b| b.remaining().cmp(&a.remaining()).then(a.ip.cmp(&b.ip)));
    std::iter::once(first)
        .chain(rest.into_iter().map(|c| c.ip))
        .collect()
}

/// What a message to an ISP does when no IP of its managed pool has room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Early phase (or no IP): through the shared pool.
    Spill,
    /// Later phase: wait for room.
    Defer,
}

/// [`Overflow`] from the pool's (IP, ISP) states for the message's ISP (module docs).
pub fn overflow(states: &[IspWarmup]) -> Overflow {
    if states.is_empty() || states.iter().any(IspWarmup::early) {
        Overflow::Spill
    } else {
        Overflow::Defer
    }
}

/// The first hour boundary (in hours) after `now_hour` at which a member has room for
/// `recipients` (charged as at most its whole allowance, like a send), assuming allowances stay
/// as they are: the window loses its oldest hour at each boundary. `members` are (allowance,
/// hourly sends). At most a window later, when the window is empty.
pub fn next_room_hour(members: &[(u64, &Hours)], recipients: u64, now_hour: i64) -> i64 {
    (now_hour + 1..now_hour + WINDOW_HOURS)
        .find(|h| {
            members.iter().any(|(allowance, hours)| {
                let charge = recipients.clamp(1, (*allowance).max(1));
                hours.sent(h - WINDOW_HOURS + 1, h - 1) + charge <= *allowance
            })
        })
        .unwrap_or(now_hour + WINDOW_HOURS)
}

/// Words of throttling and blocking replies (SH-4: "4xx responses and deferral or block
/// patterns (e.g. `421 … rate limited`)"): Gmail `421-4.7.28 … unusual rate`, Yahoo
/// `421 4.7.0 [TSS04] Messages … temporarily deferred`, Microsoft `451 4.7.500 Server busy`,
/// generic rate limits and blocklist refusals.
const THROTTLE_TERMS: &[&str] = &[
    "rate limit",
    "ratelimit",
    "rate-limit",
    "throttl",
    "too many",
    "unusual rate",
    "temporarily deferred",
    "server busy",
    "slow down",
    "blocked",
    "blocklist",
    "blacklist",
    "dnsbl",
    "reputation",
];

/// Whether a reply is throttling or blocking feedback on the sending IP (F-19: "send less when
/// many blocks or throttling notices come back"): a 421 (the service closing the channel, which
/// is how the large ISPs throttle), or a 4xx or 5xx whose text uses [`THROTTLE_TERMS`].
/// Greylisting is not feedback on the IP.
pub fn throttling_reply(code: u16, text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    if t.contains("greylist") || t.contains("graylist") {
        return false;
    }
    match code / 100 {
        4 => code == 421 || THROTTLE_TERMS.iter().any(|w| t.contains(w)),
        5 => THROTTLE_TERMS.iter().any(|w| t.contains(w)),
        _ => false,
    }
}

/// The automatic allocation thresholds (settings `managed_pool_*`, Q-133).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingParams {
    /// Recipients in the window that get a pool without IPs its first IP (F-41).
    pub activation_volume: u64,
    /// Below this many recipients in the window a pool releases its IPs (F-42).
    pub release_volume: u64,
    /// The volume window, in hours ("a few days").
    pub window_hours: i64,
    /// No IP is removed within this long of the pool's last addition (no flapping).
    pub hold_ms: i64,
}

impl Default for ScalingParams {
    fn default() -> Self {
        ScalingParams {
            activation_volume: 300,
            release_volume: 100,
            window_hours: 72,
            hold_ms: 72 * HOUR_MS,
        }
    }
}

/// One ISP's volume for [`plan`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IspDemand {
    pub isp: String,
    /// Sent through the pool's IPs in the last 24 hours.
    pub dedicated_24h: u64,
    /// Sent through the shared pool in the last 24 hours.
    pub shared_24h: u64,
    /// Deferred for lack of capacity in the last 24 hours.
    pub deferred_24h: u64,
}

/// A pool's volume for [`plan`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolDemand {
    /// Sent (dedicated and shared) in the last [`ScalingParams::window_hours`].
    pub sent_window: u64,
    pub isps: Vec<IspDemand>,
}

/// One IP of the pool for [`plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub ip: IpAddr,
    pub allocated_at: i64,
    /// Current allowance per ISP label (ISPs without a state are at the IP's base).
    pub allowances: BTreeMap<String, u64>,
    pub base_allowance: u64,
}

impl Member {
    fn allowance(&self, isp: &str) -> u64 {
        self.allowances
            .get(isp)
            .copied()
            .unwrap_or(self.base_allowance)
    }

    fn total(&self) -> u64 {
        self.allowances.values().sum::<u64>() + self.base_allowance
    }
}

/// A change to a pool's IPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Take this inventory IP (F-37, F-41).
    Allocate(IpAddr),
    /// Give this IP back to the inventory (F-42).
    Release(IpAddr),
}

/// The IPs a pool's volume calls for (module docs), at least one.
pub fn needed_ips(members: &[Member], demand: &PoolDemand) -> usize {
    let mut needed = 1usize;
    for d in &demand.isps {
        let volume = d.dedicated_24h + d.shared_24h;
        needed = needed.max(volume.div_ceil(FULL_ALLOWANCE) as usize);
        let saturated =
            !members.is_empty() && members.iter().all(|m| m.allowance(&d.isp) >= SCALE_UP_AT);
        if d.deferred_24h > 0 && saturated {
            needed = needed.max(members.len() + 1);
        }
    }
    needed
}

/// What to change in a pool now (module docs). `free` is the inventory, in the order to take
/// from.
pub fn plan(
    members: &[Member],
    demand: &PoolDemand,
    free: &[IpAddr],
    p: &ScalingParams,
    now_ms: i64,
) -> Vec<Change> {
    if members.is_empty() {
        return match free.first() {
            Some(ip) if demand.sent_window >= p.activation_volume => vec![Change::Allocate(*ip)],
            _ => vec![],
        };
    }
    let newest = members.iter().map(|m| m.allocated_at).max().unwrap_or(0);
    let held = now_ms - newest < p.hold_ms;
    if demand.sent_window < p.release_volume {
        return if held {
            vec![]
        } else {
            members.iter().map(|m| Change::Release(m.ip)).collect()
        };
    }
    let needed = needed_ips(members, demand);
    if needed > members.len() {
        return free
            .first()
            .map(|ip| Change::Allocate(*ip))
            .into_iter()
            .collect();
    }
    if needed < members.len() && !held {
        return least_warmed(members)
            .map(Change::Release)
            .into_iter()
            .collect();
    }
    vec![]
}

/// The member that loses least when removed: the smallest total allowance, the newest on a tie.
fn least_warmed(members: &[Member]) -> Option<IpAddr> {
    members
        .iter()
        .min_by(|a, b| {
            a.total()
                .cmp(&b.total())
                .then(b.allocated_at.cmp(&a.allocated_at))
                .then(b.ip.cmp(&a.ip))
        })
        .map(|m| m.ip)
}

/// F-44 item 2: of a converted pool's IPs (with their standard warm-up percentage), the ones to
/// keep and the redundant ones. A standard pool has no managed volume history (warmed IPs are not
/// even counted), so the volume calls for one IP: the most warmed is kept (the lowest address
/// on a tie); the managed-pool job adds or removes from there.
pub fn on_conversion(ips: &[(IpAddr, u8)]) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let Some(keep) = ips
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|x| x.0)
    else {
        return (vec![], vec![]);
    };
    let redundant = ips.iter().map(|x| x.0).filter(|ip| *ip != keep).collect();
    (vec![keep], redundant)
}

/// F-46's "Sending status" card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SendingStatus {
    /// The pool has no IP: everything goes through the shared pool.
    InsufficientVolume,
    /// One or more dedicated IPs are in use.
    SendingViaDedicatedIps,
}

impl SendingStatus {
    pub fn of(ips: usize) -> SendingStatus {
        if ips == 0 {
            SendingStatus::InsufficientVolume
        } else {
            SendingStatus::SendingViaDedicatedIps
        }
    }

    /// The console's words (F-46).
    pub fn as_str(self) -> &'static str {
        match self {
            SendingStatus::InsufficientVolume => "Insufficient volume",
            SendingStatus::SendingViaDedicatedIps => "Sending via dedicated IPs",
        }
    }
}

/// `ApproximateDedicatedSendingPercentage` (F-46, F-47): the share of `dedicated` in all sent,
/// 0–100; `None` when nothing was sent.
pub fn dedicated_percentage(dedicated: u64, shared: u64) -> Option<f64> {
    let all = dedicated + shared;
    (all > 0).then(|| dedicated as f64 * 100.0 / all as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24;
    /// Some hour, midnight UTC.
    const H0: i64 = 20_000 * DAY;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Simulates `days` days in which an (IP, ISP) sends and gets accepted `per_day(day,
    /// allowance)` recipients at the first hour of each day, throttled on the days listed;
    /// returns the allowance at the end of each day.
    fn simulate(
        start: IspWarmup,
        days: i64,
        per_day: impl Fn(i64, u64) -> u64,
        throttled_days: &[i64],
    ) -> Vec<u64> {
        let mut w = start;
        let mut hours = Hours::default();
        let mut out = Vec::new();
        for d in 0..days {
            let h = H0 + d * DAY;
            let n = per_day(d, w.allowance);
            let throttled = throttled_days.contains(&d);
            hours.add(
                h,
                HourCounts {
                    sent: n,
                    delivered: if throttled { 0 } else { n },
                    throttled: u64::from(throttled),
                },
            );
            w = w.advance(h + DAY - 1, |x| hours.get(x));
            out.push(w.allowance);
        }
        out
    }

    /// SH-4 / F-19: sending the whole allowance every day grows it 10 % a day; the early phase
    /// ends after about 3 weeks and 100 % is reached in about 5 (F-19: 2 to 6 weeks).
    #[test]
    fn full_use_grows_ten_percent_a_day() {
        let a = simulate(IspWarmup::new(START_ALLOWANCE, H0 - 1), 45, |_, a| a, &[]);
        assert_eq!(&a[..3], &[1_650, 1_815, 1_996]);
        let early_days = a.iter().take_while(|x| **x < EARLY_BELOW).count();
        assert_eq!(early_days, 22, "{a:?}");
        let full_day = a.iter().position(|x| *x == FULL_ALLOWANCE).unwrap();
        assert_eq!(full_day, 36, "{a:?}");
        assert!(a.windows(2).all(|w| w[0] <= w[1]), "never drops while used");
    }

    /// F-38: "when volume to an ISP drops, the warm-up percentage for that ISP also drops".
    #[test]
    fn volume_drop_lowers_the_allowance() {
        let warmed = IspWarmup::new(FULL_ALLOWANCE, H0 - 1);
        let idle = simulate(warmed, 7, |_, _| 0, &[]);
        // About (71/72)^24 ≈ 0.72 of the excess over the start remains after a day.
        assert_eq!(idle[0], 36_181, "{idle:?}");
        assert!(idle.windows(2).all(|w| w[0] > w[1]), "{idle:?}");
        assert!(
            idle[6] < EARLY_BELOW,
            "a week idle is early again: {idle:?}"
        );
        // Steady use of 5,000 a day settles near twice that, not at the full allowance.
        let steady = simulate(warmed, 30, |_, _| 5_000, &[]);
        let end = *steady.last().unwrap();
        assert!((10_000..=12_000).contains(&end), "{steady:?}");
        // A new IP that sends little stays at the start: nothing to decay, little to grow.
        let small = simulate(IspWarmup::new(START_ALLOWANCE, H0 - 1), 10, |_, _| 50, &[]);
        assert_eq!(small.last(), Some(&1_500), "{small:?}");
    }

    /// SH-4 / F-19: throttling halves the allowance at once and pauses growth for a day.
    #[test]
    fn throttling_halves_and_pauses() {
        let w = IspWarmup::new(20_000, H0 - 1);
        let a = simulate(w, 4, |_, a| a, &[1]);
        assert_eq!(a[0], 22_000);
        assert_eq!(a[1], 11_000, "halved, no growth from the throttled day");
        // Growth resumes 24 hours after the throttled hour, with day 2's send.
        assert_eq!(a[2], 12_100);
        assert_eq!(a[3], 13_310);
        // A send 23 hours after the throttle does not grow it.
        let mut hours = Hours::default();
        hours.add(
            H0,
            HourCounts {
                sent: 10_000,
                delivered: 0,
                throttled: 1,
            },
        );
        hours.add(
            H0 + 23,
            HourCounts {
                sent: 5_000,
                delivered: 5_000,
                throttled: 0,
            },
        );
        let paused = IspWarmup::new(20_000, H0 - 1).advance(H0 + 23, |h| hours.get(h));
        assert_eq!(paused.allowance, 10_000);
        // Repeated throttling stops at the floor.
        let floor = simulate(
            IspWarmup::new(START_ALLOWANCE, H0 - 1),
            5,
            |_, a| a,
            &[0, 1, 2, 3, 4],
        );
        assert_eq!(floor, [750, 500, 500, 500, 500]);
        assert_eq!(
            w.advance(H0, |_| HourCounts {
                throttled: 1,
                ..HourCounts::default()
            })
            .throttled_hour,
            Some(H0)
        );
    }

    /// Replays are bounded and idempotent; growth below one message is carried over.
    #[test]
    fn advance_details() {
        let w = IspWarmup::new(START_ALLOWANCE, H0 - 1);
        assert_eq!(w.advance(H0 - 1, |_| panic!("nothing to apply")), w);
        let one = HourCounts {
            sent: 1_000,
            delivered: 7,
            throttled: 0,
        };
        let a = w.advance(H0, |h| if h == H0 { one } else { HourCounts::default() });
        assert_eq!((a.allowance, a.credit, a.hour), (1_500, 7, H0));
        let b = a.advance(H0 + 1, |h| {
            if h == H0 + 1 {
                one
            } else {
                HourCounts::default()
            }
        });
        assert_eq!((b.allowance, b.credit), (1_501, 4));
        // In two steps or one: the same state.
        let mut hours = Hours::default();
        for h in 0..50 {
            hours.add(
                H0 + h,
                HourCounts {
                    sent: 300,
                    delivered: 290,
                    throttled: u64::from(h == 30),
                },
            );
        }
        let direct = w.advance(H0 + 49, |h| hours.get(h));
        let stepped = w
            .advance(H0 + 20, |h| hours.get(h))
            .advance(H0 + 49, |h| hours.get(h));
        assert_eq!(direct, stepped);
        // More than REPLAY_HOURS behind: only the last REPLAY_HOURS are applied.
        let far = w.advance(H0 + 10_000, |h| {
            assert!(h > H0 + 10_000 - REPLAY_HOURS - WINDOW_HOURS, "{h}");
            HourCounts::default()
        });
        assert_eq!(far.hour, H0 + 10_000);
        assert_eq!(IspWarmup::new(10, 0).allowance, MIN_ALLOWANCE);
        assert_eq!(IspWarmup::new(99_999, 0).allowance, FULL_ALLOWANCE);
        assert_eq!(IspWarmup::new(12_500, 0).percentage(), 25);
        assert!(IspWarmup::new(12_499, 0).early());
        assert!(!IspWarmup::new(12_500, 0).early());
    }

    /// F-38 / F-39 / F-42: spill while any IP is early (or there is none), defer after.
    #[test]
    fn overflow_table() {
        let early = IspWarmup::new(5_000, 0);
        let later = IspWarmup::new(30_000, 0);
        for (states, want) in [
            (vec![], Overflow::Spill),
            (vec![early], Overflow::Spill),
            (vec![later, early], Overflow::Spill),
            (vec![later], Overflow::Defer),
            (vec![later, later], Overflow::Defer),
        ] {
            assert_eq!(overflow(&states), want, "{states:?}");
        }
    }

    #[test]
    fn order_by_allowance() {
        let c = [
            Candidate {
                ip: ip("127.0.17.1"),
                allowance: 3_000,
                sent_24h: 0,
            },
            Candidate {
                ip: ip("127.0.17.2"),
                allowance: 1_000,
                sent_24h: 900,
            },
            Candidate {
                ip: ip("127.0.17.3"),
                allowance: 1_000,
                sent_24h: 1_000,
            },
        ];
        let mut first = BTreeMap::<IpAddr, u64>::new();
        for seed in 0..4_000 {
            let o = managed_order(&c, seed);
            assert_eq!(o.len(), 2, "the full one is left out: {o:?}");
            *first.entry(o[0]).or_default() += 1;
        }
        assert_eq!(first[&ip("127.0.17.1")], 3_000);
        assert_eq!(first[&ip("127.0.17.2")], 1_000);
        assert_eq!(
            managed_order(&c, 3_500),
            [ip("127.0.17.2"), ip("127.0.17.1")]
        );
        assert!(managed_order(&c[2..], 1).is_empty());
    }

    #[test]
    fn next_room() {
        let mut busy = Hours::default();
        busy.add(
            100,
            HourCounts {
                sent: 600,
                ..HourCounts::default()
            },
        );
        busy.add(
            110,
            HourCounts {
                sent: 400,
                ..HourCounts::default()
            },
        );
        // Allowance 1,000, all used at hours 100 and 110; now hour 115. Hour 100 leaves the
        // window at hour 124: 400 + 500 fits then.
        assert_eq!(next_room_hour(&[(1_000, &busy)], 500, 115), 124);
        assert_eq!(next_room_hour(&[(1_000, &busy)], 700, 115), 134);
        // Another member with room now: the next hour.
        let idle = Hours::default();
        assert_eq!(next_room_hour(&[(1_000, &busy), (10, &idle)], 5, 115), 116);
        assert_eq!(next_room_hour(&[], 5, 115), 115 + WINDOW_HOURS);
    }

    /// SH-4: which replies count as throttling or blocking feedback.
    #[test]
    fn throttling_replies() {
        for (code, text, want) in [
            (
                421,
                "4.7.28 Our system has detected an unusual rate of unsolicited mail",
                true,
            ),
            (
                421,
                "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred",
                true,
            ),
            (421, "Service not available", true),
            (451, "4.7.500 Server busy. Please try again later", true),
            (450, "4.7.1 Rate limit exceeded", true),
            (452, "Too many recipients received this hour", true),
            (
                451,
                "4.7.1 Greylisting in action, please come back later",
                false,
            ),
            (452, "4.2.2 Mailbox full", false),
            (450, "4.2.0 Mailbox unavailable", false),
            (
                554,
                "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen",
                true,
            ),
            (550, "5.7.1 poor reputation", true),
            (550, "5.1.1 User unknown", false),
            (250, "2.0.0 Ok (rate limit not reached)", false),
        ] {
            assert_eq!(throttling_reply(code, text), want, "{code} {text}");
        }
    }

    fn member(a: &str, at: i64, allowances: &[(&str, u64)]) -> Member {
        Member {
            ip: ip(a),
            allocated_at: at,
            allowances: allowances
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            base_allowance: START_ALLOWANCE,
        }
    }

    fn demand(window: u64, isps: &[(&str, u64, u64, u64)]) -> PoolDemand {
        PoolDemand {
            sent_window: window,
            isps: isps
                .iter()
                .map(|(i, d, s, x)| IspDemand {
                    isp: i.to_string(),
                    dedicated_24h: *d,
                    shared_24h: *s,
                    deferred_24h: *x,
                })
                .collect(),
        }
    }

    /// F-37 / F-41 / F-42 / F-38 / Q-133: allocation and release decisions.
    #[test]
    fn plan_table() {
        let p = ScalingParams::default();
        let now = 1_000 * HOUR_MS;
        let old = now - p.hold_ms;
        let fresh = now - HOUR_MS;
        let free = [ip("127.0.17.5"), ip("127.0.17.6")];
        let m1 = member("127.0.17.1", old, &[("Gmail", 45_000)]);
        let m2 = member("127.0.17.2", old, &[("Gmail", 42_000), ("Yahoo", 9_000)]);
        let m_new = member("127.0.17.3", fresh, &[]);
        use Change::*;
        type Case<'a> = (&'a str, Vec<Member>, PoolDemand, &'a [IpAddr], Vec<Change>);
        let cases: Vec<Case> = vec![
            (
                "no IP, too little volume",
                vec![],
                demand(299, &[]),
                &free,
                vec![],
            ),
            (
                "no IP, F-41 threshold",
                vec![],
                demand(300, &[("Gmail", 0, 300, 0)]),
                &free,
                vec![Allocate(free[0])],
            ),
            (
                "no IP, empty inventory",
                vec![],
                demand(5_000, &[]),
                &[],
                vec![],
            ),
            (
                "F-42: volume gone",
                vec![m1.clone(), m2.clone()],
                demand(99, &[]),
                &free,
                vec![Release(m1.ip), Release(m2.ip)],
            ),
            (
                "F-42 but within the hold",
                vec![m_new.clone()],
                demand(0, &[]),
                &free,
                vec![],
            ),
            (
                "enough IPs",
                vec![m1.clone()],
                demand(40_000, &[("Gmail", 40_000, 0, 0)]),
                &free,
                vec![],
            ),
            (
                "volume above one IP's full allowance",
                vec![m1.clone()],
                demand(80_000, &[("Gmail", 45_000, 20_000, 0)]),
                &free,
                vec![Allocate(free[0])],
            ),
            (
                "deferred while saturated",
                vec![m1.clone()],
                demand(45_000, &[("Gmail", 45_000, 0, 10)]),
                &free,
                vec![Allocate(free[0])],
            ),
            (
                "deferred, not saturated",
                vec![m1.clone(), m2.clone()],
                demand(60_000, &[("Yahoo", 9_000, 0, 10), ("Gmail", 51_000, 0, 0)]),
                &free,
                vec![],
            ),
            (
                "no inventory to grow into",
                vec![m1.clone()],
                demand(80_000, &[("Gmail", 45_000, 35_000, 0)]),
                &[],
                vec![],
            ),
            (
                "one IP too many: least warmed goes",
                vec![m1.clone(), m2.clone()],
                demand(30_000, &[("Gmail", 30_000, 0, 0)]),
                &free,
                vec![Release(m1.ip)],
            ),
            (
                "one too many, but held",
                vec![m1.clone(), m_new.clone()],
                demand(30_000, &[("Gmail", 30_000, 0, 0)]),
                &free,
                vec![],
            ),
        ];
        for (what, members, d, free, want) in cases {
            assert_eq!(plan(&members, &d, free, &p, now), want, "{what}");
        }
        assert_eq!(needed_ips(&[], &demand(0, &[])), 1);
        assert_eq!(needed_ips(&[], &demand(0, &[("Gmail", 100_000, 1, 0)])), 3);
    }

    /// F-44 item 2: a converted pool keeps its most warmed IP.
    #[test]
    fn conversion_keeps_the_most_warmed() {
        let (keep, drop) = on_conversion(&[
            (ip("127.0.17.3"), 40),
            (ip("127.0.17.1"), 100),
            (ip("127.0.17.2"), 100),
        ]);
        assert_eq!(keep, [ip("127.0.17.1")]);
        assert_eq!(drop, [ip("127.0.17.3"), ip("127.0.17.2")]);
        assert_eq!(on_conversion(&[]), (vec![], vec![]));
        assert_eq!(converted_allowance(100), FULL_ALLOWANCE);
        assert_eq!(converted_allowance(40), 20_000);
        assert_eq!(converted_allowance(1), START_ALLOWANCE);
    }

    #[test]
    fn status_and_percentage() {
        assert_eq!(SendingStatus::of(0).as_str(), "Insufficient volume");
        assert_eq!(SendingStatus::of(2).as_str(), "Sending via dedicated IPs");
        assert_eq!(dedicated_percentage(0, 0), None);
        assert_eq!(dedicated_percentage(3, 1), Some(75.0));
        assert_eq!(hour_of(-1), -1);
        assert_eq!(hour_of(HOUR_MS), 1);
    }
}
