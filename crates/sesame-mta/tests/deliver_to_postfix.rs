//! Delivery to a real Postfix MX (127.0.2.21:25, STARTTLS, Maildir) found through knot
//! (127.0.2.20:53): the message arrives over TLS (`with ESMTPS`, RFC 3207), the report carries
//! remote host/IP, source IP and the Q-73 HELO name, a refused recipient gets its own RCPT
//! reply in the same job, and a second job reuses the pooled connection.

mod common;

use std::time::Duration;

use common::*;
use sesame_model::{RecipientResult, SmtpReply, Transport};
use sesame_testpeers::{start_or_skip, zone_text, Knot, PostfixMx};

#[tokio::test]
async fn delivers_over_starttls_and_reuses_the_connection() {
    init_tracing();
    let zone = zone_text("pf.test", "@ MX 10 mx\nmx A 127.0.2.21");
    let knot = start_or_skip!(Knot::start(sa("127.0.2.20:53"), &[("pf.test", &zone)]));
    let mx = start_or_skip!(PostfixMx::start(
        sa("127.0.2.21:25"),
        "pf.test",
        "mx.pf.test"
    ));
    let t = transport(knot.addr(), &["127.0.2.22"]);

    let r1 = t
        .deliver(job(
            "pf.test",
            &["alice@pf.test", "nobody@pf.test"],
            body("first", ""),
        ))
        .await;
    assert_eq!(r1.remote_host.as_deref(), Some("mx.pf.test"));
    assert_eq!(r1.remote_ip, Some(ip("127.0.2.21")));
    assert_eq!(r1.local_ip, Some(ip("127.0.2.22")));
    assert_eq!(r1.helo, "127-0-2-22.smtp-out.sesame.test");
    assert!(r1.tls, "STARTTLS was offered, so it was used");
    assert_eq!(r1.results.len(), 2);
    assert_eq!(r1.results[0].0, "alice@pf.test");
    match &r1.results[0].1 {
        RecipientResult::Reply(SmtpReply {
            code: 250,
            status: Some(s),
            text,
        }) => {
            assert_eq!(s, "2.0.0");
            assert!(text.starts_with("Ok: queued as "), "{text}");
        }
        other => panic!("alice: {other:?}"),
    }
    match &r1.results[1].1 {
        RecipientResult::Reply(r) => {
            assert_eq!((r.code, r.status.as_deref()), (550, Some("5.1.1")));
            assert!(r.text.contains("User unknown"), "{}", r.text);
        }
        other => panic!("nobody: {other:?}"),
    }

    let alice = mx.wait_delivered("alice", 1, Duration::from_secs(10));
    assert_eq!(alice.len(), 1, "maillog:\n{}", mx.log());
    let msg = String::from_utf8_lossy(&alice[0]);
    assert!(msg.contains("Delivered-To: alice@pf.test"), "{msg}");
    assert!(msg.contains("Subject: first"), "{msg}");
    assert!(
        msg.contains("from 127-0-2-22.smtp-out.sesame.test"),
        "HELO in Received: {msg}"
    );
    assert!(
        msg.contains("with ESMTPS id"),
        "received over STARTTLS: {msg}"
    );
    assert!(msg.contains("(using TLSv1."), "{msg}");

    // A second job to the same destination rides the pooled connection.
    assert_eq!(t.idle_connections("mx.pf.test"), 1);
    let r2 = t
        .deliver(job(
            "pf.test",
            &["bob@pf.test"],
            body("second", ".dot line\r\n"),
        ))
        .await;
    assert!(
        matches!(&r2.results[0].1, RecipientResult::Reply(r) if r.code == 250),
        "{:?}",
        r2.results
    );
    assert!(r2.tls);
    let bob = mx.wait_delivered("bob", 1, Duration::from_secs(10));
    assert_eq!(bob.len(), 1);
    let bob_msg = String::from_utf8_lossy(&bob[0]);
    assert!(
        bob_msg.contains("\n.dot line\n") || bob_msg.contains("\r\n.dot line\r\n"),
        "dot-stuffing undone by the server: {bob_msg}"
    );
    assert!(!bob_msg.contains("..dot line"), "{bob_msg}");
    assert_eq!(
        mx.connections_from(ip("127.0.2.22")),
        1,
        "one SMTP connection for both jobs; maillog:\n{}",
        mx.log()
    );
    assert_eq!(t.idle_connections("mx.pf.test"), 1);
}
