//! Stream and bus sinks: what stands in for Kinesis Data Firehose delivery streams (DECISIONS
//! Q-174) and for EventBridge rules on an account's default event bus (Q-177, SH-7).
//!
//! The operator registers them per account and region (`sesame firehose …`,
//! `sesame eventbridge …`; docs/event-destinations.md); they are resource documents, so every
//! node sharing the database sees them:
//!
//! - a **delivery stream** (kind [`kind::DELIVERY_STREAM`], named like the Firehose stream) is
//!   what a `KinesisFirehoseDestination`'s `DeliveryStreamArn` resolves to, by name. Each record
//!   is the event JSON followed by `\n` (G-34).
//! - an **event-bus rule** (kind [`kind::EVENT_BUS_RULE`], named `<bus>/<rule>`) matches the
//!   EventBridge envelope of an event published by an `EventBridgeDestination` (only the
//!   `default` bus, as the sesv2 model says) against an event pattern and sends the envelope to
//!   its target. A bus without rules drops its events, as EventBridge does.
//!
//! A target is one of three real transports ([`SinkTarget`]): JSON-lines files in a directory
//! (rotated by hour and size, fsynced before an event counts as published), NATS JetStream
//! (published with `Nats-Msg-Id` set to the record's stable id, so the stream de-duplicates
//! retries), or HTTP(S) POST (2xx is success). The engine only decides *what* to write
//! ([`SinkRecord`]s in [`crate::publishing::DispatchReport`]); `sesame-publish` writes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sesame_model::{ResourceKey, Scope, StoreError};

use crate::error::EngineError;
use crate::records::kind;
use crate::Engine;

/// Where a sink's records go.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SinkTarget {
    /// JSON-lines files under this absolute directory: `YYYY/MM/DD/HH/<node>-<n>.jsonl`
    /// (Firehose's S3 key layout), one writer per node.
    File { dir: String },
    /// NATS JetStream: each record published to `subject` on the server `host:port`. A
    /// JetStream stream must capture the subject (the publish is acknowledged by it).
    Nats { server: String, subject: String },
    /// HTTP(S) POST to this URL.
    Http { url: String },
}

impl SinkTarget {
    /// Parses `file:///abs/dir`, `nats://host:port/subject` or `http(s)://…`.
    pub fn parse(uri: &str) -> Result<SinkTarget, String> {
        let uri = uri.trim();
        if let Some(path) = uri.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "{uri}: a file target needs an absolute directory, as in file:///var/lib/sesame/streams/NAME"
                ));
            }
            let dir = path.trim_end_matches('/');
            if dir.is_empty() || dir.split('/').any(|c| c == "..") {
                return Err(format!("{uri}: not a usable directory"));
            }
            return Ok(SinkTarget::File {
                dir: dir.to_string(),
            });
        }
        if let Some(rest) = uri.strip_prefix("nats://") {
            let (server, subject) = rest.split_once('/').ok_or_else(|| {
                format!("{uri}: a NATS target is nats://HOST:PORT/SUBJECT, as in nats://127.0.0.1:4222/ses.events")
            })?;
            let port_ok = server
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
            if !port_ok {
                return Err(format!("{uri}: the server needs a host and a port"));
            }
            if !valid_subject(subject) {
                return Err(format!(
                    "{uri}: <{subject}> is not a NATS subject to publish to (dot-separated tokens, no spaces, no wildcards)"
                ));
            }
            return Ok(SinkTarget::Nats {
                server: server.to_string(),
                subject: subject.to_string(),
            });
        }
        if (uri.starts_with("http://") || uri.starts_with("https://"))
            && uri.len() > "https://".len()
            && !uri.contains(char::is_whitespace)
        {
            return Ok(SinkTarget::Http {
                url: uri.to_string(),
            });
        }
        Err(format!(
            "{uri}: a target is file:///DIR, nats://HOST:PORT/SUBJECT, http://URL or https://URL"
        ))
    }

    /// The URI form (what [`SinkTarget::parse`] reads back).
    pub fn uri(&self) -> String {
        match self {
            SinkTarget::File { dir } => format!("file://{dir}"),
            SinkTarget::Nats { server, subject } => format!("nats://{server}/{subject}"),
            SinkTarget::Http { url } => url.clone(),
        }
    }
}

/// A NATS subject one can publish to: non-empty dot-separated tokens of printable ASCII
/// without spaces or the wildcards `*` and `>`.
fn valid_subject(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.split('.').all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'*' && b != b'>')
        })
}

/// How a record is framed on its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Framing {
    /// A Firehose record: the body is the event JSON plus `\n` (G-34); HTTP targets receive a
    /// batch of them in one `application/x-ndjson` POST.
    Line,
    /// An EventBridge envelope (JSON without the newline); HTTP targets receive one POST each,
    /// files one line each.
    Envelope,
}

/// One record to write: produced by [`Engine::dispatch_event`], written by `sesame-publish`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkRecord {
    pub target: SinkTarget,
    pub framing: Framing,
    /// Stable across retries: `Nats-Msg-Id`, `X-Event-Id`.
    pub id: String,
    pub body: Vec<u8>,
    /// Extra HTTP/NATS headers (the HMAC signature of a bus rule's HTTP target).
    pub headers: Vec<(String, String)>,
}

/// A registered delivery stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStreamRecord {
    pub name: String,
    /// [`SinkTarget::uri`].
    pub target: String,
    #[serde(default)]
    pub created_at: i64,
}

/// A rule of an account's event bus (Q-177, SH-7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventBusRuleRecord {
    pub bus: String,
    pub name: String,
    /// EventBridge event pattern JSON; `None` matches every event on the bus.
    #[serde(default)]
    pub pattern: Option<String>,
    /// [`SinkTarget::uri`].
    pub target: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Base64 of the sealed HMAC key of an HTTP target (`X-Sesame-Signature`).
    #[serde(default)]
    pub secret_sealed: Option<String>,
    #[serde(default)]
    pub created_at: i64,
}

fn yes() -> bool {
    true
}

/// The only bus an `EventBridgeDestination` may name (sesv2 model: "Only the default bus is
/// supported").
pub const DEFAULT_BUS: &str = "default";

/// Firehose delivery stream names: 1–64 of `[a-zA-Z0-9_.-]` (Firehose API).
pub fn valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// EventBridge rule names: 1–64 of `[\.\-_A-Za-z0-9]` (EventBridge API).
pub fn valid_rule_name(name: &str) -> bool {
    valid_stream_name(name)
}

const SECRET_AAD: &[u8] = b"sesame:event-bus-rule-secret";

/// `X-Sesame-Signature` value of `body` under `key`: `sha256=<hex HMAC-SHA256>` (the form
/// GitHub-style webhook verifiers expect).
pub fn signature_header(key: &[u8], body: &[u8]) -> String {
    let mac = sesame_sigv4::secrets::hmac_sha256(key, body);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The delivery stream name of a `DeliveryStreamArn` (`…:deliverystream/<name>`), with the
/// ARN's account and region.
pub fn stream_arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    arn_parts(arn, "firehose", "deliverystream/")
}

/// The bus name of an `EventBusArn` (`…:event-bus/<name>`), with the ARN's account and region.
pub fn bus_arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    arn_parts(arn, "events", "event-bus/")
}

fn arn_parts<'a>(arn: &'a str, service: &str, prefix: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let p = sesame_model::Arn::parse(arn)?;
    let name = p.resource.strip_prefix(prefix)?;
    (p.service == service && !name.is_empty()).then_some((p.account, p.region, name))
}

/// The name in `parts` (from [`stream_arn_parts`] or [`bus_arn_parts`]) when the ARN is in
/// `scope`'s account and region: a destination never reaches another account's sinks.
pub fn name_in_scope<'a>(parts: Option<(&str, &str, &'a str)>, scope: &Scope) -> Option<&'a str> {
    let (account, region, name) = parts?;
    (account == scope.account.as_str() && region == scope.region.as_str()).then_some(name)
}

impl Engine {
    fn stream_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::DELIVERY_STREAM, name)
    }

    fn rule_key(scope: &Scope, bus: &str, rule: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::EVENT_BUS_RULE, &format!("{bus}/{rule}"))
    }

    /// Registers a delivery stream (`sesame firehose create`).
    pub async fn create_delivery_stream(
        &self,
        scope: &Scope,
        name: &str,
        target: &SinkTarget,
    ) -> Result<DeliveryStreamRecord, EngineError> {
        if !valid_stream_name(name) {
            return Err(EngineError::BadRequest(format!(
                "Invalid delivery stream name <{name}>: 1 to 64 letters, digits, '_', '.' or '-'."
            )));
        }
        let rec = DeliveryStreamRecord {
            name: name.to_string(),
            target: target.uri(),
            created_at: crate::now_ms(),
        };
        let data = serde_json::to_value(&rec).map_err(internal)?;
        self.store
            .insert_resource(&Self::stream_key(scope, name), &data)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists => {
                    EngineError::AlreadyExists(format!("Delivery stream {name} already exists."))
                }
                other => other.into(),
            })?;
        Ok(rec)
    }

    pub async fn get_delivery_stream(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<DeliveryStreamRecord>, EngineError> {
        Ok(self
            .store
            .get_resource(&Self::stream_key(scope, name))
            .await?
            .and_then(|r| serde_json::from_value(r.data).ok()))
    }

    pub async fn list_delivery_streams(
        &self,
        scope: &Scope,
    ) -> Result<Vec<DeliveryStreamRecord>, EngineError> {
        Ok(self
            .store
            .list_resources(scope, kind::DELIVERY_STREAM, "", None, 1000)
            .await?
            .into_iter()
            .filter_map(|r| serde_json::from_value(r.data).ok())
            .collect())
    }

    /// Removes a delivery stream; destinations naming it then drop their events (with a
    /// warning), as SES does for a deleted stream.
    pub async fn delete_delivery_stream(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<(), EngineError> {
        self.delete_or_not_found(&Self::stream_key(scope, name), || {
            format!("Delivery stream {name} does not exist.")
        })
        .await
    }

    /// Creates or replaces a rule of `bus` (`sesame eventbridge put-rule`). Returns the record
    /// and, for an HTTP target, the HMAC key in hex (shown once; kept sealed).
    pub async fn put_event_bus_rule(
        &self,
        scope: &Scope,
        bus: &str,
        name: &str,
        pattern: Option<&str>,
        target: &SinkTarget,
    ) -> Result<(EventBusRuleRecord, Option<String>), EngineError> {
        if bus != DEFAULT_BUS {
            return Err(EngineError::BadRequest(format!(
                "Event bus <{bus}> does not exist: SES publishes to the default bus only."
            )));
        }
        if !valid_rule_name(name) {
            return Err(EngineError::BadRequest(format!(
                "Invalid rule name <{name}>: 1 to 64 letters, digits, '_', '.' or '-'."
            )));
        }
        if let Some(p) = pattern {
            sesame_events::eventbridge::Pattern::parse(p)
                .map_err(|e| EngineError::BadRequest(format!("Invalid event pattern: {e}")))?;
        }
        let (secret_sealed, secret_hex) = match target {
            SinkTarget::Http { .. } => {
                let key: [u8; 32] = rand::random();
                let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
                (
                    Some(B64.encode(self.secrets.seal(&key, SECRET_AAD))),
                    Some(hex),
                )
            }
            _ => (None, None),
        };
        let rec = EventBusRuleRecord {
            bus: bus.to_string(),
            name: name.to_string(),
            pattern: pattern.map(str::to_string),
            target: target.uri(),
            enabled: true,
            secret_sealed,
            created_at: crate::now_ms(),
        };
        let data = serde_json::to_value(&rec).map_err(internal)?;
        self.store
            .upsert_resource(&Self::rule_key(scope, bus, name), &data)
            .await?;
        Ok((rec, secret_hex))
    }

    pub async fn list_event_bus_rules(
        &self,
        scope: &Scope,
        bus: &str,
    ) -> Result<Vec<EventBusRuleRecord>, EngineError> {
        Ok(self
            .store
            .list_resources(scope, kind::EVENT_BUS_RULE, &format!("{bus}/"), None, 1000)
            .await?
            .into_iter()
            .filter_map(|r| serde_json::from_value(r.data).ok())
            .collect())
    }

    pub async fn delete_event_bus_rule(
        &self,
        scope: &Scope,
        bus: &str,
        name: &str,
    ) -> Result<(), EngineError> {
        self.delete_or_not_found(&Self::rule_key(scope, bus, name), || {
            format!("Rule {name} does not exist on event bus {bus}.")
        })
        .await
    }

    /// The HMAC key of a rule's HTTP target.
    pub(crate) fn rule_secret(&self, rule: &EventBusRuleRecord) -> Option<Vec<u8>> {
        let sealed = B64.decode(rule.secret_sealed.as_deref()?).ok()?;
        self.secrets.open(&sealed, SECRET_AAD).ok()
    }

    /// Checks that an event destination's Firehose stream or EventBridge bus exists for
    /// `scope` (Q-174: an unknown stream is refused — v1 `InvalidFirehoseDestination`, v2
    /// `BadRequestException`; sesv2 model: only the account's default bus). The destination
    /// is in stored v2 form and has passed `validate_event_destination`.
    pub async fn check_destination_targets(
        &self,
        scope: &Scope,
        dest: &Value,
    ) -> Result<Result<(), crate::configuration_sets::InvalidDestination>, EngineError> {
        use crate::configuration_sets::{DestinationFault as F, InvalidDestination};
        let bad = |fault, message: String| Ok(Err(InvalidDestination { fault, message }));
        if let Some(arn) = dest
            .pointer("/KinesisFirehoseDestination/DeliveryStreamArn")
            .and_then(Value::as_str)
        {
            let Some((account, region, name)) = stream_arn_parts(arn) else {
                return bad(
                    F::Firehose,
                    format!("Invalid Firehose delivery stream ARN <{arn}>."),
                );
            };
            if account != scope.account.as_str() || region != scope.region.as_str() {
                return bad(
                    F::Firehose,
                    format!("Delivery stream <{arn}> is not in this account and region."),
                );
            }
            if self.get_delivery_stream(scope, name).await?.is_none() {
                return bad(
                    F::Firehose,
                    format!("Delivery stream <{arn}> does not exist."),
                );
            }
        }
        if let Some(arn) = dest
            .pointer("/EventBridgeDestination/EventBusArn")
            .and_then(Value::as_str)
        {
            let Some((account, region, name)) = bus_arn_parts(arn) else {
                return bad(
                    F::EventBridge,
                    format!("Invalid EventBridge event bus ARN <{arn}>."),
                );
            };
            if account != scope.account.as_str() || region != scope.region.as_str() {
                return bad(
                    F::EventBridge,
                    format!("Event bus <{arn}> is not in this account and region."),
                );
            }
            if name != DEFAULT_BUS {
                return bad(
                    F::EventBridge,
                    format!("Event bus <{arn}>: only the default event bus is supported."),
                );
            }
        }
        Ok(Ok(()))
    }
}

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

fn internal(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print_back() {
        for uri in [
            "file:///var/lib/sesame/streams/ses",
            "nats://127.0.0.1:4222/ses.events",
            "nats://[::1]:4222/a.b-c_d",
            "http://127.0.0.1:9000/hook",
            "https://hooks.example.com/ses?x=1",
        ] {
            let t = SinkTarget::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(t.uri(), uri);
        }
        assert_eq!(
            SinkTarget::parse("file:///tmp/x/").unwrap(),
            SinkTarget::File {
                dir: "/tmp/x".into()
            }
        );
        for bad in [
            "file://relative/dir",
            "file:///",
            "file:///a/../etc",
            "nats://127.0.0.1/ses",
            "nats://127.0.0.1:4222",
            "nats://127.0.0.1:4222/ses.*",
            "nats://127.0.0.1:4222/ses.>",
            "nats://127.0.0.1:4222/a..b",
            "nats://127.0.0.1:0/a",
            "ftp://x/y",
            "https://",
            "http://a b",
        ] {
            assert!(SinkTarget::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn arn_parts_split_account_region_and_name() {
        assert_eq!(
            stream_arn_parts("arn:aws:firehose:us-east-1:123456789012:deliverystream/ses-events"),
            Some(("123456789012", "us-east-1", "ses-events"))
        );
        assert_eq!(
            bus_arn_parts("arn:aws:events:eu-west-1:123456789012:event-bus/default"),
            Some(("123456789012", "eu-west-1", "default"))
        );
        assert_eq!(
            stream_arn_parts("arn:aws:events:us-east-1:123456789012:deliverystream/x"),
            None
        );
        assert_eq!(bus_arn_parts("arn:aws:events:us-east-1:1:event-bus/"), None);
    }

    /// The signature is HMAC-SHA256 in hex (RFC 4231 test case 2).
    #[test]
    fn signature_header_is_hmac_sha256_hex() {
        assert_eq!(
            signature_header(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn names() {
        assert!(valid_stream_name("ses-events_1.x"));
        assert!(!valid_stream_name(""));
        assert!(!valid_stream_name(&"a".repeat(65)));
        assert!(!valid_stream_name("a/b"));
    }
}
