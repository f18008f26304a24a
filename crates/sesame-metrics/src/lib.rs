//! `sesame-metrics`: the instance's metrics registry, exposed by the API listener at
//! `GET /metrics` in the OpenMetrics text format (DECISIONS Q-175; issue 4 item 7: "metrics of
//! queue depth, deliveries, deferrals and bounces per destination").
//!
//! One [`Metrics`] per process, built by the composition root (`sesame serve`) and handed as an
//! `Arc` to every role that records outcomes (the delivery runtime, the feedback listener) and to
//! the API, which renders it. No global registry (STYLE: no process-global singletons).
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `sesame_deliveries_total` | counter | `destination` | recipients accepted by the receiving MTA (2xx; listed in a `Delivery` event) |
//! | `sesame_deferrals_total` | counter | `destination` | recipients that failed temporarily and wait for a retry (a `DeliveryDelay` event) |
//! | `sesame_bounces_total` | counter | `destination`, `type` | bounced recipients by SES `bounceType` (`Permanent`, `Transient`, `Undetermined`), synchronous or from a DSN |
//! | `sesame_complaints_total` | counter | `destination` | complaints (ARF reports) |
//! | `sesame_queue_depth` | gauge | | messages in the queue |
//! | `sesame_queue_deferred` | gauge | | queued messages attempted at least once |
//! | `sesame_queue_in_delivery` | gauge | | queued messages held by a live delivery lease |
//! | `sesame_queue_oldest_age_seconds` | gauge | | age of the oldest queued message (0 when empty) |
//! | `ses_reputation_bounce_rate` | gauge | `account_id`, `region`, `scope`, `configuration_set` | SES `Reputation.BounceRate` (a fraction, G-77) of an account (`scope="account"`, `configuration_set=""`) or of a configuration set with reputation metrics (`scope="configuration_set"`), as of the node's last evaluation (docs/reputation.md) |
//! | `ses_reputation_complaint_rate` | gauge | same | SES `Reputation.ComplaintRate` |
//!
//! Counters are per **recipient** and start at process start (Prometheus handles resets). The
//! queue gauges are read from the store when scraped, at most once per
//! [`QUEUE_STATS_TTL_MS`], so they are shared by every node of a PostgreSQL cluster.
//! `destination` is the recipient domain (or the MX site the MTA queues by), normalised and
//! capped in number ([`destinations`]): the only per-tenant data the endpoint reveals, which is
//! why it needs no SigV4 and should still not be exposed beyond the operator's network.
//!
//! Recording is one call: `metrics.delivery_outcome("example.com", Outcome::Delivered)`, or
//! [`Metrics::record_events`] with the SES events just committed — which is how `sesame serve`
//! feeds it: its store front (`sesame_engine::cache::CachingStore`) reports every committed
//! event, so whatever records a Delivery, DeliveryDelay, Bounce or Complaint event (delivery,
//! the feedback listener, capture mode) is counted without calling anything.

pub mod destinations;

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use sesame_model::{EventRecord, QueueStats, Store, StoreError};

use destinations::Destinations;

/// `Content-Type` of [`Metrics::encode`]'s output (OpenMetrics 1.0 text; Prometheus negotiates
/// and parses it natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Destinations with a label of their own before the rest count as `other`.
pub const DEFAULT_MAX_DESTINATIONS: usize = 100;

/// How long queue gauges read from the store are reused: a scrape storm costs one query per
/// second at most (the query scans the queue table).
pub const QUEUE_STATS_TTL_MS: i64 = 1_000;

/// SES `bounceType` (spec G bounce table), the `type` label of `sesame_bounces_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum BounceType {
    Permanent,
    Transient,
    Undetermined,
}

impl BounceType {
    /// From the event's `bounce.bounceType` string; `None` for anything else.
    pub fn from_ses(bounce_type: &str) -> Option<BounceType> {
        match bounce_type {
            "Permanent" => Some(BounceType::Permanent),
            "Transient" => Some(BounceType::Transient),
            "Undetermined" => Some(BounceType::Undetermined),
            _ => None,
        }
    }
}

/// What happened to one recipient at one destination — the event the caller records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the receiving MTA (a `Delivery` event).
    Delivered,
    /// Failed temporarily; a retry is scheduled (a `DeliveryDelay` event).
    Deferred,
    /// A `Bounce` event: a 5xx, retries exhausted, or an asynchronous DSN.
    Bounced(BounceType),
    /// A `Complaint` event (ARF report).
    Complained,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestinationLabels {
    destination: String,
}

/// Labels of the reputation gauges (G-Y: `ses_reputation_*{scope, configuration_set}`, plus
/// the account and region a multi-tenant deployment needs).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReputationLabels {
    account_id: String,
    region: String,
    scope: String,
    configuration_set: String,
}

/// One account's or configuration set's rates, for [`Metrics::set_reputation`].
#[derive(Clone, Debug, PartialEq)]
pub struct ReputationRates {
    pub account_id: String,
    pub region: String,
    /// `None`: the account as a whole.
    pub configuration_set: Option<String>,
    /// `None` before any send: no sample.
    pub bounce_rate: Option<f64>,
    pub complaint_rate: Option<f64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BounceLabels {
    destination: String,
    r#type: BounceType,
}

/// The registry and handles to its metrics. `Send + Sync`: share it as `Arc<Metrics>`.
pub struct Metrics {
    registry: Registry,
    deliveries: Family<DestinationLabels, Counter>,
    deferrals: Family<DestinationLabels, Counter>,
    bounces: Family<BounceLabels, Counter>,
    complaints: Family<DestinationLabels, Counter>,
    queue_depth: Gauge,
    queue_deferred: Gauge,
    queue_in_delivery: Gauge,
    queue_oldest_age: Gauge<f64, AtomicU64>,
    reputation_bounce: Family<ReputationLabels, Gauge<f64, AtomicU64>>,
    reputation_complaint: Family<ReputationLabels, Gauge<f64, AtomicU64>>,
    destinations: Destinations,
    /// When the queue gauges were last read from the store (unix ms); `None` before the first.
    queue_read_at: Mutex<Option<i64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(DEFAULT_MAX_DESTINATIONS)
    }
}

impl Metrics {
    /// A registry where at most `max_destinations` destinations get a label of their own.
    pub fn new(max_destinations: usize) -> Metrics {
        let mut registry = Registry::default();
        let deliveries = Family::<DestinationLabels, Counter>::default();
        let deferrals = Family::<DestinationLabels, Counter>::default();
        let bounces = Family::<BounceLabels, Counter>::default();
        let complaints = Family::<DestinationLabels, Counter>::default();
        let queue_depth = Gauge::default();
        let queue_deferred = Gauge::default();
        let queue_in_delivery = Gauge::default();
        let queue_oldest_age = Gauge::<f64, AtomicU64>::default();
        // prometheus-client appends `_total` to counters, the unit to unit-bearing names and a
        // full stop to help texts. A labelled family appears once it has a first series.
        registry.register(
            "sesame_deliveries",
            "Recipients accepted by the receiving MTA, per destination",
            deliveries.clone(),
        );
        registry.register(
            "sesame_deferrals",
            "Recipients that failed temporarily and wait for a retry, per destination",
            deferrals.clone(),
        );
        registry.register(
            "sesame_bounces",
            "Bounced recipients per destination and SES bounceType",
            bounces.clone(),
        );
        registry.register(
            "sesame_complaints",
            "Complaints (ARF feedback reports) per destination",
            complaints.clone(),
        );
        registry.register(
            "sesame_queue_depth",
            "Messages in the delivery queue",
            queue_depth.clone(),
        );
        registry.register(
            "sesame_queue_deferred",
            "Queued messages that were attempted at least once",
            queue_deferred.clone(),
        );
        registry.register(
            "sesame_queue_in_delivery",
            "Queued messages held by a live delivery lease",
            queue_in_delivery.clone(),
        );
        registry.register_with_unit(
            "sesame_queue_oldest_age",
            "Age of the oldest queued message (0 when the queue is empty)",
            Unit::Seconds,
            queue_oldest_age.clone(),
        );
        let reputation_bounce = Family::<ReputationLabels, Gauge<f64, AtomicU64>>::default();
        let reputation_complaint = Family::<ReputationLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "ses_reputation_bounce_rate",
            "SES Reputation.BounceRate (a fraction) of an account or configuration set",
            reputation_bounce.clone(),
        );
        registry.register(
            "ses_reputation_complaint_rate",
            "SES Reputation.ComplaintRate (a fraction) of an account or configuration set",
            reputation_complaint.clone(),
        );
        Metrics {
            registry,
            reputation_bounce,
            reputation_complaint,
            deliveries,
            deferrals,
            bounces,
            complaints,
            queue_depth,
            queue_deferred,
            queue_in_delivery,
            queue_oldest_age,
            destinations: Destinations::new(max_destinations),
            queue_read_at: Mutex::new(None),
        }
    }

    /// Records the outcome of one recipient at `destination` (its domain).
    pub fn delivery_outcome(&self, destination: &str, outcome: Outcome) {
        self.delivery_outcomes(destination, outcome, 1);
    }

    /// Records the same outcome for `recipients` recipients at once (one SMTP transaction).
    pub fn delivery_outcomes(&self, destination: &str, outcome: Outcome, recipients: u64) {
        if recipients == 0 {
            return;
        }
        let destination = self.destinations.label(destination);
        match outcome {
            Outcome::Delivered => self
                .deliveries
                .get_or_create(&DestinationLabels { destination })
                .inc_by(recipients),
            Outcome::Deferred => self
                .deferrals
                .get_or_create(&DestinationLabels { destination })
                .inc_by(recipients),
            Outcome::Bounced(r#type) => self
                .bounces
                .get_or_create(&BounceLabels {
                    destination,
                    r#type,
                })
                .inc_by(recipients),
            Outcome::Complained => self
                .complaints
                .get_or_create(&DestinationLabels { destination })
                .inc_by(recipients),
        };
    }

    /// Counts the delivery outcomes recorded in `events` — the SES event JSON (spec G) the
    /// engine commits: one `Delivered` per `delivery.recipients` entry, one `Deferred` per
    /// `deliveryDelay.delayedRecipients`, one `Bounced(bounceType)` per
    /// `bounce.bouncedRecipients`, one `Complained` per `complaint.complainedRecipients`, each at
    /// the recipient's domain. Other event types are ignored. `sesame serve` feeds it every
    /// event its store commits, so the counters agree with the events by construction.
    pub fn record_events(&self, events: &[EventRecord]) {
        for e in events {
            let d = &e.data;
            let (outcome, recipients) = match e.event_type.as_str() {
                "Delivery" => (Outcome::Delivered, &d["delivery"]["recipients"]),
                "DeliveryDelay" => (Outcome::Deferred, &d["deliveryDelay"]["delayedRecipients"]),
                "Bounce" => (
                    Outcome::Bounced(
                        d["bounce"]["bounceType"]
                            .as_str()
                            .and_then(BounceType::from_ses)
                            .unwrap_or(BounceType::Undetermined),
                    ),
                    &d["bounce"]["bouncedRecipients"],
                ),
                "Complaint" => (Outcome::Complained, &d["complaint"]["complainedRecipients"]),
                _ => continue,
            };
            for r in recipients.as_array().into_iter().flatten() {
                // `delivery.recipients` holds addresses; the other lists hold objects.
                let address = r.as_str().or_else(|| r["emailAddress"].as_str());
                if let Some(address) = address {
                    self.delivery_outcome(domain_of(address), outcome);
                }
            }
        }
    }

    /// Whether the queue gauges are older than [`QUEUE_STATS_TTL_MS`] at `now_ms` (or were
    /// never read, or the clock went back).
    pub fn queue_stats_stale(&self, now_ms: i64) -> bool {
        match *self.queue_read_at.lock().unwrap_or_else(|p| p.into_inner()) {
            None => true,
            Some(at) => now_ms < at || now_ms - at >= QUEUE_STATS_TTL_MS,
        }
    }

    /// Sets the queue gauges from `stats`, read from the store at `now_ms`.
    pub fn set_queue_stats(&self, stats: &QueueStats, now_ms: i64) {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.queue_depth.set(gauge(stats.depth));
        self.queue_deferred.set(gauge(stats.deferred));
        self.queue_in_delivery.set(gauge(stats.in_delivery));
        let age_ms = stats
            .oldest_created_at
            .map_or(0, |t| now_ms.saturating_sub(t).max(0));
        self.queue_oldest_age.set(age_ms as f64 / 1000.0);
        *self.queue_read_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(now_ms);
    }

    /// Replaces every reputation series with `rates` (one evaluation sweep's results), so
    /// deleted sets and sets whose metrics were turned off disappear.
    pub fn set_reputation(&self, rates: &[ReputationRates]) {
        self.reputation_bounce.clear();
        self.reputation_complaint.clear();
        for r in rates {
            let labels = ReputationLabels {
                account_id: r.account_id.clone(),
                region: r.region.clone(),
                scope: if r.configuration_set.is_some() {
                    "configuration_set".into()
                } else {
                    "account".into()
                },
                configuration_set: r.configuration_set.clone().unwrap_or_default(),
            };
            if let Some(v) = r.bounce_rate {
                self.reputation_bounce.get_or_create(&labels).set(v);
            }
            if let Some(v) = r.complaint_rate {
                self.reputation_complaint.get_or_create(&labels).set(v);
            }
        }
    }

    /// The exposition as it stands (OpenMetrics text, ending with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoder error would be a bug in a label encoder.
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding metrics into a String");
        out
    }

    /// What `GET /metrics` serves: refreshes the queue gauges from `store` when stale, then
    /// encodes. A store error is returned (the scrape fails, Prometheus marks the target down)
    /// rather than serving gauges of unknown age.
    pub async fn render(&self, store: &dyn Store, now_ms: i64) -> Result<String, StoreError> {
        if self.queue_stats_stale(now_ms) {
            let stats = store.queue_stats(now_ms).await?;
            self.set_queue_stats(&stats, now_ms);
        }
        Ok(self.encode())
    }
}

/// The domain of an address (`"Name" <local@Example.COM>` → `Example.COM`); empty if none.
fn domain_of(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map_or("", |(_, d)| d.trim_end_matches('>'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample lines (`name{labels} value`) of an exposition, comments dropped.
    fn samples(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn fresh_registry_has_the_queue_gauges_only() {
        let m = Metrics::default();
        let text = m.encode();
        for line in [
            "# HELP sesame_queue_depth Messages in the delivery queue.",
            "# TYPE sesame_queue_depth gauge",
            "# TYPE sesame_queue_deferred gauge",
            "# TYPE sesame_queue_in_delivery gauge",
            "# TYPE sesame_queue_oldest_age_seconds gauge",
            "# UNIT sesame_queue_oldest_age_seconds seconds",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
        assert_eq!(text.lines().last(), Some("# EOF"));
        // Counter families without a series are not written at all.
        assert!(!text.contains("sesame_deliveries"), "{text}");
        assert_eq!(
            samples(&text),
            vec![
                "sesame_queue_depth 0",
                "sesame_queue_deferred 0",
                "sesame_queue_in_delivery 0",
                "sesame_queue_oldest_age_seconds 0.0",
            ]
        );
    }

    /// G-77, G-Y: reputation gauges per account and per configuration set, replaced as a whole.
    #[test]
    fn reputation_gauges_replace_the_previous_sweep() {
        let m = Metrics::default();
        let r = |set: Option<&str>, b: Option<f64>, c: Option<f64>| ReputationRates {
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            configuration_set: set.map(str::to_string),
            bounce_rate: b,
            complaint_rate: c,
        };
        m.set_reputation(&[
            r(None, Some(0.1), Some(0.0)),
            r(Some("cs"), Some(0.5), None),
        ]);
        let text = samples(&m.encode());
        for line in [
            "ses_reputation_bounce_rate{account_id=\"111122223333\",region=\"us-east-1\",scope=\"account\",configuration_set=\"\"} 0.1",
            "ses_reputation_bounce_rate{account_id=\"111122223333\",region=\"us-east-1\",scope=\"configuration_set\",configuration_set=\"cs\"} 0.5",
            "ses_reputation_complaint_rate{account_id=\"111122223333\",region=\"us-east-1\",scope=\"account\",configuration_set=\"\"} 0.0",
        ] {
            assert!(text.iter().any(|l| l == line), "{line:?} in\n{text:#?}");
        }
        assert_eq!(
            text.iter()
                .filter(|l| l.starts_with("ses_reputation"))
                .count(),
            3
        );
        m.set_reputation(&[r(None, Some(0.02), None)]);
        let text = samples(&m.encode());
        let rep: Vec<_> = text
            .iter()
            .filter(|l| l.starts_with("ses_reputation"))
            .collect();
        assert_eq!(rep.len(), 1, "{rep:?}");
        assert!(rep[0].ends_with(" 0.02"));
    }

    #[test]
    fn counter_families_are_declared_once_used() {
        let m = Metrics::default();
        m.delivery_outcome("example.com", Outcome::Delivered);
        m.delivery_outcome("example.com", Outcome::Bounced(BounceType::Permanent));
        let text = m.encode();
        for line in [
            "# HELP sesame_deliveries Recipients accepted by the receiving MTA, per destination.",
            "# TYPE sesame_deliveries counter",
            "# TYPE sesame_bounces counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
    }

    #[test]
    fn outcomes_count_per_destination_and_type() {
        let m = Metrics::default();
        m.delivery_outcome("Example.com", Outcome::Delivered);
        m.delivery_outcomes("example.com.", Outcome::Delivered, 2);
        m.delivery_outcomes("example.com", Outcome::Delivered, 0);
        m.delivery_outcome("example.net", Outcome::Deferred);
        m.delivery_outcome("example.net", Outcome::Bounced(BounceType::Permanent));
        m.delivery_outcomes("example.net", Outcome::Bounced(BounceType::Transient), 4);
        m.delivery_outcome("example.org", Outcome::Complained);
        let mut got = samples(&m.encode());
        got.retain(|l| !l.starts_with("sesame_queue_"));
        got.sort();
        assert_eq!(
            got,
            vec![
                r#"sesame_bounces_total{destination="example.net",type="Permanent"} 1"#,
                r#"sesame_bounces_total{destination="example.net",type="Transient"} 4"#,
                r#"sesame_complaints_total{destination="example.org"} 1"#,
                r#"sesame_deferrals_total{destination="example.net"} 1"#,
                r#"sesame_deliveries_total{destination="example.com"} 3"#,
            ]
        );
    }

    #[test]
    fn destinations_beyond_the_cap_count_as_other() {
        let m = Metrics::new(2);
        for d in [
            "a.example",
            "b.example",
            "c.example",
            "d.example",
            "a.example",
        ] {
            m.delivery_outcome(d, Outcome::Delivered);
        }
        let mut got: Vec<_> = samples(&m.encode())
            .into_iter()
            .filter(|l| l.starts_with("sesame_deliveries_total"))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                r#"sesame_deliveries_total{destination="a.example"} 2"#,
                r#"sesame_deliveries_total{destination="b.example"} 1"#,
                r#"sesame_deliveries_total{destination="other"} 2"#,
            ]
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.delivery_outcome("we\"ird\\dom\nain", Outcome::Delivered);
        assert!(
            m.encode()
                .contains(r#"sesame_deliveries_total{destination="we\"ird\\dom\nain"} 1"#),
            "{}",
            m.encode()
        );
    }

    #[test]
    fn queue_gauges_and_their_freshness() {
        let m = Metrics::default();
        assert!(m.queue_stats_stale(5_000));
        let stats = QueueStats {
            depth: 7,
            deferred: 3,
            in_delivery: 2,
            oldest_created_at: Some(1_500),
        };
        m.set_queue_stats(&stats, 5_000);
        // (now, stale?)
        for (now, want) in [(5_000, false), (5_999, false), (6_000, true), (4_999, true)] {
            assert_eq!(m.queue_stats_stale(now), want, "{now}");
        }
        let got: Vec<_> = samples(&m.encode())
            .into_iter()
            .filter(|l| l.starts_with("sesame_queue_"))
            .collect();
        assert_eq!(
            got,
            vec![
                "sesame_queue_depth 7",
                "sesame_queue_deferred 3",
                "sesame_queue_in_delivery 2",
                "sesame_queue_oldest_age_seconds 3.5",
            ]
        );
        m.set_queue_stats(&QueueStats::default(), 9_000);
        assert!(m
            .encode()
            .lines()
            .any(|l| l == "sesame_queue_oldest_age_seconds 0.0"));
    }

    /// The event shapes of spec G as `sesame-events` writes them.
    #[test]
    fn record_events_counts_recipients_of_outcome_events() {
        let ev = |kind: &str, data: serde_json::Value| EventRecord {
            event_id: "e".into(),
            scope: sesame_model::Scope::new(
                "111122223333".parse().unwrap(),
                "us-east-1".parse().unwrap(),
            ),
            message_id: "m".into(),
            event_type: kind.into(),
            timestamp: 0,
            data,
        };
        let m = Metrics::default();
        m.record_events(&[
            ev(
                "Send",
                serde_json::json!({"mail": {"destination": ["a@one.example"]}}),
            ),
            ev(
                "Delivery",
                serde_json::json!({"delivery": {"recipients": ["a@One.example", "b@two.example"]}}),
            ),
            ev(
                "DeliveryDelay",
                serde_json::json!({"deliveryDelay": {"delayType": "TransientCommunicationFailure",
                    "delayedRecipients": [{"emailAddress": "c@two.example"}]}}),
            ),
            ev(
                "Bounce",
                serde_json::json!({"bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                    "bouncedRecipients": [{"emailAddress": "d@two.example"},
                                          {"emailAddress": "e@two.example"}]}}),
            ),
            ev(
                "Bounce",
                serde_json::json!({"bounce": {"bounceType": "Odd",
                    "bouncedRecipients": [{"emailAddress": "nodomain"}]}}),
            ),
            ev(
                "Complaint",
                serde_json::json!({"complaint": {"complainedRecipients":
                    [{"emailAddress": "\"F\" <f@three.example>"}]}}),
            ),
            ev("Delivery", serde_json::json!({"delivery": {}})),
        ]);
        let mut got: Vec<_> = samples(&m.encode())
            .into_iter()
            .filter(|l| !l.starts_with("sesame_queue_"))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                r#"sesame_bounces_total{destination="two.example",type="Permanent"} 2"#,
                r#"sesame_bounces_total{destination="unknown",type="Undetermined"} 1"#,
                r#"sesame_complaints_total{destination="three.example"} 1"#,
                r#"sesame_deferrals_total{destination="two.example"} 1"#,
                r#"sesame_deliveries_total{destination="one.example"} 1"#,
                r#"sesame_deliveries_total{destination="two.example"} 1"#,
            ]
        );
    }

    #[test]
    fn bounce_type_from_ses_vocabulary() {
        let table = [
            ("Permanent", Some(BounceType::Permanent)),
            ("Transient", Some(BounceType::Transient)),
            ("Undetermined", Some(BounceType::Undetermined)),
            ("permanent", None),
            ("", None),
        ];
        for (input, want) in table {
            assert_eq!(BounceType::from_ses(input), want, "{input:?}");
        }
    }
}
