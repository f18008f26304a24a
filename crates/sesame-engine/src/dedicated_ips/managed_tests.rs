//! Engine-level behaviour of MANAGED pools over the in-memory store (spec F-37..F-48, SH-4,
//! SH-5, KA-16; DECISIONS Q-133), on a simulated clock. The rules' arithmetic is unit-tested in
//! `managed.rs`. Addresses: 127.0.17.0/24.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;
use sesame_model::{JobReport, RecipientResult, SmtpReply};

use super::managed::{HOUR_MS, START_ALLOWANCE};
use super::*;
use crate::test_store::{engine, scope};

const DAY_MS: i64 = 24 * HOUR_MS;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Three IPv4 outbound addresses, auto warm-up off (the standard caps of the shared addresses
/// stay out of the way), a MANAGED pool `auto` and a configuration set `m` sending through it.
async fn setup() -> (Engine, Scope) {
    let mut e = engine();
    Arc::make_mut(&mut e.settings).outbound_ips =
        vec![ip("127.0.17.1"), ip("127.0.17.2"), ip("127.0.17.3")];
    let sc = scope();
    e.put_account_dedicated_ip_warmup(&sc, false).await.unwrap();
    e.create_dedicated_ip_pool(&sc, "auto", Some("MANAGED"), vec![])
        .await
        .unwrap();
    let mut set = Engine::new_configuration_set("m");
    set.delivery_options = Some(json!({ "SendingPoolName": "auto" }));
    e.create_configuration_set(&sc, set).await.unwrap();
    (e, sc)
}

/// A simulated start: some hour of the current epoch, plus 30 minutes.
fn t0() -> i64 {
    (now_ms() / HOUR_MS) * HOUR_MS + HOUR_MS / 2
}

async fn pick(e: &Engine, sc: &Scope, domain: &str, n: u64, at: i64) -> SourcePick {
    e.choose_source_ip(sc, Some("m"), domain, n, 7, at)
        .await
        .unwrap()
}

fn dedicated(a: &str, isp: &str) -> SourcePick {
    SourcePick {
        choice: SourceChoice::Ip(ip(a)),
        managed: Some(ManagedRoute {
            pool: "auto".into(),
            isp: isp.into(),
            ip: Some(ip(a)),
        }),
    }
}

fn shared(a: &str, isp: &str) -> SourcePick {
    SourcePick {
        choice: SourceChoice::Ip(ip(a)),
        managed: Some(ManagedRoute {
            pool: "auto".into(),
            isp: isp.into(),
            ip: None,
        }),
    }
}

/// `n` recipients answered `code text` by the ISP.
fn answered(n: u64, code: u16, text: &str) -> JobReport {
    JobReport {
        results: (0..n)
            .map(|i| {
                (
                    format!("r{i}@x"),
                    RecipientResult::Reply(SmtpReply {
                        code,
                        status: None,
                        text: text.into(),
                    }),
                )
            })
            .collect(),
        remote_host: None,
        remote_ip: None,
        local_ip: None,
        helo: String::new(),
        tls: false,
    }
}

async fn report(e: &Engine, sc: &Scope, at: i64) -> ManagedPoolReport {
    e.managed_pool_report(sc, "auto", at).await.unwrap()
}

fn isp<'a>(r: &'a ManagedPoolReport, name: &str) -> &'a IspReport {
    r.isps
        .iter()
        .find(|i| i.isp == name)
        .unwrap_or_else(|| panic!("{name} in {r:#?}"))
}

/// Sends `n` recipients to `domain` through the pool and reports them delivered.
async fn deliver(e: &Engine, sc: &Scope, domain: &str, n: u64, at: i64) -> SourcePick {
    let p = pick(e, sc, domain, n, at).await;
    if let Some(route) = &p.managed {
        e.record_managed_outcome(sc, route, &answered(n, 250, "2.0.0 Ok"), at)
            .await
            .unwrap();
    }
    p
}

/// Gets the pool its first IP: 300 recipients through the shared pool, then an evaluation.
async fn activate(e: &Engine, sc: &Scope, at: i64) {
    assert_eq!(
        pick(e, sc, "example.net", 300, at).await,
        shared("127.0.17.1", "Other"),
        "no IP yet: the shared pool (the addresses in no pool)"
    );
    let r = e
        .evaluate_managed_pools(sc, &ScalingParams::default(), at)
        .await
        .unwrap();
    assert_eq!(r[0].changes, ["allocated 127.0.17.1"]);
}

/// F-37 / F-41 / F-48 / KA-16: a managed pool draws its first IP from the inventory once it
/// sent 300 recipients in 3 days, sends through it, and gives it back when deleted.
#[tokio::test]
async fn allocation_from_inventory_and_release_on_delete() {
    let (e, sc) = setup().await;
    let t = t0();
    let r = report(&e, &sc, t).await;
    assert_eq!((r.status, r.ips.len()), ("Insufficient volume", 0));
    assert_eq!(
        e.sending_pool_ips(&sc, Some("m")).await.unwrap(),
        [ip("127.0.17.1"), ip("127.0.17.2"), ip("127.0.17.3")],
        "no IP: the shared pool"
    );

    // 299 recipients leave through the shared pool: below F-41's threshold.
    assert_eq!(
        pick(&e, &sc, "gmail.com", 299, t).await,
        shared("127.0.17.1", "Gmail")
    );
    let params = ScalingParams::default();
    let r = e.evaluate_managed_pools(&sc, &params, t).await.unwrap();
    assert_eq!(r.len(), 1);
    assert!(r[0].changes.is_empty(), "{r:?}");
    assert_eq!(r[0].shared_last_7_days, 299);
    assert_eq!(r[0].dedicated_percentage_last_7_days, Some(0.0));

    // The 300th: the first IP of the inventory (configuration order) joins the pool.
    pick(&e, &sc, "yahoo.com", 1, t).await;
    let r = e.evaluate_managed_pools(&sc, &params, t).await.unwrap();
    assert_eq!(r[0].changes, ["allocated 127.0.17.1"]);
    assert_eq!(r[0].status, "Sending via dedicated IPs");
    assert_eq!(r[0].ips[0].ip, "127.0.17.1");
    assert_eq!(
        e.get_dedicated_ip(&sc, "127.0.17.1")
            .await
            .unwrap()
            .wire_at(t),
        (WarmupStatus::NotApplicable, -1, "auto".to_string()),
        "F-64: a managed IP"
    );
    assert_eq!(
        e.list_dedicated_ips(&sc, None)
            .await
            .unwrap()
            .iter()
            .map(|s| s.ip)
            .collect::<Vec<_>>(),
        [ip("127.0.17.2"), ip("127.0.17.3")],
        "F-13: not listed"
    );
    assert_eq!(
        e.sending_pool_ips(&sc, Some("m")).await.unwrap(),
        [ip("127.0.17.1")]
    );
    // A second evaluation changes nothing: one IP is what 300 recipients need.
    let again = e.evaluate_managed_pools(&sc, &params, t).await.unwrap();
    assert!(again[0].changes.is_empty());

    // Mail now leaves from the dedicated IP; the other mail from the remaining inventory.
    assert_eq!(
        deliver(&e, &sc, "gmail.com", 10, t).await,
        dedicated("127.0.17.1", "Gmail")
    );
    assert_eq!(
        e.choose_source_ip(&sc, None, "gmail.com", 1, 7, t)
            .await
            .unwrap(),
        SourcePick {
            choice: SourceChoice::Ip(ip("127.0.17.2")),
            managed: None
        },
        "mail without a pool: the addresses in no pool"
    );
    let r = report(&e, &sc, t).await;
    assert_eq!((r.dedicated_last_7_days, r.shared_last_7_days), (10, 300));

    // F-48: deleting the pool returns its IP to the inventory and drops its counters.
    e.delete_configuration_set(&sc, "m").await.unwrap();
    e.delete_dedicated_ip_pool(&sc, "auto").await.unwrap();
    assert_eq!(
        e.get_dedicated_ip(&sc, "127.0.17.1")
            .await
            .unwrap()
            .wire_at(t),
        (WarmupStatus::Done, 100, DEFAULT_POOL.to_string()),
        "unassigned, registered anew (auto warm-up off: DONE)"
    );
    assert!(e
        .store
        .pool_usage(&sc, "auto", None, 0)
        .await
        .unwrap()
        .is_empty());
}

/// F-42: below the minimum volume (100 in 3 days) the pool gives its IP back, but not within
/// 3 days of getting it.
#[tokio::test]
async fn low_volume_releases_the_ip() {
    let (e, sc) = setup().await;
    let t = t0();
    activate(&e, &sc, t).await;
    let params = ScalingParams::default();
    let held = e
        .evaluate_managed_pools(&sc, &params, t + 2 * DAY_MS)
        .await
        .unwrap();
    assert!(held[0].changes.is_empty(), "within the hold: {held:?}");
    let later = t + 4 * DAY_MS;
    let r = e.evaluate_managed_pools(&sc, &params, later).await.unwrap();
    assert_eq!(r[0].changes, ["released 127.0.17.1"]);
    assert_eq!(r[0].status, "Insufficient volume");
    assert_eq!(
        e.get_dedicated_ip(&sc, "127.0.17.1").await.unwrap().pool,
        None
    );
    // F-39: all sending is back on the shared pool.
    assert_eq!(
        pick(&e, &sc, "gmail.com", 1, later).await,
        shared("127.0.17.1", "Gmail")
    );
}

/// F-38 / F-39 / F-42 / SH-4 / SH-5: per-ISP warm-up. Early on, Gmail volume above the IP's
/// Gmail allowance spills to the shared pool; after three weeks of full use Gmail is in its
/// later phase and the excess is deferred until the window has room — while Yahoo, barely
/// used, is still early and spills.
#[tokio::test]
async fn spillover_then_deferral_for_one_isp_while_another_is_unaffected() {
    let (e, sc) = setup().await;
    let t = t0();
    activate(&e, &sc, t).await;

    // Day 0: the Gmail allowance is the start (1,500 a rolling day).
    assert_eq!(
        isp(&report(&e, &sc, t).await, "Other").capacity_24_hours,
        START_ALLOWANCE
    );
    assert_eq!(
        deliver(&e, &sc, "gmail.com", 1_500, t).await,
        dedicated("127.0.17.1", "Gmail")
    );
    assert_eq!(
        pick(&e, &sc, "googlemail.com", 10, t).await,
        shared("127.0.17.2", "Gmail"),
        "early phase: the excess leaves through the shared pool"
    );
    assert_eq!(
        deliver(&e, &sc, "yahoo.com", 10, t).await,
        dedicated("127.0.17.1", "Yahoo"),
        "Yahoo has its own allowance"
    );
    let r = report(&e, &sc, t).await;
    let gmail = isp(&r, "Gmail");
    assert_eq!(
        (
            gmail.sent_last_24_hours,
            gmail.shared_last_24_hours,
            gmail.available_24_hour_send,
            gmail.phase
        ),
        (1_500, 10, 0, "early")
    );

    // Every day, Gmail gets its whole allowance and accepts it; Yahoo a little.
    let params = ScalingParams::default();
    let mut day = 0;
    let at = loop {
        day += 1;
        assert!(day < 40, "Gmail never left its early phase");
        let at = t + day * DAY_MS;
        e.evaluate_managed_pools(&sc, &params, at).await.unwrap();
        let r = report(&e, &sc, at).await;
        let g = isp(&r, "Gmail");
        if g.phase == "later" {
            break at;
        }
        let n = g.available_24_hour_send;
        assert_eq!(
            deliver(&e, &sc, "gmail.com", n, at).await,
            dedicated("127.0.17.1", "Gmail"),
            "day {day}"
        );
        deliver(&e, &sc, "yahoo.com", 10, at).await;
    };
    assert_eq!(day, 23, "about three weeks (F-19: 2 to 6 weeks)");
    let r = report(&e, &sc, at).await;
    let g = isp(&r, "Gmail");
    assert!(g.capacity_24_hours >= 12_500, "{g:?}");
    assert_eq!(g.warmup_percentage, 26);
    assert_eq!(isp(&r, "Yahoo").phase, "early");

    // Later phase: fill the allowance, then the excess is deferred to the hour when the
    // window has room again, not spilled.
    let n = g.available_24_hour_send;
    deliver(&e, &sc, "gmail.com", n, at).await;
    let d = pick(&e, &sc, "gmail.com", 10, at).await;
    assert_eq!(
        d.managed,
        Some(ManagedRoute {
            pool: "auto".into(),
            isp: "Gmail".into(),
            ip: None
        })
    );
    let SourceChoice::Defer { until_ms } = d.choice else {
        panic!("{d:?}")
    };
    assert_eq!(
        until_ms,
        (at / HOUR_MS + 24) * HOUR_MS,
        "when this send leaves the window"
    );
    assert!(until_ms > at && until_ms <= at + DAY_MS);
    assert_eq!(
        isp(&report(&e, &sc, at).await, "Gmail").deferred_last_24_hours,
        10
    );

    // Meanwhile Yahoo still spills what its (early) allowance cannot carry.
    let y = isp(&report(&e, &sc, at).await, "Yahoo").available_24_hour_send;
    assert_eq!(
        pick(&e, &sc, "yahoo.com", y, at).await,
        dedicated("127.0.17.1", "Yahoo")
    );
    assert_eq!(
        pick(&e, &sc, "ymail.com", 10, at).await,
        shared("127.0.17.2", "Yahoo")
    );
    // And when the window has room, Gmail leaves from the dedicated IP again.
    assert_eq!(
        pick(&e, &sc, "gmail.com", 10, until_ms).await,
        dedicated("127.0.17.1", "Gmail")
    );
}

/// SH-4 / F-19: throttling replies from an ISP halve that ISP's allowance (and only that one's)
/// after the hour; spillover follows from the lower allowance.
#[tokio::test]
async fn throttling_feedback_shrinks_the_allowance() {
    let (e, sc) = setup().await;
    let t = t0();
    activate(&e, &sc, t).await;
    let p = pick(&e, &sc, "hotmail.com", 100, t).await;
    assert_eq!(p, dedicated("127.0.17.1", "Hotmail"));
    e.record_managed_outcome(
        &sc,
        p.managed.as_ref().unwrap(),
        &answered(100, 421, "4.7.0 Too many messages, rate limited"),
        t,
    )
    .await
    .unwrap();
    deliver(&e, &sc, "aol.com", 1_000, t).await;
    let next_hour = t + HOUR_MS;
    let r = report(&e, &sc, next_hour).await;
    assert_eq!(isp(&r, "Hotmail").capacity_24_hours, START_ALLOWANCE / 2);
    assert_eq!(isp(&r, "AOL").capacity_24_hours, START_ALLOWANCE + 100);
    // 650 more fit under the halved allowance (100 already sent); the next spills.
    assert_eq!(
        pick(&e, &sc, "outlook.com", 650, next_hour).await,
        dedicated("127.0.17.1", "Hotmail")
    );
    assert_eq!(
        pick(&e, &sc, "live.com", 1, next_hour).await,
        shared("127.0.17.2", "Hotmail")
    );
}

/// F-44: converting a STANDARD pool keeps its most warmed IP, whose warm-up becomes every ISP's
/// starting allowance, and returns the redundant IPs to the inventory.
#[tokio::test]
async fn conversion_removes_redundant_ips() {
    let (e, sc) = setup().await;
    let t = now_ms();
    e.create_dedicated_ip_pool(&sc, "std", None, vec![])
        .await
        .unwrap();
    for a in ["127.0.17.1", "127.0.17.2", "127.0.17.3"] {
        e.put_dedicated_ip_in_pool(&sc, a, "std").await.unwrap();
    }
    e.put_dedicated_ip_warmup(&sc, "127.0.17.1", 40)
        .await
        .unwrap();
    e.put_dedicated_ip_warmup(&sc, "127.0.17.3", 60)
        .await
        .unwrap();
    e.put_dedicated_ip_pool_scaling(&sc, "std", "MANAGED")
        .await
        .unwrap();
    assert_eq!(
        e.get_dedicated_ip(&sc, "127.0.17.2")
            .await
            .unwrap()
            .wire_at(t),
        (WarmupStatus::NotApplicable, -1, "std".to_string()),
        "the DONE one stays"
    );
    for a in ["127.0.17.1", "127.0.17.3"] {
        assert_eq!(
            e.get_dedicated_ip(&sc, a).await.unwrap().wire_at(t),
            (WarmupStatus::Done, 100, DEFAULT_POOL.to_string()),
            "{a}: redundant, back in the inventory and registered anew"
        );
    }
    let mut set = Engine::new_configuration_set("s");
    set.delivery_options = Some(json!({ "SendingPoolName": "std" }));
    e.create_configuration_set(&sc, set).await.unwrap();
    // Its warm-up carries over: a warmed IP may send the full 50,000 to any ISP.
    let p = e
        .choose_source_ip(&sc, Some("s"), "gmail.com", 50_000, 1, t)
        .await
        .unwrap();
    assert_eq!(p.choice, SourceChoice::Ip(ip("127.0.17.2")));
    let r = e.managed_pool_report(&sc, "std", t).await.unwrap();
    assert_eq!(isp(&r, "Gmail").capacity_24_hours, 50_000);
    assert_eq!(isp(&r, "Gmail").phase, "later");
}

/// `managed_pool_report` is for managed pools: a STANDARD pool is refused, an unknown one is
/// not found.
#[tokio::test]
async fn report_is_for_managed_pools() {
    let (e, sc) = setup().await;
    e.create_dedicated_ip_pool(&sc, "std", None, vec![])
        .await
        .unwrap();
    assert!(matches!(
        e.managed_pool_report(&sc, "std", now_ms()).await,
        Err(EngineError::BadRequest(_))
    ));
    assert!(matches!(
        e.managed_pool_report(&sc, "nope", now_ms()).await,
        Err(EngineError::NotFound(_))
    ));
}
