//! The instance-zone responder (DECISIONS Q-63..Q-69, Q-65 (a)) on loopback, queried by real
//! clients: `dig` over UDP and TCP (header flags and status as any resolver sees them), and the
//! crate's own hickory `Lookup` (DKIM TXT joined back from ≤255-byte strings).
//!
//! Addresses: 127.0.5.0/24.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sesame_dns::server::{self, DkimKeys, DnsListeners, DnsServerOptions};
use sesame_dns::{Lookup, LookupOptions, Zone, ZoneConfig};
use sesame_model::dns::DnsLookup;

/// Keys as the store would return them; `fail` simulates a database error.
#[derive(Default)]
struct Keys {
    map: Mutex<HashMap<String, String>>,
    fail: Mutex<bool>,
    calls: Mutex<usize>,
}

#[async_trait]
impl DkimKeys for Keys {
    async fn public_key(&self, token: &str) -> Result<Option<String>, String> {
        *self.calls.lock().unwrap() += 1;
        if *self.fail.lock().unwrap() {
            return Err("database down".into());
        }
        Ok(self.map.lock().unwrap().get(token).cloned())
    }
}

/// `dig` output: (status, flags, answer lines, authority lines).
fn dig(
    addr: SocketAddr,
    tcp: bool,
    name: &str,
    rtype: &str,
) -> (String, String, Vec<String>, Vec<String>) {
    let out = Command::new("dig")
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string()])
        .arg(if tcp { "+tcp" } else { "+notcp" })
        .args(["+norec", "+time=2", "+tries=1", name, rtype])
        .output()
        .expect("dig (bind9-dnsutils) is installed");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let header = text
        .lines()
        .find(|l| l.contains("status:"))
        .unwrap_or_else(|| panic!("no header in {text}"));
    let status = header
        .split("status: ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let flags = text
        .lines()
        .find(|l| l.contains(";; flags:"))
        .unwrap()
        .split(";; flags: ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let section = |title: &str| -> Vec<String> {
        let mut lines = text.lines().skip_while(|l| !l.starts_with(title)).skip(1);
        let mut out = vec![];
        for l in lines.by_ref() {
            if l.trim().is_empty() {
                break;
            }
            out.push(l.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        out
    };
    (
        status,
        flags,
        section(";; ANSWER SECTION:"),
        section(";; AUTHORITY SECTION:"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responder_answers_authoritatively_over_udp_and_tcp() {
    let zone = Arc::new(Zone::new(ZoneConfig {
        origin: "platform.test".into(),
        regions: vec!["us-east-1".into()],
        outbound_ips: vec!["127.0.5.7".parse().unwrap(), "::1".parse().unwrap()],
        feedback_mx_ips: vec!["127.0.5.25".parse().unwrap()],
        ns_ips: vec!["127.0.5.53".parse().unwrap()],
        ttl: 300,
        operator_dkim: None,
        serial: 2026,
    }));
    let keys = Arc::new(Keys::default());
    let p = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".to_string() + &"x".repeat(350);
    keys.map.lock().unwrap().insert("tok1".into(), p.clone());
    let listeners = DnsListeners::bind("127.0.5.53:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listeners.local_addr().unwrap();
    assert_ne!(addr.port(), 0);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = DnsServerOptions {
        cache_ttl: Duration::from_millis(300),
        ..Default::default()
    };
    let task = tokio::spawn(server::run(listeners, zone, keys.clone(), options, async {
        let _ = stop_rx.await;
    }));

    let q = move |tcp: bool, name: &'static str, t: &'static str| {
        tokio::task::spawn_blocking(move || dig(addr, tcp, name, t))
    };
    for tcp in [false, true] {
        // the key behind the Easy DKIM CNAME target, authoritative (AA), no recursion.
        let (status, flags, ans, auth) = q(tcp, "tok1.dkim.platform.test", "TXT").await.unwrap();
        assert_eq!(status, "NOERROR");
        assert_eq!(flags, "qr aa", "tcp={tcp}");
        assert_eq!(ans.len(), 1);
        assert!(
            ans[0].starts_with("tok1.dkim.platform.test. 300 IN TXT \"v=DKIM1; k=rsa; p=MIIB"),
            "{ans:?}"
        );
        assert_eq!(
            ans[0].matches('"').count(),
            4,
            "two character-strings: {ans:?}"
        );
        assert!(auth.is_empty());
        // Unknown token: NXDOMAIN with the SOA (RFC 2308).
        let (status, flags, ans, auth) = q(tcp, "nope.dkim.platform.test", "TXT").await.unwrap();
        assert_eq!(
            (status.as_str(), flags.as_str(), ans.len()),
            ("NXDOMAIN", "qr aa", 0)
        );
        assert_eq!(
            auth,
            vec!["platform.test. 60 IN SOA ns.platform.test. hostmaster.platform.test. 2026 3600 600 1209600 60"]
        );
        //
        let (_, _, ans, _) = q(tcp, "spf.platform.test", "TXT").await.unwrap();
        assert_eq!(
            ans,
            vec!["spf.platform.test. 300 IN TXT \"v=spf1 ip4:127.0.5.7 ip6:::1 ~all\""]
        );
        let (_, _, ans, _) = q(tcp, "us-east-1.platform.test", "MX").await.unwrap();
        assert_eq!(
            ans,
            vec!["us-east-1.platform.test. 300 IN MX 10 feedback-smtp.us-east-1.platform.test."]
        );
        let (_, _, ans, _) = q(tcp, "us-east-1.platform.test", "TXT").await.unwrap();
        assert_eq!(
            ans,
            vec!["us-east-1.platform.test. 300 IN TXT \"v=spf1 include:spf.platform.test ~all\""]
        );
        let (_, _, ans, _) = q(tcp, "feedback-smtp.us-east-1.platform.test", "A")
            .await
            .unwrap();
        assert_eq!(
            ans,
            vec!["feedback-smtp.us-east-1.platform.test. 300 IN A 127.0.5.25"]
        );
        let (_, flags, ans, _) = q(tcp, "platform.test", "NS").await.unwrap();
        assert_eq!(
            (flags.as_str(), ans),
            (
                "qr aa",
                vec!["platform.test. 300 IN NS ns.platform.test.".to_string()]
            )
        );
        // NODATA: the name exists, the type does not.
        let (status, flags, ans, auth) = q(tcp, "spf.platform.test", "AAAA").await.unwrap();
        assert_eq!(
            (status.as_str(), flags.as_str(), ans.len(), auth.len()),
            ("NOERROR", "qr aa", 0, 1)
        );
        // Outside the zone: REFUSED, not authoritative.
        let (status, flags, _, _) = q(tcp, "example.com", "A").await.unwrap();
        assert_eq!((status.as_str(), flags.as_str()), ("REFUSED", "qr"));
    }

    // hickory's client joins the strings back into the exact DKIM record.
    let lookup = Lookup::with_options(
        Some(addr),
        LookupOptions {
            timeout: Duration::from_secs(2),
            attempts: 1,
        },
    )
    .unwrap();
    let txt = lookup.txt("tok1.dkim.platform.test").await.unwrap();
    assert_eq!(txt, vec![format!("v=DKIM1; k=rsa; p={p}")]);

    // A key added in the store is served once the short cache expires; store errors are
    // SERVFAIL, never a false NXDOMAIN.
    keys.map
        .lock()
        .unwrap()
        .insert("tok2".into(), "AAAA".into());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _, ans, _) = q(false, "TOK2.dkim.platform.test", "TXT").await.unwrap();
    assert_eq!(status, "NOERROR");
    assert_eq!(
        ans,
        vec!["TOK2.dkim.platform.test. 300 IN TXT \"v=DKIM1; k=rsa; p=AAAA\""]
    );
    *keys.fail.lock().unwrap() = true;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _, _, _) = q(false, "tok3.dkim.platform.test", "TXT").await.unwrap();
    assert_eq!(status, "SERVFAIL");

    let _ = stop_tx.send(());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
