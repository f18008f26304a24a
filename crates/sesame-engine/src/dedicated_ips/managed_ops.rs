//! Managed dedicated IP pools: the engine side of [`super::managed`]'s rules (spec F-37..F-48,
//! SH-4, SH-5; DECISIONS Q-133). Reads the pool's IPs (their [`ManagedIp`] states live on the
//! IPs' documents) and hourly counters (`Store::pool_usage`), and applies the rules:
//!
//! - [`Engine::choose_managed`] (through `Engine::choose_source_ip`): a dedicated IP with room
//!   for the recipient's ISP, else spillover or deferral;
//! - [`Engine::record_managed_outcome`]: what the ISP answered, for the adaptive allowance;
//! - [`Engine::evaluate_managed_pools`]: the periodic job's work — persist the advanced
//!   allowances, allocate and release inventory IPs, and report (metrics, F-47);
//! - [`Engine::managed_pool_report`]: the same report without changing anything (CLI, F-46);
//! - conversion (F-44) keeps the most warmed IP and returns the redundant ones.
//!
//! The allowances are a pure function of a stored state and the counters, so every node computes
//! the same ones; the job persists them so replays stay short. Charging an IP is one conditional
//! upsert of the current hour's row, with the room left by the 23 hours before as the limit, so
//! nodes sharing a database never together exceed an allowance.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;
use sesame_model::pool_usage::SHARED_IP;
use sesame_model::{JobReport, PoolUsage, PoolUsageCounts, RecipientResult, Scope};
use sesame_policy::isp::isp_label;

use super::managed::{
    self, dedicated_percentage, hour_of, managed_order, next_room_hour, overflow, Candidate,
    Change, HourCounts, Hours, IspDemand, ManagedIp, Member, Overflow, PoolDemand, ScalingParams,
    SendingStatus, HOUR_MS, KEEP_HOURS, REPLAY_HOURS, REPORT_HOURS, TOP_ISPS, WINDOW_HOURS,
};
use super::{
    next_utc_midnight, DedicatedIpPoolRecord, Inventory, ManagedRoute, SourceChoice, SourcePick,
};
use crate::{Engine, EngineError};

/// One IP of a managed pool in a [`ManagedPoolReport`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolIpReport {
    pub ip: String,
    /// Unix ms of its allocation (or of the pool's conversion).
    pub allocated_at: i64,
}

/// One ISP of a managed pool (F-46's ISP capacity chart, F-47's per-ISP metrics).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IspReport {
    pub isp: String,
    /// `SentLast24Hours`: sent through the pool's IPs in the last 24 hours (what counts against
    /// the capacity).
    pub sent_last_24_hours: u64,
    /// Sent through the shared pool in the last 24 hours (spillover).
    pub shared_last_24_hours: u64,
    /// Recipients deferred for lack of capacity in the last 24 hours (each deferral counts).
    pub deferred_last_24_hours: u64,
    /// The sum of the IPs' allowances for the ISP (F-46 "Capacity for ISP").
    pub capacity_24_hours: u64,
    /// `Available24HourSend`: what the IPs may still send to the ISP in the current window.
    pub available_24_hour_send: u64,
    /// `ApproximateDedicatedSendingPercentage` over the last 24 hours; `None` without sends.
    pub dedicated_percentage: Option<f64>,
    /// The highest warm-up percentage of an IP for the ISP (allowance / 50,000).
    pub warmup_percentage: u8,
    /// `early` (excess spills to the shared pool), `later` (excess is deferred), or `none`
    /// (no IP).
    pub phase: &'static str,
}

/// A managed pool as the console would show it (F-46) and the metrics export it (F-47).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ManagedPoolReport {
    pub account_id: String,
    pub region: String,
    pub pool: String,
    /// F-46 "Sending status": `Insufficient volume` or `Sending via dedicated IPs`.
    pub status: &'static str,
    pub ips: Vec<PoolIpReport>,
    /// Sent through the pool's IPs in the last 7 days (F-46).
    pub dedicated_last_7_days: u64,
    /// Sent through the shared pool in the last 7 days.
    pub shared_last_7_days: u64,
    /// F-46 "Managed dedicated IP sending percentage" (last 7 days); `None` without sends.
    pub dedicated_percentage_last_7_days: Option<f64>,
    /// Per ISP, the most used first (F-46: top 10; ISPs with state but no volume follow).
    pub isps: Vec<IspReport>,
    /// What this evaluation changed (`allocated 127.0.17.1`, `released …`); empty for a
    /// read-only report.
    pub changes: Vec<String>,
}

/// Counters of one pool, by source ("" = shared) and ISP.
#[derive(Default)]
struct PoolRows {
    by_source: BTreeMap<(String, String), Hours>,
    deferred: BTreeMap<(String, i64), u64>,
}

impl PoolRows {
    fn new(rows: &[PoolUsage]) -> PoolRows {
        let mut out = PoolRows::default();
        for r in rows {
            out.by_source
                .entry((r.ip.clone(), r.isp.clone()))
                .or_default()
                .add(
                    r.hour,
                    HourCounts {
                        sent: r.counts.sent,
                        delivered: r.counts.delivered,
                        throttled: r.counts.throttled,
                    },
                );
            if r.counts.deferred > 0 {
                *out.deferred.entry((r.isp.clone(), r.hour)).or_default() += r.counts.deferred;
            }
        }
        out
    }

    fn hours(&self, ip: &str, isp: &str) -> Option<&Hours> {
        self.by_source.get(&(ip.to_string(), isp.to_string()))
    }

    fn isps(&self) -> BTreeSet<String> {
        self.by_source.keys().map(|(_, i)| i.clone()).collect()
    }

    /// Sent from `from` to `to` (hours, inclusive) to `isp` (all ISPs: `None`), through the
    /// pool's IPs (`dedicated`) or the shared pool.
    fn sent(&self, isp: Option<&str>, dedicated: bool, from: i64, to: i64) -> u64 {
        self.by_source
            .iter()
            .filter(|((ip, i), _)| (ip != SHARED_IP) == dedicated && isp.is_none_or(|x| x == i))
            .map(|(_, h)| h.sent(from, to))
            .sum()
    }

    fn deferred(&self, isp: &str, from: i64, to: i64) -> u64 {
        self.deferred
            .range((isp.to_string(), from)..=(isp.to_string(), to))
            .map(|(_, n)| n)
            .sum()
    }
}

fn usage(pool: &str, ip: &str, isp: &str, hour: i64, counts: PoolUsageCounts) -> PoolUsage {
    PoolUsage {
        pool: pool.to_string(),
        ip: ip.to_string(),
        isp: isp.to_string(),
        hour,
        counts,
    }
}

impl Engine {
    /// [`Engine::choose_source_ip`] for a managed pool (module docs).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn choose_managed(
        &self,
        scope: &Scope,
        inv: &Inventory,
        pool: &str,
        recipient_domain: &str,
        recipients: u64,
        seed: u64,
        now_ms: i64,
    ) -> Result<SourcePick, EngineError> {
        let isp = isp_label(recipient_domain);
        let now_hour = hour_of(now_ms);
        let members: Vec<(IpAddr, &ManagedIp)> = inv
            .members(pool)
            .into_iter()
            .filter_map(|ip| inv.managed.get(&ip).map(|m| (ip, m)))
            .collect();
        let route = |ip: Option<IpAddr>| ManagedRoute {
            pool: pool.to_string(),
            isp: isp.to_string(),
            ip,
        };
        let stored: Vec<_> = members.iter().map(|(_, m)| m.warmup(isp)).collect();
        let rows = match stored.iter().map(|w| w.hour).min() {
            None => vec![],
            Some(oldest) => {
                let since = (oldest + 1 - WINDOW_HOURS)
                    .min(now_hour - WINDOW_HOURS + 1)
                    .max(now_hour - REPLAY_HOURS - WINDOW_HOURS);
                self.store.pool_usage(scope, pool, Some(isp), since).await?
            }
        };
        let rows = PoolRows::new(&rows);
        let empty = Hours::default();
        let hours: Vec<&Hours> = members
            .iter()
            .map(|(ip, _)| rows.hours(&ip.to_string(), isp).unwrap_or(&empty))
            .collect();
        let states: Vec<_> = stored
            .iter()
            .zip(&hours)
            .map(|(w, h)| w.advance(now_hour - 1, |x| h.get(x)))
            .collect();
        let candidates: Vec<Candidate> = members
            .iter()
            .zip(&states)
            .zip(&hours)
            .map(|(((ip, _), w), h)| Candidate {
                ip: *ip,
                allowance: w.allowance,
                sent_24h: h.sent_24h(now_hour),
            })
            .collect();
        for ip in managed_order(&candidates, seed) {
            let i = members
                .iter()
                .position(|(m, _)| *m == ip)
                .expect("a member");
            let allowance = states[i].allowance;
            let charge = recipients.clamp(1, allowance);
            let before = hours[i].sent(now_hour - WINDOW_HOURS + 1, now_hour - 1);
            let counts = PoolUsageCounts {
                sent: charge,
                ..PoolUsageCounts::default()
            };
            let row = usage(pool, &ip.to_string(), isp, now_hour, counts);
            if self
                .store
                .add_pool_usage(scope, &row, Some(allowance.saturating_sub(before)))
                .await?
            {
                return Ok(SourcePick {
                    choice: SourceChoice::Ip(ip),
                    managed: Some(route(Some(ip))),
                });
            }
        }
        let shared_row = |counts| usage(pool, SHARED_IP, isp, now_hour, counts);
        let spill_to = inv.spill_ips();
        if overflow(&states) == Overflow::Spill && !spill_to.is_empty() {
            if let Some(ip) = self
                .charge_first(scope, inv, &spill_to, recipients, seed, now_ms)
                .await?
            {
                let counts = PoolUsageCounts {
                    sent: recipients,
                    ..PoolUsageCounts::default()
                };
                self.store
                    .add_pool_usage(scope, &shared_row(counts), None)
                    .await?;
                return Ok(SourcePick {
                    choice: SourceChoice::Ip(ip),
                    managed: Some(route(None)),
                });
            }
        }
        // Later phase (or nowhere to spill to): wait for room in the rolling window; when the
        // shared addresses were the way out but are at their daily caps, for those.
        let until_ms = if overflow(&states) == Overflow::Spill && !spill_to.is_empty() {
            next_utc_midnight(now_ms)
        } else {
            let by_member: Vec<(u64, &Hours)> = states
                .iter()
                .zip(&hours)
                .map(|(w, h)| (w.allowance, *h))
                .collect();
            next_room_hour(&by_member, recipients, now_hour) * HOUR_MS
        };
        let counts = PoolUsageCounts {
            deferred: recipients,
            ..PoolUsageCounts::default()
        };
        self.store
            .add_pool_usage(scope, &shared_row(counts), None)
            .await?;
        Ok(SourcePick {
            choice: SourceChoice::Defer { until_ms },
            managed: Some(route(None)),
        })
    }

    /// Reports what the recipient's ISP answered a job sent through a managed pool's IP (SH-4):
    /// accepted recipients make the (IP, ISP) allowance grow, throttling and blocking replies
    /// ([`managed::throttling_reply`]) make it shrink. Nothing for spilled jobs.
    pub async fn record_managed_outcome(
        &self,
        scope: &Scope,
        route: &ManagedRoute,
        report: &JobReport,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let Some(ip) = route.ip else {
            return Ok(());
        };
        let mut counts = PoolUsageCounts::default();
        for (_, result) in &report.results {
            if let RecipientResult::Reply(r) = result {
                if r.code / 100 == 2 {
                    counts.delivered += 1;
                } else if managed::throttling_reply(r.code, &r.text) {
                    counts.throttled += 1;
                }
            }
        }
        if counts.is_zero() {
            return Ok(());
        }
        let row = usage(
            &route.pool,
            &ip.to_string(),
            &route.isp,
            hour_of(now_ms),
            counts,
        );
        self.store.add_pool_usage(scope, &row, None).await?;
        Ok(())
    }

    /// The periodic work on every managed pool of `scope` (the server runs it every
    /// `managed_pool_evaluation_seconds`): persists each (IP, ISP) allowance advanced to the
    /// last completed hour, allocates and releases inventory IPs ([`managed::plan`]), and
    /// returns each pool's report. Safe on several nodes at once: every change is a
    /// compare-and-set on an IP's document that re-checks its condition.
    pub async fn evaluate_managed_pools(
        &self,
        scope: &Scope,
        params: &ScalingParams,
        now_ms: i64,
    ) -> Result<Vec<ManagedPoolReport>, EngineError> {
        let mut out = Vec::new();
        for pool in self.load_pools(scope).await? {
            if pool.managed() {
                out.push(self.evaluate_pool(scope, &pool, params, now_ms).await?);
            }
        }
        Ok(out)
    }

    /// A managed pool's report at `now_ms`, changing nothing (`sesame pool show`, F-46).
    pub async fn managed_pool_report(
        &self,
        scope: &Scope,
        pool: &str,
        now_ms: i64,
    ) -> Result<ManagedPoolReport, EngineError> {
        let rec = self.get_dedicated_ip_pool(scope, pool).await?;
        if !rec.managed() {
            return Err(EngineError::BadRequest(format!(
                "Dedicated IP pool {pool} is a STANDARD pool: it has no managed-pool view."
            )));
        }
        let inv = self.dedicated_ip_inventory(scope).await?;
        let rows = self
            .store
            .pool_usage(scope, pool, None, hour_of(now_ms) - KEEP_HOURS)
            .await?;
        let rows = PoolRows::new(&rows);
        let members = members_now(&inv, pool, &rows, now_ms);
        Ok(report(scope, pool, &members, &rows, now_ms, vec![]))
    }

    async fn evaluate_pool(
        &self,
        scope: &Scope,
        pool: &DedicatedIpPoolRecord,
        params: &ScalingParams,
        now_ms: i64,
    ) -> Result<ManagedPoolReport, EngineError> {
        let name = pool.name.as_str();
        let now_hour = hour_of(now_ms);
        let inv = self.dedicated_ip_inventory(scope).await?;
        let rows = self
            .store
            .pool_usage(scope, name, None, now_hour - KEEP_HOURS)
            .await?;
        let rows = PoolRows::new(&rows);
        let mut members = members_now(&inv, name, &rows, now_ms);

        // Persist the advanced states, so later replays start from here.
        for (ip, m) in &members {
            if inv.managed.get(ip) == Some(m) {
                continue;
            }
            let fresh = m.clone();
            self.update_ip_record(scope, &ip.to_string(), |r| {
                if r.pool.as_deref() == Some(name) {
                    // Another node may have advanced it further: keep the newer hours.
                    let mut next = fresh.clone();
                    if let Some(old) = &r.managed {
                        for (isp, w) in &old.isps {
                            if next.isps.get(isp).is_none_or(|n| n.hour < w.hour) {
                                next.isps.insert(isp.clone(), *w);
                            }
                        }
                    }
                    r.managed = Some(next);
                }
            })
            .await?;
        }

        let plan_members: Vec<Member> = members
            .iter()
            .map(|(ip, m)| Member {
                ip: *ip,
                allocated_at: m.allocated_at,
                allowances: m
                    .isps
                    .iter()
                    .map(|(k, w)| (k.clone(), w.allowance))
                    .collect(),
                base_allowance: m.base_allowance,
            })
            .collect();
        let demand = demand(&rows, params, now_hour);
        let changes = managed::plan(&plan_members, &demand, &inv.free(), params, now_ms);
        let mut done = Vec::new();
        if !changes.is_empty() {
            let auto = self
                .account_settings(scope)
                .await?
                .dedicated_ip_auto_warmup_enabled;
            let pools: Vec<String> = inv.pools.iter().map(|p| p.name.clone()).collect();
            for change in changes {
                match change {
                    Change::Allocate(ip) => {
                        let mut took = false;
                        let m = ManagedIp::new(now_ms, managed::START_ALLOWANCE);
                        self.update_ip_record(scope, &ip.to_string(), |r| {
                            took = r
                                .pool
                                .as_deref()
                                .is_none_or(|p| !pools.iter().any(|x| x == p));
                            if took {
                                r.pool = Some(name.to_string());
                                r.managed = Some(m.clone());
                            }
                        })
                        .await?;
                        if took {
                            tracing::info!(account = %scope.account, region = %scope.region, pool = name, %ip, "managed pool: IP allocated from the inventory");
                            members.push((ip, m));
                            done.push(format!("allocated {ip}"));
                        }
                    }
                    Change::Release(ip) => {
                        let mut released = false;
                        self.update_ip_record(scope, &ip.to_string(), |r| {
                            released = r.pool.as_deref() == Some(name);
                            if released {
                                r.release(now_ms, auto);
                            }
                        })
                        .await?;
                        if released {
                            tracing::info!(account = %scope.account, region = %scope.region, pool = name, %ip, "managed pool: IP released to the inventory");
                            members.retain(|(m, _)| *m != ip);
                            done.push(format!("released {ip}"));
                        }
                    }
                }
            }
        }
        Ok(report(scope, name, &members, &rows, now_ms, done))
    }

    /// F-44: after a pool became MANAGED, its most warmed IP stays (its standard warm-up as
    /// every ISP's starting allowance) and the others go back to the inventory.
    pub(super) async fn convert_members(
        &self,
        scope: &Scope,
        name: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let configured: Vec<String> = self.outbound_ips().iter().map(|i| i.to_string()).collect();
        let records = self.load_ip_records(scope).await?;
        let members: Vec<(IpAddr, u8)> = records
            .values()
            .filter(|r| r.pool.as_deref() == Some(name) && configured.contains(&r.ip))
            .filter_map(|r| Some((r.ip.parse().ok()?, r.warmup.percentage_at(now_ms))))
            .collect();
        let (keep, redundant) = managed::on_conversion(&members);
        let auto = self
            .account_settings(scope)
            .await?
            .dedicated_ip_auto_warmup_enabled;
        for (ip, pct) in members {
            let kept = keep.contains(&ip);
            self.update_ip_record(scope, &ip.to_string(), |r| {
                if r.pool.as_deref() != Some(name) {
                    return;
                }
                if kept {
                    r.managed = Some(ManagedIp::new(now_ms, managed::converted_allowance(pct)));
                } else {
                    r.release(now_ms, auto);
                }
            })
            .await?;
        }
        if !redundant.is_empty() {
            tracing::info!(account = %scope.account, region = %scope.region, pool = name, ?redundant, "managed pool conversion: redundant IPs released (F-44)");
        }
        Ok(())
    }
}

/// The pool's IPs with their states advanced to the last completed hour, every ISP they have
/// state for or counters of.
fn members_now(
    inv: &Inventory,
    pool: &str,
    rows: &PoolRows,
    now_ms: i64,
) -> Vec<(IpAddr, ManagedIp)> {
    let through = hour_of(now_ms) - 1;
    let empty = Hours::default();
    inv.members(pool)
        .into_iter()
        .filter_map(|ip| {
            let stored = inv.managed.get(&ip)?;
            let mut m = stored.clone();
            let isps: BTreeSet<String> = stored
                .isps
                .keys()
                .cloned()
                .chain(
                    rows.isps()
                        .into_iter()
                        .filter(|i| rows.hours(&ip.to_string(), i).is_some()),
                )
                .collect();
            for isp in isps {
                let h = rows.hours(&ip.to_string(), &isp).unwrap_or(&empty);
                let w = stored.warmup(&isp).advance(through, |x| h.get(x));
                m.isps.insert(isp, w);
            }
            Some((ip, m))
        })
        .collect()
}

/// [`PoolDemand`] of the counters at `now_hour`.
fn demand(rows: &PoolRows, params: &ScalingParams, now_hour: i64) -> PoolDemand {
    let from = now_hour - params.window_hours + 1;
    let day = now_hour - WINDOW_HOURS + 1;
    PoolDemand {
        sent_window: rows.sent(None, true, from, now_hour) + rows.sent(None, false, from, now_hour),
        isps: rows
            .isps()
            .into_iter()
            .map(|isp| IspDemand {
                dedicated_24h: rows.sent(Some(&isp), true, day, now_hour),
                shared_24h: rows.sent(Some(&isp), false, day, now_hour),
                deferred_24h: rows.deferred(&isp, day, now_hour),
                isp,
            })
            .collect(),
    }
}

fn report(
    scope: &Scope,
    pool: &str,
    members: &[(IpAddr, ManagedIp)],
    rows: &PoolRows,
    now_ms: i64,
    changes: Vec<String>,
) -> ManagedPoolReport {
    let now_hour = hour_of(now_ms);
    let day = now_hour - WINDOW_HOURS + 1;
    let week = now_hour - REPORT_HOURS + 1;
    let dedicated_7d = rows.sent(None, true, week, now_hour);
    let shared_7d = rows.sent(None, false, week, now_hour);
    let isp_names: BTreeSet<String> = rows
        .isps()
        .into_iter()
        .chain(members.iter().flat_map(|(_, m)| m.isps.keys().cloned()))
        .collect();
    let mut isps: Vec<IspReport> = isp_names
        .into_iter()
        .map(|isp| {
            let states: Vec<_> = members.iter().map(|(_, m)| m.warmup(&isp)).collect();
            let capacity: u64 = states.iter().map(|w| w.allowance).sum();
            let available: u64 = members
                .iter()
                .zip(&states)
                .map(|((ip, _), w)| {
                    let sent = rows
                        .hours(&ip.to_string(), &isp)
                        .map_or(0, |h| h.sent_24h(now_hour));
                    w.allowance.saturating_sub(sent)
                })
                .sum();
            let dedicated = rows.sent(Some(&isp), true, day, now_hour);
            let shared = rows.sent(Some(&isp), false, day, now_hour);
            IspReport {
                sent_last_24_hours: dedicated,
                shared_last_24_hours: shared,
                deferred_last_24_hours: rows.deferred(&isp, day, now_hour),
                capacity_24_hours: capacity,
                available_24_hour_send: available,
                dedicated_percentage: dedicated_percentage(dedicated, shared),
                warmup_percentage: states.iter().map(|w| w.percentage()).max().unwrap_or(0),
                phase: if states.is_empty() {
                    "none"
                } else if overflow(&states) == Overflow::Spill {
                    "early"
                } else {
                    "later"
                },
                isp,
            }
        })
        .collect();
    isps.sort_by(|a, b| {
        (b.sent_last_24_hours + b.shared_last_24_hours)
            .cmp(&(a.sent_last_24_hours + a.shared_last_24_hours))
            .then(a.isp.cmp(&b.isp))
    });
    isps.truncate(TOP_ISPS);
    ManagedPoolReport {
        account_id: scope.account.to_string(),
        region: scope.region.to_string(),
        pool: pool.to_string(),
        status: SendingStatus::of(members.len()).as_str(),
        ips: members
            .iter()
            .map(|(ip, m)| PoolIpReport {
                ip: ip.to_string(),
                allocated_at: m.allocated_at,
            })
            .collect(),
        dedicated_last_7_days: dedicated_7d,
        shared_last_7_days: shared_7d,
        dedicated_percentage_last_7_days: dedicated_percentage(dedicated_7d, shared_7d),
        isps,
        changes,
    }
}
