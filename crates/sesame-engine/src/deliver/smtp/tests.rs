//! Rules of [`Engine::deliver_smtp`] with a scripted [`Transport`] (canned `JobReport`s; the
//! real SMTP client is tested against real peers elsewhere) over the in-memory store.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use sesame_events::iso_timestamp;
use sesame_model::{
    AttemptError, DeliveryJob, JobReport, QueuedMessage, RecipientResult, SmtpReply, Store,
    TlsPolicy, Transport,
};

use crate::deliver::testkit::*;
use crate::test_store::scope;
use crate::{now_ms, Engine, EngineError};

/// The result every recipient of a job gets on one attempt.
type Plan = Arc<dyn Fn(&str) -> RecipientResult + Send + Sync>;

const HELO: &str = "127-0-0-3.smtp-out.sesame.test";
const LOCAL_IP: &str = "127.0.0.3";
const REMOTE_IP: &str = "127.0.0.2";

/// Answers each domain's attempts from its list of plans (the last one repeats) and records
/// every job it was given. Jobs with a null envelope sender (forwarded bounces to the sender,
/// `crate::forwarding`) are accepted with `250` and kept apart in `notices`.
struct Scripted {
    plans: HashMap<String, Vec<Plan>>,
    calls: Mutex<HashMap<String, usize>>,
    jobs: Mutex<Vec<DeliveryJob>>,
    notices: Mutex<Vec<DeliveryJob>>,
}

impl Scripted {
    fn new(plans: Vec<(&str, Vec<Plan>)>) -> Scripted {
        Scripted {
            plans: plans.into_iter().map(|(d, p)| (d.to_string(), p)).collect(),
            calls: Mutex::default(),
            jobs: Mutex::default(),
            notices: Mutex::default(),
        }
    }

    fn notices(&self) -> Vec<DeliveryJob> {
        self.notices.lock().unwrap().clone()
    }

    fn jobs(&self) -> Vec<DeliveryJob> {
        self.jobs.lock().unwrap().clone()
    }
}

#[async_trait]
impl Transport for Scripted {
    async fn deliver(&self, job: DeliveryJob) -> JobReport {
        if job.mail_from.is_empty() {
            let ok = SmtpReply {
                code: 250,
                status: Some("2.0.0".into()),
                text: "Ok".into(),
            };
            let results = job
                .recipients
                .iter()
                .map(|r| (r.clone(), RecipientResult::Reply(ok.clone())))
                .collect();
            self.notices.lock().unwrap().push(job);
            return JobReport {
                results,
                remote_host: Some("mx.example.test".into()),
                remote_ip: None,
                local_ip: None,
                helo: HELO.into(),
                tls: true,
            };
        }
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(job.domain.clone()).or_default();
            *n += 1;
            *n - 1
        };
        let plans = &self.plans[&job.domain];
        let plan = &plans[n.min(plans.len() - 1)];
        let results: Vec<(String, RecipientResult)> = job
            .recipients
            .iter()
            .map(|r| (r.clone(), plan(r)))
            .collect();
        // A reply means a connection was made.
        let connected = results
            .iter()
            .any(|(_, r)| matches!(r, RecipientResult::Reply(_)));
        let ip = |s: &str| connected.then(|| s.parse::<IpAddr>().unwrap());
        self.jobs.lock().unwrap().push(job);
        JobReport {
            results,
            remote_host: connected.then(|| "mx.example.net".to_string()),
            remote_ip: ip(REMOTE_IP),
            local_ip: ip(LOCAL_IP),
            helo: HELO.into(),
            tls: connected,
        }
    }
}

fn reply(code: u16, status: &str, text: &str) -> Plan {
    let r = SmtpReply {
        code,
        status: (!status.is_empty()).then(|| status.to_string()),
        text: text.into(),
    };
    Arc::new(move |_| RecipientResult::Reply(r.clone()))
}

fn error(e: AttemptError) -> Plan {
    Arc::new(move |_| RecipientResult::Error(e.clone()))
}

/// Claims everything ready at `at` and delivers it; returns how many were claimed.
async fn attempt_at(f: &Fixture, t: &Scripted, at: i64) -> usize {
    attempt_with(f, t, at, |_| {}).await
}

/// [`attempt_at`], changing each claimed row first (to move its acceptance into the past).
async fn attempt_with(
    f: &Fixture,
    t: &Scripted,
    at: i64,
    change: impl Fn(&mut QueuedMessage),
) -> usize {
    let claimed = f
        .store
        .claim_messages("node-a", at, 60_000, 100)
        .await
        .unwrap();
    let n = claimed.len();
    for mut m in claimed {
        change(&mut m);
        f.engine.deliver_smtp("node-a", m, t).await.unwrap();
    }
    n
}

/// Queued rows of customer mail (forwarded-feedback notifications left out).
fn customer_depth(f: &Fixture) -> usize {
    f.store
        .queue
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, _)| crate::forwarding::system_kind(m).is_none())
        .count()
}

/// Queued forwarded-feedback notifications: (recipients, envelope sender).
fn queued_notices(f: &Fixture) -> Vec<(Vec<String>, String)> {
    f.store
        .queue
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, _)| crate::forwarding::system_kind(m).is_some())
        .map(|(m, _)| (m.recipients.clone(), m.mail_from.clone()))
        .collect()
}

/// The queue row of `id`.
fn row(f: &Fixture, id: &str) -> Option<QueuedMessage> {
    f.store
        .queue
        .lock()
        .unwrap()
        .iter()
        .find(|(m, _)| m.message_id == id)
        .map(|(m, _)| m.clone())
}

fn types(ev: &[(String, Value)]) -> Vec<&str> {
    ev.iter().map(|(t, _)| t.as_str()).collect()
}

async fn set_with(f: &Fixture, name: &str, delivery: Value) {
    let sc = scope();
    f.engine
        .create_configuration_set(&sc, Engine::new_configuration_set(name))
        .await
        .unwrap();
    f.engine
        .update_configuration_set(&sc, name, |s| {
            s.delivery_options = Some(delivery.clone());
            Ok(())
        })
        .await
        .unwrap();
}

async fn suppressed(f: &Fixture, address: &str) -> Option<crate::suppression::SuppressionRecord> {
    match f.engine.get_suppressed_destination(&scope(), address).await {
        Ok(r) => Some(r),
        Err(EngineError::NotFound(_)) => None,
        Err(e) => panic!("{e}"),
    }
}

/// G-48, Q-156, Q-158: a 2xx reply is a `Delivery` with the reply, our HELO name and the
/// outgoing IP; the job carries one domain's recipients (domain case folded), the signed body
/// and the default TLS policy.
#[tokio::test]
async fn accepted_reply_gives_delivery_with_fields() {
    let f = fixture().await;
    let t = Scripted::new(vec![(
        "example.net",
        vec![reply(250, "2.0.0", "Ok: queued as 4Xy")],
    )]);
    let id = send(
        &f,
        "sender@example.test",
        &["a@example.net", "B@Example.NET"],
        None,
    )
    .await;
    let queued = row(&f, &id).unwrap();
    let before = now_ms();
    assert_eq!(attempt_at(&f, &t, now_ms()).await, 1);

    let jobs = t.jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.domain, "example.net");
    assert_eq!(job.recipients, ["a@example.net", "B@Example.NET"]);
    assert_eq!(job.message_id, id);
    assert_eq!(job.mail_from, queued.mail_from);
    assert_eq!(job.tls, TlsPolicy::Optional);
    assert!(job.source_ips.is_empty());
    assert!(job.body.starts_with(b"DKIM-Signature:"), "signed (Q-96)");

    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "Delivery"]);
    let d = &ev[1].1["delivery"];
    assert_eq!(
        d["recipients"],
        serde_json::json!(["a@example.net", "B@Example.NET"])
    );
    assert_eq!(d["smtpResponse"], "250 2.0.0 Ok: queued as 4Xy");
    assert_eq!(d["reportingMTA"], HELO);
    let took = d["processingTimeMillis"].as_i64().unwrap();
    assert!(took >= 0 && took <= now_ms() - queued.created_at, "{took}");
    // G-60 / Q-157: stored for the identity notification; the event record never shows it.
    assert_eq!(d["remoteMtaIp"], REMOTE_IP);
    let record = sesame_events::stored::event_record(&ev[1].1);
    assert!(record["delivery"].get("remoteMtaIp").is_none());
    sesame_events::shape::check(&record).unwrap();
    assert!(d["timestamp"].as_str().unwrap() >= iso_timestamp(before).as_str());
    assert_eq!(
        ev[1].1["mail"]["tags"]["ses:outgoing-ip"],
        serde_json::json!([LOCAL_IP])
    );
    assert!(
        ev[0].1["mail"]["tags"].get("ses:outgoing-ip").is_none(),
        "not on Send (Q-156)"
    );
    assert_eq!(f.store.queue_depth().await.unwrap(), 0);
    assert!(f.bodies.bodies.lock().unwrap().is_empty());
}

/// The issue's case: `550 5.1.1` → `Bounce` `Permanent/General` with the DSN fields, and the
/// address joins the account suppression list (Q-191) — unless the set's effective reasons
/// leave BOUNCE out.
#[tokio::test]
async fn user_unknown_bounces_permanent_and_suppresses() {
    let f = fixture().await;
    let t = Scripted::new(vec![(
        "example.net",
        vec![reply(
            550,
            "5.1.1",
            "<x@example.net>: Recipient address rejected: User unknown",
        )],
    )]);
    let id = send(&f, "sender@example.test", &["gone@example.net"], None).await;
    attempt_at(&f, &t, now_ms()).await;

    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "Bounce"]);
    let b = &ev[1].1["bounce"];
    assert_eq!(b["bounceType"], "Permanent");
    assert_eq!(b["bounceSubType"], "General");
    assert_eq!(
        b["bouncedRecipients"],
        serde_json::json!([{
            "emailAddress": "gone@example.net",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 <x@example.net>: Recipient address rejected: User unknown",
        }])
    );
    assert_eq!(b["reportingMTA"], format!("dns; {HELO}"));
    assert_eq!(
        b["remoteMtaIp"], REMOTE_IP,
        "stored for notifications (G-61)"
    );
    let record = sesame_events::stored::event_record(&ev[1].1);
    assert!(record["bounce"].get("remoteMtaIp").is_none(), "G-60");
    assert_eq!(
        ev[1].1["mail"]["tags"]["ses:outgoing-ip"],
        serde_json::json!([LOCAL_IP])
    );
    let entry = suppressed(&f, "gone@example.net")
        .await
        .expect("suppressed");
    assert_eq!(entry.reason, "BOUNCE");
    let attrs = entry.attributes.unwrap();
    assert_eq!(attrs.message_id.as_deref(), Some(id.as_str()));
    assert_eq!(attrs.feedback_id.as_deref(), b["feedbackId"].as_str());
    assert_eq!(customer_depth(&f), 0);
    // Q-162: the bounce is also mailed to the sender, with a null envelope sender.
    assert_eq!(
        queued_notices(&f),
        [(vec!["sender@example.test".to_string()], String::new())]
    );

    // A set that suppresses only complaints: the bounce is reported, nothing is added.
    f.engine
        .create_configuration_set(&scope(), Engine::new_configuration_set("complaints-only"))
        .await
        .unwrap();
    f.engine
        .update_configuration_set(&scope(), "complaints-only", |s| {
            s.suppression_options =
                crate::configuration_sets::suppression_options(Some(&["COMPLAINT".to_string()]))?;
            Ok(())
        })
        .await
        .unwrap();
    let id = send(
        &f,
        "sender@example.test",
        &["other@example.net"],
        Some("complaints-only"),
    )
    .await;
    attempt_at(&f, &t, now_ms()).await;
    assert_eq!(types(&events(&f, &id).await), ["Send", "Bounce"]);
    assert!(suppressed(&f, "other@example.net").await.is_none());
    // That attempt also delivered the first notification: unsigned, null sender, no events.
    let notices = t.notices();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].recipients, ["sender@example.test"]);
    assert_eq!(notices[0].tls, TlsPolicy::Optional);
    assert!(!notices[0].body.starts_with(b"DKIM-Signature:"));
    assert!(events(&f, &notices[0].message_id).await.is_empty());
}

/// G-53, Q-110, Q-149: a 4xx is a `DeliveryDelay`; the message waits for its backoff and the
/// next attempt's 2xx is the `Delivery`.
#[tokio::test]
async fn temporary_failure_then_success() {
    let f = fixture().await;
    let t = Scripted::new(vec![(
        "example.net",
        vec![
            reply(451, "4.7.1", "Greylisted, try again later"),
            reply(250, "2.0.0", "Ok"),
        ],
    )]);
    let id = send(&f, "sender@example.test", &["a@example.net"], None).await;
    let created = row(&f, &id).unwrap().created_at;
    let before = now_ms();
    attempt_at(&f, &t, now_ms()).await;
    let after = now_ms();

    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay"]);
    let d = &ev[1].1["deliveryDelay"];
    assert_eq!(d["delayType"], "General");
    assert_eq!(
        d["delayedRecipients"],
        serde_json::json!([{
            "emailAddress": "a@example.net",
            "status": "4.7.1",
            "diagnosticCode": "smtp; 451 4.7.1 Greylisted, try again later",
        }])
    );
    assert_eq!(d["expirationTime"], iso_timestamp(created + 50_400_000));
    assert_eq!(d["reportingMTA"], format!("dns; {HELO}"));
    assert_eq!(
        ev[1].1["mail"]["tags"]["ses:outgoing-ip"],
        serde_json::json!([LOCAL_IP])
    );
    assert!(ev[1].1["mail"].get("headers").is_none(), "G-40");

    let queued = row(&f, &id).unwrap();
    assert_eq!(queued.recipients, ["a@example.net"]);
    assert_eq!(queued.attempts, 1);
    assert!(
        (before + 60_000..=after + 60_000).contains(&queued.next_attempt_at),
        "first backoff is the 60 s base"
    );
    assert_eq!(attempt_at(&f, &t, after).await, 0, "not before its time");
    assert_eq!(attempt_at(&f, &t, queued.next_attempt_at).await, 1);

    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay", "Delivery"]);
    assert_eq!(ev[2].1["delivery"]["smtpResponse"], "250 2.0.0 Ok");
    assert_eq!(t.jobs().len(), 2);
    assert_eq!(f.store.queue_depth().await.unwrap(), 0);
}

/// G-3, Q-110: when the next attempt would fall after the window, the deferred recipients
/// bounce `Transient/General` with the last diagnostic, and nothing is suppressed.
#[tokio::test]
async fn window_end_bounces_transient() {
    let f = fixture_with(|s| s.delivery_retry_window_seconds = 100).await;
    let t = Scripted::new(vec![(
        "example.net",
        vec![error(AttemptError::Connect("connection refused".into()))],
    )]);
    let id = send(&f, "sender@example.test", &["a@example.net"], None).await;
    let created = row(&f, &id).unwrap().created_at;
    attempt_at(&f, &t, now_ms()).await;
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay"]);
    let d = &ev[1].1["deliveryDelay"];
    assert_eq!(d["delayType"], "TransientCommunicationFailure");
    assert_eq!(d["expirationTime"], iso_timestamp(created + 100_000));
    assert_eq!(d["delayedRecipients"][0]["status"], "4.4.1");
    // No connection, so no source address to report.
    assert!(ev[1].1["mail"]["tags"].get("ses:outgoing-ip").is_none());

    // Second attempt (60 s later): the next backoff (120 s) ends after the 100 s window.
    let next = row(&f, &id).unwrap().next_attempt_at;
    assert_eq!(attempt_at(&f, &t, next).await, 1);
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay", "Bounce"]);
    // G-40 / G-53: every record of the scenario, DeliveryDelay included, has the spec's shape.
    for (t, v) in &ev {
        if let Err(errs) = sesame_events::shape::check(v) {
            panic!("{t}: {errs:#?}\n{v:#}");
        }
        let example = sesame_events::shape::spec_example(t).unwrap();
        let diffs =
            sesame_events::shape::same_shape(&example, v, sesame_events::shape::OPTIONAL_FIELDS);
        assert!(diffs.is_empty(), "{t}: {diffs:#?}\n{v:#}");
    }
    let b = &ev[2].1["bounce"];
    assert_eq!(b["bounceType"], "Transient");
    assert_eq!(b["bounceSubType"], "General");
    assert_eq!(
        b["bouncedRecipients"],
        serde_json::json!([{
            "emailAddress": "a@example.net",
            "action": "failed",
            "status": "4.4.1",
            "diagnosticCode": "smtp; 421 4.4.1 unable to connect to remote host: connection refused",
        }])
    );
    assert_eq!(b["reportingMTA"], format!("dns; {HELO}"));
    assert_eq!(customer_depth(&f), 0);
    assert_eq!(
        queued_notices(&f).len(),
        1,
        "transient bounces are forwarded too"
    );
    assert!(suppressed(&f, "a@example.net").await.is_none(), "Q-191");
}

/// Q-158: one job per domain, run in one attempt; the delivered domain leaves the queue row,
/// the deferred one stays.
#[tokio::test]
async fn mixed_domains_keep_only_deferred_recipients() {
    let f = fixture().await;
    let t = Scripted::new(vec![
        ("one.test", vec![reply(250, "2.0.0", "Ok")]),
        (
            "two.test",
            vec![reply(451, "4.3.0", "Temporary lookup failure")],
        ),
    ]);
    let id = send(
        &f,
        "sender@example.test",
        &["a@one.test", "b@two.test", "c@ONE.test"],
        None,
    )
    .await;
    attempt_at(&f, &t, now_ms()).await;

    let mut jobs: Vec<(String, Vec<String>)> = t
        .jobs()
        .into_iter()
        .map(|j| (j.domain, j.recipients))
        .collect();
    jobs.sort();
    assert_eq!(
        jobs,
        [
            (
                "one.test".to_string(),
                vec!["a@one.test".to_string(), "c@ONE.test".to_string()]
            ),
            ("two.test".to_string(), vec!["b@two.test".to_string()]),
        ]
    );
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "Delivery", "DeliveryDelay"]);
    assert_eq!(
        ev[1].1["delivery"]["recipients"],
        serde_json::json!(["a@one.test", "c@ONE.test"])
    );
    let d = &ev[2].1["deliveryDelay"];
    assert_eq!(d["delayType"], "RecipientServerError");
    assert_eq!(sorted(&d["delayedRecipients"]), ["b@two.test"]);
    assert_eq!(row(&f, &id).unwrap().recipients, ["b@two.test"]);
}

/// Q-111, E-100: `TlsPolicy REQUIRE` reaches the transport; "no TLS" is a
/// `TransientCommunicationFailure` delay, and `Transient/General` when the window ends.
#[tokio::test]
async fn tls_required_delays_then_bounces() {
    let f = fixture().await;
    set_with(&f, "secure", serde_json::json!({"TlsPolicy": "REQUIRE"})).await;
    let t = Scripted::new(vec![(
        "example.net",
        vec![error(AttemptError::TlsRequired)],
    )]);
    let id = send(
        &f,
        "sender@example.test",
        &["a@example.net"],
        Some("secure"),
    )
    .await;
    attempt_at(&f, &t, now_ms()).await;
    assert_eq!(t.jobs()[0].tls, TlsPolicy::Require);
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay"]);
    let d = &ev[1].1["deliveryDelay"];
    assert_eq!(d["delayType"], "TransientCommunicationFailure");
    assert_eq!(
        d["delayedRecipients"][0]["diagnosticCode"],
        "smtp; 421 4.7.4 TLS required but not available"
    );

    // The message has waited out its window (accepted 14 h ago).
    let next = row(&f, &id).unwrap().next_attempt_at;
    attempt_with(&f, &t, next, |m| m.created_at -= 50_400_000).await;
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay", "Bounce"]);
    // G-40 / G-53: every record of the scenario, DeliveryDelay included, has the spec's shape.
    for (t, v) in &ev {
        if let Err(errs) = sesame_events::shape::check(v) {
            panic!("{t}: {errs:#?}\n{v:#}");
        }
        let example = sesame_events::shape::spec_example(t).unwrap();
        let diffs =
            sesame_events::shape::same_shape(&example, v, sesame_events::shape::OPTIONAL_FIELDS);
        assert!(diffs.is_empty(), "{t}: {diffs:#?}\n{v:#}");
    }
    let b = &ev[2].1["bounce"];
    assert_eq!(
        (b["bounceType"].as_str(), b["bounceSubType"].as_str()),
        (Some("Transient"), Some("General"))
    );
    assert_eq!(
        b["bouncedRecipients"][0]["diagnosticCode"],
        "smtp; 421 4.7.4 TLS required but not available"
    );
    assert_eq!(t.jobs().len(), 2);
    assert!(t.jobs().iter().all(|j| j.tls == TlsPolicy::Require));
    assert_eq!(customer_depth(&f), 0);
    assert!(suppressed(&f, "a@example.net").await.is_none(), "Q-191");
}

/// Q-110, E-97: `MaxDeliverySeconds` shortens the window: the same history expires a message
/// of that set and keeps retrying one without it.
#[tokio::test]
async fn max_delivery_seconds_shortens_the_window() {
    let f = fixture().await;
    set_with(&f, "short", serde_json::json!({"MaxDeliverySeconds": 300})).await;
    let t = Scripted::new(vec![(
        "example.net",
        vec![reply(451, "4.3.0", "try later")],
    )]);
    let short = send(&f, "sender@example.test", &["a@example.net"], Some("short")).await;
    let long = send(&f, "sender@example.test", &["a@example.net"], None).await;
    let created = row(&f, &short).unwrap().created_at;
    let created_long = row(&f, &long).unwrap().created_at;
    assert_eq!(attempt_at(&f, &t, now_ms()).await, 2);
    let delay = |ev: &[(String, Value)]| ev[1].1["deliveryDelay"]["expirationTime"].clone();
    assert_eq!(
        delay(&events(&f, &short).await),
        iso_timestamp(created + 300_000)
    );
    assert_eq!(
        delay(&events(&f, &long).await),
        iso_timestamp(created_long + 50_400_000)
    );

    // Second attempt as if both were accepted 250 s ago: the next backoff (120 s) ends after
    // 300 s but well inside 14 h.
    let next = row(&f, &short)
        .unwrap()
        .next_attempt_at
        .max(row(&f, &long).unwrap().next_attempt_at);
    assert_eq!(
        attempt_with(&f, &t, next, |m| m.created_at -= 250_000).await,
        2
    );
    let ev = events(&f, &short).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay", "Bounce"]);
    assert_eq!(ev[2].1["bounce"]["bounceType"], "Transient");
    assert_eq!(ev[2].1["bounce"]["bounceSubType"], "General");
    assert_eq!(
        types(&events(&f, &long).await),
        ["Send", "DeliveryDelay", "DeliveryDelay"]
    );
    assert!(row(&f, &short).is_none());
    assert_eq!(row(&f, &long).unwrap().attempts, 2);
}

/// A-64, A-68, Q-110: a nonexistent domain is retried, then bounces `Permanent/General` and
/// is suppressed (Q-191).
#[tokio::test]
async fn no_such_domain_is_retried_then_hard_bounces() {
    let f = fixture().await;
    let t = Scripted::new(vec![(
        "nowhere.test",
        vec![error(AttemptError::NoSuchDomain)],
    )]);
    let id = send(&f, "sender@example.test", &["a@nowhere.test"], None).await;
    attempt_at(&f, &t, now_ms()).await;
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay"]);
    assert_eq!(
        ev[1].1["deliveryDelay"]["delayType"],
        "RecipientServerError"
    );
    assert!(suppressed(&f, "a@nowhere.test").await.is_none());

    let next = row(&f, &id).unwrap().next_attempt_at;
    attempt_with(&f, &t, next, |m| m.created_at -= 50_400_000).await;
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay", "Bounce"]);
    // G-40 / G-53: every record of the scenario, DeliveryDelay included, has the spec's shape.
    for (t, v) in &ev {
        if let Err(errs) = sesame_events::shape::check(v) {
            panic!("{t}: {errs:#?}\n{v:#}");
        }
        let example = sesame_events::shape::spec_example(t).unwrap();
        let diffs =
            sesame_events::shape::same_shape(&example, v, sesame_events::shape::OPTIONAL_FIELDS);
        assert!(diffs.is_empty(), "{t}: {diffs:#?}\n{v:#}");
    }
    let b = &ev[2].1["bounce"];
    assert_eq!(b["bounceType"], "Permanent");
    assert_eq!(b["bounceSubType"], "General");
    assert_eq!(b["bouncedRecipients"][0]["status"], "5.1.2");
    assert_eq!(
        suppressed(&f, "a@nowhere.test").await.map(|r| r.reason),
        Some("BOUNCE".into())
    );
}

/// Q-189, Q-191, E-84: simulator recipients never reach the network, their events are
/// emitted once (not again on the retry), and their bounces suppress nothing.
#[tokio::test]
async fn simulator_recipients_stay_off_the_network() {
    let f = fixture().await;
    let t = Scripted::new(vec![(
        "example.net",
        vec![reply(421, "4.4.2", "closing"), reply(250, "2.0.0", "Ok")],
    )]);
    let success = format!("success@{SIM}");
    let bounce = format!("bounce@{SIM}");
    let id = send(
        &f,
        "sender@example.test",
        &[&success, &bounce, "real@example.net"],
        None,
    )
    .await;
    attempt_at(&f, &t, now_ms()).await;
    assert_eq!(t.jobs().len(), 1);
    assert_eq!(t.jobs()[0].recipients, ["real@example.net"]);
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "Delivery", "Bounce", "DeliveryDelay"]);
    assert_eq!(
        ev[1].1["delivery"]["recipients"],
        serde_json::json!([success])
    );
    assert_eq!(ev[1].1["delivery"]["reportingMTA"], "sesame.test");
    assert_eq!(ev[2].1["bounce"]["reportingMTA"], "dns; sesame.test");
    assert_eq!(
        ev[3].1["deliveryDelay"]["delayType"],
        "TransientCommunicationFailure"
    );
    assert_eq!(row(&f, &id).unwrap().recipients, ["real@example.net"]);

    let next = row(&f, &id).unwrap().next_attempt_at;
    attempt_at(&f, &t, next).await;
    let ev = events(&f, &id).await;
    assert_eq!(
        types(&ev),
        ["Send", "Delivery", "Bounce", "DeliveryDelay", "Delivery"]
    );
    assert_eq!(
        ev[4].1["delivery"]["recipients"],
        serde_json::json!(["real@example.net"])
    );
    assert!(suppressed(&f, &bounce).await.is_none());
    assert_eq!(f.store.queue_depth().await.unwrap(), 0);
}

/// As in capture mode, a row whose body is not there yet is looked at again, and nothing is
/// sent.
#[tokio::test]
async fn missing_body_sends_nothing() {
    let f = fixture().await;
    let t = Scripted::new(vec![("example.net", vec![reply(250, "2.0.0", "Ok")])]);
    let id = send(&f, "sender@example.test", &["a@example.net"], None).await;
    f.bodies.bodies.lock().unwrap().remove(&id);
    attempt_at(&f, &t, now_ms()).await;
    assert!(t.jobs().is_empty());
    assert_eq!(types(&events(&f, &id).await), ["Send"]);
    assert_eq!(row(&f, &id).unwrap().recipients, ["a@example.net"]);
}

/// A transport that leaves a recipient out breaks its contract; the recipient is retried as
/// `InternalFailure`, never reported delivered.
#[tokio::test]
async fn recipient_without_result_is_retried() {
    struct Forgetful;
    #[async_trait]
    impl Transport for Forgetful {
        async fn deliver(&self, _job: DeliveryJob) -> JobReport {
            JobReport {
                results: vec![],
                remote_host: None,
                remote_ip: None,
                local_ip: None,
                helo: String::new(),
                tls: false,
            }
        }
    }
    let f = fixture().await;
    let id = send(&f, "sender@example.test", &["a@example.net"], None).await;
    let claimed = f
        .store
        .claim_messages("node-a", now_ms(), 60_000, 10)
        .await
        .unwrap();
    f.engine
        .deliver_smtp("node-a", claimed[0].clone(), &Forgetful)
        .await
        .unwrap();
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "DeliveryDelay"]);
    assert_eq!(ev[1].1["deliveryDelay"]["delayType"], "InternalFailure");
    // No HELO name: our own domain reports it.
    assert_eq!(ev[1].1["deliveryDelay"]["reportingMTA"], "dns; sesame.test");
    assert_eq!(row(&f, &id).unwrap().recipients, ["a@example.net"]);
}

/// The runtime spawns deliveries on a multi-threaded executor: the future must be `Send`.
#[allow(dead_code)]
fn deliver_smtp_future_is_send(e: &Engine, m: QueuedMessage, t: &dyn Transport) {
    fn is_send<T: Send>(_: T) {}
    is_send(e.deliver_smtp("node-a", m, t));
}

/// A confirmed HTTP subscription to a new topic `name`; returns the topic ARN. The
/// confirmation request is claimed and acknowledged so only later publications are pending.
async fn topic_with_subscriber(f: &Fixture, name: &str) -> String {
    let sc = scope();
    f.engine
        .sns_create_topic(&sc, name, Default::default(), vec![])
        .await
        .unwrap();
    let sub = f
        .engine
        .sns_subscribe(
            &sc,
            name,
            "http",
            &format!("http://127.0.16.1:9/{name}"),
            Default::default(),
        )
        .await
        .unwrap();
    f.engine.sns_confirm(&sc, name, &sub.token).await.unwrap();
    for c in f
        .engine
        .sns_claim_deliveries("n", now_ms(), 60_000, 100)
        .await
        .unwrap()
    {
        f.engine.sns_delivery_succeeded(&c).await.unwrap();
    }
    f.engine.topic_arn(&sc, name)
}

/// G-48, G-60, G-61, Q-157: a Delivery and a Bounce of attempts that reached the remote MTA
/// are stored with its address; the identity's notification topic gets `notificationType`
/// notifications with `delivery.remoteMtaIp` / `bounce.remoteMtaIp` equal to it, while every
/// event destination of the message's configuration set — SNS topic, Firehose stream,
/// EventBridge rule — gets the event record without it. Every payload has the spec's shape.
#[tokio::test]
async fn remote_mta_ip_in_notifications_never_in_event_records() {
    use crate::sinks::SinkTarget;
    let f = fixture().await;
    let sc = scope();
    let notes = topic_with_subscriber(&f, "notes").await;
    let events_topic = topic_with_subscriber(&f, "events").await;
    f.engine
        .update_identity(&sc, "example.test", |r| {
            r.notification_topics
                .insert("Delivery".into(), notes.clone());
            r.notification_topics.insert("Bounce".into(), notes.clone());
            Ok(())
        })
        .await
        .unwrap();
    f.engine
        .create_configuration_set(&sc, Engine::new_configuration_set("cs"))
        .await
        .unwrap();
    f.engine
        .create_delivery_stream(
            &sc,
            "s",
            // Never written here: `dispatch_event` only returns the records.
            &SinkTarget::File {
                dir: "/nonexistent/sesame-stream".into(),
            },
        )
        .await
        .unwrap();
    f.engine
        .put_event_bus_rule(
            &sc,
            "default",
            "all",
            None,
            &SinkTarget::Nats {
                server: "127.0.16.1:4222".into(),
                subject: "ses".into(),
            },
        )
        .await
        .unwrap();
    let acct = sc.account.as_str();
    for (name, target) in [
        (
            "sns",
            serde_json::json!({"SnsDestination": {"TopicArn": events_topic}}),
        ),
        (
            "firehose",
            serde_json::json!({"KinesisFirehoseDestination": {
                "IamRoleArn": format!("arn:aws:iam::{acct}:role/r"),
                "DeliveryStreamArn": format!("arn:aws:firehose:us-east-1:{acct}:deliverystream/s")}}),
        ),
        (
            "eventbridge",
            serde_json::json!({"EventBridgeDestination": {
                "EventBusArn": format!("arn:aws:events:us-east-1:{acct}:event-bus/default")}}),
        ),
    ] {
        let mut d = target;
        d["Name"] = name.into();
        d["Enabled"] = true.into();
        d["MatchingEventTypes"] = serde_json::json!(["DELIVERY", "BOUNCE"]);
        f.engine
            .create_event_destination(&sc, "cs", name, d)
            .await
            .unwrap();
    }

    let t = Scripted::new(vec![
        ("example.net", vec![reply(250, "2.0.0", "Ok: queued")]),
        ("example.org", vec![reply(550, "5.1.1", "User unknown")]),
    ]);
    let id = send(
        &f,
        "sender@example.test",
        &["a@example.net", "gone@example.org"],
        Some("cs"),
    )
    .await;
    assert_eq!(attempt_at(&f, &t, now_ms()).await, 1);
    let stored = f.store.message_events(&sc, &id).await.unwrap();
    let mut kinds: Vec<&str> = stored.iter().map(|e| e.event_type.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["Bounce", "Delivery", "Send"]);

    let mut sink_bodies = Vec::new();
    for e in &stored {
        let report = f.engine.dispatch_event(e).await.unwrap();
        if e.event_type == "Send" {
            assert!(report.identity_notifications.is_empty());
            continue;
        }
        assert_eq!(report.identity_notifications.len(), 1, "{}", e.event_type);
        assert_eq!(report.event_destinations.len(), 1, "{}", e.event_type);
        assert!(report.dropped.is_empty(), "{:?}", report.dropped);
        assert_eq!(report.sink_records.len(), 2, "Firehose + EventBridge");
        sink_bodies.extend(report.sink_records.into_iter().map(|r| r.body));
    }

    // SNS: two notifications to `notes`, two event records to `events`.
    let claimed = f
        .engine
        .sns_claim_deliveries("n", now_ms(), 60_000, 100)
        .await
        .unwrap();
    let mut notifications = Vec::new();
    let mut records = Vec::new();
    for c in claimed {
        let envelope: Value = serde_json::from_str(&c.record.body).unwrap();
        let message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
        if let Err(errs) = sesame_events::shape::check(&message) {
            panic!("not the spec's shape: {errs:#?}\n{message:#}");
        }
        if c.record.topic_arn == notes {
            notifications.push(message);
        } else {
            assert_eq!(c.record.topic_arn, events_topic);
            records.push(message);
        }
    }
    assert_eq!((notifications.len(), records.len()), (2, 2));
    for n in &notifications {
        let (key, recipient) = match n["notificationType"].as_str().unwrap() {
            "Delivery" => ("delivery", &n["delivery"]["recipients"][0]),
            "Bounce" => (
                "bounce",
                &n["bounce"]["bouncedRecipients"][0]["emailAddress"],
            ),
            other => panic!("{other}"),
        };
        assert_eq!(
            n[key]["remoteMtaIp"], REMOTE_IP,
            "{key} notification (G-61)"
        );
        assert!(n.get("eventType").is_none());
        assert!(n["mail"].get("tags").is_none());
        assert!(recipient.is_string());
    }
    for r in &records {
        let key = match r["eventType"].as_str().unwrap() {
            "Delivery" => "delivery",
            "Bounce" => "bounce",
            other => panic!("{other}"),
        };
        assert!(
            r[key].get("remoteMtaIp").is_none(),
            "an SNS event record shows remoteMtaIp (G-60): {r:#}"
        );
    }
    // Firehose lines and EventBridge envelopes (`detail`): event records, never remoteMtaIp.
    assert_eq!(sink_bodies.len(), 4);
    for body in sink_bodies {
        let v: Value = serde_json::from_slice(&body).unwrap();
        let record = if v.get("detail").is_some() {
            v["detail"].clone()
        } else {
            v
        };
        sesame_events::shape::check(&record).unwrap_or_else(|e| panic!("{e:#?}"));
        let text = String::from_utf8_lossy(&body).into_owned();
        assert!(
            !text.contains("remoteMtaIp"),
            "a sink record shows remoteMtaIp (G-60): {text}"
        );
    }
}

/// Q-166 / G-61: a DSN mailed back after the remote MTA accepted the message gives a Bounce
/// stored with that MTA's address (from the Delivery), which its event record does not show.
#[tokio::test]
async fn later_dsn_bounce_is_stored_with_the_delivery_address() {
    let f = fixture().await;
    let t = Scripted::new(vec![("example.net", vec![reply(250, "2.0.0", "Ok")])]);
    let id = send(&f, "sender@example.test", &["a@example.net"], None).await;
    attempt_at(&f, &t, now_ms()).await;
    let (logged, _) = f.store.find_message(&id).await.unwrap().unwrap();
    let dsn = format!(
        "Date: {}\r\nFrom: MAILER-DAEMON@mx.example.net\r\nTo: {verp}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nThe mail system\r\n\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n--B--\r\n",
        crate::templates::rfc5322_date(now_ms()),
        verp = logged.mail_from
    );
    f.engine
        .ingest_feedback(&logged.mail_from, dsn.as_bytes())
        .await
        .unwrap();
    let ev = events(&f, &id).await;
    assert_eq!(types(&ev), ["Send", "Delivery", "Bounce"]);
    let bounce = &ev[2].1;
    assert_eq!(bounce["bounce"]["remoteMtaIp"], REMOTE_IP);
    assert_eq!(bounce["bounce"]["reportingMTA"], "dns; mx.example.net");
    let record = sesame_events::stored::event_record(bounce);
    sesame_events::shape::check(&record).unwrap_or_else(|e| panic!("{e:#?}"));
}
