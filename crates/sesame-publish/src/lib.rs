//! `sesame-publish`: outbox consumers (STYLE: "events are records before they are
//! deliveries"). Today: SNS HTTP(S) subscriptions and SES event publishing.
//!
//! - [`http`] — a minimal HTTP/1.1 POST client (plain TCP or rustls), enough to deliver one
//!   message and read the status code; SNS success is any 2xx.
//! - [`sns`] — the delivery loop: claims due records from the engine's SNS outbox
//!   (`sesame_engine::sns::outbox`), posts them concurrently, and reports success or failure
//!   (retry with backoff, dead letter after the window). Started by `sesame serve`.
//! - [`events`] — the event dispatcher: claims committed SES events from the store's
//!   publishing outbox and hands them to their destinations (configuration-set SNS
//!   destinations, identity notification topics). Started by `sesame serve`.
//! - [`sinks`] — writes stream and bus sink records (Firehose stand-ins, EventBridge rule
//!   targets) to JSON-lines files, NATS JetStream or HTTP(S), durably.

pub mod events;
pub mod http;
pub mod sinks;
pub mod sns;
