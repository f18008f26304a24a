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
//! | `ses_events_total` | counter | `event_type` | SES events committed, by `eventType` as in the record (`Send`, `Rendering Failure`, …), with or without a configuration set (G-18, §G-Y); the ten series exist at 0 from start-up (Q-175) |
//! | `ses_configuration_set_events_total` | counter | `account_id`, `region`, `configuration_set`, `event_destination`, `event_type`, one label per dimension | events matched by a CloudWatch-type event destination (G-33, §G-Y): `event_type` is the CloudWatch metric name (`RenderingFailure`, Z-12); dimension labels are named by `sesame_events::cloudwatch::label_names` and hold the values of `sesame_events::cloudwatch::dimension_values`; beyond [`DEFAULT_MAX_DIMENSION_COMBINATIONS`] combinations per destination, every dimension value is `other` (Q-175) |
//! | `sesame_publishing_backlog` | gauge | | events committed but not yet handed to their destinations |
//! | `sesame_publishing_oldest_age_seconds` | gauge | | age of the oldest such event (0 when none) |
//! | `ses_managed_pool_send` | gauge | `account_id`, `region`, `pool`, `isp`, `via` | SES `Send` of a managed pool (F-47): recipients sent to the ISP in the last 24 hours through the pool's dedicated IPs (`via="dedicated"`) or the shared pool (`via="shared"`) |
//! | `ses_managed_pool_approximate_dedicated_sending_percentage` | gauge | `account_id`, `region`, `pool`, `isp` | SES `ApproximateDedicatedSendingPercentage`: the dedicated share of those, 0–100 (absent without sends) |
//! | `ses_managed_pool_sent_last_24_hours` | gauge | same | SES `SentLast24Hours`: sent to the ISP through the pool's IPs in the last 24 hours (what counts against its capacity) |
//! | `ses_managed_pool_available_24_hour_send` | gauge | same | SES `Available24HourSend`: what the pool's IPs may still send to the ISP in the current rolling 24 hours |
//! | `ses_managed_pool_dedicated_ips` | gauge | `account_id`, `region`, `pool` | IPs the managed pool holds (0: "Insufficient volume", F-46) |
//!
//! The `sesame_*` outcome counters are per **recipient**, `ses_*events_total` per **event**;
//! all counters start at process start (Prometheus handles resets). The
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
//! the feedback listener, capture mode) is counted without calling anything. Publishing to a
//! CloudWatch-type event destination calls [`Metrics::count_destination_event`] with the
//! dimension values of `sesame_events::cloudwatch::dimension_values`; the publishing gauges
//! are set by whoever reads the outbox from the store ([`Metrics::set_publishing_backlog`],
//! [`Metrics::set_publishing_oldest_commit`]). The managed-pool gauges (spec F-47, SH-9) are
//! replaced as a whole by each evaluation of the managed pools ([`Metrics::set_managed_pools`]);
//! they are read from the shared counters, so every node of a cluster exports the same values.

mod cap;
pub mod destinations;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use sesame_events::{cloudwatch, event_types};
use sesame_model::{EventRecord, QueueStats, Store, StoreError};

use cap::FirstSeen;
use destinations::{Destinations, OTHER};

/// `Content-Type` of [`Metrics::encode`]'s output (OpenMetrics 1.0 text; Prometheus negotiates
/// and parses it natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Destinations with a label of their own before the rest count as `other`.
pub const DEFAULT_MAX_DESTINATIONS: usize = 100;

/// Distinct dimension-value combinations per (account, region, configuration set, event
/// destination) with labels of their own in `ses_configuration_set_events_total` before the
/// rest count with every dimension value `other` (Q-175: per-destination cardinality cap).
/// A combination covers all ten event types, so a destination has at most ten times this many
/// series, plus ten for `other`.
pub const DEFAULT_MAX_DIMENSION_COMBINATIONS: usize = 1000;

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

/// Labels of `ses_events_total` (§G-Y).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventTypeLabels {
    event_type: String,
}

/// Labels of the per-ISP managed-pool gauges (SH-9: `pool` and `isp`, plus the account and
/// region a multi-tenant deployment needs).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ManagedIspLabels {
    account_id: String,
    region: String,
    pool: String,
    isp: String,
}

/// [`ManagedIspLabels`] plus `via` (`dedicated` or `shared`) for `ses_managed_pool_send`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ManagedSendLabels {
    account_id: String,
    region: String,
    pool: String,
    isp: String,
    via: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ManagedPoolLabels {
    account_id: String,
    region: String,
    pool: String,
}

/// One ISP of a managed pool, for [`Metrics::set_managed_pools`] (F-47).
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedIspGauges {
    pub isp: String,
    /// Sent through the pool's IPs in the last 24 hours (`SentLast24Hours`).
    pub dedicated_24h: u64,
    /// Sent through the shared pool in the last 24 hours.
    pub shared_24h: u64,
    /// `Available24HourSend`.
    pub available_24h: u64,
}

/// One managed pool, for [`Metrics::set_managed_pools`].
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedPoolGauges {
    pub account_id: String,
    pub region: String,
    pub pool: String,
    pub dedicated_ips: u64,
    pub isps: Vec<ManagedIspGauges>,
}

/// (account id, region, configuration set, event destination): the unit of the dimension cap.
type DestinationKey = (String, String, String, String);

/// The (DimensionName, value) combinations admitted per destination.
type DimensionCaps = HashMap<DestinationKey, FirstSeen<Vec<(String, String)>>>;

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
    events: Family<EventTypeLabels, Counter>,
    /// Label sets vary with each destination's dimensions, hence pairs rather than a struct:
    /// the [`cloudwatch::FIXED_LABELS`] in order, then one label per dimension.
    destination_events: Family<Vec<(String, String)>, Counter>,
    publishing_backlog: Gauge,
    publishing_oldest_age: Gauge<f64, AtomicU64>,
    managed_send: Family<ManagedSendLabels, Gauge>,
    managed_dedicated_pct: Family<ManagedIspLabels, Gauge<f64, AtomicU64>>,
    managed_sent_24h: Family<ManagedIspLabels, Gauge>,
    managed_available_24h: Family<ManagedIspLabels, Gauge>,
    managed_ips: Family<ManagedPoolLabels, Gauge>,
    destinations: Destinations,
    /// See [`DEFAULT_MAX_DIMENSION_COMBINATIONS`].
    max_dimension_combinations: usize,
    dimension_caps: Mutex<DimensionCaps>,
    /// When the queue gauges were last read from the store (unix ms); `None` before the first.
    queue_read_at: Mutex<Option<i64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(DEFAULT_MAX_DESTINATIONS)
    }
}

impl Metrics {
    /// A registry where at most `max_destinations` destinations get a label of their own, and
    /// each CloudWatch-type destination at most [`DEFAULT_MAX_DIMENSION_COMBINATIONS`]
    /// dimension-value combinations ([`Metrics::with_max_dimension_combinations`] changes it).
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
        let events = Family::<EventTypeLabels, Counter>::default();
        registry.register(
            "ses_events",
            "SES events committed, per eventType (G-18)",
            events.clone(),
        );
        // Q-175: "zero-valued series created at start-up", so a rate is defined before the
        // first event of a type.
        for t in event_types::ALL {
            // Creating the series is the point; the guard is dropped at once.
            let _ = events.get_or_create(&EventTypeLabels {
                event_type: t.to_string(),
            });
        }
        let destination_events = Family::<Vec<(String, String)>, Counter>::default();
        registry.register(
            "ses_configuration_set_events",
            "Events matched by a CloudWatch-type event destination, per CloudWatch metric name and dimension values (G-33)",
            destination_events.clone(),
        );
        let publishing_backlog = Gauge::default();
        let publishing_oldest_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "sesame_publishing_backlog",
            "Events committed but not yet handed to their destinations",
            publishing_backlog.clone(),
        );
        registry.register_with_unit(
            "sesame_publishing_oldest_age",
            "Age of the oldest event not yet handed to its destinations (0 when none)",
            Unit::Seconds,
            publishing_oldest_age.clone(),
        );
        let managed_send = Family::<ManagedSendLabels, Gauge>::default();
        let managed_dedicated_pct = Family::<ManagedIspLabels, Gauge<f64, AtomicU64>>::default();
        let managed_sent_24h = Family::<ManagedIspLabels, Gauge>::default();
        let managed_available_24h = Family::<ManagedIspLabels, Gauge>::default();
        let managed_ips = Family::<ManagedPoolLabels, Gauge>::default();
        registry.register(
            "ses_managed_pool_send",
            "SES Send of a managed dedicated IP pool: recipients sent to the ISP in the last 24 hours, via its dedicated IPs or the shared pool (F-47)",
            managed_send.clone(),
        );
        registry.register(
            "ses_managed_pool_approximate_dedicated_sending_percentage",
            "SES ApproximateDedicatedSendingPercentage of a managed pool for the ISP, last 24 hours (0-100)",
            managed_dedicated_pct.clone(),
        );
        registry.register(
            "ses_managed_pool_sent_last_24_hours",
            "SES SentLast24Hours: recipients a managed pool's IPs sent to the ISP in the last 24 hours",
            managed_sent_24h.clone(),
        );
        registry.register(
            "ses_managed_pool_available_24_hour_send",
            "SES Available24HourSend: recipients a managed pool's IPs may still send to the ISP in the rolling 24 hours",
            managed_available_24h.clone(),
        );
        registry.register(
            "ses_managed_pool_dedicated_ips",
            "Dedicated IPs a managed pool holds (0: Insufficient volume)",
            managed_ips.clone(),
        );
        Metrics {
            registry,
            managed_send,
            managed_dedicated_pct,
            managed_sent_24h,
            managed_available_24h,
            managed_ips,
            reputation_bounce,
            reputation_complaint,
            events,
            destination_events,
            publishing_backlog,
            publishing_oldest_age,
            max_dimension_combinations: DEFAULT_MAX_DIMENSION_COMBINATIONS,
            dimension_caps: Mutex::new(HashMap::new()),
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

    /// Sets the per-destination cap of `ses_configuration_set_events_total` (Q-175: "per-
    /// destination label cardinality cap", configurable): at most `max` distinct
    /// dimension-value combinations per (account, region, configuration set, event destination)
    /// get labels of their own. For the composition root, before the registry is shared.
    pub fn with_max_dimension_combinations(mut self, max: usize) -> Metrics {
        self.max_dimension_combinations = max;
        self
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

    /// Counts `events` — the SES event JSON (spec G) the engine commits. Each one counts once
    /// in `ses_events_total` under its `eventType` (G-18; a type that is not one of the ten of
    /// G-1 is not counted, so the label set stays bounded). The delivery outcomes count per
    /// recipient: one `Delivered` per `delivery.recipients` entry, one `Deferred` per
    /// `deliveryDelay.delayedRecipients`, one `Bounced(bounceType)` per
    /// `bounce.bouncedRecipients`, one `Complained` per `complaint.complainedRecipients`, each at
    /// the recipient's domain; other event types have no outcome. `sesame serve` feeds it every
    /// event its store commits, so the counters agree with the events by construction.
    pub fn record_events(&self, events: &[EventRecord]) {
        for e in events {
            if event_types::ALL.contains(&e.event_type.as_str()) {
                self.events
                    .get_or_create(&EventTypeLabels {
                        event_type: e.event_type.clone(),
                    })
                    .inc();
            }
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

    /// Counts one event published to a CloudWatch-type event destination (G-33, §G-Y) in
    /// `ses_configuration_set_events_total`. `event_type` is the record's `eventType` (or
    /// already the metric name); the label holds the CloudWatch metric name
    /// (`Rendering Failure` → `RenderingFailure`, Z-12), and anything that is not one of the
    /// ten types is not counted. `dimensions` are the (DimensionName, value) pairs of
    /// `sesame_events::cloudwatch::dimension_values`, in configuration order; their label
    /// names come from `sesame_events::cloudwatch::label_names`.
    ///
    /// Cardinality (Q-175): the first [`DEFAULT_MAX_DIMENSION_COMBINATIONS`] (or the configured
    /// number of) distinct dimension combinations of a destination keep their values for the
    /// life of the process; later ones count under the same labels with every dimension value
    /// [`OTHER`] — the first-seen policy of [`destinations`], so a series never moves.
    pub fn count_destination_event(
        &self,
        account_id: &str,
        region: &str,
        configuration_set: &str,
        event_destination: &str,
        event_type: &str,
        dimensions: &[(String, String)],
    ) {
        let Some(metric) = cloudwatch::metric_name(event_type) else {
            return;
        };
        let key = (
            account_id.to_string(),
            region.to_string(),
            configuration_set.to_string(),
            event_destination.to_string(),
        );
        let admitted = {
            // A poisoned lock only means another thread panicked mid-insert; the sets are valid.
            let mut caps = self
                .dimension_caps
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            caps.entry(key)
                .or_insert_with(|| FirstSeen::new(self.max_dimension_combinations))
                .admit(dimensions)
        };
        let fixed = [
            account_id,
            region,
            configuration_set,
            event_destination,
            metric,
        ];
        let mut labels: Vec<(String, String)> = cloudwatch::FIXED_LABELS
            .iter()
            .zip(fixed)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let names = cloudwatch::label_names(dimensions.iter().map(|(n, _)| n.as_str()));
        for (name, (_, value)) in names.into_iter().zip(dimensions) {
            let value = if admitted { value.as_str() } else { OTHER };
            labels.push((name, value.to_string()));
        }
        self.destination_events.get_or_create(&labels).inc();
    }

    /// Sets `sesame_publishing_backlog`: events committed but not yet handed to their
    /// destinations, as the caller read it from the store.
    pub fn set_publishing_backlog(&self, n: u64) {
        self.publishing_backlog
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Sets `sesame_publishing_oldest_age_seconds` from the commit time (unix ms) of the oldest
    /// event not yet handed to its destinations (`None`: there is none, age 0), read from the
    /// store at `now_ms`. Like the queue gauges, the age is as of that read.
    pub fn set_publishing_oldest_commit(&self, committed_at_ms: Option<i64>, now_ms: i64) {
        let age_ms = committed_at_ms.map_or(0, |t| now_ms.saturating_sub(t).max(0));
        self.publishing_oldest_age.set(age_ms as f64 / 1000.0);
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
        self.set_publishing_backlog(stats.publishing_backlog);
        self.set_publishing_oldest_commit(stats.publishing_oldest_at, now_ms);
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

    /// Replaces every managed-pool series with `pools` (one evaluation's results, spec F-47,
    /// SH-9), so deleted pools and ISPs without traffic in the window disappear.
    pub fn set_managed_pools(&self, pools: &[ManagedPoolGauges]) {
        self.managed_send.clear();
        self.managed_dedicated_pct.clear();
        self.managed_sent_24h.clear();
        self.managed_available_24h.clear();
        self.managed_ips.clear();
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        for p in pools {
            self.managed_ips
                .get_or_create(&ManagedPoolLabels {
                    account_id: p.account_id.clone(),
                    region: p.region.clone(),
                    pool: p.pool.clone(),
                })
                .set(gauge(p.dedicated_ips));
            for i in &p.isps {
                let labels = ManagedIspLabels {
                    account_id: p.account_id.clone(),
                    region: p.region.clone(),
                    pool: p.pool.clone(),
                    isp: i.isp.clone(),
                };
                for (via, n) in [("dedicated", i.dedicated_24h), ("shared", i.shared_24h)] {
                    self.managed_send
                        .get_or_create(&ManagedSendLabels {
                            account_id: p.account_id.clone(),
                            region: p.region.clone(),
                            pool: p.pool.clone(),
                            isp: i.isp.clone(),
                            via: via.to_string(),
                        })
                        .set(gauge(n));
                }
                let all = i.dedicated_24h + i.shared_24h;
                if all > 0 {
                    self.managed_dedicated_pct
                        .get_or_create(&labels)
                        .set(i.dedicated_24h as f64 * 100.0 / all as f64);
                }
                self.managed_sent_24h
                    .get_or_create(&labels)
                    .set(gauge(i.dedicated_24h));
                self.managed_available_24h
                    .get_or_create(&labels)
                    .set(gauge(i.available_24h));
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

    /// The samples of the per-destination outcome counters only.
    fn outcome_samples(text: &str) -> Vec<String> {
        let mut got: Vec<_> = samples(text)
            .into_iter()
            .filter(|l| {
                [
                    "sesame_deliveries_",
                    "sesame_deferrals_",
                    "sesame_bounces_",
                    "sesame_complaints_",
                ]
                .iter()
                .any(|p| l.starts_with(p))
            })
            .collect();
        got.sort();
        got
    }

    /// The samples of one metric (`name{…} v` or `name v`), sorted: a family's series come out
    /// in no particular order.
    fn samples_of(text: &str, name: &str) -> Vec<String> {
        let mut got: Vec<_> = samples(text)
            .into_iter()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|r| r.starts_with(['{', ' ']))
            })
            .collect();
        got.sort();
        got
    }

    /// Q-175: gauges and the ten `ses_events_total` series exist at start-up; labelled counter
    /// families without a series are not written at all.
    #[test]
    fn fresh_registry_has_gauges_and_zero_event_series() {
        let m = Metrics::default();
        let text = m.encode();
        for line in [
            "# HELP sesame_queue_depth Messages in the delivery queue.",
            "# TYPE sesame_queue_depth gauge",
            "# TYPE sesame_queue_deferred gauge",
            "# TYPE sesame_queue_in_delivery gauge",
            "# TYPE sesame_queue_oldest_age_seconds gauge",
            "# UNIT sesame_queue_oldest_age_seconds seconds",
            "# HELP ses_events SES events committed, per eventType (G-18).",
            "# TYPE ses_events counter",
            "# TYPE sesame_publishing_backlog gauge",
            "# TYPE sesame_publishing_oldest_age_seconds gauge",
            "# UNIT sesame_publishing_oldest_age_seconds seconds",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
        assert_eq!(text.lines().last(), Some("# EOF"));
        assert!(!text.contains("sesame_deliveries"), "{text}");
        assert!(!text.contains("ses_configuration_set_events"), "{text}");
        let mut got = samples(&text);
        got.sort();
        assert_eq!(
            got,
            vec![
                r#"ses_events_total{event_type="Bounce"} 0"#,
                r#"ses_events_total{event_type="Click"} 0"#,
                r#"ses_events_total{event_type="Complaint"} 0"#,
                r#"ses_events_total{event_type="Delivery"} 0"#,
                r#"ses_events_total{event_type="DeliveryDelay"} 0"#,
                r#"ses_events_total{event_type="Open"} 0"#,
                r#"ses_events_total{event_type="Reject"} 0"#,
                r#"ses_events_total{event_type="Rendering Failure"} 0"#,
                r#"ses_events_total{event_type="Send"} 0"#,
                r#"ses_events_total{event_type="Subscription"} 0"#,
                "sesame_publishing_backlog 0",
                "sesame_publishing_oldest_age_seconds 0.0",
                "sesame_queue_deferred 0",
                "sesame_queue_depth 0",
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

    /// F-47 / SH-9: the managed-pool gauges, labelled `pool` and `isp`, replaced as a whole.
    #[test]
    fn managed_pool_gauges() {
        let m = Metrics::default();
        let pool = |isps: Vec<ManagedIspGauges>| ManagedPoolGauges {
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            pool: "auto".into(),
            dedicated_ips: 1,
            isps,
        };
        m.set_managed_pools(&[pool(vec![
            ManagedIspGauges {
                isp: "Gmail".into(),
                dedicated_24h: 1_500,
                shared_24h: 500,
                available_24h: 0,
            },
            ManagedIspGauges {
                isp: "Yahoo".into(),
                dedicated_24h: 0,
                shared_24h: 0,
                available_24h: 1_500,
            },
        ])]);
        let text = m.encode();
        let l = r#"account_id="111122223333",region="us-east-1",pool="auto""#;
        assert_eq!(
            samples_of(&text, "ses_managed_pool_send"),
            [
                format!(r#"ses_managed_pool_send{{{l},isp="Gmail",via="dedicated"}} 1500"#),
                format!(r#"ses_managed_pool_send{{{l},isp="Gmail",via="shared"}} 500"#),
                format!(r#"ses_managed_pool_send{{{l},isp="Yahoo",via="dedicated"}} 0"#),
                format!(r#"ses_managed_pool_send{{{l},isp="Yahoo",via="shared"}} 0"#),
            ]
        );
        assert_eq!(
            samples_of(
                &text,
                "ses_managed_pool_approximate_dedicated_sending_percentage"
            ),
            [format!(
                r#"ses_managed_pool_approximate_dedicated_sending_percentage{{{l},isp="Gmail"}} 75.0"#
            )],
            "no sample without sends"
        );
        assert_eq!(
            samples_of(&text, "ses_managed_pool_sent_last_24_hours"),
            [
                format!(r#"ses_managed_pool_sent_last_24_hours{{{l},isp="Gmail"}} 1500"#),
                format!(r#"ses_managed_pool_sent_last_24_hours{{{l},isp="Yahoo"}} 0"#),
            ]
        );
        assert_eq!(
            samples_of(&text, "ses_managed_pool_available_24_hour_send"),
            [
                format!(r#"ses_managed_pool_available_24_hour_send{{{l},isp="Gmail"}} 0"#),
                format!(r#"ses_managed_pool_available_24_hour_send{{{l},isp="Yahoo"}} 1500"#),
            ]
        );
        assert_eq!(
            samples_of(&text, "ses_managed_pool_dedicated_ips"),
            [format!(r#"ses_managed_pool_dedicated_ips{{{l}}} 1"#)]
        );
        // The next evaluation replaces everything: the pool was deleted.
        m.set_managed_pools(&[]);
        assert!(samples(&m.encode())
            .iter()
            .all(|s| !s.starts_with("ses_managed_pool")));
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
        assert_eq!(
            outcome_samples(&m.encode()),
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
            publishing_backlog: 4,
            publishing_oldest_at: Some(2_000),
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
        // The publishing outbox comes with the same read.
        let text = m.encode();
        assert!(
            text.lines().any(|l| l == "sesame_publishing_backlog 4"),
            "{text}"
        );
        assert!(text
            .lines()
            .any(|l| l == "sesame_publishing_oldest_age_seconds 3.0"));
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
            ev("Rendering Failure", serde_json::json!({"failure": {}})),
            ev("Odd", serde_json::json!({})),
        ]);
        let text = m.encode();
        // G-18, §G-Y: one per event, whatever its type; unknown types are not counted.
        assert_eq!(
            samples_of(&text, "ses_events_total"),
            vec![
                r#"ses_events_total{event_type="Bounce"} 2"#,
                r#"ses_events_total{event_type="Click"} 0"#,
                r#"ses_events_total{event_type="Complaint"} 1"#,
                r#"ses_events_total{event_type="Delivery"} 2"#,
                r#"ses_events_total{event_type="DeliveryDelay"} 1"#,
                r#"ses_events_total{event_type="Open"} 0"#,
                r#"ses_events_total{event_type="Reject"} 0"#,
                r#"ses_events_total{event_type="Rendering Failure"} 1"#,
                r#"ses_events_total{event_type="Send"} 1"#,
                r#"ses_events_total{event_type="Subscription"} 0"#,
            ]
        );
        assert!(!text.contains("Odd"), "{text}");
        assert_eq!(
            outcome_samples(&text),
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

    fn pairs(dims: &[(&str, &str)]) -> Vec<(String, String)> {
        dims.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// G-T item 9 end to end: a `campaign` dimension (MESSAGE_TAG, default `none`) counts an
    /// untagged message under `campaign="none"`; `event_type` is the CloudWatch metric name
    /// (Z-12); auto-tag dimensions get sanitised label names (§G-Y).
    #[test]
    fn destination_events_carry_dimension_labels() {
        let m = Metrics::default();
        let config = [
            serde_json::json!({"DimensionName": "campaign", "DimensionValueSource": "MESSAGE_TAG",
                "DefaultDimensionValue": "none"}),
            serde_json::json!({"DimensionName": "ses:configuration-set",
                "DimensionValueSource": "MESSAGE_TAG", "DefaultDimensionValue": "x"}),
        ];
        let untagged = serde_json::json!({"eventType": "Send",
            "mail": {"tags": {"ses:configuration-set": ["cs"]}}, "send": {}});
        let dims = cloudwatch::dimension_values(&untagged, &config);
        m.count_destination_event("111122223333", "us-east-1", "cs", "cw", "Send", &dims);
        m.count_destination_event("111122223333", "us-east-1", "cs", "cw", "Send", &dims);
        m.count_destination_event(
            "111122223333",
            "us-east-1",
            "cs",
            "cw",
            "Rendering Failure",
            &dims,
        );
        // Not one of the ten types: not counted.
        m.count_destination_event("111122223333", "us-east-1", "cs", "cw", "Odd", &dims);
        let text = m.encode();
        assert!(
            text.lines()
                .any(|l| l == "# TYPE ses_configuration_set_events counter"),
            "{text}"
        );
        assert_eq!(
            samples_of(&text, "ses_configuration_set_events_total"),
            vec![
                r#"ses_configuration_set_events_total{account_id="111122223333",region="us-east-1",configuration_set="cs",event_destination="cw",event_type="RenderingFailure",campaign="none",ses_configuration_set="cs"} 1"#,
                r#"ses_configuration_set_events_total{account_id="111122223333",region="us-east-1",configuration_set="cs",event_destination="cw",event_type="Send",campaign="none",ses_configuration_set="cs"} 2"#,
            ]
        );
        // The account-level counter is fed by `record_events`, not by destinations.
        assert!(text
            .lines()
            .any(|l| l == r#"ses_events_total{event_type="Send"} 0"#));
    }

    /// A dimension whose sanitised name is a fixed label, or repeats an earlier one, gets a
    /// name of its own: a series never repeats a label name.
    #[test]
    fn dimension_label_names_never_collide() {
        let m = Metrics::default();
        let dims = pairs(&[("event_type", "a"), ("a-b", "b"), ("a_b", "c")]);
        m.count_destination_event("111122223333", "us-east-1", "cs", "cw", "Click", &dims);
        assert_eq!(
            samples_of(&m.encode(), "ses_configuration_set_events_total"),
            vec![
                r#"ses_configuration_set_events_total{account_id="111122223333",region="us-east-1",configuration_set="cs",event_destination="cw",event_type="Click",dimension_event_type="a",a_b="b",a_b_2="c"} 1"#,
            ]
        );
    }

    /// Q-175: beyond the cap, a destination's new dimension combinations count with every
    /// value `other`; admitted combinations keep their labels for every event type, and each
    /// (account, region, set, destination) has a cap of its own.
    #[test]
    fn dimension_combinations_beyond_the_cap_count_as_other() {
        let m = Metrics::default().with_max_dimension_combinations(2);
        let count = |account: &str, dest: &str, event_type: &str, c: &str, g: &str| {
            let dims = pairs(&[("campaign", c), ("genre", g)]);
            m.count_destination_event(account, "us-east-1", "cs", dest, event_type, &dims);
        };
        count("111122223333", "cw", "Send", "a", "x");
        count("111122223333", "cw", "Send", "b", "x");
        count("111122223333", "cw", "Send", "c", "x");
        count("111122223333", "cw", "Delivery", "a", "x");
        count("111122223333", "cw", "Send", "d", "y");
        count("111122223333", "cw2", "Send", "c", "x");
        count("444455556666", "cw", "Send", "c", "x");
        let lines = samples_of(&m.encode(), "ses_configuration_set_events_total");
        let want = |account: &str, dest: &str, t: &str, c: &str, g: &str, n: u64| {
            format!(
                r#"ses_configuration_set_events_total{{account_id="{account}",region="us-east-1",configuration_set="cs",event_destination="{dest}",event_type="{t}",campaign="{c}",genre="{g}"}} {n}"#
            )
        };
        let mut expected = vec![
            want("111122223333", "cw", "Delivery", "a", "x", 1),
            want("111122223333", "cw", "Send", "a", "x", 1),
            want("111122223333", "cw", "Send", "b", "x", 1),
            want("111122223333", "cw", "Send", "other", "other", 2),
            want("111122223333", "cw2", "Send", "c", "x", 1),
            want("444455556666", "cw", "Send", "c", "x", 1),
        ];
        expected.sort();
        assert_eq!(lines, expected);
    }

    #[test]
    fn publishing_gauges() {
        let m = Metrics::default();
        m.set_publishing_backlog(42);
        m.set_publishing_oldest_commit(Some(1_500), 5_000);
        let text = m.encode();
        assert_eq!(
            samples_of(&text, "sesame_publishing_backlog"),
            vec!["sesame_publishing_backlog 42"]
        );
        assert_eq!(
            samples_of(&text, "sesame_publishing_oldest_age_seconds"),
            vec!["sesame_publishing_oldest_age_seconds 3.5"]
        );
        // (oldest commit, now, age line): none pending, or a clock that went back, is 0.
        for (oldest, now, want) in [
            (None, 9_000, "sesame_publishing_oldest_age_seconds 0.0"),
            (
                Some(9_000),
                8_000,
                "sesame_publishing_oldest_age_seconds 0.0",
            ),
            (Some(0), 60_000, "sesame_publishing_oldest_age_seconds 60.0"),
        ] {
            m.set_publishing_oldest_commit(oldest, now);
            assert!(m.encode().lines().any(|l| l == want), "{oldest:?} {now}");
        }
        m.set_publishing_backlog(u64::MAX);
        assert!(m
            .encode()
            .lines()
            .any(|l| l == format!("sesame_publishing_backlog {}", i64::MAX)));
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
