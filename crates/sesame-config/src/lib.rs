//! `sesame-config`: the one typed configuration of a Sesame instance.
//!
//! Sources, later ones winning: built-in defaults, the TOML file (`--config FILE`), then
//! `SESAME_*` environment variables (one per setting, see [`SETTINGS`]). The table of settings is
//! the single source of truth: it drives the environment overlay, validation messages and the
//! generated `docs/configuration.md` (a test proves the file is up to date).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Documentation of one setting. `key` is the TOML key, `env` the environment variable.
pub struct Setting {
    pub key: &'static str,
    pub env: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

/// Every setting Sesame reads. Keep in the order they should appear in the docs.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "data_dir",
        env: "SESAME_DATA_DIR",
        default: "./sesame-data",
        doc: "Directory holding the SQLite database (message bodies included), the instance key, the node id and the lock of the running server. Created if missing.",
    },
    Setting {
        key: "database_url",
        env: "SESAME_DATABASE_URL",
        default: "sqlite://<data_dir>/sesame.db",
        doc: "Where account state lives. `sqlite://PATH` (embedded, one node) or `postgres://user@host:port/db` (several nodes share it).",
    },
    Setting {
        key: "http_addr",
        env: "SESAME_HTTP_ADDR",
        default: "127.0.0.1:8025",
        doc: "Listen address of the SES API (v1 Query and v2 REST-JSON on one port). Use port 0 to pick a free port (the ready line prints it).",
    },
    Setting {
        key: "regions",
        env: "SESAME_REGIONS",
        default: "us-east-1",
        doc: "Comma-separated region names this deployment serves (DECISIONS Q-52). All state is keyed by account and region; the region of an API call is the SigV4 credential-scope region and must be one of these. The first is the default (SMTP passwords printed by the CLI).",
    },
    Setting {
        key: "partition",
        env: "SESAME_PARTITION",
        default: "aws",
        doc: "Partition used in ARNs (`arn:<partition>:ses:…`, Q-50).",
    },
    Setting {
        key: "service_domain",
        env: "SESAME_SERVICE_DOMAIN",
        default: "sesame.localhost",
        doc: "The operator's base domain that stands in for amazonses.com (Q-63): Easy DKIM CNAME targets are `<token>.dkim.<service_domain>`.",
    },
    Setting {
        key: "master_key",
        env: "SESAME_MASTER_KEY",
        default: "(read from <data_dir>/instance.key, generated on first start)",
        doc: "64 hex characters: the instance key that encrypts access-key secrets and DKIM private keys at rest and signs pagination tokens. Nodes sharing one PostgreSQL must share it. When unset, `<data_dir>/instance.key` is used (created with mode 0600).",
    },
    Setting {
        key: "new_accounts_in_sandbox",
        env: "SESAME_NEW_ACCOUNTS_IN_SANDBOX",
        default: "true",
        doc: "Whether new accounts start in the sandbox (spec A: 200 messages per 24 hours, 1 message per second, verified recipients only).",
    },
    Setting {
        key: "sandbox_max_24h_send",
        env: "SESAME_SANDBOX_MAX_24H_SEND",
        default: "200",
        doc: "Daily quota of an account in the sandbox.",
    },
    Setting {
        key: "sandbox_max_send_rate",
        env: "SESAME_SANDBOX_MAX_SEND_RATE",
        default: "1",
        doc: "Maximum messages per second of an account in the sandbox.",
    },
    Setting {
        key: "production_max_24h_send",
        env: "SESAME_PRODUCTION_MAX_24H_SEND",
        default: "50000",
        doc: "Daily quota given to an account when it leaves the sandbox (`sesame account production`), unless set with `sesame account set-quota`.",
    },
    Setting {
        key: "production_max_send_rate",
        env: "SESAME_PRODUCTION_MAX_SEND_RATE",
        default: "14",
        doc: "Maximum send rate given to an account when it leaves the sandbox.",
    },
    Setting {
        key: "submission_addr",
        env: "SESAME_SUBMISSION_ADDR",
        default: "127.0.0.1:2587",
        doc: "SMTP submission listener with STARTTLS (SES's ports 25/587/2587, Q-57): plaintext greeting, TLS required before AUTH and MAIL. Empty or `off` disables it. Port 0 picks a free port (the ready line prints it as `submission=ADDR`).",
    },
    Setting {
        key: "submission_tls_addr",
        env: "SESAME_SUBMISSION_TLS_ADDR",
        default: "127.0.0.1:2465",
        doc: "SMTP submission listener with implicit TLS (SES's ports 465/2465, Q-57). Empty or `off` disables it. Port 0 picks a free port (ready line: `submission_tls=ADDR`).",
    },
    Setting {
        key: "smtp_tls_cert",
        env: "SESAME_SMTP_TLS_CERT",
        default: "(none)",
        doc: "PEM certificate chain (leaf first) for both submission listeners; set together with `smtp_tls_key`. When both are unset, `sesame serve --dev` generates a self-signed certificate for `smtp_hostname` into `<data_dir>/smtp-cert.pem` (kept across restarts) and `sesame serve` refuses to start while a submission listener is enabled.",
    },
    Setting {
        key: "smtp_tls_key",
        env: "SESAME_SMTP_TLS_KEY",
        default: "(none)",
        doc: "PEM private key (PKCS#8, PKCS#1 or SEC1) of `smtp_tls_cert`.",
    },
    Setting {
        key: "smtp_region",
        env: "SESAME_SMTP_REGION",
        default: "(the first of regions)",
        doc: "Region the submission listeners are bound to (Q-57): SMTP passwords are verified for it and every message is sent in it. Must be one of `regions`; run one instance per region for several.",
    },
    Setting {
        key: "smtp_hostname",
        env: "SESAME_SMTP_HOSTNAME",
        default: "email-smtp.<smtp_region>.<service_domain>",
        doc: "Host name in the SMTP banner and EHLO reply, and of the generated development certificate; should match the name clients connect to and the certificate.",
    },
    Setting {
        key: "smtp_max_connections",
        env: "SESAME_SMTP_MAX_CONNECTIONS",
        default: "1024",
        doc: "Concurrent connections per submission listener; beyond it clients get `421 Too many concurrent SMTP connections` (Q-141).",
    },
    Setting {
        key: "smtp_max_messages_per_connection",
        env: "SESAME_SMTP_MAX_MESSAGES_PER_CONNECTION",
        default: "500",
        doc: "Messages per SMTP connection before `421 Connection limit reached, please reconnect` (Q-141).",
    },
    Setting {
        key: "delivery_mode",
        env: "SESAME_DELIVERY_MODE",
        default: "capture with serve --dev, otherwise smtp",
        doc: "What happens to accepted mail. `capture`: nothing leaves the machine; every message is DKIM-signed and stored in the dev inbox (`GET /_aws/ses` on the API listener, `sesame inbox list`), and Delivery/Bounce/Complaint events are produced as if it had been sent (mailbox simulator included). `smtp`: real delivery by the outbound MTA to each recipient domain's MX hosts (port `delivery_port`). `hold`: accepted mail stays queued and nothing is delivered (maintenance, benchmarks of acceptance); switch back and restart to release it.",
    },
    Setting {
        key: "resolver",
        env: "SESAME_RESOLVER",
        default: "(the system resolver, /etc/resolv.conf)",
        doc: "DNS server for delivery's MX/A/AAAA lookups and for identity verification (docs/verification.md), as `host:port` (e.g. `127.0.0.1:5353`). Queried over UDP with TCP fallback; no other server is consulted.",
    },
    Setting {
        key: "delivery_port",
        env: "SESAME_DELIVERY_PORT",
        default: "25",
        doc: "TCP port of the recipients' mail servers. Only for tests: the Internet uses 25.",
    },
    Setting {
        key: "outbound_ips",
        env: "SESAME_OUTBOUND_IPS",
        default: "(none: the operating system picks the source address)",
        doc: "Comma-separated source addresses the outbound MTA may bind to (the instance's sending IPs, Q-73). They are the dedicated IPs that `GetDedicatedIps` lists and pools group; mail of a configuration set with a `SendingPoolName` leaves from that pool's addresses, other mail from the addresses in no pool (or any address when all are pooled). The HELO name of each is `<a-b-c-d>.smtp-out.<service_domain>`.",
    },
    Setting {
        key: "delivery_concurrency",
        env: "SESAME_DELIVERY_CONCURRENCY",
        default: "256",
        doc: "Messages being delivered at the same time by this node (all destinations).",
    },
    Setting {
        key: "delivery_connections_per_destination",
        env: "SESAME_DELIVERY_CONNECTIONS_PER_DESTINATION",
        default: "16",
        doc: "Open SMTP connections per destination (a destination is the set of MX hosts of a domain, so domains of one provider share it). Connections are reused for several messages.",
    },
    Setting {
        key: "delivery_rate_per_destination",
        env: "SESAME_DELIVERY_RATE_PER_DESTINATION",
        default: "0",
        doc: "Most messages per second this node starts towards one destination (fractions allowed, e.g. 0.5 = one every 2 s); 0 means no limit, like Postfix's default `default_destination_rate_delay = 0s`. Messages over the rate wait their turn in the queue's memory, in order; for receivers that throttle bursts.",
    },
    Setting {
        key: "in_flow_delay_ms",
        env: "SESAME_IN_FLOW_DELAY_MS",
        default: "1000",
        doc: "In-flow control, as Postfix's `in_flow_delay`: on a node that delivers, when acceptance (API and SMTP) outruns delivery, each new message waits up to this long for delivery to finish one before it is accepted, so the queue does not grow faster than it drains and delivery keeps its share of the machine. Bursts of up to 2,048 messages are never slowed. 0 disables it. Not applied with `delivery_mode = hold`.",
    },
    Setting {
        key: "delivery_retry_base_seconds",
        env: "SESAME_DELIVERY_RETRY_BASE_SECONDS",
        default: "60",
        doc: "First retry delay after a temporary failure; it doubles with each attempt up to one hour (Q-110). Tests shorten it.",
    },
    Setting {
        key: "delivery_retry_window_seconds",
        env: "SESAME_DELIVERY_RETRY_WINDOW_SECONDS",
        default: "50400",
        doc: "How long temporary failures are retried before the message bounces (`Transient`), 14 hours by default (Q-110); a configuration set's `MaxDeliverySeconds` shortens it for its mail.",
    },
    Setting {
        key: "mx_addr",
        env: "SESAME_MX_ADDR",
        default: "127.0.0.1:2525",
        doc: "Inbound SMTP listener of the feedback domain (`feedback-smtp.<region>.<service_domain>`, port 25 in production): it accepts DSNs and ARF complaint reports addressed to the VERP MAIL FROM addresses of sent mail, and nothing else (never a relay). Empty or `off` disables it. Port 0 picks a free port (ready line: `mx=ADDR`).",
    },
    Setting {
        key: "verification_base_url",
        env: "SESAME_VERIFICATION_BASE_URL",
        default: "http://<API listener address>",
        doc: "Scheme, host and optional path prefix of the links in address verification emails (Q-74, Q-84), e.g. `https://email-verification.us-east-1.mail.example.net`: the link is `<verification_base_url>/verify?t=TOKEN` and must reach the API listener, which serves `GET /verify`. Unset: the API listener's own address, right for `--dev`.",
    },
    Setting {
        key: "verification_link_ttl_seconds",
        env: "SESAME_VERIFICATION_LINK_TTL_SECONDS",
        default: "86400",
        doc: "How long a verification link is valid; an address not confirmed within it becomes `FAILED` (D-35: 24 hours). Tests shorten it.",
    },
    Setting {
        key: "brand",
        env: "SESAME_BRAND",
        default: "Sesame",
        doc: "Service name in the subject and signature of verification emails: \"<brand> – Email Address Verification Request in region <region>\" (Q-74).",
    },
    Setting {
        key: "abuse_contact",
        env: "SESAME_ABUSE_CONTACT",
        default: "abuse@<service_domain>",
        doc: "Address the default verification email tells recipients who did not ask for it to forward it to (Q-74).",
    },
    Setting {
        key: "verification_window_seconds",
        env: "SESAME_VERIFICATION_WINDOW_SECONDS",
        default: "259200",
        doc: "DNS verification (docs/verification.md): how long a `PENDING` or `TEMPORARY_FAILURE` domain, DKIM setup or custom MAIL FROM keeps being checked before it becomes `FAILED`, 72 hours by default (spec D-39, D-99).",
    },
    Setting {
        key: "verification_pending_interval_seconds",
        env: "SESAME_VERIFICATION_PENDING_INTERVAL_SECONDS",
        default: "300",
        doc: "Interval between checks of a `PENDING` identity during the first 1/72 of the window (the first hour); six times longer until 1/3 of the window (24 hours), then `verification_retry_interval_seconds` (Q-81). The first check runs as soon as the identity is created or changed.",
    },
    Setting {
        key: "verification_retry_interval_seconds",
        env: "SESAME_VERIFICATION_RETRY_INTERVAL_SECONDS",
        default: "3600",
        doc: "Interval between checks in `TEMPORARY_FAILURE`, in late `PENDING`, and after a DNS server error on a verified identity (Q-81).",
    },
    Setting {
        key: "verification_success_interval_seconds",
        env: "SESAME_VERIFICATION_SUCCESS_INTERVAL_SECONDS",
        default: "86400",
        doc: "Interval between re-checks of verified records, plus up to 10 % jitter (Q-81). A re-check that no longer finds them moves the status to `TEMPORARY_FAILURE`.",
    },
    Setting {
        key: "verification_poll_seconds",
        env: "SESAME_VERIFICATION_POLL_SECONDS",
        default: "5",
        doc: "How often `sesame serve` looks for due verification checks in the store (every node does; a lease makes sure one identity is checked by one node at a time).",
    },
    Setting {
        key: "log",
        env: "SESAME_LOG",
        default: "info",
        doc: "Log filter (tracing `EnvFilter` syntax, e.g. `info,sesame_api=debug`).",
    },
    // --- the instance DNS zone and Easy DKIM rotation (issue 5; DECISIONS Q-63..Q-69, Q-92) ---
    Setting {
        key: "dns_addr",
        env: "SESAME_DNS_ADDR",
        default: "127.0.0.1:5353",
        doc: "UDP and TCP listen address of the authoritative DNS responder for `<service_domain>` (Q-65): it serves the Easy DKIM keys at `<token>.dkim.<service_domain>`, `spf.<service_domain>`, the default MAIL FROM domains `<region>.<service_domain>` and the feedback MX hosts (see docs/dns.md). Port 53 in production, with the zone delegated to it. Empty or `off` disables it. Port 0 picks a free port (ready line: `dns=ADDR`).",
    },
    Setting {
        key: "dns_public_ips",
        env: "SESAME_DNS_PUBLIC_IPS",
        default: "(the address of dns_addr, unless it is 0.0.0.0 or ::)",
        doc: "Comma-separated public addresses of the responder: the A/AAAA records of `ns.<service_domain>`, the zone's NS (the operator's delegation points there).",
    },
    Setting {
        key: "feedback_mx_ips",
        env: "SESAME_FEEDBACK_MX_IPS",
        default: "(the address of mx_addr, unless it is off, 0.0.0.0 or ::)",
        doc: "Comma-separated public addresses of the feedback MX: the A/AAAA records of `feedback-smtp.<region>.<service_domain>` for every region (Q-67, Q-68).",
    },
    Setting {
        key: "dns_ttl",
        env: "SESAME_DNS_TTL",
        default: "300",
        doc: "TTL in seconds of the records the responder serves (negative answers use min(TTL, 60), RFC 2308).",
    },
    Setting {
        key: "dkim_rotation_seconds",
        env: "SESAME_DKIM_ROTATION_SECONDS",
        default: "7776000",
        doc: "Easy DKIM key rotation period (Q-92; 90 days by default). At each rotation the next key (published since the previous rotation) starts signing, the active key stays published as the previous one, and a new key of `NextSigningKeyLength` is generated and published as the next one. `0` or `off` disables rotation. Tests use a few seconds.",
    },
    Setting {
        key: "operator_dkim",
        env: "SESAME_OPERATOR_DKIM",
        default: "true",
        doc: "The operator DKIM signature `d=<service_domain>` (Q-72, SES's `d=amazonses.com`). The 2048-bit key is generated once by the first node and stored sealed in the database (all nodes share it); the DNS responder publishes it at `<operator_selector>._domainkey.<service_domain>`. Sesame's own mail (verification emails, forwarded bounces and complaints, simulator auto-replies) is signed with it; see `operator_dkim_customer_mail` for customer mail. `false` disables the signature (system mail then leaves unsigned).",
    },
    Setting {
        key: "operator_selector",
        env: "SESAME_OPERATOR_SELECTOR",
        default: "sesame1",
        doc: "Selector `s=` of the operator DKIM signature (one DNS label, `[a-z0-9-]`). A new selector gets a new key (generated at the next start); to roll the operator key, change it.",
    },
    Setting {
        key: "operator_dkim_customer_mail",
        env: "SESAME_OPERATOR_DKIM_CUSTOMER_MAIL",
        default: "true",
        doc: "Also add the operator signature to every customer message, after the customer's own Easy DKIM/BYODKIM signature, as SES does (D-89, Q-72, AT-D-07); unsigned customer mail then still carries a valid DKIM signature (not aligned with the From domain). It costs a second RSA-2048 signature per message (about 0.3 ms of CPU on the benchmark machine, see docs/dns.md); `false` keeps the operator signature for Sesame's own mail only.",
    },
    Setting {
        key: "verification_authoritative_first",
        env: "SESAME_VERIFICATION_AUTHORITATIVE_FIRST",
        default: "true",
        doc: "DNS verification asks the zone's authoritative name servers first (Q-80): the resolver (`resolver`) finds the zone's SOA, NS and their addresses, then the servers are queried directly on port 53, without recursion, so a resolver's cache never hides a record just published or removed. The resolver answers when the servers cannot be found or do not answer. `false`: ask only the resolver (e.g. where outbound DNS to arbitrary servers is blocked).",
    },
    Setting {
        key: "tracking_base_url",
        env: "SESAME_TRACKING_BASE_URL",
        default: "https://r.<region>.<service_domain> (`--dev`: http://<API listener address>)",
        doc: "Scheme, host and optional path prefix of open/click tracking URLs (docs/tracking.md; Q-70), e.g. `https://r.us-east-1.mail.example.net`: the pixel is `<tracking_base_url>/track/open/TOKEN`, a link `<tracking_base_url>/track/click/TOKEN`, both served by the API listener without SigV4. Unset: `r.<region>.<service_domain>` with opens over https and clicks keeping the link's scheme (G-68); in `serve --dev` the API listener's own address. A configuration set's `CustomRedirectDomain` takes precedence (scheme from its `HttpsPolicy`).",
    },
    Setting {
        key: "tracking_trust_forwarded_for",
        env: "SESAME_TRACKING_TRUST_FORWARDED_FOR",
        default: "false",
        doc: "`true`: the `ipAddress` of Open and Click events is the first address of the `X-Forwarded-For` header (set this only when a proxy or CDN in front of the listener sets it, else recipients could forge it). `false`: the connection's peer address.",
    },
    Setting {
        key: "reputation_evaluation_seconds",
        env: "SESAME_REPUTATION_EVALUATION_SECONDS",
        default: "900",
        doc: "How often every node evaluates the bounce and complaint rates of every account and region and applies automatic review and pausing (docs/reputation.md; G-75 asks for at least hourly). `0` or `off` disables the periodic evaluation (`sesame account reputation` still runs one on demand).",
    },
    Setting {
        key: "reputation_minimum_volume",
        env: "SESAME_REPUTATION_MINIMUM_VOLUME",
        default: "500",
        doc: "Sends in the representative volume below which an account or configuration set stays `Healthy` whatever its rates (G-75, Q-240).",
    },
    Setting {
        key: "reputation_window_sends",
        env: "SESAME_REPUTATION_WINDOW_SENDS",
        default: "1000",
        doc: "The representative volume: rates cover the newest `max(this, sends of the last 7 days)` sends, at most 30 days back (Q-240).",
    },
    Setting {
        key: "reputation_bounce_review_rate",
        env: "SESAME_REPUTATION_BOUNCE_REVIEW_RATE",
        default: "0.05",
        doc: "Bounce rate (a fraction: 0.05 = 5 %) at or above which the account goes on `PROBATION` (G-76, Q-239).",
    },
    Setting {
        key: "reputation_bounce_pause_rate",
        env: "SESAME_REPUTATION_BOUNCE_PAUSE_RATE",
        default: "0.10",
        doc: "Bounce rate at or above which sending is paused: the account's `SendingEnabled`, or a configuration set's when it has reputation metrics enabled (G-76, G-86, G-88).",
    },
    Setting {
        key: "reputation_complaint_review_rate",
        env: "SESAME_REPUTATION_COMPLAINT_REVIEW_RATE",
        default: "0.001",
        doc: "Complaint rate at or above which the account goes on `PROBATION` (G-76, Q-239).",
    },
    Setting {
        key: "reputation_complaint_pause_rate",
        env: "SESAME_REPUTATION_COMPLAINT_PAUSE_RATE",
        default: "0.005",
        doc: "Complaint rate at or above which sending is paused (G-76).",
    },
    Setting {
        key: "reputation_count_simulator",
        env: "SESAME_REPUTATION_COUNT_SIMULATOR",
        default: "false",
        doc: "Count mailbox-simulator mail in the reputation rates. SES never does (E-82) and neither does Sesame by default; turn it on to rehearse automatic pausing with `bounce@simulator.amazonses.com`.",
    },
    Setting {
        key: "notices_fallback_address",
        env: "SESAME_NOTICES_FALLBACK_ADDRESS",
        default: "(none)",
        doc: "Comma-separated addresses that receive the account notices (MAIL FROM status changes, DKIM revocation, `NOTIFICATION_TOPIC_REMOVED`, reputation reviews and pauses; DECISIONS Q-100) of accounts that set no `AdditionalContactEmailAddresses` with `PutAccountDetails` in the notice's region. Unset: such notices stay stored, unmailed (`sesame account notices` lists them), until the account sets an address.",
    },
    Setting {
        key: "notices_poll_seconds",
        env: "SESAME_NOTICES_POLL_SECONDS",
        default: "30",
        doc: "How often every node mails the account notices not mailed yet, through Sesame's own queue (docs/notices.md). `0` or `off` disables the mailer: notices are only stored.",
    },
    Setting {
        key: "managed_pool_evaluation_seconds",
        env: "SESAME_MANAGED_POOL_EVALUATION_SECONDS",
        default: "300",
        doc: "How often every node evaluates the MANAGED dedicated IP pools of every account and region (docs/dedicated-ips.md; F-37..F-48): persists each (IP, ISP) warm-up allowance, draws IPs from the inventory (`outbound_ips` addresses in no pool) or releases them, prunes old counters and refreshes the `ses_managed_pool_*` metrics. `0` or `off` disables it (allowances still adapt when mail is sent; `sesame pool show` still reports).",
    },
    Setting {
        key: "managed_pool_activation_volume",
        env: "SESAME_MANAGED_POOL_ACTIVATION_VOLUME",
        default: "300",
        doc: "Recipients a managed pool must send in 3 days (through the shared pool while it has no IP) before it gets its first dedicated IP (F-41: \"hundreds of emails over a few days\"; Q-133).",
    },
    Setting {
        key: "managed_pool_release_volume",
        env: "SESAME_MANAGED_POOL_RELEASE_VOLUME",
        default: "100",
        doc: "Below this many recipients in 3 days a managed pool releases its IPs to the inventory and sends through the shared pool (F-42), never within 3 days of its last allocation. At most `managed_pool_activation_volume`.",
    },
    Setting {
        key: "sns_base_url",
        env: "SESAME_SNS_BASE_URL",
        default: "http://<API listener address>",
        doc: "Scheme and host of the URLs in SNS messages (DECISIONS Q-63, Q-168): `SigningCertURL` (`<sns_base_url>/SimpleNotificationService-<id>.pem`), `SubscribeURL` and `UnsubscribeURL` (`<sns_base_url>/?Action=…`); must reach the API listener. Production: `https://sns.<region>.<service_domain>`. Unset: the API listener's own address, right for `--dev`.",
    },
    Setting {
        key: "sns_retry_base_seconds",
        env: "SESAME_SNS_RETRY_BASE_SECONDS",
        default: "1",
        doc: "First retry delay of an SNS HTTP(S) delivery; doubles per attempt (Q-170).",
    },
    Setting {
        key: "sns_retry_max_delay_seconds",
        env: "SESAME_SNS_RETRY_MAX_DELAY_SECONDS",
        default: "1200",
        doc: "Longest delay between two attempts of an SNS HTTP(S) delivery (Q-170: 20 minutes).",
    },
    Setting {
        key: "sns_retry_window_seconds",
        env: "SESAME_SNS_RETRY_WINDOW_SECONDS",
        default: "86400",
        doc: "How long an SNS HTTP(S) delivery is retried before it becomes a dead letter (Q-170: 24 hours).",
    },
    Setting {
        key: "eventbridge_source",
        env: "SESAME_EVENTBRIDGE_SOURCE",
        default: "aws.ses",
        doc: "The `source` of EventBridge envelopes (Q-77, Q-177): keep `aws.ses` so existing rule patterns match.",
    },
    Setting {
        key: "contact_lists_per_account",
        env: "SESAME_CONTACT_LISTS_PER_ACCOUNT",
        default: "1",
        doc: "Contact lists an account may have in each region (docs/contact-lists.md; F-168, Z-15, Q-195): SES allows one; another `CreateContactList` answers `LimitExceededException`.",
    },
    Setting {
        key: "contact_list_max_topics",
        env: "SESAME_CONTACT_LIST_MAX_TOPICS",
        default: "20",
        doc: "Topics a contact list may have (F-168, Z-15, Q-195); more in `CreateContactList`/`UpdateContactList` answer `BadRequestException`.",
    },
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("unknown setting `{0}` in config file (known: see docs/configuration.md)")]
    UnknownKey(String),
    #[error("invalid value for {setting}: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub http_addr: SocketAddr,
    /// Never empty; the first one is the default region.
    pub regions: Vec<String>,
    pub partition: String,
    pub service_domain: String,
    /// 32 bytes when given explicitly; `None` means "use the key file in data_dir".
    pub master_key: Option<[u8; 32]>,
    pub new_accounts_in_sandbox: bool,
    pub sandbox_max_24h_send: f64,
    pub sandbox_max_send_rate: f64,
    pub production_max_24h_send: f64,
    pub production_max_send_rate: f64,
    /// STARTTLS submission listener; `None` when disabled (`off` or empty).
    pub submission_addr: Option<SocketAddr>,
    /// Implicit-TLS submission listener; `None` when disabled.
    pub submission_tls_addr: Option<SocketAddr>,
    /// Certificate chain and key for the submission listeners (both or neither).
    pub smtp_tls: Option<(PathBuf, PathBuf)>,
    /// One of `regions` (Q-57).
    pub smtp_region: String,
    pub smtp_hostname: String,
    pub smtp_max_connections: usize,
    pub smtp_max_messages_per_connection: usize,
    /// `None` when not set: [`Config::delivery_mode`] picks per `--dev`.
    pub delivery_mode: Option<DeliveryMode>,
    /// `None`: the system resolver.
    pub resolver: Option<SocketAddr>,
    pub delivery_port: u16,
    pub outbound_ips: Vec<std::net::IpAddr>,
    pub delivery_concurrency: usize,
    pub delivery_connections_per_destination: usize,
    /// In-flow control delay in ms; 0 = off.
    pub in_flow_delay_ms: u64,
    /// Messages per second per destination; 0 = unlimited.
    pub delivery_rate_per_destination: f64,
    pub delivery_retry_base_seconds: u64,
    pub delivery_retry_window_seconds: u64,
    /// DNS verification cadence (Q-81), seconds.
    pub verification_window_seconds: u64,
    pub verification_pending_interval_seconds: u64,
    pub verification_retry_interval_seconds: u64,
    pub verification_success_interval_seconds: u64,
    pub verification_poll_seconds: u64,
    /// Q-80: verification asks the zone's authoritative servers first.
    pub verification_authoritative_first: bool,
    /// Feedback MX listener; `None` when disabled.
    pub mx_addr: Option<SocketAddr>,
    /// Base of verification links; `None`: the API listener's address.
    pub verification_base_url: Option<String>,
    pub verification_link_ttl_seconds: u64,
    pub brand: String,
    pub abuse_contact: String,
    pub log: String,
    /// The instance DNS zone and Easy DKIM rotation.
    pub dns: DnsSettings,
    /// Base of open/click tracking URLs; `None`: `r.<region>.<service_domain>` (or the API
    /// listener in `--dev`).
    pub tracking_base_url: Option<String>,
    /// Take Open/Click `ipAddress` from `X-Forwarded-For`.
    pub tracking_trust_forwarded_for: bool,
    /// Automatic review and pausing (`reputation_*`).
    pub reputation: ReputationSettings,
    /// The account-notice mailer (`notices_*`).
    pub notices: NoticeSettings,
    /// Managed dedicated IP pools (`managed_pool_*`).
    pub managed_pools: ManagedPoolSettings,
    /// Base of SNS message URLs; `None`: the API listener's address.
    pub sns_base_url: Option<String>,
    pub sns_retry_base_seconds: u64,
    pub sns_retry_max_delay_seconds: u64,
    pub sns_retry_window_seconds: u64,
    /// `source` of EventBridge envelopes (Q-77).
    pub eventbridge_source: String,
    /// Contact lists per account and region (F-168, Q-195).
    pub contact_lists_per_account: usize,
    /// Topics per contact list (F-168, Q-195).
    pub contact_list_max_topics: usize,
}

/// `reputation_*` (see [`SETTINGS`]; docs/reputation.md).
#[derive(Clone, Debug, PartialEq)]
pub struct ReputationSettings {
    /// `None`: no periodic evaluation.
    pub evaluation_seconds: Option<u64>,
    pub minimum_volume: u64,
    pub window_sends: u64,
    pub bounce_review_rate: f64,
    pub bounce_pause_rate: f64,
    pub complaint_review_rate: f64,
    pub complaint_pause_rate: f64,
    pub count_simulator: bool,
}

/// `notices_*` (see [`SETTINGS`]; docs/notices.md).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoticeSettings {
    /// Recipients of the notices of accounts without a contact address; empty: none.
    pub fallback: Vec<String>,
    /// `None`: the mailer does not run.
    pub poll_seconds: Option<u64>,
}

/// `managed_pool_*` (see [`SETTINGS`]; docs/dedicated-ips.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedPoolSettings {
    /// `None`: no periodic evaluation.
    pub evaluation_seconds: Option<u64>,
    pub activation_volume: u64,
    pub release_volume: u64,
}

/// `dns_*`, `feedback_mx_ips` and `dkim_rotation_seconds` (see [`SETTINGS`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DnsSettings {
    /// The responder's listener; `None` when disabled.
    pub addr: Option<SocketAddr>,
    /// A/AAAA of `ns.<service_domain>`.
    pub public_ips: Vec<std::net::IpAddr>,
    /// A/AAAA of `feedback-smtp.<region>.<service_domain>`.
    pub feedback_mx_ips: Vec<std::net::IpAddr>,
    pub ttl: u32,
    /// `None`: rotation disabled.
    pub dkim_rotation_seconds: Option<u64>,
    /// The operator signature `d=<service_domain>` (Q-72); `None` when `operator_dkim` is off.
    pub operator_dkim: Option<OperatorDkimSettings>,
}

/// `operator_dkim`, `operator_selector`, `operator_dkim_customer_mail` (see [`SETTINGS`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorDkimSettings {
    pub selector: String,
    /// Also sign customer mail (second signature).
    pub customer_mail: bool,
}

/// `delivery_mode` (see [`SETTINGS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryMode {
    /// Store signed messages in the dev inbox instead of sending them.
    Capture,
    /// Deliver with the outbound MTA.
    Smtp,
    /// Keep everything queued.
    Hold,
}

impl DeliveryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Capture => "capture",
            DeliveryMode::Smtp => "smtp",
            DeliveryMode::Hold => "hold",
        }
    }
}

impl Config {
    pub fn default_region(&self) -> &str {
        &self.regions[0]
    }

    /// The delivery mode in effect: the setting, else `capture` for `serve --dev` and `smtp`
    /// otherwise.
    pub fn delivery_mode(&self, dev: bool) -> DeliveryMode {
        self.delivery_mode.unwrap_or(if dev {
            DeliveryMode::Capture
        } else {
            DeliveryMode::Smtp
        })
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.data_dir.join("instance.key")
    }

    /// Loads defaults, then `file` (if any), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("SESAME_"))
            .collect();
        Self::load_from(file, &env)
    }

    /// Same as [`Config::load`] with an explicit environment (tests pin it).
    pub fn load_from(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Parse {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    })?;
            for (k, v) in table {
                let setting = SETTINGS
                    .iter()
                    .find(|s| s.key == k)
                    .ok_or_else(|| ConfigError::UnknownKey(k.clone()))?;
                let s = match v {
                    toml::Value::String(s) => s,
                    toml::Value::Array(items) => items
                        .iter()
                        .map(|i| match i {
                            toml::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                values.insert(setting.key, s);
            }
        }
        for s in SETTINGS {
            if let Some(v) = env.get(s.env) {
                values.insert(s.key, v.clone());
            }
        }
        Self::from_values(&values)
    }

    fn from_values(v: &BTreeMap<&'static str, String>) -> Result<Config, ConfigError> {
        let get = |k: &str| {
            v.get(k)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let data_dir = PathBuf::from(get("data_dir").unwrap_or_else(|| "./sesame-data".into()));
        let database_url = match get("database_url") {
            Some(u) => u,
            None => format!("sqlite://{}", data_dir.join("sesame.db").display()),
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "SESAME_DATABASE_URL",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        let http_addr = get("http_addr")
            .unwrap_or_else(|| "127.0.0.1:8025".into())
            .parse()
            .map_err(|e| invalid("SESAME_HTTP_ADDR", &format!("{e} (expected host:port)")))?;
        let regions: Vec<String> = get("regions")
            .unwrap_or_else(|| "us-east-1".into())
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        if regions.is_empty() {
            return Err(invalid("SESAME_REGIONS", "at least one region is required"));
        }
        for r in &regions {
            let ok = r.len() <= 32
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(invalid(
                    "SESAME_REGIONS",
                    &format!("region {r:?} must match [a-z0-9-]+"),
                ));
            }
        }
        let smtp_region = get("smtp_region").unwrap_or_else(|| regions[0].clone());
        if !regions.contains(&smtp_region) {
            return Err(invalid(
                "SESAME_SMTP_REGION",
                &format!(
                    "{smtp_region:?} is not one of SESAME_REGIONS ({})",
                    regions.join(",")
                ),
            ));
        }
        let service_domain = get("service_domain")
            .unwrap_or_else(|| "sesame.localhost".into())
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let smtp_hostname = get("smtp_hostname")
            .unwrap_or_else(|| format!("email-smtp.{smtp_region}.{service_domain}"));
        let smtp_tls = match (get("smtp_tls_cert"), get("smtp_tls_key")) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "SESAME_SMTP_TLS_KEY",
                    "must be set together with SESAME_SMTP_TLS_CERT",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "SESAME_SMTP_TLS_CERT",
                    "must be set together with SESAME_SMTP_TLS_KEY",
                ))
            }
        };
        let master_key = match get("master_key") {
            None => None,
            Some(hexkey) => Some(parse_key(&hexkey)?),
        };
        let abuse_contact =
            get("abuse_contact").unwrap_or_else(|| format!("abuse@{service_domain}"));
        Ok(Config {
            data_dir,
            database_url,
            http_addr,
            regions,
            partition: get("partition").unwrap_or_else(|| "aws".into()),
            service_domain,
            master_key,
            new_accounts_in_sandbox: parse_bool(
                "SESAME_NEW_ACCOUNTS_IN_SANDBOX",
                get("new_accounts_in_sandbox"),
                true,
            )?,
            sandbox_max_24h_send: parse_num(
                "SESAME_SANDBOX_MAX_24H_SEND",
                get("sandbox_max_24h_send"),
                200.0,
            )?,
            sandbox_max_send_rate: parse_num(
                "SESAME_SANDBOX_MAX_SEND_RATE",
                get("sandbox_max_send_rate"),
                1.0,
            )?,
            production_max_24h_send: parse_num(
                "SESAME_PRODUCTION_MAX_24H_SEND",
                get("production_max_24h_send"),
                50000.0,
            )?,
            production_max_send_rate: parse_num(
                "SESAME_PRODUCTION_MAX_SEND_RATE",
                get("production_max_send_rate"),
                14.0,
            )?,
            submission_addr: parse_listener(
                "SESAME_SUBMISSION_ADDR",
                v.get("submission_addr"),
                "127.0.0.1:2587",
            )?,
            submission_tls_addr: parse_listener(
                "SESAME_SUBMISSION_TLS_ADDR",
                v.get("submission_tls_addr"),
                "127.0.0.1:2465",
            )?,
            smtp_tls,
            smtp_region,
            smtp_hostname,
            smtp_max_connections: parse_count(
                "SESAME_SMTP_MAX_CONNECTIONS",
                get("smtp_max_connections"),
                1024,
            )?,
            smtp_max_messages_per_connection: parse_count(
                "SESAME_SMTP_MAX_MESSAGES_PER_CONNECTION",
                get("smtp_max_messages_per_connection"),
                500,
            )?,
            delivery_mode: match get("delivery_mode").as_deref() {
                None => None,
                Some("capture") => Some(DeliveryMode::Capture),
                Some("smtp") => Some(DeliveryMode::Smtp),
                Some("hold") => Some(DeliveryMode::Hold),
                Some(other) => {
                    return Err(invalid(
                        "SESAME_DELIVERY_MODE",
                        &format!("{other:?} is not a delivery mode (capture, smtp or hold)"),
                    ))
                }
            },
            resolver: match get("resolver") {
                None => None,
                Some(r) => Some(r.parse().map_err(|e| {
                    invalid("SESAME_RESOLVER", &format!("{e} (expected host:port)"))
                })?),
            },
            delivery_port: match get("delivery_port") {
                None => 25,
                Some(p) => p
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| invalid("SESAME_DELIVERY_PORT", "expected a port 1-65535"))?,
            },
            outbound_ips: match get("outbound_ips") {
                None => vec![],
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse()
                            .map_err(|e| invalid("SESAME_OUTBOUND_IPS", &format!("{s:?}: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            },
            delivery_concurrency: parse_count(
                "SESAME_DELIVERY_CONCURRENCY",
                get("delivery_concurrency"),
                256,
            )?,
            delivery_connections_per_destination: parse_count(
                "SESAME_DELIVERY_CONNECTIONS_PER_DESTINATION",
                get("delivery_connections_per_destination"),
                16,
            )?,
            in_flow_delay_ms: parse_num("SESAME_IN_FLOW_DELAY_MS", get("in_flow_delay_ms"), 1000.0)?
                as u64,
            delivery_rate_per_destination: parse_num(
                "SESAME_DELIVERY_RATE_PER_DESTINATION",
                get("delivery_rate_per_destination"),
                0.0,
            )?,
            delivery_retry_base_seconds: parse_count(
                "SESAME_DELIVERY_RETRY_BASE_SECONDS",
                get("delivery_retry_base_seconds"),
                60,
            )? as u64,
            delivery_retry_window_seconds: parse_count(
                "SESAME_DELIVERY_RETRY_WINDOW_SECONDS",
                get("delivery_retry_window_seconds"),
                50_400,
            )? as u64,
            verification_window_seconds: parse_count(
                "SESAME_VERIFICATION_WINDOW_SECONDS",
                get("verification_window_seconds"),
                259_200,
            )? as u64,
            verification_pending_interval_seconds: parse_count(
                "SESAME_VERIFICATION_PENDING_INTERVAL_SECONDS",
                get("verification_pending_interval_seconds"),
                300,
            )? as u64,
            verification_retry_interval_seconds: parse_count(
                "SESAME_VERIFICATION_RETRY_INTERVAL_SECONDS",
                get("verification_retry_interval_seconds"),
                3_600,
            )? as u64,
            verification_success_interval_seconds: parse_count(
                "SESAME_VERIFICATION_SUCCESS_INTERVAL_SECONDS",
                get("verification_success_interval_seconds"),
                86_400,
            )? as u64,
            verification_poll_seconds: parse_count(
                "SESAME_VERIFICATION_POLL_SECONDS",
                get("verification_poll_seconds"),
                5,
            )? as u64,
            verification_authoritative_first: parse_bool(
                "SESAME_VERIFICATION_AUTHORITATIVE_FIRST",
                get("verification_authoritative_first"),
                true,
            )?,
            mx_addr: parse_listener("SESAME_MX_ADDR", v.get("mx_addr"), "127.0.0.1:2525")?,
            verification_base_url: match get("verification_base_url") {
                None => None,
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    Some(u.trim_end_matches('/').to_string())
                }
                Some(u) => {
                    return Err(invalid(
                        "SESAME_VERIFICATION_BASE_URL",
                        &format!("{u:?} is not an http:// or https:// URL"),
                    ))
                }
            },
            verification_link_ttl_seconds: parse_count(
                "SESAME_VERIFICATION_LINK_TTL_SECONDS",
                get("verification_link_ttl_seconds"),
                86_400,
            )? as u64,
            brand: get("brand").unwrap_or_else(|| "Sesame".into()),
            abuse_contact,
            log: get("log").unwrap_or_else(|| "info".into()),
            dns: dns_settings(v, &get)?,
            tracking_base_url: match get("tracking_base_url") {
                None => None,
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    Some(u.trim_end_matches('/').to_string())
                }
                Some(u) => {
                    return Err(invalid(
                        "SESAME_TRACKING_BASE_URL",
                        &format!("{u:?} is not an http:// or https:// URL"),
                    ))
                }
            },
            tracking_trust_forwarded_for: parse_bool(
                "SESAME_TRACKING_TRUST_FORWARDED_FOR",
                get("tracking_trust_forwarded_for"),
                false,
            )?,
            sns_base_url: match get("sns_base_url") {
                None => None,
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    Some(u.trim_end_matches('/').to_string())
                }
                Some(u) => {
                    return Err(invalid(
                        "SESAME_SNS_BASE_URL",
                        &format!("{u:?} is not an http:// or https:// URL"),
                    ))
                }
            },
            reputation: reputation_settings(&get)?,
            notices: notice_settings(&get)?,
            managed_pools: managed_pool_settings(&get)?,
            sns_retry_base_seconds: parse_count(
                "SESAME_SNS_RETRY_BASE_SECONDS",
                get("sns_retry_base_seconds"),
                1,
            )? as u64,
            sns_retry_max_delay_seconds: parse_count(
                "SESAME_SNS_RETRY_MAX_DELAY_SECONDS",
                get("sns_retry_max_delay_seconds"),
                1200,
            )? as u64,
            sns_retry_window_seconds: parse_count(
                "SESAME_SNS_RETRY_WINDOW_SECONDS",
                get("sns_retry_window_seconds"),
                86_400,
            )? as u64,
            eventbridge_source: match get("eventbridge_source") {
                None => "aws.ses".into(),
                Some(s) if !s.trim().is_empty() && !s.contains(char::is_whitespace) => s,
                Some(s) => {
                    return Err(invalid(
                        "SESAME_EVENTBRIDGE_SOURCE",
                        &format!("{s:?}: a non-empty source without spaces, such as aws.ses"),
                    ))
                }
            },
            contact_lists_per_account: parse_count(
                "SESAME_CONTACT_LISTS_PER_ACCOUNT",
                get("contact_lists_per_account"),
                1,
            )?,
            contact_list_max_topics: parse_count(
                "SESAME_CONTACT_LIST_MAX_TOPICS",
                get("contact_list_max_topics"),
                20,
            )?,
        })
    }
}

fn ip_list(setting: &'static str, list: &str) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|e| invalid(setting, &format!("{s:?}: {e}")))
        })
        .collect()
}

/// The address of a listener when it can be published (not the wildcard address).
fn listener_ip(addr: Option<SocketAddr>) -> Vec<std::net::IpAddr> {
    addr.map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified())
        .into_iter()
        .collect()
}

fn dns_settings(
    v: &BTreeMap<&'static str, String>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<DnsSettings, ConfigError> {
    let addr = parse_listener("SESAME_DNS_ADDR", v.get("dns_addr"), "127.0.0.1:5353")?;
    let mx_addr = parse_listener("SESAME_MX_ADDR", v.get("mx_addr"), "127.0.0.1:2525")?;
    let public_ips = match get("dns_public_ips") {
        Some(l) => ip_list("SESAME_DNS_PUBLIC_IPS", &l)?,
        None => listener_ip(addr),
    };
    let feedback_mx_ips = match get("feedback_mx_ips") {
        Some(l) => ip_list("SESAME_FEEDBACK_MX_IPS", &l)?,
        None => listener_ip(mx_addr),
    };
    let ttl = parse_count("SESAME_DNS_TTL", get("dns_ttl"), 300)?;
    let ttl = u32::try_from(ttl).map_err(|_| invalid("SESAME_DNS_TTL", "too large"))?;
    let dkim_rotation_seconds = match get("dkim_rotation_seconds").as_deref() {
        None => Some(90 * 24 * 3600),
        Some("0") | Some("off") => None,
        Some(s) => Some(s.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            invalid(
                "SESAME_DKIM_ROTATION_SECONDS",
                &format!("{s:?} is not a number of seconds (or 0/off)"),
            )
        })?),
    };
    let operator_dkim = if parse_bool("SESAME_OPERATOR_DKIM", get("operator_dkim"), true)? {
        let selector = get("operator_selector")
            .unwrap_or_else(|| "sesame1".into())
            .to_ascii_lowercase();
        if selector.is_empty()
            || selector.len() > 63
            || selector.starts_with('-')
            || selector.ends_with('-')
            || !selector
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "SESAME_OPERATOR_SELECTOR",
                &format!("{selector:?} is not one DNS label of [a-z0-9-]"),
            ));
        }
        Some(OperatorDkimSettings {
            selector,
            customer_mail: parse_bool(
                "SESAME_OPERATOR_DKIM_CUSTOMER_MAIL",
                get("operator_dkim_customer_mail"),
                true,
            )?,
        })
    } else {
        None
    };
    Ok(DnsSettings {
        addr,
        public_ips,
        feedback_mx_ips,
        ttl,
        dkim_rotation_seconds,
        operator_dkim,
    })
}

fn notice_settings(get: &dyn Fn(&str) -> Option<String>) -> Result<NoticeSettings, ConfigError> {
    const FALLBACK: &str = "SESAME_NOTICES_FALLBACK_ADDRESS";
    let mut fallback: Vec<String> = Vec::new();
    for a in get("notices_fallback_address")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        // A bare address, local@domain: it is an envelope recipient and a To address.
        let ok = a.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        }) && !a.contains(|c: char| c.is_whitespace() || "<>\",;".contains(c));
        if !ok {
            return Err(invalid(
                FALLBACK,
                &format!("{a:?} is not an address like notices@example.com"),
            ));
        }
        if !fallback.iter().any(|f| f.eq_ignore_ascii_case(a)) {
            fallback.push(a.to_string());
        }
    }
    let poll_seconds = match get("notices_poll_seconds").as_deref() {
        None => Some(30),
        Some("0") | Some("off") => None,
        Some(s) => Some(s.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            invalid(
                "SESAME_NOTICES_POLL_SECONDS",
                &format!("{s:?} is not a number of seconds (or 0/off)"),
            )
        })?),
    };
    Ok(NoticeSettings {
        fallback,
        poll_seconds,
    })
}

fn managed_pool_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<ManagedPoolSettings, ConfigError> {
    let evaluation_seconds = match get("managed_pool_evaluation_seconds").as_deref() {
        None => Some(300),
        Some("0") | Some("off") => None,
        Some(s) => Some(s.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            invalid(
                "SESAME_MANAGED_POOL_EVALUATION_SECONDS",
                &format!("{s:?} is not a number of seconds (or 0/off)"),
            )
        })?),
    };
    let m = ManagedPoolSettings {
        evaluation_seconds,
        activation_volume: parse_count(
            "SESAME_MANAGED_POOL_ACTIVATION_VOLUME",
            get("managed_pool_activation_volume"),
            300,
        )? as u64,
        release_volume: parse_count(
            "SESAME_MANAGED_POOL_RELEASE_VOLUME",
            get("managed_pool_release_volume"),
            100,
        )? as u64,
    };
    if m.release_volume > m.activation_volume {
        return Err(invalid(
            "SESAME_MANAGED_POOL_RELEASE_VOLUME",
            "must not be above SESAME_MANAGED_POOL_ACTIVATION_VOLUME",
        ));
    }
    Ok(m)
}

fn reputation_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<ReputationSettings, ConfigError> {
    let evaluation_seconds = match get("reputation_evaluation_seconds").as_deref() {
        None => Some(900),
        Some("0") | Some("off") => None,
        Some(s) => Some(s.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            invalid(
                "SESAME_REPUTATION_EVALUATION_SECONDS",
                &format!("{s:?} is not a number of seconds (or 0/off)"),
            )
        })?),
    };
    let rate = |setting: &'static str, key: &str, default: f64| -> Result<f64, ConfigError> {
        let r = parse_num(setting, get(key), default)?;
        if r > 1.0 {
            return Err(invalid(setting, &format!("{r} is not a fraction (0 to 1)")));
        }
        Ok(r)
    };
    let r = ReputationSettings {
        evaluation_seconds,
        minimum_volume: parse_count(
            "SESAME_REPUTATION_MINIMUM_VOLUME",
            get("reputation_minimum_volume"),
            500,
        )? as u64,
        window_sends: parse_count(
            "SESAME_REPUTATION_WINDOW_SENDS",
            get("reputation_window_sends"),
            1000,
        )? as u64,
        bounce_review_rate: rate(
            "SESAME_REPUTATION_BOUNCE_REVIEW_RATE",
            "reputation_bounce_review_rate",
            0.05,
        )?,
        bounce_pause_rate: rate(
            "SESAME_REPUTATION_BOUNCE_PAUSE_RATE",
            "reputation_bounce_pause_rate",
            0.10,
        )?,
        complaint_review_rate: rate(
            "SESAME_REPUTATION_COMPLAINT_REVIEW_RATE",
            "reputation_complaint_review_rate",
            0.001,
        )?,
        complaint_pause_rate: rate(
            "SESAME_REPUTATION_COMPLAINT_PAUSE_RATE",
            "reputation_complaint_pause_rate",
            0.005,
        )?,
        count_simulator: parse_bool(
            "SESAME_REPUTATION_COUNT_SIMULATOR",
            get("reputation_count_simulator"),
            false,
        )?,
    };
    if r.bounce_pause_rate < r.bounce_review_rate {
        return Err(invalid(
            "SESAME_REPUTATION_BOUNCE_PAUSE_RATE",
            "must not be below SESAME_REPUTATION_BOUNCE_REVIEW_RATE",
        ));
    }
    if r.complaint_pause_rate < r.complaint_review_rate {
        return Err(invalid(
            "SESAME_REPUTATION_COMPLAINT_PAUSE_RATE",
            "must not be below SESAME_REPUTATION_COMPLAINT_REVIEW_RATE",
        ));
    }
    Ok(r)
}

fn invalid(setting: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        setting,
        message: message.to_string(),
    }
}

fn parse_bool(
    setting: &'static str,
    v: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
    match v.as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(
            setting,
            &format!("{other:?} is not a boolean (true/false)"),
        )),
    }
}

fn parse_num(setting: &'static str, v: Option<String>, default: f64) -> Result<f64, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => match s.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
            _ => Err(invalid(
                setting,
                &format!("{s:?} is not a non-negative number"),
            )),
        },
    }
}

/// A listener address: unset → `default`; empty or `off` → disabled (`None`).
fn parse_listener(
    setting: &'static str,
    v: Option<&String>,
    default: &str,
) -> Result<Option<SocketAddr>, ConfigError> {
    let text = v.map(|s| s.trim()).unwrap_or(default);
    if text.is_empty() || text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|e| invalid(setting, &format!("{e} (expected host:port, or off)")))
}

/// A positive whole number.
fn parse_count(
    setting: &'static str,
    v: Option<String>,
    default: usize,
) -> Result<usize, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(invalid(
                setting,
                &format!("{s:?} is not a positive integer"),
            )),
        },
    }
}

fn parse_key(s: &str) -> Result<[u8; 32], ConfigError> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    match bytes {
        Some(b) if b.len() == 32 && s.len() == 64 => {
            let mut k = [0u8; 32];
            k.copy_from_slice(&b);
            Ok(k)
        }
        _ => Err(invalid(
            "SESAME_MASTER_KEY",
            "must be 64 hexadecimal characters (32 bytes)",
        )),
    }
}

/// Renders `docs/configuration.md` from [`SETTINGS`].
pub fn render_docs() -> String {
    let mut out = String::from(
        "# Configuration\n\n\
         <!-- Generated from crates/sesame-config/src/lib.rs (SETTINGS); \
         a test checks this file is up to date. Regenerate with `sesame config docs > docs/configuration.md`. -->\n\n\
         Sesame reads, in order (later wins): built-in defaults, the TOML file given with \
         `sesame serve --config FILE`, then environment variables. Every setting has both forms: \
         the TOML key and the `SESAME_*` variable. Lists are comma-separated in the environment and \
         either a TOML array or a comma-separated string in the file. `sesame serve --dev` needs none of them.\n\n\
         Example `sesame.toml`:\n\n```toml\ndata_dir = \"/var/lib/sesame\"\n\
         database_url = \"postgres://sesame@127.0.0.1:5432/sesame\"\nhttp_addr = \"0.0.0.0:8025\"\n\
         regions = [\"us-east-1\", \"eu-west-1\"]\nservice_domain = \"mail.example.net\"\n```\n\n\
         | TOML key | Environment variable | Default | Meaning |\n|---|---|---|---|\n",
    );
    for s in SETTINGS {
        out.push_str(&format!(
            "| `{}` | `{}` | `{}` | {} |\n",
            s.key, s.env, s.default, s.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_work_with_nothing_set() {
        let c = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8025");
        assert_eq!(c.regions, vec!["us-east-1"]);
        assert_eq!(c.database_url, "sqlite://./sesame-data/sesame.db");
        assert!(c.new_accounts_in_sandbox);
        assert_eq!(c.sandbox_max_24h_send, 200.0);
        assert_eq!(c.master_key, None);
        assert_eq!(c.submission_addr.unwrap().to_string(), "127.0.0.1:2587");
        assert_eq!(c.submission_tls_addr.unwrap().to_string(), "127.0.0.1:2465");
        assert_eq!(c.smtp_region, "us-east-1");
        assert_eq!(c.smtp_hostname, "email-smtp.us-east-1.sesame.localhost");
        assert_eq!(c.smtp_tls, None);
        assert_eq!(c.smtp_max_connections, 1024);
    }

    #[test]
    fn smtp_listeners_can_be_disabled_and_region_checked() {
        let c = Config::load_from(
            None,
            &env(&[
                ("SESAME_SUBMISSION_ADDR", "off"),
                ("SESAME_SUBMISSION_TLS_ADDR", ""),
                ("SESAME_REGIONS", "eu-west-1,us-east-1"),
                ("SESAME_SMTP_REGION", "us-east-1"),
                ("SESAME_SERVICE_DOMAIN", "Mail.Example.NET."),
            ]),
        )
        .unwrap();
        assert_eq!(c.submission_addr, None);
        assert_eq!(c.submission_tls_addr, None);
        assert_eq!(c.smtp_hostname, "email-smtp.us-east-1.mail.example.net");
        let c =
            Config::load_from(None, &env(&[("SESAME_REGIONS", "eu-west-1,us-east-1")])).unwrap();
        assert_eq!(c.smtp_region, "eu-west-1");
        for (pairs, setting) in [
            (
                vec![("SESAME_SMTP_REGION", "ap-south-1")],
                "SESAME_SMTP_REGION",
            ),
            (
                vec![("SESAME_SUBMISSION_ADDR", "nope")],
                "SESAME_SUBMISSION_ADDR",
            ),
            (
                vec![("SESAME_SMTP_TLS_CERT", "/c.pem")],
                "SESAME_SMTP_TLS_KEY",
            ),
            (
                vec![("SESAME_SMTP_MAX_CONNECTIONS", "0")],
                "SESAME_SMTP_MAX_CONNECTIONS",
            ),
        ] {
            let err = Config::load_from(None, &env(&pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains(setting), "{setting}: {err}");
        }
    }

    #[test]
    fn file_then_env_overrides() {
        let dir = std::env::temp_dir().join(format!("sesame-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(
            &f,
            "http_addr = \"127.0.0.1:9000\"\nregions = [\"eu-west-1\", \"us-east-1\"]\nsandbox_max_24h_send = 10\n",
        )
        .unwrap();
        let c =
            Config::load_from(Some(&f), &env(&[("SESAME_HTTP_ADDR", "127.0.0.1:9001")])).unwrap();
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:9001");
        assert_eq!(c.regions, vec!["eu-west-1", "us-east-1"]);
        assert_eq!(c.default_region(), "eu-west-1");
        assert_eq!(c.sandbox_max_24h_send, 10.0);
        std::fs::write(&f, "nonsense_key = 1\n").unwrap();
        assert!(matches!(
            Config::load_from(Some(&f), &env(&[])),
            Err(ConfigError::UnknownKey(k)) if k == "nonsense_key"
        ));
    }

    /// Q-100: the account-notice mailer's settings: defaults, lists, `off`, bad values.
    #[test]
    fn notice_settings() {
        let c = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(
            c.notices,
            NoticeSettings {
                fallback: vec![],
                poll_seconds: Some(30)
            }
        );
        let c = Config::load_from(
            None,
            &env(&[
                (
                    "SESAME_NOTICES_FALLBACK_ADDRESS",
                    " ops@provider.test, OPS@provider.test,noc@provider.test ",
                ),
                ("SESAME_NOTICES_POLL_SECONDS", "off"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.notices.fallback,
            vec!["ops@provider.test", "noc@provider.test"]
        );
        assert_eq!(c.notices.poll_seconds, None);
        for (k, v) in [
            ("SESAME_NOTICES_FALLBACK_ADDRESS", "ops"),
            ("SESAME_NOTICES_FALLBACK_ADDRESS", "Ops <ops@provider.test>"),
            ("SESAME_NOTICES_FALLBACK_ADDRESS", "ops@localhost"),
            ("SESAME_NOTICES_POLL_SECONDS", "-1"),
            ("SESAME_NOTICES_POLL_SECONDS", "soon"),
        ] {
            assert!(
                matches!(
                    Config::load_from(None, &env(&[(k, v)])),
                    Err(ConfigError::Invalid { setting, .. }) if setting == k
                ),
                "{k}={v}"
            );
        }
    }

    /// F-41, F-42, Q-133: the managed-pool defaults, and thresholds that must make sense.
    #[test]
    fn managed_pool_defaults_and_validation() {
        let c = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(
            c.managed_pools,
            ManagedPoolSettings {
                evaluation_seconds: Some(300),
                activation_volume: 300,
                release_volume: 100,
            }
        );
        let c = Config::load_from(
            None,
            &env(&[
                ("SESAME_MANAGED_POOL_EVALUATION_SECONDS", "off"),
                ("SESAME_MANAGED_POOL_ACTIVATION_VOLUME", "1"),
                ("SESAME_MANAGED_POOL_RELEASE_VOLUME", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.managed_pools.evaluation_seconds, None);
        assert_eq!(c.managed_pools.activation_volume, 1);
        for pairs in [
            vec![("SESAME_MANAGED_POOL_EVALUATION_SECONDS", "later")],
            vec![("SESAME_MANAGED_POOL_ACTIVATION_VOLUME", "0")],
            vec![("SESAME_MANAGED_POOL_RELEASE_VOLUME", "301")],
        ] {
            let err = Config::load_from(None, &env(&pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains(pairs[0].0), "{pairs:?}: {err}");
        }
    }

    /// G-76, Z-1, Q-239, Q-240: the reputation defaults, and thresholds that must make sense.
    #[test]
    fn reputation_defaults_and_validation() {
        let c = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(
            c.reputation,
            ReputationSettings {
                evaluation_seconds: Some(900),
                minimum_volume: 500,
                window_sends: 1000,
                bounce_review_rate: 0.05,
                bounce_pause_rate: 0.10,
                complaint_review_rate: 0.001,
                complaint_pause_rate: 0.005,
                count_simulator: false,
            }
        );
        let c = Config::load_from(
            None,
            &env(&[
                ("SESAME_REPUTATION_EVALUATION_SECONDS", "off"),
                ("SESAME_REPUTATION_COUNT_SIMULATOR", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(c.reputation.evaluation_seconds, None);
        assert!(c.reputation.count_simulator);
        for (k, v) in [
            ("SESAME_REPUTATION_BOUNCE_PAUSE_RATE", "0.01"),
            ("SESAME_REPUTATION_COMPLAINT_PAUSE_RATE", "0.0001"),
            ("SESAME_REPUTATION_BOUNCE_REVIEW_RATE", "5"),
            ("SESAME_REPUTATION_MINIMUM_VOLUME", "0"),
            ("SESAME_REPUTATION_EVALUATION_SECONDS", "soon"),
        ] {
            let err = Config::load_from(None, &env(&[(k, v)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(k), "{k}: {err}");
        }
    }

    #[test]
    fn invalid_values_name_the_setting() {
        for (k, v) in [
            ("SESAME_HTTP_ADDR", "nope"),
            ("SESAME_REGIONS", "US-EAST-1"),
            ("SESAME_DATABASE_URL", "mysql://x"),
            ("SESAME_MASTER_KEY", "abcd"),
            ("SESAME_NEW_ACCOUNTS_IN_SANDBOX", "maybe"),
            ("SESAME_SANDBOX_MAX_SEND_RATE", "-1"),
            ("SESAME_DELIVERY_MODE", "relay"),
        ] {
            let err = Config::load_from(None, &env(&[(k, v)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(k), "{k}: {err}");
        }
        let key = "00".repeat(32);
        let c = Config::load_from(None, &env(&[("SESAME_MASTER_KEY", &key)])).unwrap();
        assert_eq!(c.master_key, Some([0u8; 32]));
    }

    /// `delivery_mode`: capture in `--dev`, smtp otherwise, unless set.
    #[test]
    fn delivery_mode_defaults_per_dev() {
        let c = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(c.delivery_mode(true), DeliveryMode::Capture);
        assert_eq!(c.delivery_mode(false), DeliveryMode::Smtp);
        let c = Config::load_from(None, &env(&[("SESAME_DELIVERY_MODE", "capture")])).unwrap();
        assert_eq!(c.delivery_mode(false), DeliveryMode::Capture);
        let c = Config::load_from(None, &env(&[("SESAME_DELIVERY_MODE", "smtp")])).unwrap();
        assert_eq!(c.delivery_mode(true), DeliveryMode::Smtp);
    }

    /// Q-65, Q-92: the DNS responder and rotation settings, with defaults derived from the
    /// listeners they publish.
    #[test]
    fn dns_settings() {
        let c = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(c.dns.addr.unwrap().to_string(), "127.0.0.1:5353");
        assert_eq!(
            c.dns.public_ips,
            vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
        );
        assert_eq!(
            c.dns.feedback_mx_ips,
            vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
        );
        assert_eq!(c.dns.ttl, 300);
        assert_eq!(c.dns.dkim_rotation_seconds, Some(7_776_000));
        let c = Config::load_from(
            None,
            &env(&[
                ("SESAME_DNS_ADDR", "0.0.0.0:53"),
                ("SESAME_MX_ADDR", "off"),
                ("SESAME_DKIM_ROTATION_SECONDS", "off"),
            ]),
        )
        .unwrap();
        assert!(c.dns.public_ips.is_empty() && c.dns.feedback_mx_ips.is_empty());
        assert_eq!(c.dns.dkim_rotation_seconds, None);
        let c = Config::load_from(
            None,
            &env(&[
                ("SESAME_DNS_ADDR", "off"),
                ("SESAME_FEEDBACK_MX_IPS", "192.0.2.1, 2001:db8::1"),
                ("SESAME_DKIM_ROTATION_SECONDS", "5"),
            ]),
        )
        .unwrap();
        assert_eq!(c.dns.addr, None);
        assert_eq!(c.dns.feedback_mx_ips.len(), 2);
        assert_eq!(c.dns.dkim_rotation_seconds, Some(5));
        for (k, v) in [
            ("SESAME_DNS_PUBLIC_IPS", "ns1"),
            ("SESAME_DKIM_ROTATION_SECONDS", "-1"),
            ("SESAME_DNS_TTL", "0"),
        ] {
            let err = Config::load_from(None, &env(&[(k, v)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(k), "{err}");
        }
    }

    /// Q-72: the operator signature is on by default (selector `sesame1`, customer mail too),
    /// can be disabled, and the selector must be one DNS label.
    #[test]
    fn operator_dkim_settings() {
        let c = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(
            c.dns.operator_dkim,
            Some(OperatorDkimSettings {
                selector: "sesame1".into(),
                customer_mail: true
            })
        );
        let c = Config::load_from(
            None,
            &env(&[
                ("SESAME_OPERATOR_SELECTOR", "Op-2026"),
                ("SESAME_OPERATOR_DKIM_CUSTOMER_MAIL", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.dns.operator_dkim,
            Some(OperatorDkimSettings {
                selector: "op-2026".into(),
                customer_mail: false
            })
        );
        let c = Config::load_from(None, &env(&[("SESAME_OPERATOR_DKIM", "false")])).unwrap();
        assert_eq!(c.dns.operator_dkim, None);
        for v in ["a.b", "-x", "s_1"] {
            let err = Config::load_from(None, &env(&[("SESAME_OPERATOR_SELECTOR", v)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains("SESAME_OPERATOR_SELECTOR"), "{v}: {err}");
        }
    }

    /// docs/configuration.md is generated from SETTINGS and must be kept in sync.
    #[test]
    fn configuration_docs_are_up_to_date() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != render_docs() {
            std::fs::write(path.with_extension("md.failed"), render_docs()).unwrap();
            panic!("docs/configuration.md is stale: run `sesame config docs > docs/configuration.md` (expected output written to docs/configuration.md.failed)");
        }
    }
}
