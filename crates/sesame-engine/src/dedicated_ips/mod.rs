//! Dedicated IPs, IP pools and warm-up (spec F-1..F-64, SH-1..SH-4, E-98, E-127..E-129;
//! DECISIONS ..Q-133). The self-hosted mapping is in `docs/dedicated-ips.md`.
//!
//! - The operator's outbound addresses (`Settings::outbound_ips`) are the instance's dedicated
//!   IPs; every account sees all of them. IPv4 addresses are the API's dedicated IPs; IPv6 ones
//!   are only ever in the default pool, uncapped.
//! - Per account and region: pools (resources of kind `dedicated-ip-pool`, named by pool) and
//!   one `dedicated-ip` resource per IPv4 address (named by the address) holding its pool and
//!   warm-up state. Membership lives on the IP's document, so "an IP is in at most one pool"
//!   holds by construction and a move is one compare-and-set (F-29).
//! - An IP's document is created the first time the account touches dedicated IPs (any of
//!   these operations, or a send choosing a source address): that is when it is "registered"
//!   for the account (F-24: auto warm-up on → plan day 1, off → `DONE`).
//! - [`warmup`]: the plan and manual controls; [`select`]: pool selection, the order in which
//!   a pool's IPs are tried, HELO names; [`managed`]: the rules of MANAGED pools (per-(IP, ISP)
//!   adaptive warm-up, spillover, automatic allocation), applied by `managed_ops`.
//! - Delivery asks [`Engine::choose_source_ip`] (or the two parts, [`Engine::sending_pool_ips`]
//!   and [`Engine::take_ip_allowance`]); the per-(scope, IP, UTC day) counters live in the store
//!   (`Store::add_ip_sends`), so the caps hold across nodes.

pub mod managed;
mod managed_ops;
pub mod select;
pub mod warmup;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sesame_model::{ResourceKey, Scope, StoreError};

use crate::records::{kind, Tag};
use crate::{now_ms, Engine, EngineError};

pub use managed::{ManagedIp, ScalingParams, SendingStatus};
pub use managed_ops::{IspReport, ManagedPoolReport, PoolIpReport};
pub use select::{
    helo_name, is_reserved, pool_ips, seed_of, source_order, IpState, DEFAULT_POOL, SHARED_POOL,
};
pub use warmup::{
    next_utc_midnight, plan_percentage, utc_day, warmup_daily_limit, Warmup, WarmupStatus,
};

/// Pools per account and region, standard and managed together (F-30, Q-131).
pub const MAX_POOLS: u64 = 50;

/// `ScalingMode` values (F-2).
pub mod scaling {
    pub const STANDARD: &str = "STANDARD";
    pub const MANAGED: &str = "MANAGED";
}

/// A dedicated IP pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedicatedIpPoolRecord {
    pub name: String,
    /// `STANDARD` or `MANAGED`.
    pub scaling_mode: String,
    pub created_at: i64,
    /// Under `tags` so the generic tag operations work on pools.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl DedicatedIpPoolRecord {
    pub fn managed(&self) -> bool {
        self.scaling_mode == scaling::MANAGED
    }
}

/// One account's state of one IPv4 outbound address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedicatedIpRecord {
    pub ip: String,
    /// Named pool; `None` = `ses-default-dedicated-pool`. A name whose pool no longer exists
    /// counts as `None`.
    #[serde(default)]
    pub pool: Option<String>,
    pub warmup: Warmup,
    /// When the account first saw the address (its registration, F-24).
    pub registered_at: i64,
    /// Its state as an IP of a MANAGED pool (per-ISP warm-up, F-38); `None` otherwise. An IP
    /// of a managed pool without one (a pool converted before this existed) gets one computed
    /// from its registration and standard warm-up ([`DedicatedIpRecord::managed_state`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedIp>,
}

impl DedicatedIpRecord {
    /// The managed state of an IP of a managed pool at `now_ms`.
    pub fn managed_state(&self, now_ms: i64) -> ManagedIp {
        self.managed.clone().unwrap_or_else(|| {
            let mut m = ManagedIp::new(
                self.registered_at,
                managed::converted_allowance(self.warmup.percentage_at(now_ms)),
            );
            m.allocated_at = self.registered_at;
            m
        })
    }

    /// Back to the inventory (F-42, F-44, F-48): out of its pool, with the warm-up of a newly
    /// registered address (F-18: a released IP's warm-up is discarded; F-24).
    fn release(&mut self, now_ms: i64, auto_warmup: bool) {
        self.pool = None;
        self.managed = None;
        self.warmup = Warmup::registered(now_ms, auto_warmup);
        self.registered_at = now_ms;
    }
}

/// What an account's dedicated IPs look like now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inventory {
    /// Every configured outbound address, in configuration order.
    pub ips: Vec<IpState>,
    /// The account's named pools, by name.
    pub pools: Vec<DedicatedIpPoolRecord>,
    /// The managed state of each IP of a managed pool.
    pub managed: BTreeMap<IpAddr, ManagedIp>,
}

impl Inventory {
    fn pool(&self, name: &str) -> Option<&DedicatedIpPoolRecord> {
        self.pools.iter().find(|p| p.name == name)
    }

    fn pool_names(&self) -> Vec<&str> {
        self.pools.iter().map(|p| p.name.as_str()).collect()
    }

    fn state(&self, ip: IpAddr) -> Option<&IpState> {
        self.ips.iter().find(|s| s.ip == ip)
    }

    /// The IPs of pool `name`, in configuration order.
    fn members(&self, name: &str) -> Vec<IpAddr> {
        self.ips
            .iter()
            .filter(|s| s.pool.as_deref() == Some(name))
            .map(|s| s.ip)
            .collect()
    }

    /// The inventory a managed pool draws from (F-37): IPv4 addresses in no pool, in
    /// configuration order.
    fn free(&self) -> Vec<IpAddr> {
        self.ips
            .iter()
            .filter(|s| s.pool.is_none() && s.warmup.is_some())
            .map(|s| s.ip)
            .collect()
    }

    /// Where a managed pool's excess goes (F-38 "the shared pool"; SH-2): the addresses in no
    /// pool (IPv6 included); when there are none, every address outside managed pools; never
    /// a managed pool's own IPs. Empty: nowhere to spill to.
    fn spill_ips(&self) -> Vec<IpAddr> {
        let unpooled: Vec<IpAddr> = self
            .ips
            .iter()
            .filter(|s| s.pool.is_none())
            .map(|s| s.ip)
            .collect();
        if !unpooled.is_empty() {
            return unpooled;
        }
        self.ips
            .iter()
            .filter(|s| !s.managed)
            .map(|s| s.ip)
            .collect()
    }
}

/// Where one delivery attempt should leave from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceChoice {
    /// Bind the connection to this address; its allowance has been charged.
    Ip(IpAddr),
    /// No outbound address is configured: let the OS pick the source.
    Any,
    /// No address the message may use has room now: try again at `until_ms`, without counting
    /// an attempt. Standard pools: every address is at its daily warm-up cap (SH-4 [design]: no
    /// shared pool to spill to), `until_ms` is the next UTC midnight. Managed pools: every IP
    /// is past its early warm-up for the recipient's ISP and full (F-38, F-42), `until_ms` is
    /// when the rolling window has room again.
    Defer { until_ms: i64 },
}

/// How a message to one ISP used a MANAGED pool (F-37..F-48): what delivery reports back
/// with [`Engine::record_managed_outcome`] so the (IP, ISP) allowance adapts (SH-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedRoute {
    pub pool: String,
    /// ISP label of the recipient domain (SH-5).
    pub isp: String,
    /// The pool's IP it left from; `None` when it spilled to the shared pool.
    pub ip: Option<IpAddr>,
}

/// [`Engine::choose_source_ip`]'s answer: the choice, and for a managed pool the route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePick {
    pub choice: SourceChoice,
    pub managed: Option<ManagedRoute>,
}

impl From<SourceChoice> for SourcePick {
    fn from(choice: SourceChoice) -> SourcePick {
        SourcePick {
            choice,
            managed: None,
        }
    }
}

/// `^[a-z0-9_-]{1,64}$`; the two SES names are reserved (F-31).
pub fn validate_pool_name(name: &str) -> Result<(), EngineError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(EngineError::BadRequest(format!(
            "Invalid pool name <{name}>: use 1-64 lower-case letters, digits, '-' and '_'."
        )));
    }
    if is_reserved(name) {
        return Err(reserved(name));
    }
    Ok(())
}

/// `ScalingMode`, `STANDARD` when absent (F-54).
pub fn parse_scaling_mode(mode: Option<&str>) -> Result<&'static str, EngineError> {
    match mode {
        None | Some("STANDARD") => Ok(scaling::STANDARD),
        Some("MANAGED") => Ok(scaling::MANAGED),
        Some(m) => Err(EngineError::BadRequest(format!(
            "Invalid ScalingMode <{m}>: use STANDARD or MANAGED."
        ))),
    }
}

/// What SES answers when a request names one of the reserved pools where a real pool is
/// needed ([obs]: `GetDedicatedIpPool("ses-shared-pool")` → `BadRequestException`).
fn reserved(_name: &str) -> EngineError {
    EngineError::BadRequest(
        "Pool name describes either a shared or default dedicated ip pool".into(),
    )
}

fn pool_not_found(name: &str) -> EngineError {
    EngineError::NotFound(format!("Dedicated IP pool {name} does not exist."))
}

fn ip_not_found(ip: &str) -> EngineError {
    EngineError::NotFound(format!(
        "{ip} is not a dedicated IP address of this account."
    ))
}

fn corrupt(what: &str, e: serde_json::Error) -> EngineError {
    EngineError::Internal(format!("corrupt {what}: {e}"))
}

/// An API `Ip` member: an IPv4 address (F-64, Q-130).
pub fn parse_api_ip(ip: &str) -> Result<IpAddr, EngineError> {
    ip.parse::<std::net::Ipv4Addr>()
        .map(IpAddr::V4)
        .map_err(|_| EngineError::BadRequest(format!("Invalid IP address <{ip}>.")))
}

impl Engine {
    /// The configured outbound addresses, duplicates removed, in configuration order.
    pub fn outbound_ips(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        for ip in &self.settings.outbound_ips {
            if !out.contains(ip) {
                out.push(*ip);
            }
        }
        out
    }

    fn pool_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::DEDICATED_IP_POOL, name)
    }

    fn ip_key(scope: &Scope, ip: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::DEDICATED_IP, ip)
    }

    async fn all_resources(
        &self,
        scope: &Scope,
        kind: &str,
    ) -> Result<Vec<sesame_model::Resource>, EngineError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_resources(scope, kind, "", after.as_deref(), 500)
                .await?;
            let full = page.len() == 500;
            after = page.last().map(|r| r.key.name.clone());
            out.extend(page);
            if !full {
                return Ok(out);
            }
        }
    }

    async fn load_pools(&self, scope: &Scope) -> Result<Vec<DedicatedIpPoolRecord>, EngineError> {
        self.all_resources(scope, kind::DEDICATED_IP_POOL)
            .await?
            .into_iter()
            .map(|r| serde_json::from_value(r.data).map_err(|e| corrupt("dedicated IP pool", e)))
            .collect()
    }

    async fn load_ip_records(
        &self,
        scope: &Scope,
    ) -> Result<BTreeMap<String, DedicatedIpRecord>, EngineError> {
        let mut out = BTreeMap::new();
        for r in self.all_resources(scope, kind::DEDICATED_IP).await? {
            let rec: DedicatedIpRecord =
                serde_json::from_value(r.data).map_err(|e| corrupt("dedicated IP", e))?;
            out.insert(r.key.name, rec);
        }
        Ok(out)
    }

    /// The account's view of every configured address; registers (creates the document of)
    /// each IPv4 address the account has not seen yet, with the account's auto warm-up setting
    /// of that moment (F-24).
    pub async fn dedicated_ip_inventory(&self, scope: &Scope) -> Result<Inventory, EngineError> {
        let configured = self.outbound_ips();
        let pools = self.load_pools(scope).await?;
        if configured.is_empty() {
            return Ok(Inventory {
                ips: vec![],
                pools,
                managed: BTreeMap::new(),
            });
        }
        let mut records = self.load_ip_records(scope).await?;
        let missing: Vec<String> = configured
            .iter()
            .filter(|ip| ip.is_ipv4())
            .map(|ip| ip.to_string())
            .filter(|ip| !records.contains_key(ip))
            .collect();
        if !missing.is_empty() {
            let auto = self
                .account_settings(scope)
                .await?
                .dedicated_ip_auto_warmup_enabled;
            let now = now_ms();
            for ip in missing {
                let rec = DedicatedIpRecord {
                    ip: ip.clone(),
                    pool: None,
                    warmup: Warmup::registered(now, auto),
                    registered_at: now,
                    managed: None,
                };
                let data = serde_json::to_value(&rec).expect("record serialises");
                let rec = match self
                    .store
                    .insert_resource(&Self::ip_key(scope, &ip), &data)
                    .await
                {
                    Ok(_) => rec,
                    // Registered meanwhile by another request or node: use theirs.
                    Err(StoreError::AlreadyExists) => {
                        let r = self
                            .store
                            .get_resource(&Self::ip_key(scope, &ip))
                            .await?
                            .ok_or_else(|| ip_not_found(&ip))?;
                        serde_json::from_value(r.data).map_err(|e| corrupt("dedicated IP", e))?
                    }
                    Err(e) => return Err(e.into()),
                };
                records.insert(ip, rec);
            }
        }
        let now = now_ms();
        let mut managed = BTreeMap::new();
        let ips = configured
            .into_iter()
            .map(|ip| {
                let rec = records.get(&ip.to_string()).filter(|_| ip.is_ipv4());
                let pool = rec
                    .and_then(|r| r.pool.as_deref())
                    .and_then(|p| pools.iter().find(|x| x.name == p));
                let is_managed = pool.is_some_and(DedicatedIpPoolRecord::managed);
                if let (true, Some(r)) = (is_managed, rec) {
                    managed.insert(ip, r.managed_state(now));
                }
                IpState {
                    ip,
                    pool: pool.map(|p| p.name.clone()),
                    managed: is_managed,
                    warmup: rec.map(|r| r.warmup),
                }
            })
            .collect();
        Ok(Inventory {
            ips,
            pools,
            managed,
        })
    }

    /// Read-modify-write of one IP's document (it must exist: call the inventory first).
    async fn update_ip_record<F>(
        &self,
        scope: &Scope,
        ip: &str,
        mut f: F,
    ) -> Result<(), EngineError>
    where
        F: FnMut(&mut DedicatedIpRecord) + Send,
    {
        let key = Self::ip_key(scope, ip);
        loop {
            let r = self
                .store
                .get_resource(&key)
                .await?
                .ok_or_else(|| ip_not_found(ip))?;
            let mut rec: DedicatedIpRecord =
                serde_json::from_value(r.data).map_err(|e| corrupt("dedicated IP", e))?;
            f(&mut rec);
            let data = serde_json::to_value(&rec).expect("record serialises");
            match self.store.update_resource(&key, &data, r.version).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    // ---- pools (F-27..F-32, F-43, F-44, F-48, F-54..F-57, F-62) ----

    /// `CreateDedicatedIpPool`.
    pub async fn create_dedicated_ip_pool(
        &self,
        scope: &Scope,
        name: &str,
        scaling_mode: Option<&str>,
        tags: Vec<Tag>,
    ) -> Result<(), EngineError> {
        validate_pool_name(name)?;
        let mode = parse_scaling_mode(scaling_mode)?;
        crate::tags::validate_tags(&tags)?;
        if self
            .store
            .count_resources(scope, kind::DEDICATED_IP_POOL)
            .await?
            >= MAX_POOLS
        {
            return Err(EngineError::LimitExceeded(format!(
                "An account can have at most {MAX_POOLS} dedicated IP pools in a region."
            )));
        }
        let rec = DedicatedIpPoolRecord {
            name: name.to_string(),
            scaling_mode: mode.to_string(),
            created_at: now_ms(),
            tags,
        };
        let data = serde_json::to_value(&rec).expect("record serialises");
        self.store
            .insert_resource(&Self::pool_key(scope, name), &data)
            .await
            .map_err(|e| match e {
                // F-29/F-43: unique across standard and managed pools (one kind).
                StoreError::AlreadyExists => {
                    EngineError::AlreadyExists(format!("Pool {name} already exists."))
                }
                other => other.into(),
            })?;
        Ok(())
    }

    /// A named pool (`GetDedicatedIpPool`); the reserved names are refused ([obs]).
    pub async fn get_dedicated_ip_pool(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<DedicatedIpPoolRecord, EngineError> {
        if is_reserved(name) {
            return Err(reserved(name));
        }
        let r = self
            .store
            .get_resource(&Self::pool_key(scope, name))
            .await?
            .ok_or_else(|| pool_not_found(name))?;
        serde_json::from_value(r.data).map_err(|e| corrupt("dedicated IP pool", e))
    }

    /// `ListDedicatedIpPools`: the account's pools plus the two reserved ones, which always
    /// exist here ([obs]: SES lists them), in byte order; names after `after`, at most `limit`,
    /// and the name to resume after when there are more.
    pub async fn list_dedicated_ip_pools(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), EngineError> {
        let limit = limit.max(1);
        let rows = self
            .store
            .list_resources(scope, kind::DEDICATED_IP_POOL, "", after, limit + 1)
            .await?;
        let mut names: Vec<String> = rows.into_iter().map(|r| r.key.name).collect();
        names.extend(
            [DEFAULT_POOL, SHARED_POOL]
                .into_iter()
                .filter(|n| after.is_none_or(|a| *n > a))
                .map(str::to_string),
        );
        names.sort();
        let more = names.len() > limit;
        names.truncate(limit);
        let next = if more { names.last().cloned() } else { None };
        Ok((names, next))
    }

    /// `DeleteDedicatedIpPool`. Refused for the reserved pools, for a STANDARD pool that still
    /// holds IPs (F-32) and for a pool a configuration set sends through ([design]: SES
    /// documents no behaviour; refusing keeps every set's `SendingPoolName` valid, E-129).
    /// A MANAGED pool's IPs are released to the default pool and re-registered (F-48: SES
    /// releases them; the same addresses coming back are new IPs for warm-up, F-24), and its
    /// counters are dropped.
    pub async fn delete_dedicated_ip_pool(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<(), EngineError> {
        let pool = self.get_dedicated_ip_pool(scope, name).await?;
        if let Some(set) = self.configuration_set_using_pool(scope, name).await? {
            return Err(EngineError::BadRequest(format!(
                "Dedicated IP pool {name} is used by configuration set {set}; change its SendingPoolName first."
            )));
        }
        let configured: Vec<String> = self.outbound_ips().iter().map(|i| i.to_string()).collect();
        let records = self.load_ip_records(scope).await?;
        let members: Vec<&DedicatedIpRecord> = records
            .values()
            .filter(|r| r.pool.as_deref() == Some(name))
            .collect();
        let live = members
            .iter()
            .filter(|r| configured.contains(&r.ip))
            .count();
        if !pool.managed() && live > 0 {
            return Err(EngineError::BadRequest(format!(
                "Dedicated IP pool {name} still contains {live} dedicated IP address(es); move them to another pool first."
            )));
        }
        if !members.is_empty() {
            let auto = self
                .account_settings(scope)
                .await?
                .dedicated_ip_auto_warmup_enabled;
            let now = now_ms();
            for m in members {
                self.update_ip_record(scope, &m.ip, |r| {
                    if r.pool.as_deref() == Some(name) {
                        if pool.managed() {
                            r.release(now, auto);
                        } else {
                            r.pool = None;
                        }
                    }
                })
                .await?;
            }
        }
        if !self
            .store
            .delete_resource(&Self::pool_key(scope, name))
            .await?
        {
            return Err(pool_not_found(name));
        }
        if pool.managed() {
            self.store.delete_pool_usage(scope, name).await?;
        }
        Ok(())
    }

    /// The first configuration set whose `SendingPoolName` is `pool`.
    async fn configuration_set_using_pool(
        &self,
        scope: &Scope,
        pool: &str,
    ) -> Result<Option<String>, EngineError> {
        for r in self.all_resources(scope, kind::CONFIGURATION_SET).await? {
            let uses = r
                .data
                .get("delivery_options")
                .and_then(|d| d.get("SendingPoolName"))
                .and_then(serde_json::Value::as_str)
                == Some(pool);
            if uses {
                return Ok(Some(r.key.name));
            }
        }
        Ok(None)
    }

    /// `PutDedicatedIpPoolScalingAttributes` (F-44, F-62): STANDARD → MANAGED converts the
    /// pool, keeping its configuration sets and tags; of its IPs the most warmed stays, with its
    /// warm-up as every ISP's starting allowance, and the redundant ones go back to the
    /// inventory ([`managed::on_conversion`]); MANAGED → STANDARD is refused; the current mode
    /// is a no-op.
    pub async fn put_dedicated_ip_pool_scaling(
        &self,
        scope: &Scope,
        name: &str,
        mode: &str,
    ) -> Result<(), EngineError> {
        let mode = parse_scaling_mode(Some(mode))?;
        if is_reserved(name) {
            return Err(reserved(name));
        }
        let key = Self::pool_key(scope, name);
        loop {
            let r = self
                .store
                .get_resource(&key)
                .await?
                .ok_or_else(|| pool_not_found(name))?;
            let mut rec: DedicatedIpPoolRecord =
                serde_json::from_value(r.data).map_err(|e| corrupt("dedicated IP pool", e))?;
            if rec.scaling_mode == mode {
                return Ok(());
            }
            if rec.managed() {
                return Err(EngineError::BadRequest(
                    "Changing the scaling mode from MANAGED to STANDARD is not supported.".into(),
                ));
            }
            rec.scaling_mode = mode.to_string();
            let data = serde_json::to_value(&rec).expect("record serialises");
            match self.store.update_resource(&key, &data, r.version).await {
                Ok(_) => return self.convert_members(scope, name, now_ms()).await,
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(pool_not_found(name)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// E-129: a `SendingPoolName` must name an existing pool of the account, or one of the two
    /// reserved pools (E-98).
    pub(crate) async fn check_dedicated_ip_pool_exists(
        &self,
        scope: &Scope,
        pool: &str,
    ) -> Result<(), EngineError> {
        if is_reserved(pool) {
            return Ok(());
        }
        self.get_dedicated_ip_pool(scope, pool).await.map(|_| ())
    }

    // ---- IPs (F-25, F-29, F-58..F-61, F-63, F-64) ----

    /// `GetDedicatedIp`: any configured IPv4 address (managed ones show `NOT_APPLICABLE`).
    pub async fn get_dedicated_ip(&self, scope: &Scope, ip: &str) -> Result<IpState, EngineError> {
        let addr = parse_api_ip(ip)?;
        let inv = self.dedicated_ip_inventory(scope).await?;
        inv.state(addr).cloned().ok_or_else(|| ip_not_found(ip))
    }

    /// `GetDedicatedIps`, in address order: every listed IP (IPv4, not in a managed pool,
    /// F-13), or those of one pool. `ses-default-dedicated-pool` = the IPs in no named pool;
    /// `ses-shared-pool` and managed pools list none; an unknown pool is `NotFound`.
    pub async fn list_dedicated_ips(
        &self,
        scope: &Scope,
        pool: Option<&str>,
    ) -> Result<Vec<IpState>, EngineError> {
        let inv = self.dedicated_ip_inventory(scope).await?;
        let filter: Option<Option<&str>> = match pool {
            None => None,
            Some(DEFAULT_POOL) => Some(None),
            Some(SHARED_POOL) => return Ok(vec![]),
            Some(p) => {
                inv.pool(p).ok_or_else(|| pool_not_found(p))?;
                Some(Some(p))
            }
        };
        let mut out: Vec<IpState> = inv
            .ips
            .into_iter()
            .filter(|s| s.listed())
            .filter(|s| filter.is_none_or(|f| s.pool.as_deref() == f))
            .collect();
        out.sort_by_key(|s| s.ip);
        Ok(out)
    }

    /// `PutDedicatedIpInPool` (F-29, F-60): moves a standard IP to an existing standard pool,
    /// leaving its previous one; `ses-default-dedicated-pool` takes it out of every pool (what
    /// Terraform does on delete). Managed IPs and managed or shared destinations are refused
    ///
    pub async fn put_dedicated_ip_in_pool(
        &self,
        scope: &Scope,
        ip: &str,
        destination: &str,
    ) -> Result<(), EngineError> {
        let addr = parse_api_ip(ip)?;
        let inv = self.dedicated_ip_inventory(scope).await?;
        let state = inv.state(addr).ok_or_else(|| ip_not_found(ip))?;
        let target = match destination {
            DEFAULT_POOL => None,
            SHARED_POOL => {
                return Err(EngineError::BadRequest(
                    "Dedicated IP addresses cannot be moved into ses-shared-pool.".into(),
                ))
            }
            p => {
                let pool = inv.pool(p).ok_or_else(|| pool_not_found(p))?;
                if pool.managed() {
                    return Err(EngineError::BadRequest(format!(
                        "Dedicated IP pool {p} is a managed pool: its IP addresses are managed automatically."
                    )));
                }
                Some(p.to_string())
            }
        };
        if state.managed {
            return Err(EngineError::BadRequest(format!(
                "{ip} belongs to a managed dedicated IP pool and cannot be moved."
            )));
        }
        let name = addr.to_string();
        self.update_ip_record(scope, &name, |r| r.pool = target.clone())
            .await
    }

    /// `PutDedicatedIpWarmupAttributes` (F-25, F-61): 0–100; 100 = `DONE`, 0 = reset.
    pub async fn put_dedicated_ip_warmup(
        &self,
        scope: &Scope,
        ip: &str,
        percentage: i64,
    ) -> Result<(), EngineError> {
        let addr = parse_api_ip(ip)?;
        let pct = u8::try_from(percentage)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| {
                EngineError::BadRequest("WarmupPercentage must be between 0 and 100.".into())
            })?;
        let inv = self.dedicated_ip_inventory(scope).await?;
        let state = inv.state(addr).ok_or_else(|| ip_not_found(ip))?;
        if state.managed {
            return Err(EngineError::BadRequest(format!(
                "{ip} belongs to a managed dedicated IP pool, whose warm-up is managed automatically."
            )));
        }
        let auto = self
            .account_settings(scope)
            .await?
            .dedicated_ip_auto_warmup_enabled;
        let now = now_ms();
        self.update_ip_record(scope, &addr.to_string(), |r| {
            r.warmup = Warmup::set(pct, now, auto)
        })
        .await
    }

    /// `PutAccountDedicatedIpWarmupAttributes` (F-24, F-63): applies to IPs registered from now
    /// on; IPs already warming keep their state.
    pub async fn put_account_dedicated_ip_warmup(
        &self,
        scope: &Scope,
        enabled: bool,
    ) -> Result<(), EngineError> {
        self.update_account_settings(scope, |s| {
            s.dedicated_ip_auto_warmup_enabled = enabled;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    // ---- delivery (F-33, SH-3, SH-4) ----

    /// The addresses mail of `configuration_set` (or without one) may leave from: the set's
    /// `SendingPoolName` pool, otherwise the IPs in no pool, or every IP when all are pooled;
    /// an empty standard pool falls back to every IP (see [`pool_ips`]); a managed pool
    /// without IPs to its shared pool (the IPs in no pool, else every IP outside managed
    /// pools); empty only when no outbound address is configured. A set that does not exist
    /// counts as no set.
    pub async fn sending_pool_ips(
        &self,
        scope: &Scope,
        configuration_set: Option<&str>,
    ) -> Result<Vec<IpAddr>, EngineError> {
        if self.settings.outbound_ips.is_empty() {
            return Ok(vec![]);
        }
        let pool = self.sending_pool_name(scope, configuration_set).await?;
        let inv = self.dedicated_ip_inventory(scope).await?;
        if let Some(p) = pool
            .as_deref()
            .and_then(|p| inv.pool(p))
            .filter(|p| p.managed())
        {
            let members = inv.members(&p.name);
            return Ok(if members.is_empty() {
                inv.spill_ips()
            } else {
                members
            });
        }
        Ok(pool_ips(&inv.ips, &inv.pool_names(), pool.as_deref()))
    }

    async fn sending_pool_name(
        &self,
        scope: &Scope,
        configuration_set: Option<&str>,
    ) -> Result<Option<String>, EngineError> {
        let Some(name) = configuration_set else {
            return Ok(None);
        };
        Ok(self
            .get_configuration_set(scope, name)
            .await?
            .and_then(|r| r.delivery_options)
            .and_then(|d| {
                d.get("SendingPoolName")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            }))
    }

    /// Charges `recipients` messages to `ip`'s warm-up cap for `scope` on the UTC day of
    /// `now_ms`; `false` when the cap is reached (nothing charged). Addresses without a cap
    /// (`DONE`, IPv6) always pass without a store write. A single job larger than the whole
    /// cap is charged as the whole cap, so it can leave on a day the IP has sent nothing yet
    /// rather than never. `NotFound` for an address that is not configured.
    pub async fn take_ip_allowance(
        &self,
        scope: &Scope,
        ip: IpAddr,
        recipients: u64,
        now_ms: i64,
    ) -> Result<bool, EngineError> {
        let inv = self.dedicated_ip_inventory(scope).await?;
        let state = inv.state(ip).ok_or_else(|| ip_not_found(&ip.to_string()))?;
        self.charge(scope, state, recipients, now_ms).await
    }

    async fn charge(
        &self,
        scope: &Scope,
        state: &IpState,
        recipients: u64,
        now_ms: i64,
    ) -> Result<bool, EngineError> {
        let limit = state.daily_limit_at(now_ms);
        if limit == u64::MAX {
            return Ok(true);
        }
        if limit == 0 {
            return Ok(false);
        }
        let charge = recipients.clamp(1, limit);
        Ok(self
            .store
            .add_ip_sends(scope, &state.ip.to_string(), utc_day(now_ms), charge, limit)
            .await?)
    }

    /// Picks the source address of one delivery attempt to `recipient_domain`, charging it.
    ///
    /// - A STANDARD pool, a reserved pool or no pool ([`Engine::sending_pool_ips`]): the
    ///   addresses are tried in [`source_order`] (`seed`: [`seed_of`] the message id), and the
    ///   first whose daily warm-up cap still has room is charged
    ///   ([`Engine::take_ip_allowance`]); when none has, `Defer` to the next UTC midnight.
    /// - A MANAGED pool (F-37..F-48, SH-4): its IPs' rolling 24-hour allowances for the
    ///   recipient's ISP (SH-5) are tried in [`managed::managed_order`]; without room the
    ///   message spills to the shared pool or is deferred ([`managed::overflow`]); the answer
    ///   carries the [`ManagedRoute`] to report the outcome with
    ///   [`Engine::record_managed_outcome`].
    ///
    /// `recipients` is the number of recipients in the SMTP transaction.
    pub async fn choose_source_ip(
        &self,
        scope: &Scope,
        configuration_set: Option<&str>,
        recipient_domain: &str,
        recipients: u64,
        seed: u64,
        now_ms: i64,
    ) -> Result<SourcePick, EngineError> {
        if self.settings.outbound_ips.is_empty() {
            return Ok(SourceChoice::Any.into());
        }
        let pool = self.sending_pool_name(scope, configuration_set).await?;
        let inv = self.dedicated_ip_inventory(scope).await?;
        if let Some(p) = pool
            .as_deref()
            .and_then(|p| inv.pool(p))
            .filter(|p| p.managed())
        {
            let name = p.name.clone();
            return self
                .choose_managed(
                    scope,
                    &inv,
                    &name,
                    recipient_domain,
                    recipients,
                    seed,
                    now_ms,
                )
                .await;
        }
        let ips = pool_ips(&inv.ips, &inv.pool_names(), pool.as_deref());
        let choice = match self
            .charge_first(scope, &inv, &ips, recipients, seed, now_ms)
            .await?
        {
            Some(ip) => SourceChoice::Ip(ip),
            None => SourceChoice::Defer {
                until_ms: next_utc_midnight(now_ms),
            },
        };
        Ok(choice.into())
    }

    /// The first of `ips` (in [`source_order`]) whose daily warm-up cap has room for
    /// `recipients`, charged; `None` when every one is full.
    async fn charge_first(
        &self,
        scope: &Scope,
        inv: &Inventory,
        ips: &[IpAddr],
        recipients: u64,
        seed: u64,
        now_ms: i64,
    ) -> Result<Option<IpAddr>, EngineError> {
        let candidates: Vec<(IpAddr, u8)> = ips
            .iter()
            .filter_map(|ip| inv.state(*ip))
            .map(|s| (s.ip, s.percentage_at(now_ms)))
            .collect();
        for ip in source_order(&candidates, seed) {
            let Some(state) = inv.state(ip) else { continue };
            if self.charge(scope, state, recipients, now_ms).await? {
                return Ok(Some(ip));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod managed_tests;
#[cfg(test)]
mod tests;
