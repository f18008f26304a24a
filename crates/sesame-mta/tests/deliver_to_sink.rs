//! Delivery outcomes against the scripted aiosmtpd sink (tests/peers/smtp_sink.py), MX found
//! through knot. Each test owns its addresses in 127.0.2.0/24.

mod common;

use std::time::Duration;

use common::*;
use sesame_model::{AttemptError, RecipientResult, SmtpReply, TlsPolicy, Transport};
use sesame_testpeers::{start_or_skip, zone_text, Knot, Sink, SinkOptions};

fn reply(code: u16, status: &str, text: &str) -> RecipientResult {
    RecipientResult::Reply(SmtpReply {
        code,
        status: Some(status.to_string()),
        text: text.to_string(),
    })
}

fn code_of(r: &RecipientResult) -> Option<u16> {
    match r {
        RecipientResult::Reply(r) => Some(r.code),
        RecipientResult::Error(_) => None,
    }
}

/// Per-recipient results (issue 4 "per-recipient outcomes within one message"): RCPT 550 5.1.1
/// for one recipient while another gets 250 in the same job; DATA 554 for all accepted; 451.
#[tokio::test]
async fn per_recipient_results() {
    init_tracing();
    let zone = zone_text("a.test", "@ MX 10 mx\nmx A 127.0.2.41");
    let knot = start_or_skip!(Knot::start(sa("127.0.2.40:53"), &[("a.test", &zone)]));
    let sink = start_or_skip!(Sink::start(
        sa("127.0.2.41:25"),
        SinkOptions {
            tls: true,
            ..Default::default()
        }
    ));
    let t = transport(knot.addr(), &[]);

    let r = t
        .deliver(job(
            "a.test",
            &["ok@a.test", "rcpt-550@a.test"],
            body("mixed", ""),
        ))
        .await;
    assert_eq!(r.results[0].0, "ok@a.test");
    let RecipientResult::Reply(ok) = &r.results[0].1 else {
        panic!("{:?}", r.results)
    };
    assert_eq!((ok.code, ok.status.as_deref()), (250, Some("2.0.0")));
    assert!(ok.text.starts_with("OK queued as 0001"), "{}", ok.text);
    assert_eq!(
        r.results[1],
        (
            "rcpt-550@a.test".to_string(),
            reply(550, "5.1.1", "user unknown (test)")
        )
    );
    assert!(r.tls);
    assert_eq!(r.remote_ip, Some(ip("127.0.2.41")));
    assert_eq!(
        r.helo, "mta.sesame.test",
        "no outbound IP configured: the default HELO name"
    );
    let msgs = sink.wait_messages(1, Duration::from_secs(5));
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0].envelope["rcpt_tos"],
        serde_json::json!(["ok@a.test"])
    );
    assert_eq!(
        msgs[0].envelope["mail_from"],
        "bounce-1@feedback.sesame.test"
    );
    assert_eq!(msgs[0].envelope["tls"], true);
    assert_eq!(msgs[0].envelope["helo"], "mta.sesame.test");

    // DATA refused after RCPT accepted: the final reply is every accepted recipient's result.
    let r = t
        .deliver(job(
            "a.test",
            &["data-554@a.test", "rcpt-550@a.test"],
            body("refused", ""),
        ))
        .await;
    assert_eq!(r.results[0].1, reply(554, "5.7.1", "rejected (test)"));
    assert_eq!(r.results[1].1, reply(550, "5.1.1", "user unknown (test)"));

    // A temporary refusal is reported as such (the engine retries: Q-110).
    let r = t
        .deliver(job("a.test", &["rcpt-451@a.test"], body("later", "")))
        .await;
    assert_eq!(
        r.results[0].1,
        reply(451, "4.3.0", "temporary failure (test)")
    );
    // 4xx first, 2xx on the next attempt.
    let j = job("a.test", &["once-rcpt-451@a.test"], body("retry", ""));
    assert_eq!(code_of(&t.deliver(j.clone()).await.results[0].1), Some(451));
    assert_eq!(code_of(&t.deliver(j).await.results[0].1), Some(250));

    // All of that on one connection (RSET after refusals keeps it usable).
    let ports: std::collections::HashSet<_> = sink
        .transcript()
        .iter()
        .map(|l| l["peer_port"].clone())
        .collect();
    assert_eq!(ports.len(), 1, "one connection: {:?}", sink.transcript());
    assert_eq!(sink.messages().len(), 2);
}

/// RFC 5321 §5.1: when the preferred MX does not answer, the next one gets the message.
#[tokio::test]
async fn fails_over_to_the_second_mx() {
    init_tracing();
    // mx1 (127.0.2.51) has nothing listening: connection refused.
    let zone = zone_text(
        "b.test",
        "@ MX 10 mx1\n@ MX 20 mx2\nmx1 A 127.0.2.51\nmx2 A 127.0.2.52",
    );
    let knot = start_or_skip!(Knot::start(sa("127.0.2.50:53"), &[("b.test", &zone)]));
    let sink = start_or_skip!(Sink::start(sa("127.0.2.52:25"), SinkOptions::default()));
    let t = transport(knot.addr(), &[]);
    let r = t
        .deliver(job("b.test", &["u@b.test"], body("failover", "")))
        .await;
    assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    assert_eq!(r.remote_host.as_deref(), Some("mx2.b.test"));
    assert_eq!(r.remote_ip, Some(ip("127.0.2.52")));
    assert!(!r.tls, "the sink offers no STARTTLS");
    assert_eq!(sink.wait_messages(1, Duration::from_secs(5)).len(), 1);
    drop(sink);

    // With every MX down the recipients get the connection error (temporary).
    let r = t
        .deliver(job("b.test", &["u@b.test"], body("nobody home", "")))
        .await;
    match &r.results[0].1 {
        RecipientResult::Error(AttemptError::Connect(why)) => {
            assert!(why.contains("mx2.b.test"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

/// Source address binding (F-*, Q-73): the job's pool addresses, else the configured outbound
/// addresses; the HELO name follows the address.
#[tokio::test]
async fn binds_the_chosen_source_address() {
    init_tracing();
    let zone = zone_text("c.test", "@ MX 10 mx\nmx A 127.0.2.61");
    let knot = start_or_skip!(Knot::start(sa("127.0.2.60:53"), &[("c.test", &zone)]));
    let sink = start_or_skip!(Sink::start(sa("127.0.2.61:25"), SinkOptions::default()));
    let t = transport(knot.addr(), &["127.0.2.64"]);

    let r = t
        .deliver(job("c.test", &["one@c.test"], body("configured", "")))
        .await;
    assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    assert_eq!(r.local_ip, Some(ip("127.0.2.64")));
    assert_eq!(r.helo, "127-0-2-64.smtp-out.sesame.test");

    let mut j = job("c.test", &["two@c.test"], body("pool", ""));
    j.source_ips = vec![ip("127.0.2.63")];
    let r = t.deliver(j).await;
    assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    assert_eq!(
        r.local_ip,
        Some(ip("127.0.2.63")),
        "the idle .64 session does not fit this job"
    );
    assert_eq!(r.helo, "127-0-2-63.smtp-out.sesame.test");

    let msgs = sink.wait_messages(2, Duration::from_secs(5));
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].envelope["peer"], "127.0.2.64");
    assert_eq!(msgs[0].envelope["helo"], "127-0-2-64.smtp-out.sesame.test");
    assert_eq!(msgs[1].envelope["peer"], "127.0.2.63");
    assert_eq!(msgs[1].envelope["helo"], "127-0-2-63.smtp-out.sesame.test");
}

/// `TlsPolicy::Require` and a server without STARTTLS: nothing is sent in clear.
#[tokio::test]
async fn tls_required_but_not_offered_sends_nothing() {
    init_tracing();
    let zone = zone_text("d.test", "@ MX 10 mx\nmx A 127.0.2.71");
    let knot = start_or_skip!(Knot::start(sa("127.0.2.70:53"), &[("d.test", &zone)]));
    let sink = start_or_skip!(Sink::start(sa("127.0.2.71:25"), SinkOptions::default()));
    let t = transport(knot.addr(), &[]);

    let mut j = job("d.test", &["x@d.test", "y@d.test"], body("secret", ""));
    j.tls = TlsPolicy::Require;
    let r = t.deliver(j).await;
    for (_, res) in &r.results {
        assert_eq!(res, &RecipientResult::Error(AttemptError::TlsRequired));
    }
    assert!(!r.tls);
    assert!(
        sink.transcript().is_empty(),
        "no MAIL/RCPT in clear: {:?}",
        sink.transcript()
    );
    assert!(sink.messages().is_empty());

    // OPTIONAL on the same server: delivered in plaintext.
    let r = t
        .deliver(job("d.test", &["x@d.test"], body("open", "")))
        .await;
    assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    let msgs = sink.wait_messages(1, Duration::from_secs(5));
    assert_eq!(msgs[0].envelope["tls"], false);
}

/// RFC 1870: `SIZE=` is declared, and a message above the server's limit is refused locally
/// (permanent, RFC 1870 §6.3) without a MAIL command.
#[tokio::test]
async fn respects_the_size_limit() {
    init_tracing();
    let zone = zone_text("e.test", "@ MX 10 mx\nmx A 127.0.2.81");
    let knot = start_or_skip!(Knot::start(sa("127.0.2.80:53"), &[("e.test", &zone)]));
    let sink = start_or_skip!(Sink::start(
        sa("127.0.2.81:25"),
        SinkOptions {
            size: Some(2000),
            ..Default::default()
        }
    ));
    let t = transport(knot.addr(), &[]);

    let big = body(
        "big",
        &"x".repeat(78).repeat(30).chars().collect::<String>(),
    );
    assert!(big.len() > 2000);
    let r = t.deliver(job("e.test", &["big@e.test"], big)).await;
    assert_eq!(
        r.results[0].1,
        RecipientResult::Error(AttemptError::MessageTooLarge { limit: 2000 })
    );
    assert!(sink.transcript().is_empty(), "{:?}", sink.transcript());

    let small = body("small", "");
    let len = small.len();
    let r = t.deliver(job("e.test", &["small@e.test"], small)).await;
    assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    let mail = sink
        .transcript()
        .into_iter()
        .find(|l| l["cmd"] == "MAIL")
        .expect("a MAIL command");
    assert_eq!(mail["options"], serde_json::json!([format!("SIZE={len}")]));
    assert_eq!(
        sink.wait_messages(1, Duration::from_secs(5))[0].eml.len(),
        len
    );
}

/// RFC 5321 §3.1/§5.1: an MX greeting with 421 (or 554) is skipped for the next one; when all
/// refuse, the last refusal is every recipient's result.
#[tokio::test]
async fn refusing_greetings_move_to_the_next_mx() {
    init_tracing();
    let zone = zone_text(
        "f.test",
        "@ MX 10 mx1\n@ MX 20 mx2\nmx1 A 127.0.2.91\nmx2 A 127.0.2.92\n\
         all MX 10 mx1\nall MX 20 mx3\nmx3 A 127.0.2.93",
    );
    let knot = start_or_skip!(Knot::start(sa("127.0.2.90:53"), &[("f.test", &zone)]));
    let busy = SinkOptions {
        refuse: Some("421 4.3.2 busy (test)".into()),
        ..Default::default()
    };
    let _mx1 = start_or_skip!(Sink::start(sa("127.0.2.91:25"), busy));
    let mx2 = start_or_skip!(Sink::start(sa("127.0.2.92:25"), SinkOptions::default()));
    let no = SinkOptions {
        refuse: Some("554 5.7.1 no service (test)".into()),
        ..Default::default()
    };
    let _mx3 = start_or_skip!(Sink::start(sa("127.0.2.93:25"), no));
    let t = transport(knot.addr(), &[]);

    let r = t
        .deliver(job("f.test", &["u@f.test"], body("busy first", "")))
        .await;
    assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    assert_eq!(r.remote_host.as_deref(), Some("mx2.f.test"));
    assert_eq!(mx2.wait_messages(1, Duration::from_secs(5)).len(), 1);

    let r = t
        .deliver(job("all.f.test", &["u@all.f.test"], body("nobody", "")))
        .await;
    assert_eq!(r.results[0].1, reply(554, "5.7.1", "no service (test)"));
    assert_eq!(r.remote_host, None, "no session was opened");
}

/// Connection lifecycle: at most `messages_per_connection` messages per connection, and idle
/// pooled connections are closed after `idle_timeout`.
#[tokio::test]
async fn connection_limits_and_idle_close() {
    init_tracing();
    let zone = zone_text("g.test", "@ MX 10 mx\nmx A 127.0.2.101");
    let knot = start_or_skip!(Knot::start(sa("127.0.2.100:53"), &[("g.test", &zone)]));
    let sink = start_or_skip!(Sink::start(sa("127.0.2.101:25"), SinkOptions::default()));
    let mut c = config(knot.addr(), &[]);
    c.messages_per_connection = 2;
    c.idle_timeout = Duration::from_millis(800);
    let t = sesame_mta::SmtpTransport::new(c).unwrap();
    for i in 0..3 {
        let r = t
            .deliver(job(
                "g.test",
                &[&format!("m{i}@g.test")],
                body(&format!("m{i}"), ""),
            ))
            .await;
        assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    }
    let msgs = sink.wait_messages(3, Duration::from_secs(5));
    let ports: Vec<_> = msgs
        .iter()
        .map(|m| m.envelope["peer_port"].clone())
        .collect();
    assert_eq!(ports[0], ports[1], "first two messages share a connection");
    assert_ne!(ports[1], ports[2], "the third needs a new one");
    assert_eq!(t.idle_connections("mx.g.test"), 1);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        t.idle_connections("mx.g.test"),
        0,
        "closed after the idle timeout"
    );

    // One connection per destination: concurrent jobs wait for it and reuse it in turn.
    let mut c = config(knot.addr(), &[]);
    c.connections_per_destination = 1;
    let t = sesame_mta::SmtpTransport::new(c).unwrap();
    let jobs = (0..4).map(|i| {
        let t = t.clone();
        tokio::spawn(async move {
            t.deliver(job(
                "g.test",
                &[&format!("c{i}@g.test")],
                body(&format!("c{i}"), ""),
            ))
            .await
        })
    });
    for h in jobs.collect::<Vec<_>>() {
        let r = h.await.unwrap();
        assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    }
    let msgs = sink.wait_messages(7, Duration::from_secs(5));
    let ports: std::collections::HashSet<_> = msgs[3..]
        .iter()
        .map(|m| m.envelope["peer_port"].clone())
        .collect();
    assert_eq!(ports.len(), 1, "four concurrent jobs, one connection");
}

/// TLS 1.2 or newer only. A failed handshake falls back to plaintext under OPTIONAL (on a
/// new connection) and is a temporary TLS failure under REQUIRE, with nothing sent.
#[tokio::test]
async fn failed_handshake_falls_back_only_when_optional() {
    init_tracing();
    let zone = zone_text("h.test", "@ MX 10 mx\nmx A 127.0.2.111");
    let knot = start_or_skip!(Knot::start(sa("127.0.2.110:53"), &[("h.test", &zone)]));
    let legacy = SinkOptions {
        tls: true,
        tls_max_1_1: true,
        ..Default::default()
    };
    let sink = start_or_skip!(Sink::start(sa("127.0.2.111:25"), legacy));
    let t = transport(knot.addr(), &[]);

    let mut j = job("h.test", &["r@h.test"], body("required", ""));
    j.tls = TlsPolicy::Require;
    let r = t.deliver(j).await;
    match &r.results[0].1 {
        RecipientResult::Error(AttemptError::Tls(why)) => assert!(!why.is_empty()),
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert!(sink.transcript().is_empty(), "{:?}", sink.transcript());

    let r = t
        .deliver(job("h.test", &["o@h.test"], body("optional", "")))
        .await;
    assert_eq!(code_of(&r.results[0].1), Some(250), "{:?}", r.results);
    assert!(!r.tls);
    let msgs = sink.wait_messages(1, Duration::from_secs(5));
    assert_eq!(msgs[0].envelope["tls"], false);
}
