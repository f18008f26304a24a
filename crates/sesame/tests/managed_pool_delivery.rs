//! A MANAGED dedicated IP pool end to end (spec F-37..F-48, SH-4, SH-9, KA-16), on the real
//! binary in `delivery_mode = smtp` with real peers on loopback: knot as the recipient domain's
//! DNS and the scripted aiosmtpd sink as its MX, which records the source address and HELO of
//! every connection.
//!
//! - a new managed pool has no IP: its first message leaves through the shared pool (the
//!   addresses in no pool);
//! - the managed-pool job (every second here, activation threshold 1) then allocates the first
//!   inventory address to the pool (F-37, F-41): the next message of the pool leaves from it,
//!   with its HELO name, while other mail keeps to the remaining inventory;
//! - `sesame pool show` and `/metrics` report the pool (F-46, F-47);
//! - deleting the pool returns the address to the inventory (F-48, KA-16).
//!
//! Addresses: 127.0.17.0/24 (other suites use other ranges).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{api_ok, cli_ok, create_account, http, sesame, wait_for, Server};
use serde_json::{json, Value};
use sesame_testpeers::{start_or_skip, zone_text, Knot, Sink, SinkOptions};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const FIRST: &str = "127.0.17.101";
const SECOND: &str = "127.0.17.102";

#[test]
fn managed_pool_gets_an_inventory_ip_and_mail_leaves_from_it() {
    let knot = start_or_skip!(Knot::start(
        sa("127.0.17.10:53"),
        &[(
            "managed.test",
            &zone_text("managed.test", "@ MX 10 mx\nmx A 127.0.17.5")
        )]
    ));
    let sink = start_or_skip!(Sink::start(sa("127.0.17.5:25"), SinkOptions::default()));
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    let account = creds.account_id.clone();
    cli_ok(
        dir.path(),
        &["account", "production", "--account", &account],
    );
    let dns = knot.addr().to_string();
    let outbound = format!("{FIRST},{SECOND}");
    let server = Server::start(
        dir.path(),
        &[],
        &[
            ("SESAME_DELIVERY_MODE", "smtp"),
            ("SESAME_RESOLVER", &dns),
            ("SESAME_SERVICE_DOMAIN", "platform.test"),
            ("SESAME_OUTBOUND_IPS", &outbound),
            ("SESAME_MANAGED_POOL_EVALUATION_SECONDS", "1"),
            ("SESAME_MANAGED_POOL_ACTIVATION_VOLUME", "1"),
            ("SESAME_MANAGED_POOL_RELEASE_VOLUME", "1"),
        ],
    );
    let api = |method: &str, path: &str, body: &str| api_ok(&server, &creds, method, path, body);
    api(
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"sender@example.test"}"#,
    );
    cli_ok(
        dir.path(),
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &account,
            "sender@example.test",
        ],
    );
    api(
        "POST",
        "/v2/email/dedicated-ip-pools",
        r#"{"PoolName":"auto","ScalingMode":"MANAGED"}"#,
    );
    api(
        "POST",
        "/v2/email/configuration-sets",
        r#"{"ConfigurationSetName":"via-auto","DeliveryOptions":{"SendingPoolName":"auto"}}"#,
    );
    // The CLI reads the same configuration as the server (its outbound addresses).
    let cli = |args: &[&str]| -> String {
        let out = sesame(dir.path())
            .env("SESAME_OUTBOUND_IPS", &outbound)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let show = || -> Value {
        serde_json::from_str(&cli(&[
            "pool",
            "show",
            "auto",
            "--account",
            &account,
            "--json",
        ]))
        .unwrap()
    };
    let before = show();
    assert_eq!(before["status"], "Insufficient volume");
    assert_eq!(before["ips"], json!([]));

    let send = |to: &str, set: Option<&str>| -> String {
        let mut body = json!({
            "FromEmailAddress": "sender@example.test",
            "Destination": {"ToAddresses": [to]},
            "Content": {"Simple": {
                "Subject": {"Data": "Managed pool"},
                "Body": {"Text": {"Data": "Hello."}}
            }}
        });
        if let Some(s) = set {
            body["ConfigurationSetName"] = Value::from(s);
        }
        let resp = api("POST", "/v2/email/outbound-emails", &body.to_string());
        serde_json::from_str::<Value>(&resp).unwrap()["MessageId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let peer_of = |n: usize, rcpt: &str| -> Value {
        let msgs = sink.wait_messages(n, Duration::from_secs(60));
        msgs.iter()
            .find(|m| m.envelope["rcpt_tos"] == json!([rcpt]))
            .unwrap_or_else(|| panic!("{rcpt} not in the sink: {}", sink.log()))
            .envelope
            .clone()
    };

    // No IP yet: the shared pool, i.e. one of the addresses in no pool.
    send("first@managed.test", Some("via-auto"));
    let first = peer_of(1, "first@managed.test");
    assert!(first["peer"] == FIRST || first["peer"] == SECOND, "{first}");

    // F-41 (threshold 1 here): the job gives the pool the first inventory address.
    let allocated = wait_for("the pool's first IP", || {
        let r = show();
        (r["ips"].as_array().unwrap().len() == 1).then_some(r)
    });
    assert_eq!(allocated["status"], "Sending via dedicated IPs");
    assert_eq!(allocated["ips"][0]["ip"], FIRST);
    let ip: Value =
        serde_json::from_str(&api("GET", &format!("/v2/email/dedicated-ips/{FIRST}"), "")).unwrap();
    assert_eq!(
        ip["DedicatedIp"],
        json!({"Ip": FIRST, "WarmupStatus": "NOT_APPLICABLE", "WarmupPercentage": -1, "PoolName": "auto"}),
        "F-64"
    );

    // The pool's mail now leaves from its IP, with its HELO name; other mail from the rest.
    send("second@managed.test", Some("via-auto"));
    send("plain@managed.test", None);
    let second = peer_of(3, "second@managed.test");
    assert_eq!(second["peer"], FIRST, "{second}");
    assert_eq!(second["helo"], "127-0-17-101.smtp-out.platform.test");
    let plain = peer_of(3, "plain@managed.test");
    assert_eq!(
        plain["peer"], SECOND,
        "the address left in no pool: {plain}"
    );

    // F-46 / F-47: the report and the metrics.
    let r = wait_for("the dedicated send in the report", || {
        let r = show();
        (r["dedicated_last_7_days"] == 1).then_some(r)
    });
    assert_eq!(r["shared_last_7_days"], 1);
    assert_eq!(r["dedicated_percentage_last_7_days"], 50.0);
    assert_eq!(r["isps"][0]["isp"], "Other");
    assert_eq!(r["isps"][0]["sent_last_24_hours"], 1);
    assert_eq!(r["isps"][0]["phase"], "early");
    let metric = format!(
        "ses_managed_pool_sent_last_24_hours{{account_id=\"{account}\",region=\"us-east-1\",pool=\"auto\",isp=\"Other\"}} 1"
    );
    wait_for("the managed pool gauges", || {
        let (status, text) = http(
            &server.http,
            &format!("GET /metrics HTTP/1.1\r\nHost: {}\r\n", server.http),
            "",
        );
        (status == 200 && text.lines().any(|l| l == metric)).then_some(())
    });
    let text = cli(&["pool", "show", "auto", "--account", &account]);
    assert!(
        text.contains("sending status: Sending via dedicated IPs"),
        "{text}"
    );
    assert!(text.contains(&format!("dedicated IP: {FIRST}")), "{text}");

    // F-48 / KA-16: deleting the pool returns its IP to the inventory.
    api("DELETE", "/v2/email/configuration-sets/via-auto", "");
    api("DELETE", "/v2/email/dedicated-ip-pools/auto", "");
    let ip: Value =
        serde_json::from_str(&api("GET", &format!("/v2/email/dedicated-ips/{FIRST}"), "")).unwrap();
    assert_eq!(ip["DedicatedIp"]["PoolName"], "ses-default-dedicated-pool");
}
