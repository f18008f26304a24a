//! MX routing against a real authoritative DNS server (knot on 127.0.2.10:53):
//! RFC 5321 §5.1 preference order and implicit MX, RFC 7505 null MX, NXDOMAIN, and a server
//! that never answers (→ `DnsTemporary`, retried ).

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::*;
use sesame_model::AttemptError;
use sesame_mta::{DnsOptions, MxResolver};
use sesame_testpeers::{start_or_skip, zone_text, Knot};

fn resolver(dns: std::net::SocketAddr) -> MxResolver {
    MxResolver::with_options(
        Some(dns),
        DnsOptions {
            timeout: Duration::from_millis(500),
            attempts: 1,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn mx_routing_against_knot() {
    let order = zone_text(
        "order.test",
        "@ MX 20 b\n@ MX 10 a1\n@ MX 10 a2\n\
         a1 A 127.0.2.12\na2 A 127.0.2.13\nb A 127.0.2.14\nb AAAA ::1\n\
         noaddr MX 10 nowhere.order.test.\n\
         half MX 10 a1\nhalf MX 20 ghost\n\
         nodata TXT \"only text here\"",
    );
    let alias = zone_text(
        "alias.test",
        "@ MX 10 a2.order.test.\n@ MX 10 a1.order.test.\n@ MX 20 B.order.test.",
    );
    let implicit = zone_text("implicit.test", "@ A 127.0.2.15\n@ AAAA ::1");
    let nullmx = zone_text("nullmx.test", "@ MX 0 .");
    let knot = start_or_skip!(Knot::start(
        sa("127.0.2.10:53"),
        &[
            ("order.test", &order),
            ("alias.test", &alias),
            ("implicit.test", &implicit),
            ("nullmx.test", &nullmx),
        ]
    ));
    let r = resolver(knot.addr());

    // Preference order; equal preferences (a1, a2) shuffled; A before AAAA.
    let route = r.route("order.test").await.unwrap();
    let names: Vec<&str> = route.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names.len(), 3);
    assert_eq!(names[2], "b.order.test");
    let mut first_two = names[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, ["a1.order.test", "a2.order.test"]);
    assert_eq!(
        route.hosts.iter().map(|h| h.preference).collect::<Vec<_>>(),
        [10, 10, 20]
    );
    assert_eq!(route.hosts[2].addrs, vec![ip("127.0.2.14"), ip("::1")]);
    assert_eq!(route.key, "a1.order.test,a2.order.test,b.order.test");
    // Both a1 and a2 come first sometimes (RFC 5321 §5.1 randomisation); the cache serves.
    let mut firsts = std::collections::HashSet::new();
    for _ in 0..40 {
        firsts.insert(r.route("order.test").await.unwrap().hosts[0].name.clone());
    }
    assert_eq!(
        firsts.len(),
        2,
        "equal-preference MX hosts are shuffled: {firsts:?}"
    );

    // Another domain with the same MX set (names in other case and order) shares the key.
    assert_eq!(r.route("ALIAS.test").await.unwrap().key, route.key);

    // No MX: the domain itself is the implicit MX.
    let imp = r.route("implicit.test").await.unwrap();
    assert_eq!(imp.key, "implicit.test");
    assert_eq!(imp.hosts.len(), 1);
    assert_eq!(imp.hosts[0].name, "implicit.test");
    assert_eq!(imp.hosts[0].preference, 0);
    assert_eq!(imp.hosts[0].addrs, vec![ip("127.0.2.15"), ip("::1")]);

    // A host without addresses is skipped; the others remain.
    let half = r.route("half.order.test").await.unwrap();
    assert_eq!(
        half.hosts
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        ["a1.order.test"]
    );

    // RFC 7505 null MX; NXDOMAIN; name without MX or address; MX pointing nowhere.
    assert_eq!(r.route("nullmx.test").await, Err(AttemptError::NullMx));
    assert_eq!(
        r.route("nope.order.test").await,
        Err(AttemptError::NoSuchDomain)
    );
    assert_eq!(
        r.route("nodata.order.test").await,
        Err(AttemptError::NoSuchDomain)
    );
    assert_eq!(
        r.route("noaddr.order.test").await,
        Err(AttemptError::NoSuchDomain)
    );

    // A zone this server does not serve: knot answers REFUSED, a temporary DNS failure.
    match r.route("elsewhere.example").await {
        Err(AttemptError::DnsTemporary(why)) => {
            assert!(why.contains("MX elsewhere.example"), "{why}")
        }
        other => panic!("expected DnsTemporary, got {other:?}"),
    }

    // Runtime changes through knotc show up for names not cached yet.
    knot.set("order.test", "late", 60, "MX", "5 b.order.test.")
        .unwrap();
    let late = r.route("late.order.test").await.unwrap();
    assert_eq!(late.key, "b.order.test");
    knot.unset("order.test", "late", Some("MX")).unwrap();
    assert_eq!(
        resolver(knot.addr()).route("late.order.test").await,
        Err(AttemptError::NoSuchDomain)
    );
}

/// A DNS server that never answers: a temporary failure, not a bounce.
#[tokio::test]
async fn silent_dns_server_is_a_temporary_failure() {
    // A bound UDP socket that reads nothing: queries vanish (UDP, no TCP listener: refused).
    let silent = UdpSocket::bind("127.0.2.11:0").unwrap();
    let r = resolver(silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    match r.route("rcpt.test").await {
        Err(AttemptError::DnsTemporary(why)) => assert!(why.starts_with("MX rcpt.test:"), "{why}"),
        other => panic!("expected DnsTemporary, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the DNS timeout"
    );
}
