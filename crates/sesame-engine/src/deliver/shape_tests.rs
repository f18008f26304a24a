//! Spec G-H shape of the events real scenarios store: mailbox-simulator sends through the
//! engine (capture mode), the Open/Click records of the tracking endpoints for a delivered
//! message, and a templated send that fails to render. (DeliveryDelay: `smtp/tests.rs`,
//! `window_end_bounces_transient`.) Every stored record is held to
//! `sesame_events::shape::check` (the spec schema) and, field by field, to the seed's full
//! example of its type (`shape::spec_example`, G-55) with `shape::same_shape`.

use serde_json::Value;
use sesame_events::shape;
use sesame_template::TemplateContent;

use super::testkit::*;
use crate::send::{Content, Destination, SendRequest, Surface};
use crate::test_store::scope;
use crate::Engine;

const SET: &str = "ConfigSet";

/// The seed's full example record of one event type (G-55).
fn seed_example(event_type: &str) -> Value {
    shape::spec_example(event_type).unwrap_or_else(|| panic!("no seed example for {event_type}"))
}

fn request(to: &[String], content: Content) -> SendRequest {
    SendRequest {
        surface: Surface::V2,
        operation: "SendEmail",
        from: Some("Sender Name <sender@example.test>".into()),
        destination: Some(Destination {
            to: to.to_vec(),
            ..Default::default()
        }),
        reply_to: vec![],
        feedback_address: None,
        configuration_set: Some(SET.into()),
        tags: vec![("campaign".into(), "book".into())],
        content,
        source_ip: Some("192.0.2.0".into()),
        caller_identity: Some("ses_user".into()),
        source_tls_version: None,
        list_management: None,
    }
}

fn assert_spec_shape(event_type: &str, v: &Value) {
    if let Err(errs) = shape::check(v) {
        panic!("{event_type}: not the spec's shape: {errs:#?}\n{v:#}");
    }
    let diffs = shape::same_shape(&seed_example(event_type), v, shape::OPTIONAL_FIELDS);
    assert!(
        diffs.is_empty(),
        "{event_type}: differs from the seed example: {diffs:#?}\n{v:#}"
    );
    assert_eq!(v["eventType"], event_type);
}

/// G-23 / Q-156: the auto tags of a send with a configuration set, as one-element string
/// arrays, plus the message tag; `ses:outgoing-ip` exactly on Delivery and later records.
fn assert_tags(event_type: &str, v: &Value, outgoing: bool) {
    let tags = &v["mail"]["tags"];
    for (name, value) in [
        ("ses:configuration-set", SET),
        ("ses:from-domain", "example.test"),
        ("ses:caller-identity", "ses_user"),
        ("ses:source-ip", "192.0.2.0"),
        ("ses:operation", "SendEmail"),
        ("campaign", "book"),
    ] {
        assert_eq!(
            tags[name],
            serde_json::json!([value]),
            "{event_type}: {name}"
        );
    }
    let ip = tags.get("ses:outgoing-ip");
    if outgoing {
        let ip = ip.unwrap_or_else(|| panic!("{event_type}: no ses:outgoing-ip (G-23)"));
        let ip = ip[0].as_str().unwrap();
        assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{event_type}: {ip}");
    } else {
        assert!(
            ip.is_none(),
            "{event_type}: ses:outgoing-ip before delivery"
        );
    }
}

/// G-55 / G-39..G-48 / G-23 / E-79..E-84: the records of a simulator send (success@,
/// bounce@, complaint@, ooto@, suppressionlist@) have the spec's shape and the seed example's
/// fields, with the auto tags; the Send record shows the product's id in
/// `commonHeaders.messageId` (G-40) and no `ses:outgoing-ip` (Q-156).
#[tokio::test]
async fn simulator_events_have_the_spec_shape() {
    let f = fixture().await;
    f.engine
        .create_configuration_set(&scope(), Engine::new_configuration_set(SET))
        .await
        .unwrap();
    let to: Vec<String> = ["success", "bounce", "complaint", "ooto", "suppressionlist"]
        .iter()
        .map(|l| format!("{l}@{SIM}"))
        .collect();
    let req = request(
        &to,
        Content::Simple(crate::send::SimpleContent {
            subject: sesame_mail::message::Text::new("Message sent from Amazon SES"),
            text: Some(sesame_mail::message::Text::new("Body text")),
            ..Default::default()
        }),
    );
    let id = f.engine.send(&scope(), req).await.unwrap().message_id;
    deliver_all(&f).await;

    let ev = events(&f, &id).await;
    let types: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["Send", "Delivery", "Bounce", "Bounce", "Complaint"]);
    for (t, v) in &ev {
        assert_spec_shape(t, v);
        assert_eq!(v["mail"]["messageId"], id.as_str(), "{t}");
        assert_eq!(v["mail"]["commonHeaders"]["messageId"], id.as_str(), "{t}");
        assert_eq!(v["mail"]["headersTruncated"], false, "{t}");
        assert_eq!(
            v["mail"]["commonHeaders"]["from"],
            serde_json::json!(["Sender Name <sender@example.test>"]),
            "{t}"
        );
        assert_eq!(
            v["mail"]["commonHeaders"]["subject"], "Message sent from Amazon SES",
            "{t}"
        );
        assert_eq!(v["mail"]["destination"], serde_json::json!(to), "{t}");
        let outgoing = matches!(t.as_str(), "Delivery" | "Complaint");
        assert_tags(t, v, outgoing);
    }
    // G-39: `send` is `{}`.
    assert_eq!(ev[0].1["send"], serde_json::json!({}));
}

/// G-52 / G-2 / Q-118: a templated send with a missing attribute stores exactly one
/// `Rendering Failure` (no `Send`), shaped like the seed's example: key `failure`, `mail`
/// with `headersTruncated` and tags but no `headers`/`commonHeaders` (G-40).
#[tokio::test]
async fn rendering_failure_has_the_spec_shape() {
    let f = fixture().await;
    f.engine
        .create_configuration_set(&scope(), Engine::new_configuration_set(SET))
        .await
        .unwrap();
    let req = request(
        &[format!("success@{SIM}")],
        Content::Template {
            name: None,
            inline: Some(TemplateContent {
                subject: Some("Hello {{name}}".into()),
                text: Some("Dear {{attributeName}}".into()),
                html: None,
            }),
            data: r#"{"name":"x"}"#.into(),
            headers: vec![],
        },
    );
    let id = f.engine.send(&scope(), req).await.unwrap().message_id;
    let ev = events(&f, &id).await;
    let types: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["Rendering Failure"]);
    let v = &ev[0].1;
    assert_spec_shape("Rendering Failure", v);
    assert_tags("Rendering Failure", v, false);
    assert_eq!(v["failure"]["templateName"], "inline");
    assert!(
        v["failure"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("attributeName"),
        "{v}"
    );
}

/// G-50 / G-51 / G-40 / Z-9 / Q-152: the Open and Click records the tracking endpoints store
/// for a delivered message have the spec's shape and the seed examples' fields: no
/// `mail.sourceArn`, the engagement object a sibling of `mail`, `linkTags` a map of string
/// arrays when the link had tags and absent otherwise.
#[tokio::test]
async fn engagement_events_have_the_spec_shape() {
    let f = fixture().await;
    f.engine
        .create_configuration_set(&scope(), Engine::new_configuration_set(SET))
        .await
        .unwrap();
    let to = [format!("success@{SIM}")];
    let req = request(
        &to,
        Content::Simple(crate::send::SimpleContent {
            subject: sesame_mail::message::Text::new("Message sent from Amazon SES"),
            text: Some(sesame_mail::message::Text::new("Body text")),
            ..Default::default()
        }),
    );
    let id = f.engine.send(&scope(), req).await.unwrap().message_id;
    deliver_all(&f).await;

    let sc = scope();
    let token = |k: &str, u: &str, g: Vec<(String, String)>| crate::tracking::TrackingToken {
        a: sc.account.to_string(),
        r: sc.region.as_str().to_string(),
        m: id.clone(),
        d: to[0].clone(),
        t: crate::now_ms(),
        k: k.into(),
        i: 0,
        u: u.into(),
        g,
    };
    let who = crate::tracking::Visitor {
        ip_address: "192.0.2.1".into(),
        user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X)".into(),
        at_ms: crate::now_ms(),
    };
    let link = "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html";
    let tags = vec![
        ("samplekey0".to_string(), "samplevalue0".to_string()),
        ("samplekey1".to_string(), "samplevalue1".to_string()),
    ];
    for tok in [
        token("o", "", vec![]),
        token("c", link, tags),
        token("c", link, vec![]),
    ] {
        assert!(f.engine.record_engagement(&tok, &who).await.unwrap());
    }

    let ev = events(&f, &id).await;
    let engagement: Vec<&(String, Value)> = ev
        .iter()
        .filter(|(t, _)| t == "Open" || t == "Click")
        .collect();
    let types: Vec<&str> = engagement.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["Open", "Click", "Click"]);
    for (t, v) in &engagement {
        assert_spec_shape(t, v);
        assert_eq!(v["mail"]["messageId"], id.as_str(), "{t}");
    }
    assert_eq!(engagement[0].1["open"]["ipAddress"], "192.0.2.1");
    assert_eq!(engagement[1].1["click"]["link"], link);
    assert_eq!(
        engagement[1].1["click"]["linkTags"],
        serde_json::json!({"samplekey0": ["samplevalue0"], "samplekey1": ["samplevalue1"]})
    );
    assert!(engagement[2].1["click"].get("linkTags").is_none());
}

/// G-49 / Q-123 / Z-3: a message with the EICAR test file in a base64 attachment is accepted
/// (a MessageId), then rejected without any delivery attempt: `Send` and one `Reject` with
/// `reason` "Bad content", shaped like the seed's example; nothing is captured, and the reject
/// counts in `GetSendStatistics` `Rejects` (tests/conformance/test_send.py).
#[tokio::test]
async fn infected_message_is_rejected_with_the_spec_shape() {
    use base64::Engine as _;
    let f = fixture().await;
    f.engine
        .create_configuration_set(&scope(), Engine::new_configuration_set(SET))
        .await
        .unwrap();
    let eicar = base64::engine::general_purpose::STANDARD.encode(sesame_mail::message::EICAR);
    let raw = format!(
        "From: Sender Name <sender@example.test>\r\nTo: success@{SIM}\r\n\
         Subject: Message sent from Amazon SES\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\
         Content-Type: text/plain\r\n\r\nBody text\r\n--B\r\n\
         Content-Type: application/octet-stream; name=eicar.txt\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{eicar}\r\n--B--\r\n"
    );
    let mut req = request(&[format!("success@{SIM}")], Content::Raw(raw.into_bytes()));
    req.operation = "SendRawEmail";
    let id = f.engine.send(&scope(), req).await.unwrap().message_id;
    deliver_all(&f).await;

    let ev = events(&f, &id).await;
    let types: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["Send", "Reject"]);
    let v = &ev[1].1;
    assert_spec_shape("Reject", v);
    assert_eq!(v["reject"], serde_json::json!({"reason": "Bad content"}));
    assert_eq!(v["mail"]["messageId"], id.as_str());
    assert!(v["mail"]["tags"].get("ses:outgoing-ip").is_none());
    assert!(
        f.store
            .captured
            .lock()
            .unwrap()
            .iter()
            .all(|c| c.message_id != id),
        "an infected message is never handed off"
    );
}
