//! Unit tests of the SNS module over the in-memory store (DECISIONS Q-167..Q-170).

use super::outbox::{backoff_ms, FailureOutcome};
use super::publish::PublishRequest;
use super::*;
use crate::test_store::{engine, scope, scope_in};

/// Rebuilds SNS's canonical string from a posted JSON body (independently of
/// `sesame_events::sns::canonical_string`) and checks the signature with the engine's key.
async fn assert_signed(e: &Engine, body: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let fields: &[&str] = if v["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut canonical = String::new();
    for f in fields {
        if let Some(s) = v[*f].as_str() {
            canonical.push_str(&format!("{f}\n{s}\n"));
        }
    }
    let key = e.sns_signing_key().await.unwrap();
    sesame_events::sns::verify(
        &canonical,
        v["Signature"].as_str().unwrap(),
        &key.key.to_public_key(),
    )
    .expect("signature verifies");
    assert_eq!(v["SignatureVersion"], "2");
    assert!(v["SigningCertURL"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/SimpleNotificationService-{}.pem", key.cert_id)));
    v
}

#[test]
fn arns_parse_strictly() {
    let ok = parse_arn("arn:aws:sns:us-east-1:123456789012:orders", false).unwrap();
    assert_eq!(
        (ok.region.as_str(), ok.account.as_str(), ok.topic.as_str()),
        ("us-east-1", "123456789012", "orders")
    );
    let sub = parse_arn("arn:aws:sns:us-east-1:123456789012:orders:abc-1", true).unwrap();
    assert_eq!(sub.subscription.as_deref(), Some("abc-1"));
    for bad in [
        "",
        "orders",
        "arn:aws:sqs:us-east-1:123456789012:orders",
        "arn:aws:sns:us-east-1:1234:orders",
        "arn:aws:sns:us-east-1:123456789012:bad name",
        "arn:aws:sns:us-east-1:123456789012:orders:extra",
    ] {
        assert!(parse_arn(bad, false).is_none(), "{bad}");
    }
    assert!(parse_arn("arn:aws:sns:us-east-1:123456789012:orders", true).is_none());
}

/// Q-170: 1 s doubling, capped at 20 min.
#[test]
fn backoff_doubles_up_to_the_cap() {
    let table = [
        (1, 1_000),
        (2, 2_000),
        (3, 4_000),
        (11, 1_024_000),
        (12, 1_200_000),
        (40, 1_200_000),
    ];
    for (attempts, want) in table {
        assert_eq!(backoff_ms(attempts, 1, 1200), want, "attempt {attempts}");
    }
}

#[tokio::test]
async fn create_topic_is_idempotent_and_refuses_conflicts() {
    let e = engine();
    let s = scope();
    let attrs = BTreeMap::from([("DisplayName".to_string(), "A".to_string())]);
    e.sns_create_topic(&s, "t", attrs.clone(), vec![])
        .await
        .unwrap();
    e.sns_create_topic(&s, "t", attrs, vec![]).await.unwrap();
    e.sns_create_topic(&s, "t", BTreeMap::new(), vec![])
        .await
        .unwrap();
    let other = BTreeMap::from([("DisplayName".to_string(), "B".to_string())]);
    assert!(matches!(
        e.sns_create_topic(&s, "t", other, vec![]).await,
        Err(SnsError::InvalidParameter(_))
    ));
    for bad in ["x.fifo", "", "a b"] {
        assert!(matches!(
            e.sns_create_topic(&s, bad, BTreeMap::new(), vec![]).await,
            Err(SnsError::InvalidParameter(_))
        ));
    }
    // Regions are separate namespaces.
    assert!(e
        .sns_get_topic(&scope_in("eu-west-1"), "t")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn subscribe_confirm_publish_writes_signed_delivery_records() {
    let e = engine();
    let s = scope();
    e.sns_create_topic(&s, "t", BTreeMap::new(), vec![])
        .await
        .unwrap();
    let sub = e
        .sns_subscribe(&s, "t", "http", "http://127.0.9.1:9/hook", BTreeMap::new())
        .await
        .unwrap();
    assert!(!sub.confirmed);
    let now = crate::now_ms();
    let claimed = e.sns_claim_deliveries("n1", now, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let conf = &claimed[0].record;
    assert_eq!(conf.message_type, "SubscriptionConfirmation");
    assert!(!conf
        .headers
        .iter()
        .any(|(k, _)| k == "x-amz-sns-subscription-arn"));
    let v = assert_signed(&e, &conf.body).await;
    assert_eq!(v["Token"], sub.token.as_str());
    e.sns_delivery_succeeded(&claimed[0]).await.unwrap();

    // Nothing is published to a pending subscription.
    e.sns_publish(
        &s,
        "t",
        &PublishRequest {
            message: "m0".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(e.sns_pending_deliveries().await.unwrap(), 0);

    assert!(matches!(
        e.sns_confirm(&s, "t", "nope").await,
        Err(SnsError::InvalidParameter(_))
    ));
    let confirmed = e.sns_confirm(&s, "t", &sub.token).await.unwrap();
    assert!(confirmed.confirmed);
    let mid = e
        .sns_publish(
            &s,
            "t",
            &PublishRequest {
                subject: Some("S".into()),
                message: "m1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let claimed = e
        .sns_claim_deliveries("n1", crate::now_ms(), 60_000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let n = &claimed[0].record;
    let header = |k: &str| {
        n.headers
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("x-amz-sns-message-type"), "Notification");
    assert_eq!(header("x-amz-sns-message-id"), mid);
    assert_eq!(header("x-amz-sns-topic-arn"), e.topic_arn(&s, "t"));
    assert_eq!(
        header("x-amz-sns-subscription-arn"),
        e.subscription_arn(&s, &confirmed)
    );
    assert_eq!(header("Content-Type"), "text/plain; charset=UTF-8");
    let v = assert_signed(&e, &n.body).await;
    assert_eq!(
        (v["Message"].as_str(), v["Subject"].as_str()),
        (Some("m1"), Some("S"))
    );
}

#[tokio::test]
async fn claims_are_exclusive_and_failures_retry_then_dead_letter() {
    let e = engine();
    let s = scope();
    e.sns_create_topic(&s, "t", BTreeMap::new(), vec![])
        .await
        .unwrap();
    e.sns_subscribe(&s, "t", "https", "https://127.0.9.1:9/", BTreeMap::new())
        .await
        .unwrap();
    let t0 = crate::now_ms();
    let c = e.sns_claim_deliveries("n1", t0, 60_000, 10).await.unwrap();
    assert_eq!(c.len(), 1);
    // Leased: another node (or the same one) gets nothing until the lease ends.
    assert!(e
        .sns_claim_deliveries("n2", t0 + 1, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    let again = e
        .sns_claim_deliveries("n2", t0 + 60_001, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        1,
        "an expired lease makes the record claimable"
    );

    let out = e
        .sns_delivery_failed(&again[0], "HTTP status 500", t0 + 60_002)
        .await
        .unwrap();
    assert_eq!(out, FailureOutcome::Retry { at_ms: t0 + 61_002 });
    assert!(e
        .sns_claim_deliveries("n1", t0 + 61_001, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    let c = e
        .sns_claim_deliveries("n1", t0 + 61_002, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(c[0].record.attempts, 1);
    // Past the 24 h window: a dead letter with the last error, and nothing pending.
    let late = t0 + 86_400_000;
    let out = e
        .sns_delivery_failed(&c[0], "connection refused", late)
        .await
        .unwrap();
    assert_eq!(out, FailureOutcome::DeadLetter);
    assert_eq!(e.sns_pending_deliveries().await.unwrap(), 0);
    let dead = e.sns_dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead[0].last_error.as_deref(), Some("connection refused"));

    // Kept 14 days from death, then pruned; or requeued by the operator for a new window.
    assert_eq!(e.sns_prune_dead_letters(late).await.unwrap(), 0);
    assert_eq!(e.sns_requeue_dead_letters(&[], late + 5).await.unwrap(), 1);
    assert!(e.sns_dead_letters(10).await.unwrap().is_empty());
    let c = e
        .sns_claim_deliveries("n1", late + 5, 60_000, 10)
        .await
        .unwrap();
    assert_eq!((c.len(), c[0].record.attempts), (1, 0));
    let out = e
        .sns_delivery_failed(&c[0], "again", late + 86_400_000)
        .await
        .unwrap();
    assert_eq!(out, FailureOutcome::DeadLetter);
    // The loop prunes with `now - 14 days`.
    let died = late + 86_400_000;
    assert_eq!(
        e.sns_prune_dead_letters(died - 1).await.unwrap(),
        0,
        "not before 14 days"
    );
    assert_eq!(e.sns_prune_dead_letters(died + 1).await.unwrap(), 1);
}

#[tokio::test]
async fn unsupported_protocols_and_attributes_are_invalid() {
    let e = engine();
    let s = scope();
    e.sns_create_topic(&s, "t", BTreeMap::new(), vec![])
        .await
        .unwrap();
    for (protocol, endpoint) in [
        ("sqs", "arn:aws:sqs:us-east-1:1:q"),
        ("http", "https://x/"),
        ("email", "no-at"),
    ] {
        assert!(
            matches!(
                e.sns_subscribe(&s, "t", protocol, endpoint, BTreeMap::new())
                    .await,
                Err(SnsError::InvalidParameter(_))
            ),
            "{protocol} {endpoint}"
        );
    }
    let filter = BTreeMap::from([("FilterPolicy".to_string(), "{}".to_string())]);
    assert!(matches!(
        e.sns_subscribe(&s, "t", "http", "http://x/", filter).await,
        Err(SnsError::InvalidParameter(_))
    ));
    assert!(matches!(
        e.sns_set_topic_attribute(&s, "t", "SignatureVersion", Some("3"))
            .await,
        Err(SnsError::InvalidParameter(_))
    ));
    assert!(matches!(
        e.sns_subscribe(&s, "missing", "http", "http://x/", BTreeMap::new())
            .await,
        Err(SnsError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_signing_key_is_generated_once() {
    let e = engine();
    let a = e.sns_signing_key().await.unwrap();
    let b = e.sns_signing_key().await.unwrap();
    assert_eq!(a.cert_id, b.cert_id);
    assert_eq!(a.key, b.key);
    let pem = e.sns_signing_cert(&a.cert_id).await.unwrap().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(e.sns_signing_cert("other").await.unwrap().is_none());
}

#[tokio::test]
async fn publish_by_arn_is_the_entry_point_for_ses_events() {
    let e = engine();
    let s = scope();
    e.sns_create_topic(&s, "events", BTreeMap::new(), vec![])
        .await
        .unwrap();
    let sub = e
        .sns_subscribe(&s, "events", "http", "http://127.0.9.1:9/", BTreeMap::new())
        .await
        .unwrap();
    e.sns_confirm(&s, "events", &sub.token).await.unwrap();
    let now = crate::now_ms();
    let c = e.sns_claim_deliveries("n", now, 1_000, 10).await.unwrap();
    e.sns_delivery_succeeded(&c[0]).await.unwrap();
    let arn = e.topic_arn(&s, "events");
    let req = PublishRequest {
        message: r#"{"eventType":"Bounce"}"#.into(),
        ..Default::default()
    };
    let mid = e.sns_publish_to_arn(&arn, &req).await.unwrap();
    let c = e
        .sns_claim_deliveries("n", crate::now_ms(), 1_000, 10)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].record.message_id, mid);
    assert_eq!(c[0].record.topic_arn, arn);
    for bad in [
        "arn:aws:sns:ap-south-1:123456789012:events",
        "arn:aws-cn:sns:us-east-1:123456789012:events",
        "nope",
    ] {
        assert!(
            matches!(
                e.sns_publish_to_arn(bad, &req).await,
                Err(SnsError::InvalidParameter(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        e.sns_publish_to_arn("arn:aws:sns:us-east-1:123456789012:missing", &req)
            .await,
        Err(SnsError::NotFound(_))
    ));
}
