//! Test helpers shared by the delivery tests: an engine over the in-memory store with a
//! verified, DKIM-signing domain, a send helper and event readers.

use std::sync::Arc;

use sesame_mail::dkim::KeyLength;
use sesame_mail::message::Text;
use sesame_model::Store;

use crate::send::{Content, Destination, SendRequest, SimpleContent, Surface};
use crate::test_store::{engine_with, scope, MemBodies, MemStore};
use crate::{now_ms, Engine, Settings};

pub(crate) struct Fixture {
    pub engine: Engine,
    pub store: Arc<MemStore>,
    pub bodies: Arc<MemBodies>,
}

/// An engine with the verified domain `example.test` (Easy DKIM, 1024-bit keys to keep
/// the test fast).
pub(crate) async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

/// [`fixture`] with changed instance settings (retry timings…).
pub(crate) async fn fixture_with(tweak: impl FnOnce(&mut Settings)) -> Fixture {
    let store = Arc::new(MemStore::default());
    let bodies = Arc::new(MemBodies::default());
    let mut engine = engine_with(store.clone(), bodies.clone());
    tweak(Arc::make_mut(&mut engine.settings));
    let sc = scope();
    let mut rec = Engine::new_identity("example.test");
    rec.dkim = Some(
        engine
            .generate_easy_dkim(&sc, "example.test", KeyLength::Rsa1024)
            .unwrap(),
    );
    engine.insert_identity(&sc, rec).await.unwrap();
    engine
        .force_verify_identity(&sc, "example.test")
        .await
        .unwrap();
    Fixture {
        engine,
        store,
        bodies,
    }
}

/// Lists each `(address, reason)` on the account suppression list (as feedback would).
pub(crate) async fn suppress(f: &Fixture, entries: &[(&str, &str)]) {
    for (addr, reason) in entries {
        f.engine
            .suppress_from_feedback(
                &scope(),
                addr,
                reason,
                crate::suppression::SuppressionAttributes::default(),
            )
            .await
            .unwrap();
    }
}

pub(crate) async fn send(f: &Fixture, from: &str, to: &[&str], set: Option<&str>) -> String {
    let req = simple_request(from, to, set);
    f.engine.send(&scope(), req).await.unwrap().message_id
}

/// A v2 `SendEmail` with a fixed Simple body (shared by the engine's delivery and feedback
/// tests).
pub(crate) fn simple_request(from: &str, to: &[&str], set: Option<&str>) -> SendRequest {
    SendRequest {
        surface: Surface::V2,
        operation: "SendEmail",
        from: Some(from.into()),
        destination: Some(Destination {
            to: to.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }),
        reply_to: vec![],
        feedback_address: None,
        configuration_set: set.map(str::to_string),
        tags: vec![],
        content: Content::Simple(SimpleContent {
            subject: Text::new("Hello"),
            text: Some(Text::new("Body text")),
            ..Default::default()
        }),
        source_ip: None,
        caller_identity: None,
        source_tls_version: None,
        list_management: None,
    }
}

/// Claims everything and delivers it (capture mode) as the runtime loop does (each batch
/// prefetched, [`Engine::prefetch`]), then whatever that queued (forwarded feedback,
/// `crate::forwarding`), until the queue is empty.
pub(crate) async fn deliver_all(f: &Fixture) {
    let mut rounds = 0;
    loop {
        let claimed = f
            .store
            .claim_messages("node-a", now_ms(), 60_000, 100)
            .await
            .unwrap();
        if claimed.is_empty() {
            break;
        }
        let prefetched = f.engine.prefetch(&claimed).await;
        for (m, pre) in claimed.into_iter().zip(prefetched) {
            f.engine
                .deliver_claimed_with("node-a", m, pre)
                .await
                .unwrap();
        }
        rounds += 1;
        assert!(rounds < 10, "delivery keeps producing mail");
    }
    assert!(rounds > 0, "nothing was queued");
    assert_eq!(f.store.queue_depth().await.unwrap(), 0);
}

/// Captured notifications of forwarded feedback (null envelope sender, system meta).
pub(crate) fn captured_notices(f: &Fixture) -> Vec<sesame_model::CapturedMessage> {
    let log = f.store.message_log.lock().unwrap();
    f.store
        .captured
        .lock()
        .unwrap()
        .iter()
        .filter(|c| {
            log.iter().any(|(m, _)| {
                m.message_id == c.message_id && crate::forwarding::system_kind(m).is_some()
            })
        })
        .cloned()
        .collect()
}

pub(crate) async fn events(f: &Fixture, id: &str) -> Vec<(String, serde_json::Value)> {
    f.store
        .message_events(&scope(), id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event_type, e.data))
        .collect()
}

pub(crate) fn sorted(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| x["emailAddress"].as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

pub(crate) const SIM: &str = "simulator.amazonses.com";
