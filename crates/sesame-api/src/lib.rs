//! `sesame-api`: the HTTP API role. One listener serves SES v2 (REST-JSON under `/v2/email/`)
//! and SES v1 (Query protocol on `/`), dispatched as DECISIONS Q-56 says. Every request is
//! authenticated with SigV4 ([`auth`]) and scoped to `(account, region)` from the credential
//! scope. Decoding, validation and encoding are generated from the botocore models
//! (`sesame-awsproto`); the handlers in [`v2`] and [`v1`] are thin translations between wire
//! shapes and `sesame-engine` calls. Besides SES: the dev inbox ([`dev_inbox`]) and the
//! Prometheus endpoint `GET /metrics` ([`metrics`]) and the address verification link `GET /verify`
//! ([`verify_link`]), the open/click tracking endpoints `GET /track/open/{token}` and
//! `GET /track/click/{token}` ([`tracking`]), the hosted unsubscribe page and RFC 8058
//! one-click endpoint `GET`/`POST /unsubscribe/{token}` ([`unsubscribe`]), all without SigV4,
//! and the DNS doctor
//! `GET /_sesame/dns-check` ([`dns_check`]), SigV4-signed. SNS (Query protocol, SigV4 service
//! `sns`) is in [`sns`], with the unsigned subscriber endpoints (certificate, subscribe and
//! unsubscribe links) in [`sns::public`].

pub mod auth;
pub mod dev_inbox;
pub mod dns_check;
pub mod error;
pub mod metrics;
pub mod send;
pub mod server;
pub mod sns;
pub mod tracking;
pub mod unsubscribe;
pub mod v1;
pub mod v2;
pub mod verify_link;

pub use server::{router, run, ApiState};

use sesame_model::Scope;

/// Per-request context handed to every operation handler.
#[derive(Clone, Debug)]
pub struct RequestCtx {
    /// `(account, region)` of the caller; all state the handler touches is in this scope.
    pub scope: Scope,
    /// ARN of the calling principal (`arn:aws:iam::<acct>:root`), for error texts and policies.
    pub caller_arn: String,
    pub access_key_id: String,
    pub request_id: String,
    /// The client's IP address (the TCP peer), for the `ses:source-ip` auto tag (G-23).
    pub source_ip: Option<String>,
}

impl RequestCtx {
    /// The principal's name for `ses:caller-identity`: the user name of the caller's
    /// ARN (`root` for account keys).
    pub fn caller_name(&self) -> String {
        self.caller_arn
            .rsplit([':', '/'])
            .next()
            .unwrap_or("root")
            .to_string()
    }
}
