//! `Lookup` against a real authoritative knot on loopback (TESTING-WITH-REAL-PEERS.md §1):
//! the Q-85 error classes, exact TXT joining, CNAME not followed, and no caching (a record
//! published or removed at runtime is seen by the very next call).

use std::net::SocketAddr;

use sesame_dns::{Lookup, LookupOptions};
use sesame_model::dns::{DnsError, DnsLookup, MxRecord};
use sesame_testpeers::start_or_skip;
use sesame_testpeers::{zone_text, Knot};

const RECORDS: &str = "\
tok1._domainkey 60 CNAME tok1.dkim.platform.test.
_amazonses 60 TXT \"abc\" \"def\"
@ 60 TXT \"v=spf1 include:spf.platform.test ~all\"
@ 60 TXT \"other\"
bounce 60 MX 10 feedback-smtp.us-east-1.platform.test.
two 60 MX 10 a.example.test.
two 60 MX 20 b.example.test.
host 60 A 127.0.0.9
";

fn opts() -> LookupOptions {
    LookupOptions {
        timeout: std::time::Duration::from_secs(2),
        attempts: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_classify_and_see_runtime_changes() {
    let addr: SocketAddr = "127.0.0.61:5353".parse().unwrap();
    let knot = start_or_skip!(Knot::start(
        addr,
        &[("example.test", &zone_text("example.test", RECORDS))]
    ));
    let dns = Lookup::with_options(Some(addr), opts()).unwrap();

    // TXT: character-strings joined; several records kept apart.
    assert_eq!(
        dns.txt("_amazonses.example.test").await.unwrap(),
        vec!["abcdef"]
    );
    let mut apex = dns.txt("example.test").await.unwrap();
    apex.sort();
    assert_eq!(apex, vec!["other", "v=spf1 include:spf.platform.test ~all"]);

    // CNAME: read as such; a TXT lookup follows it like any resolver would, here into a zone
    // knot does not serve (REFUSED: nothing can be concluded).
    assert_eq!(
        dns.cname("TOK1._domainkey.example.test").await.unwrap(),
        "tok1.dkim.platform.test"
    );
    let behind_cname = dns.txt("tok1._domainkey.example.test").await;
    assert!(
        matches!(behind_cname, Err(DnsError::ServerError(_))),
        "{behind_cname:?}"
    );

    // Q-85 classes: NXDOMAIN → HOST_NOT_FOUND, NODATA → TYPE_NOT_FOUND.
    let nx = dns.cname("tok2._domainkey.example.test").await.unwrap_err();
    assert_eq!(nx.verification_error(), "HOST_NOT_FOUND", "{nx}");
    let nodata = dns.mx("host.example.test").await.unwrap_err();
    assert_eq!(nodata.verification_error(), "TYPE_NOT_FOUND", "{nodata}");
    // A zone the server does not serve: REFUSED → DNS_SERVER_ERROR.
    let refused = dns.txt("nowhere.example.org").await.unwrap_err();
    assert_eq!(
        refused.verification_error(),
        "DNS_SERVER_ERROR",
        "{refused}"
    );

    let mut two = dns.mx("two.example.test").await.unwrap();
    two.sort_by_key(|m| m.preference);
    assert_eq!(
        two,
        vec![
            MxRecord {
                preference: 10,
                exchange: "a.example.test".into()
            },
            MxRecord {
                preference: 20,
                exchange: "b.example.test".into()
            },
        ]
    );
    assert_eq!(
        dns.addresses("host.example.test").await.unwrap(),
        vec!["127.0.0.9".parse::<std::net::IpAddr>().unwrap()]
    );
    let soa = dns.soa("tok1._domainkey.example.test").await.unwrap();
    assert_eq!(soa.zone, "example.test");
    assert_eq!(soa.primary_name_server, "ns.example.test");

    // Runtime changes are seen at once (no cache).
    knot.set(
        "example.test",
        "tok2._domainkey",
        60,
        "CNAME",
        "tok2.dkim.platform.test.",
    )
    .unwrap();
    assert_eq!(
        dns.cname("tok2._domainkey.example.test").await.unwrap(),
        "tok2.dkim.platform.test"
    );
    knot.unset("example.test", "tok1._domainkey", Some("CNAME"))
        .unwrap();
    assert_eq!(
        dns.cname("tok1._domainkey.example.test")
            .await
            .unwrap_err()
            .verification_error(),
        "HOST_NOT_FOUND"
    );
}
