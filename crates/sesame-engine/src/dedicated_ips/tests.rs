//! Engine-level rules of dedicated IPs and pools over the in-memory store (spec F, KA-1..KA-5,
//! E-129, Q-131, Q-132). Time-dependent warm-up arithmetic is tested in `warmup.rs`.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::test_store::{engine, scope, scope_in};

const IPS: [&str; 3] = ["127.0.1.7", "127.0.1.8", "127.0.1.9"];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// An engine whose instance has the conformance suite's three outbound addresses plus an IPv6
/// one.
fn engine_with_ips() -> Engine {
    let mut e = engine();
    Arc::make_mut(&mut e.settings).outbound_ips = IPS
        .iter()
        .map(|s| ip(s))
        .chain([ip("::1"), ip("127.0.1.7")])
        .collect();
    e
}

fn kind_of(r: Result<impl std::fmt::Debug, EngineError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(EngineError::NotFound(_)) => "NotFound",
        Err(EngineError::AlreadyExists(_)) => "AlreadyExists",
        Err(EngineError::LimitExceeded(_)) => "LimitExceeded",
        Err(EngineError::BadRequest(_)) => "BadRequest",
        Err(e) => panic!("unexpected {e:?}"),
    }
}

async fn wire(e: &Engine, sc: &Scope, a: &str) -> (WarmupStatus, i64, String) {
    e.get_dedicated_ip(sc, a).await.unwrap().wire_at(now_ms())
}

async fn set_with_pool(e: &Engine, sc: &Scope, name: &str, pool: &str) {
    let mut rec = Engine::new_configuration_set(name);
    rec.delivery_options = Some(json!({ "SendingPoolName": pool }));
    e.create_configuration_set(sc, rec).await.unwrap();
}

/// F-24 / SH-4 / KA-5: IPs are registered on first use with the account's auto warm-up
/// setting of that moment; flipping it later does not touch them.
#[tokio::test]
async fn registration_follows_the_account_switch() {
    let e = engine_with_ips();
    let sc = scope();
    let listed = e.list_dedicated_ips(&sc, None).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.ip).collect::<Vec<_>>(),
        IPS.map(ip).to_vec(),
        "IPv4 only, duplicates removed, in address order"
    );
    assert_eq!(
        wire(&e, &sc, "127.0.1.7").await,
        (WarmupStatus::InProgress, 3, DEFAULT_POOL.to_string())
    );
    e.put_account_dedicated_ip_warmup(&sc, false).await.unwrap();
    assert_eq!(
        wire(&e, &sc, "127.0.1.7").await.1,
        3,
        "already warming: kept"
    );

    // Another region is another account view: registered after the switch → DONE.
    let eu = scope_in("eu-west-1");
    e.put_account_dedicated_ip_warmup(&eu, false).await.unwrap();
    assert_eq!(
        wire(&e, &eu, "127.0.1.8").await,
        (WarmupStatus::Done, 100, DEFAULT_POOL.to_string())
    );
}

#[tokio::test]
async fn ip_lookup_errors() {
    let e = engine_with_ips();
    let sc = scope();
    assert_eq!(
        kind_of(e.get_dedicated_ip(&sc, "127.0.1.10").await),
        "NotFound"
    );
    assert_eq!(
        kind_of(e.get_dedicated_ip(&sc, "not-an-ip").await),
        "BadRequest"
    );
    assert_eq!(kind_of(e.get_dedicated_ip(&sc, "::1").await), "BadRequest");
    // No outbound address configured: no dedicated IPs at all.
    assert_eq!(
        kind_of(engine().get_dedicated_ip(&sc, "127.0.1.7").await),
        "NotFound"
    );
    assert!(engine()
        .list_dedicated_ips(&sc, None)
        .await
        .unwrap()
        .is_empty());
}

/// KA-1 / F-29..F-31 / Q-131.
#[tokio::test]
async fn pool_creation_rules() {
    let e = engine_with_ips();
    let sc = scope();
    assert_eq!(
        kind_of(
            e.create_dedicated_ip_pool(&sc, "marketing", None, vec![])
                .await
        ),
        "ok"
    );
    let p = e.get_dedicated_ip_pool(&sc, "marketing").await.unwrap();
    assert_eq!(p.scaling_mode, "STANDARD");
    for (name, mode, expected) in [
        ("marketing", None, "AlreadyExists"),
        ("marketing", Some("MANAGED"), "AlreadyExists"),
        (DEFAULT_POOL, None, "BadRequest"),
        (SHARED_POOL, None, "BadRequest"),
        ("Upper", None, "BadRequest"),
        ("", None, "BadRequest"),
        ("a.b", None, "BadRequest"),
        ("ok", Some("standard"), "BadRequest"),
        ("auto", Some("MANAGED"), "ok"),
    ] {
        assert_eq!(
            kind_of(e.create_dedicated_ip_pool(&sc, name, mode, vec![]).await),
            expected,
            "{name} {mode:?}"
        );
    }
    let long = "x".repeat(64);
    assert_eq!(
        kind_of(e.create_dedicated_ip_pool(&sc, &long, None, vec![]).await),
        "ok"
    );
    assert_eq!(
        kind_of(
            e.create_dedicated_ip_pool(&sc, &"x".repeat(65), None, vec![])
                .await
        ),
        "BadRequest"
    );
    for i in 3..MAX_POOLS {
        e.create_dedicated_ip_pool(&sc, &format!("p{i:02}"), None, vec![])
            .await
            .unwrap();
    }
    assert_eq!(
        kind_of(
            e.create_dedicated_ip_pool(&sc, "one-too-many", None, vec![])
                .await
        ),
        "LimitExceeded"
    );
    // Per account and region.
    assert_eq!(
        kind_of(
            e.create_dedicated_ip_pool(&scope_in("eu-west-1"), "marketing", None, vec![])
                .await
        ),
        "ok"
    );
    assert_eq!(
        kind_of(e.get_dedicated_ip_pool(&sc, DEFAULT_POOL).await),
        "BadRequest"
    );
    assert_eq!(
        kind_of(e.get_dedicated_ip_pool(&sc, "nope").await),
        "NotFound"
    );
}

/// ListDedicatedIpPools lists the reserved pools with the account's, in byte order, paged.
#[tokio::test]
async fn pool_listing_pages() {
    let e = engine_with_ips();
    let sc = scope();
    for n in ["a", "t", "z"] {
        e.create_dedicated_ip_pool(&sc, n, None, vec![])
            .await
            .unwrap();
    }
    let (all, next) = e.list_dedicated_ip_pools(&sc, None, 100).await.unwrap();
    assert_eq!(all, ["a", DEFAULT_POOL, SHARED_POOL, "t", "z"]);
    assert_eq!(next, None);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = e
            .list_dedicated_ip_pools(&sc, after.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        seen.extend(page);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, all);
}

/// KA-2 / F-29 / F-60: an IP is in at most one pool; moves are exclusive.
#[tokio::test]
async fn moving_ips_between_pools() {
    let e = engine_with_ips();
    let sc = scope();
    e.create_dedicated_ip_pool(&sc, "a", None, vec![])
        .await
        .unwrap();
    e.create_dedicated_ip_pool(&sc, "b", None, vec![])
        .await
        .unwrap();
    e.create_dedicated_ip_pool(&sc, "auto", Some("MANAGED"), vec![])
        .await
        .unwrap();
    e.put_dedicated_ip_in_pool(&sc, "127.0.1.7", "a")
        .await
        .unwrap();
    e.put_dedicated_ip_pool_scaling(&sc, "b", "STANDARD")
        .await
        .unwrap();
    e.put_dedicated_ip_in_pool(&sc, "127.0.1.7", "b")
        .await
        .unwrap();
    let in_pool = |p: &'static str| {
        let e = e.clone();
        let sc = sc.clone();
        async move {
            e.list_dedicated_ips(&sc, Some(p))
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.ip.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(in_pool("a").await, Vec::<String>::new());
    assert_eq!(in_pool("b").await, ["127.0.1.7"]);
    assert_eq!(in_pool(DEFAULT_POOL).await, ["127.0.1.8", "127.0.1.9"]);
    assert_eq!(in_pool(SHARED_POOL).await, Vec::<String>::new());
    assert_eq!(wire(&e, &sc, "127.0.1.7").await.2, "b");
    // Back to the default pool (Terraform's delete).
    e.put_dedicated_ip_in_pool(&sc, "127.0.1.7", DEFAULT_POOL)
        .await
        .unwrap();
    assert_eq!(wire(&e, &sc, "127.0.1.7").await.2, DEFAULT_POOL);
    for (a, dest, expected) in [
        ("127.0.1.7", SHARED_POOL, "BadRequest"),
        ("127.0.1.7", "auto", "BadRequest"),
        ("127.0.1.7", "nope", "NotFound"),
        ("127.0.1.10", "a", "NotFound"),
        ("bad", "a", "BadRequest"),
    ] {
        assert_eq!(
            kind_of(e.put_dedicated_ip_in_pool(&sc, a, dest).await),
            expected,
            "{a} → {dest}"
        );
    }
    assert_eq!(
        kind_of(e.list_dedicated_ips(&sc, Some("nope")).await),
        "NotFound"
    );
}

/// KA-4 / F-25: 42 → IN_PROGRESS/42; 100 → DONE/100; 0 → IN_PROGRESS/0; out of range refused.
#[tokio::test]
async fn warmup_controls() {
    let e = engine_with_ips();
    let sc = scope();
    for (pct, status) in [
        (42, WarmupStatus::InProgress),
        (100, WarmupStatus::Done),
        (0, WarmupStatus::InProgress),
    ] {
        e.put_dedicated_ip_warmup(&sc, "127.0.1.8", pct)
            .await
            .unwrap();
        let w = wire(&e, &sc, "127.0.1.8").await;
        assert_eq!((w.0, w.1), (status, pct), "{pct}");
    }
    for bad in [-1, 101, 1_000] {
        assert_eq!(
            kind_of(e.put_dedicated_ip_warmup(&sc, "127.0.1.8", bad).await),
            "BadRequest"
        );
    }
    assert_eq!(
        kind_of(e.put_dedicated_ip_warmup(&sc, "127.0.1.10", 5).await),
        "NotFound"
    );
}

/// KA-3 / F-43 / F-44 / F-64: STANDARD → MANAGED keeps IPs and set associations; its IPs show
/// NOT_APPLICABLE/-1, are not listed, cannot be moved or warmed by hand; MANAGED → STANDARD
/// is refused.
#[tokio::test]
async fn converting_to_managed() {
    let e = engine_with_ips();
    let sc = scope();
    e.create_dedicated_ip_pool(&sc, "mk", None, vec![])
        .await
        .unwrap();
    e.put_dedicated_ip_in_pool(&sc, "127.0.1.9", "mk")
        .await
        .unwrap();
    set_with_pool(&e, &sc, "marketing", "mk").await;
    e.put_dedicated_ip_pool_scaling(&sc, "mk", "MANAGED")
        .await
        .unwrap();
    assert_eq!(
        e.get_dedicated_ip_pool(&sc, "mk")
            .await
            .unwrap()
            .scaling_mode,
        "MANAGED"
    );
    assert_eq!(
        wire(&e, &sc, "127.0.1.9").await,
        (WarmupStatus::NotApplicable, -1, "mk".to_string())
    );
    let listed: Vec<_> = e.list_dedicated_ips(&sc, None).await.unwrap();
    assert!(listed.iter().all(|s| s.ip != ip("127.0.1.9")));
    assert!(e
        .list_dedicated_ips(&sc, Some("mk"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        e.sending_pool_ips(&sc, Some("marketing")).await.unwrap(),
        [ip("127.0.1.9")],
        "the set still sends through the converted pool"
    );
    for r in [
        e.put_dedicated_ip_in_pool(&sc, "127.0.1.9", DEFAULT_POOL)
            .await,
        e.put_dedicated_ip_warmup(&sc, "127.0.1.9", 50).await,
        e.put_dedicated_ip_pool_scaling(&sc, "mk", "STANDARD").await,
        e.put_dedicated_ip_pool_scaling(&sc, SHARED_POOL, "MANAGED")
            .await,
        e.put_dedicated_ip_pool_scaling(&sc, "mk", "Managed").await,
    ] {
        assert_eq!(kind_of(r), "BadRequest");
    }
    assert_eq!(
        kind_of(e.put_dedicated_ip_pool_scaling(&sc, "mk", "MANAGED").await),
        "ok"
    );
    assert_eq!(
        kind_of(
            e.put_dedicated_ip_pool_scaling(&sc, "nope", "MANAGED")
                .await
        ),
        "NotFound"
    );
}

/// F-32, F-48, KA-16 and the in-use rule.
#[tokio::test]
async fn deleting_pools() {
    let e = engine_with_ips();
    let sc = scope();
    e.create_dedicated_ip_pool(&sc, "full", None, vec![])
        .await
        .unwrap();
    e.put_dedicated_ip_in_pool(&sc, "127.0.1.7", "full")
        .await
        .unwrap();
    assert_eq!(
        kind_of(e.delete_dedicated_ip_pool(&sc, "full").await),
        "BadRequest"
    );
    e.create_dedicated_ip_pool(&sc, "used", None, vec![])
        .await
        .unwrap();
    set_with_pool(&e, &sc, "uses-it", "used").await;
    let r = e.delete_dedicated_ip_pool(&sc, "used").await;
    assert!(
        matches!(&r, Err(EngineError::BadRequest(m)) if m.contains("uses-it")),
        "{r:?}"
    );
    for name in [DEFAULT_POOL, SHARED_POOL] {
        assert_eq!(
            kind_of(e.delete_dedicated_ip_pool(&sc, name).await),
            "BadRequest"
        );
    }
    assert_eq!(
        kind_of(e.delete_dedicated_ip_pool(&sc, "nope").await),
        "NotFound"
    );

    // A managed pool is deleted with its IPs, which come back unassigned and re-registered.
    e.put_account_dedicated_ip_warmup(&sc, false).await.unwrap();
    e.put_dedicated_ip_warmup(&sc, "127.0.1.7", 10)
        .await
        .unwrap();
    e.put_dedicated_ip_pool_scaling(&sc, "full", "MANAGED")
        .await
        .unwrap();
    e.delete_dedicated_ip_pool(&sc, "full").await.unwrap();
    assert_eq!(
        wire(&e, &sc, "127.0.1.7").await,
        (WarmupStatus::Done, 100, DEFAULT_POOL.to_string())
    );
    assert_eq!(
        kind_of(e.get_dedicated_ip_pool(&sc, "full").await),
        "NotFound"
    );
    // An empty standard pool goes.
    e.create_dedicated_ip_pool(&sc, "empty", None, vec![])
        .await
        .unwrap();
    assert_eq!(
        kind_of(e.delete_dedicated_ip_pool(&sc, "empty").await),
        "ok"
    );
}

/// E-129 / E-98.
#[tokio::test]
async fn sending_pool_must_exist() {
    let e = engine_with_ips();
    let sc = scope();
    e.create_dedicated_ip_pool(&sc, "tx", None, vec![])
        .await
        .unwrap();
    for (pool, expected) in [
        ("tx", "ok"),
        (DEFAULT_POOL, "ok"),
        (SHARED_POOL, "ok"),
        ("nope", "NotFound"),
    ] {
        assert_eq!(
            kind_of(e.check_sending_pool(&sc, pool).await),
            expected,
            "{pool}"
        );
    }
    assert_eq!(
        kind_of(e.check_sending_pool(&scope_in("eu-west-1"), "tx").await),
        "NotFound"
    );
}

/// F-33 / E-128: which addresses mail leaves from.
#[tokio::test]
async fn sending_pool_ips_per_configuration_set() {
    let e = engine_with_ips();
    let sc = scope();
    e.create_dedicated_ip_pool(&sc, "tx", None, vec![])
        .await
        .unwrap();
    e.put_dedicated_ip_in_pool(&sc, "127.0.1.7", "tx")
        .await
        .unwrap();
    set_with_pool(&e, &sc, "transactional", "tx").await;
    set_with_pool(&e, &sc, "shared", SHARED_POOL).await;
    e.create_configuration_set(&sc, Engine::new_configuration_set("plain"))
        .await
        .unwrap();
    assert_eq!(
        e.sending_pool_ips(&sc, Some("transactional"))
            .await
            .unwrap(),
        [ip("127.0.1.7")]
    );
    let unpooled = vec![ip("127.0.1.8"), ip("127.0.1.9"), ip("::1")];
    assert_eq!(e.sending_pool_ips(&sc, None).await.unwrap(), unpooled);
    assert_eq!(
        e.sending_pool_ips(&sc, Some("plain")).await.unwrap(),
        unpooled
    );
    assert_eq!(
        e.sending_pool_ips(&sc, Some("gone")).await.unwrap(),
        unpooled
    );
    assert_eq!(
        e.sending_pool_ips(&sc, Some("shared")).await.unwrap().len(),
        4
    );
    // Every IPv4 pooled and no IPv6: mail without a pool may use them all.
    let mut e4 = engine();
    Arc::make_mut(&mut e4.settings).outbound_ips = vec![ip("127.0.1.7")];
    e4.create_dedicated_ip_pool(&sc, "tx", None, vec![])
        .await
        .unwrap();
    e4.put_dedicated_ip_in_pool(&sc, "127.0.1.7", "tx")
        .await
        .unwrap();
    assert_eq!(
        e4.sending_pool_ips(&sc, None).await.unwrap(),
        [ip("127.0.1.7")]
    );
    // Nothing configured: the OS chooses.
    assert!(engine()
        .sending_pool_ips(&sc, None)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        engine()
            .choose_source_ip(&sc, None, "example.com", 1, 0, now_ms())
            .await
            .unwrap()
            .choice,
        SourceChoice::Any
    );
}

/// SH-4 / Q-132: the daily cap of a warming IP, counted per UTC day in the store.
#[tokio::test]
async fn warmup_caps_daily_volume() {
    let e = engine_with_ips();
    let sc = scope();
    e.put_account_dedicated_ip_warmup(&sc, false).await.unwrap();
    e.create_dedicated_ip_pool(&sc, "warm", None, vec![])
        .await
        .unwrap();
    e.put_dedicated_ip_in_pool(&sc, "127.0.1.8", "warm")
        .await
        .unwrap();
    e.put_dedicated_ip_warmup(&sc, "127.0.1.8", 1)
        .await
        .unwrap(); // 500 a day
    set_with_pool(&e, &sc, "w", "warm").await;
    let now = now_ms();
    let a = ip("127.0.1.8");
    assert!(e.take_ip_allowance(&sc, a, 400, now).await.unwrap());
    assert!(!e.take_ip_allowance(&sc, a, 101, now).await.unwrap());
    assert!(e.take_ip_allowance(&sc, a, 100, now).await.unwrap());
    assert_eq!(
        e.choose_source_ip(&sc, Some("w"), "example.com", 1, 7, now)
            .await
            .unwrap()
            .choice,
        SourceChoice::Defer {
            until_ms: next_utc_midnight(now)
        }
    );
    // The next UTC day has a fresh allowance; a job larger than the cap takes the whole day.
    let tomorrow = next_utc_midnight(now);
    assert_eq!(
        e.choose_source_ip(&sc, Some("w"), "example.com", 2_000, 7, tomorrow)
            .await
            .unwrap()
            .choice,
        SourceChoice::Ip(a)
    );
    assert!(!e.take_ip_allowance(&sc, a, 1, tomorrow).await.unwrap());
    // Reset to 0 %: nothing leaves the IP.
    e.put_dedicated_ip_warmup(&sc, "127.0.1.8", 0)
        .await
        .unwrap();
    let later = tomorrow + warmup::DAY_MS;
    assert!(!e.take_ip_allowance(&sc, a, 1, later).await.unwrap());
    // DONE addresses are never capped (and not counted).
    assert!(e
        .take_ip_allowance(&sc, ip("127.0.1.9"), 1_000_000, now)
        .await
        .unwrap());
    assert!(e
        .take_ip_allowance(&sc, ip("::1"), 1_000_000, now)
        .await
        .unwrap());
    assert_eq!(
        e.store
            .ip_sends(&sc, "127.0.1.9", utc_day(now))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        kind_of(e.take_ip_allowance(&sc, ip("10.0.0.1"), 1, now).await),
        "NotFound"
    );
}

/// A capped IP in a pool with a warmed one: the warmed one carries the rest.
#[tokio::test]
async fn capped_ip_falls_back_to_warmed_ip_of_the_pool() {
    let e = engine_with_ips();
    let sc = scope();
    e.put_account_dedicated_ip_warmup(&sc, false).await.unwrap();
    e.create_dedicated_ip_pool(&sc, "mix", None, vec![])
        .await
        .unwrap();
    for a in ["127.0.1.7", "127.0.1.8"] {
        e.put_dedicated_ip_in_pool(&sc, a, "mix").await.unwrap();
    }
    e.put_dedicated_ip_warmup(&sc, "127.0.1.7", 1)
        .await
        .unwrap(); // 500 a day, 1 % share
    set_with_pool(&e, &sc, "m", "mix").await;
    let now = now_ms();
    let mut counts = std::collections::BTreeMap::<IpAddr, u64>::new();
    for seed in 0..10_000u64 {
        match e
            .choose_source_ip(&sc, Some("m"), "example.com", 1, seed, now)
            .await
            .unwrap()
            .choice
        {
            SourceChoice::Ip(a) => *counts.entry(a).or_default() += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(counts[&ip("127.0.1.7")], 100, "its 1 % share");
    assert_eq!(counts[&ip("127.0.1.8")], 9_900);
    assert_eq!(
        e.store
            .ip_sends(&sc, "127.0.1.7", utc_day(now))
            .await
            .unwrap(),
        100
    );
}

/// pools are taggable by ARN.
#[tokio::test]
async fn pools_are_taggable() {
    let e = engine_with_ips();
    let sc = scope();
    let t = Tag {
        key: "team".into(),
        value: "mail".into(),
    };
    e.create_dedicated_ip_pool(&sc, "tagged", None, vec![t.clone()])
        .await
        .unwrap();
    let arn = format!(
        "arn:aws:ses:us-east-1:{}:dedicated-ip-pool/tagged",
        sc.account
    );
    let key = e.resource_for_arn(&sc, &arn).unwrap();
    assert_eq!(e.list_tags(&key).await.unwrap(), [t]);
    e.change_tags(&key, &[], &["team".into()]).await.unwrap();
    assert!(e
        .get_dedicated_ip_pool(&sc, "tagged")
        .await
        .unwrap()
        .tags
        .is_empty());
}
