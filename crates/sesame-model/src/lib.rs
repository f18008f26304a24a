//! `sesame-model`: the vocabulary every other crate shares.
//!
//! - [`ids`]: account ids, regions, ARNs and the scope `(account, region)` that keys all state
//!   (DECISIONS.md ).
//! - [`ports`]: the storage trait that adapters (`sesame-store`) implement and the engine uses.
//!   It is async but names no runtime, so this crate stays pure (no tokio, sqlx, hyper).
//! - [`dns`]: the DNS lookup port (verification, DNS doctor) with Q-85's error classes.
//! - [`delivery`]: the outbound transport port (facts of an SMTP attempt) the MTA implements.
//! - [`mail`]: records of the sending path (queue, events outbox, quotas, captured mail).
//! - [`pool_usage`]: hourly counters of managed dedicated IP pools (F-37..F-48, SH-4).
//! - [`queue`]: operator views of the queue (entries with their lease, filter, cursor, stats).

pub mod delivery;
pub mod dns;
pub mod ids;
pub mod mail;
pub mod pool_usage;
pub mod ports;
pub mod queue;

pub use delivery::{
    AttemptError, DeliveryJob, JobReport, RecipientResult, SmtpReply, TlsPolicy, Transport,
};
pub use ids::{AccountId, Arn, Region, Scope};
pub use mail::{
    AcceptOutcome, CapturedMessage, DispatchItem, EventRecord, QueuedMessage, QuotaCheck,
    ReputationBucket, SendStatsBucket,
};
pub use pool_usage::{PoolUsage, PoolUsageCounts};
pub use ports::{
    dkim_selectors_of, AccessKeyRecord, AccountRecord, BodyStore, ContactRow, DkimSelector,
    OperatorDkimKey, Resource, ResourceKey, Store, StoreError, CONTACT_LIST_KIND, DKIM_INDEX_KIND,
};
pub use queue::{QueueCursor, QueueEntry, QueueFilter, QueueStats};
