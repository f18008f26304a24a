//! The storage port. `sesame-store` implements it for SQLite and PostgreSQL; everything above
//! the store (engine, API, CLI) only sees this trait, so the same code runs on both backends.
//!
//! Design: accounts and access keys have their own tables (they are looked up on every request
//! by key id). All other account state is a *resource*: a JSON document keyed by
//! `(account, region, kind, name)` with a version number for optimistic concurrency. That keeps
//! the two SQL dialects tiny and lets later issues add resource kinds without migrations.
//! Hot, queue-like state (spool, outbox, quotas) gets dedicated tables in later issues.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, Scope};
use crate::mail::{
    AcceptOutcome, CapturedMessage, DispatchItem, EventRecord, QueuedMessage, QuotaCheck,
    ReputationBucket, SendStatsBucket,
};
use crate::queue::{QueueCursor, QueueEntry, QueueFilter, QueueStats};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A create hit an existing primary key.
    #[error("already exists")]
    AlreadyExists,
    /// A conditional update found another version (someone else wrote first).
    #[error("version conflict")]
    Conflict,
    /// An update/delete that needs an existing row found none.
    #[error("not found")]
    NotFound,
    /// The backend failed (I/O, connection, corrupt row). Temporary from the caller's view.
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// An account. Per-region settings are the resource of kind `account` in each scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account_id: AccountId,
    /// Operator-chosen label (`sesame account create --name`).
    pub name: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// `Active` or `Closed`.
    pub status: String,
}

/// An access key. The secret is stored encrypted by the caller with the instance key;
/// the store never sees it in clear.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    /// 20 characters, `[A-Z0-9]` (AKIA… when generated; imported keys keep their id).
    pub access_key_id: String,
    pub account_id: AccountId,
    /// Principal name inside the account; `root` for the account's own keys.
    pub user_name: String,
    /// Ciphertext of the secret access key (nonce ‖ AEAD output), opaque to the store.
    pub secret_ciphertext: Vec<u8>,
    /// `Active` or `Inactive`.
    pub status: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Key of a resource document.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceKey {
    pub scope: Scope,
    /// Resource kind, e.g. `identity`, `configuration-set`, `template`, `event-destination`,
    /// `suppressed-destination`, `account`.
    pub kind: String,
    /// Unique name inside `(scope, kind)`. Composite names use `/` (e.g. `set/destination`).
    pub name: String,
}

impl ResourceKey {
    pub fn new(scope: &Scope, kind: &str, name: &str) -> Self {
        ResourceKey {
            scope: scope.clone(),
            kind: kind.to_string(),
            name: name.to_string(),
        }
    }
}

/// A stored resource document.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub key: ResourceKey,
    pub data: serde_json::Value,
    /// Starts at 1 and increases by one on every update.
    pub version: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- accounts ---
    /// Fails with `AlreadyExists` when the id is taken.
    async fn create_account(&self, account: &AccountRecord) -> Result<(), StoreError>;
    async fn get_account(&self, id: &AccountId) -> Result<Option<AccountRecord>, StoreError>;
    /// Ordered by account id.
    async fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError>;
    /// Replaces name/status. `NotFound` if absent.
    async fn update_account(&self, account: &AccountRecord) -> Result<(), StoreError>;

    // --- access keys ---
    /// Fails with `AlreadyExists` when the key id is taken (by any account).
    async fn create_access_key(&self, key: &AccessKeyRecord) -> Result<(), StoreError>;
    async fn get_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRecord>, StoreError>;
    /// Ordered by creation time, then key id.
    async fn list_access_keys(
        &self,
        account: &AccountId,
    ) -> Result<Vec<AccessKeyRecord>, StoreError>;
    /// Returns whether a key was deleted. Only deletes a key of `account`.
    async fn delete_access_key(
        &self,
        account: &AccountId,
        access_key_id: &str,
    ) -> Result<bool, StoreError>;

    // --- resources ---
    /// Inserts at version 1; `AlreadyExists` if the key exists.
    async fn insert_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError>;
    async fn get_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, StoreError>;
    /// The resources of `kind` in `scope` named in `names`, in any order; absent names are left
    /// out. For lookups made for a whole batch at once (delivery reads the suppression entries
    /// of every recipient of a claimed batch in one query instead of one per recipient).
    async fn get_resources_named(
        &self,
        scope: &Scope,
        kind: &str,
        names: &[String],
    ) -> Result<Vec<Resource>, StoreError> {
        let mut out = Vec::new();
        for name in names {
            if let Some(r) = self
                .get_resource(&ResourceKey::new(scope, kind, name))
                .await?
            {
                out.push(r);
            }
        }
        Ok(out)
    }
    /// Replaces the document if its version is still `expected_version`; bumps the version.
    /// `NotFound` if absent, `Conflict` if the version moved.
    async fn update_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<Resource, StoreError>;
    /// Inserts or replaces unconditionally (version 1 or previous + 1).
    async fn upsert_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError>;
    /// Returns whether a row was deleted.
    async fn delete_resource(&self, key: &ResourceKey) -> Result<bool, StoreError>;
    /// Deletes every resource of `kind` in `scope` whose name starts with `name_prefix`
    /// (e.g. all event destinations `set/…` of a configuration set). Returns the count.
    async fn delete_resources_by_prefix(
        &self,
        scope: &Scope,
        kind: &str,
        name_prefix: &str,
    ) -> Result<u64, StoreError>;
    /// Resources of `kind` in `scope` whose name starts with `name_prefix` and sorts strictly
    /// after `after` (byte order), ordered by name, at most `limit`.
    async fn list_resources(
        &self,
        scope: &Scope,
        kind: &str,
        name_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError>;
    /// Number of resources of `kind` in `scope`.
    async fn count_resources(&self, scope: &Scope, kind: &str) -> Result<u64, StoreError>;
    /// The Easy DKIM key behind `token` (`<token>.dkim.<sd>`, Q-65 (a)) in **every** scope:
    /// an indexed lookup of the rows the store derives with [`dkim_selectors_of`] from every
    /// write of a resource of kind [`DKIM_INDEX_KIND`], in the same transaction as that write
    /// (insert, update, upsert, delete, delete by prefix), so the index never disagrees with
    /// a committed document. `None` when no identity has that token. Should two identities
    /// ever hold the same token (tokens are random, Q-94), the first by account, region and
    /// identity wins.
    async fn find_dkim_selector(&self, token: &str) -> Result<Option<DkimSelector>, StoreError>;

    /// The operator's DKIM key for `selector`, if one was stored.
    async fn get_operator_dkim_key(
        &self,
        selector: &str,
    ) -> Result<Option<OperatorDkimKey>, StoreError>;
    /// Stores `key` unless a key for its selector exists, and returns the stored one: the
    /// first node to generate a key wins, every other node gets (and uses) the winner's, so
    /// all nodes sign with, and publish, the same key.
    async fn insert_operator_dkim_key(
        &self,
        key: &OperatorDkimKey,
    ) -> Result<OperatorDkimKey, StoreError>;

    // --- sending: queue, quotas, events outbox, dev inbox ---
    /// Accepts a batch of messages in **one transaction** (group commit: the engine batches
    /// concurrent sends). For each item, in order: check the quotas of its scope against
    /// everything accepted before it (in the database and earlier in this batch), and if they
    /// pass, reserve them, insert the queue row and the item's events. Items that fail a quota
    /// leave no trace. Returns one outcome per item. Durable when it returns (commit).
    async fn accept_messages(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError>;
    /// [`Store::accept_messages`], and each accepted item's body (`bodies[i]` for `batch[i]`)
    /// stored in the same transaction, for a [`BodyStore`] whose bodies live in this store's
    /// database ([`BodyStore::written_with_queue_row`]): one commit makes a message and its body
    /// durable together. A refused item's body is not stored.
    async fn accept_messages_with_bodies(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        bodies: Vec<Vec<u8>>,
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        let _ = (batch, bodies, now_ms);
        Err(StoreError::Backend(
            "this store does not keep message bodies".into(),
        ))
    }
    /// Recipients counted in the rolling 24 hours ending at `now_ms` (spec ).
    async fn sent_last_24h(&self, scope: &Scope, now_ms: i64) -> Result<f64, StoreError>;
    /// Claims up to `limit` messages whose `next_attempt_at <= now_ms` and whose lease is free
    /// or expired, leasing them to `node` until `now_ms + lease_ms`. Safe across nodes.
    async fn claim_messages(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedMessage>, StoreError>;
    /// Releases every lease `node` holds (a restarted node's own leases from before a crash:
    /// its deliveries in flight died with it). Returns how many messages became claimable.
    async fn release_leases(&self, node: &str) -> Result<u64, StoreError>;
    /// Removes a finished message from the queue, copies it into the sent-message log (see
    /// [`Store::find_message`]) and appends its events, atomically. Only the lease holder may
    /// finish (`Conflict` otherwise).
    async fn finish_message(
        &self,
        node: &str,
        message_id: &str,
        events: &[EventRecord],
    ) -> Result<(), StoreError>;
    /// Keeps the message queued for `recipients` only, releases the lease, sets
    /// `next_attempt_at`, increments `attempts`, and appends events, atomically.
    async fn retry_message(
        &self,
        node: &str,
        message_id: &str,
        recipients: &[String],
        next_attempt_at: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError>;
    /// Number of queued messages (for metrics and tests).
    async fn queue_depth(&self) -> Result<u64, StoreError>;

    // --- queue operations (`sesame queue`, `/metrics`; issue 4 item 7) ---
    /// Queued messages matching `filter`, ordered by `(next_attempt_at, message_id)`, strictly
    /// after `after`, at most `limit`.
    async fn list_queue(
        &self,
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        limit: usize,
    ) -> Result<Vec<QueueEntry>, StoreError>;
    /// One queued message with its lease, if it is still queued.
    async fn get_queued(&self, message_id: &str) -> Result<Option<QueueEntry>, StoreError>;
    /// Makes queued messages due at `now_ms` (one, or all when `message_id` is `None`) without
    /// touching a live lease: a message in delivery keeps its lease and its schedule. Returns
    /// how many messages moved their next attempt to `now_ms` (already-due ones do not count).
    /// For one message: `NotFound` if it is not queued, `Conflict` if it is in delivery.
    async fn retry_queued_now(
        &self,
        message_id: Option<&str>,
        now_ms: i64,
    ) -> Result<u64, StoreError>;
    /// Removes a message from the queue and leaves a tombstone (see `queue_tombstones`), in one
    /// transaction; records no event. `NotFound` if it is not queued; `Conflict` if it is in
    /// delivery at `now_ms` and `force` is false (with `force` the lease holder's
    /// `finish_message`/`retry_message` then fails with `NotFound`). Returns the removed entry.
    async fn delete_queued(
        &self,
        message_id: &str,
        force: bool,
        now_ms: i64,
    ) -> Result<QueueEntry, StoreError>;
    /// Ids of deleted messages whose body may still be in the spool, for messages created
    /// before `created_before` (so a body still being written by a concurrent accept is never
    /// raced), oldest first, at most `limit`.
    async fn queue_tombstones(
        &self,
        created_before: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Forgets tombstones once their bodies are gone. Returns the count removed.
    async fn clear_queue_tombstones(&self, message_ids: &[String]) -> Result<u64, StoreError>;
    /// Depth, deferred, in-delivery and oldest-message counts at `now_ms` (one cheap query).
    async fn queue_stats(&self, now_ms: i64) -> Result<QueueStats, StoreError>;
    /// Appends events (outbox), e.g. `Reject` for a refused send.
    async fn append_events(&self, events: &[EventRecord]) -> Result<(), StoreError>;
    /// Claims up to `limit` events of the publishing outbox (every appended event gets a row
    /// in the same transaction) that are due at `now_ms` and not leased, leasing them to `node`
    /// until `now_ms + lease_ms`. Only a message's earliest pending event is claimable, so a
    /// message's events are dispatched in commit order; two nodes never hold the same
    /// row while a lease is live. Ascending `seq`.
    async fn claim_event_dispatch(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DispatchItem>, StoreError>;
    /// Removes dispatched rows still leased by `node`. Returns the count removed.
    async fn finish_event_dispatch(&self, node: &str, seqs: &[i64]) -> Result<u64, StoreError>;
    /// Puts a row leased by `node` back, due again at `due_at` (it keeps blocking the later
    /// events of its message). `false` when the lease was lost.
    async fn retry_event_dispatch(
        &self,
        node: &str,
        seq: i64,
        due_at: i64,
    ) -> Result<bool, StoreError>;
    /// Events of one message in `scope`, ordered by timestamp then insertion.
    async fn message_events(
        &self,
        scope: &Scope,
        message_id: &str,
    ) -> Result<Vec<EventRecord>, StoreError>;
    /// `GetSendStatistics` buckets (15 minutes) from `since_ms`, ascending, non-empty only.
    async fn send_statistics(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<SendStatsBucket>, StoreError>;
    /// Hourly reputation counters of `scope` (every configuration set) from `since_ms` on,
    /// ascending; folded from the events in the same transactions that append them.
    async fn reputation_buckets(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<ReputationBucket>, StoreError>;
    /// Deletes `send_stats` buckets that start before `stats_before_ms` and `reputation_stats`
    /// buckets that start before `reputation_before_ms`, in every scope (Q-263: 14 days of
    /// `GetSendStatistics`, the reputation window's 30 days). Returns the rows deleted.
    async fn prune_statistics(
        &self,
        stats_before_ms: i64,
        reputation_before_ms: i64,
    ) -> Result<u64, StoreError>;
    /// Stores a captured message (dev inbox); idempotent on `message_id`.
    async fn capture_message(&self, message: &CapturedMessage) -> Result<(), StoreError>;
    /// Captured messages, newest first; all scopes when `scope` is `None`; one message when
    /// `message_id` is given.
    async fn captured_messages(
        &self,
        scope: Option<&Scope>,
        message_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CapturedMessage>, StoreError>;
    /// Deletes one captured message (`Some(id)`) or all of them (`None`), in every scope (the
    /// dev inbox is instance-wide, like LocalStack's `DELETE /_aws/ses`). Returns the count.
    async fn delete_captured(&self, message_id: Option<&str>) -> Result<u64, StoreError>;

    // --- dedicated IPs: warm-up counters (spec F-20, SH-4, DECISIONS Q-132) ---
    /// Adds `count` to the messages `scope` sent from source address `ip` on UTC day `day`
    /// (days since the Unix epoch) if the day's total stays at most `limit`; returns whether it
    /// did. Check and increment are one atomic statement, so nodes sharing a database never
    /// together exceed `limit`. Counters of days long past may be pruned by any call.
    async fn add_ip_sends(
        &self,
        scope: &Scope,
        ip: &str,
        day: i64,
        count: u64,
        limit: u64,
    ) -> Result<bool, StoreError>;
    /// Messages counted by [`Store::add_ip_sends`] for `(scope, ip, day)`; 0 when none.
    async fn ip_sends(&self, scope: &Scope, ip: &str, day: i64) -> Result<u64, StoreError>;

    // --- managed dedicated IP pools: hourly counters (spec F-37..F-48, SH-4, Q-133) ---
    /// Adds `usage.counts` to the row of `(scope, pool, ip, isp, hour)`. With `sent_limit`,
    /// only if the row's `sent` stays at most that limit (check and increment in one atomic
    /// statement, as [`Store::add_ip_sends`]); returns whether it added. Without, always adds.
    async fn add_pool_usage(
        &self,
        scope: &Scope,
        usage: &crate::PoolUsage,
        sent_limit: Option<u64>,
    ) -> Result<bool, StoreError>;
    /// Rows of `pool` from hour `since_hour` on (one ISP, or all), in (hour, isp, ip) order.
    async fn pool_usage(
        &self,
        scope: &Scope,
        pool: &str,
        isp: Option<&str>,
        since_hour: i64,
    ) -> Result<Vec<crate::PoolUsage>, StoreError>;
    /// Deletes every row of `pool` (the pool was deleted); returns the count.
    async fn delete_pool_usage(&self, scope: &Scope, pool: &str) -> Result<u64, StoreError>;
    /// Deletes rows of hours before `before_hour`, in every scope; returns the count.
    async fn prune_pool_usage(&self, before_hour: i64) -> Result<u64, StoreError>;

    // --- sent-message log (asynchronous feedback, Q-67, Q-166) ---
    /// A message by id wherever it is: the queue first (`true`: still queued, e.g. a DSN for
    /// one recipient while others are retried), then the sent-message log that
    /// `finish_message` fills (`false`). For a logged message, `recipients` are the queue row's
    /// as it left, `next_attempt_at` is the time it left the queue and `attempts` its count
    /// then. `None` when neither has it (never sent, or pruned).
    async fn find_message(
        &self,
        message_id: &str,
    ) -> Result<Option<(QueuedMessage, bool)>, StoreError>;
    /// Deletes log entries of messages that left the queue before `older_than_ms`; returns
    /// the count. Feedback for a pruned message is refused like an unknown one.
    async fn prune_message_log(&self, older_than_ms: i64) -> Result<u64, StoreError>;

    // --- DNS verification schedule (spec D-39, D-99; DECISIONS Q-81) ---
    /// Sets when the next check of `identity` is due (insert or replace; a live lease is kept).
    /// With `only_if_absent`, an existing row is left as it is.
    async fn schedule_verification(
        &self,
        scope: &Scope,
        identity: &str,
        due_at: i64,
        only_if_absent: bool,
    ) -> Result<(), StoreError>;
    /// When the next check of `identity` is due; `None` when it is not scheduled.
    async fn verification_due(
        &self,
        scope: &Scope,
        identity: &str,
    ) -> Result<Option<i64>, StoreError>;
    /// Claims up to `limit` identities whose check is due at `now_ms` and whose lease is free
    /// or expired, leasing them to `node` until `now_ms + lease_ms`. Safe across nodes: two
    /// claimers never get the same identity while a lease is live.
    async fn claim_verifications(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Scope, String)>, StoreError>;
    /// Claims one identity now whatever its due time (an on-demand check), creating its row if
    /// needed. `false` when another holder's lease is live.
    async fn claim_verification(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Ends `node`'s lease: the next check is due at `next_due`, or the row is removed (`None`:
    /// nothing left to check). `false` when `node` no longer held the lease.
    async fn finish_verification(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        next_due: Option<i64>,
    ) -> Result<bool, StoreError>;
    /// Removes the row (the identity was deleted). Returns whether one existed.
    async fn delete_verification(&self, scope: &Scope, identity: &str) -> Result<bool, StoreError>;

    // --- contacts of contact lists (spec F-166..F-178; DECISIONS) ---
    // A contact list is a resource of kind [`CONTACT_LIST_KIND`]; its contacts, which can be
    // many, are rows of their own table keyed by `(scope, list, email)`. Deleting the list's
    // resource (`delete_resource`, `delete_resources_by_prefix`) deletes its contacts in the
    // same transaction, and contacts are only ever inserted while the list exists.
    /// Inserts `contacts` (`(email, document)`) into `list` at version 1 in one transaction,
    /// after checking in that transaction that the list exists (`NotFound` otherwise, so no
    /// contact can outlive a concurrent delete of its list). An email already in the list is
    /// skipped when `skip_existing` (F-178: a send creates missing contacts), else the whole
    /// call fails with `AlreadyExists`. Returns how many were inserted.
    async fn insert_contacts(
        &self,
        scope: &Scope,
        list: &str,
        contacts: &[(String, serde_json::Value)],
        skip_existing: bool,
    ) -> Result<u64, StoreError>;
    async fn get_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<Option<ContactRow>, StoreError>;
    /// Replaces the contact's document if its version is still `expected_version`; bumps the
    /// version. `NotFound` if absent, `Conflict` if the version moved.
    async fn update_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<ContactRow, StoreError>;
    /// Returns whether a contact was deleted.
    async fn delete_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<bool, StoreError>;
    /// Contacts of `list` whose email sorts strictly after `after` (byte order), ordered by
    /// email, at most `limit`.
    async fn list_contacts(
        &self,
        scope: &Scope,
        list: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ContactRow>, StoreError>;
}

/// The resource kind of contact lists (`sesame_engine::contacts`): the store deletes a list's
/// contacts with it and inserts contacts only into an existing list (see the contact methods
/// of [`Store`]).
pub const CONTACT_LIST_KIND: &str = "contact-list";

/// A stored contact of a contact list (spec F-166, F-170). The document (preferences,
/// `UnsubscribeAll`, attributes) is the engine's `ContactRecord`, opaque to the store.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactRow {
    pub contact_list: String,
    /// The address as the engine normalised it (the key).
    pub email: String,
    pub data: serde_json::Value,
    /// Starts at 1 and increases by one on every update.
    pub version: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// The resource kind whose documents feed the Easy DKIM key index ([`Store::find_dkim_selector`]).
pub const DKIM_INDEX_KIND: &str = "identity";

/// One Easy DKIM key of the index: the token (selector), its owner and the `p=` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimSelector {
    pub token: String,
    pub scope: Scope,
    /// The identity (resource name) that owns the key.
    pub identity: String,
    /// Base64 SubjectPublicKeyInfo: the `p=` value served at `<token>.dkim.<sd>`.
    pub public_key: String,
}

/// The operator's DKIM key, shared by every node through the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorDkimKey {
    pub selector: String,
    /// The private key (PKCS#8 DER, base64) sealed with the instance key, base64; opaque to
    /// the store.
    pub private_key_sealed: String,
    /// `p=` value of `<selector>._domainkey.<sd>`.
    pub public_key: String,
    pub bits: i64,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// The index rows `(token, public key)` of an identity document: every key of its `dkim`
/// member when `dkim.origin` is `AWS_SES` (Easy DKIM keys live in the instance zone; BYODKIM
/// keys are in the customer's DNS, Q-65). The document shape is the engine's
/// `IdentityRecord`; a test there checks the two agree. Anything else yields nothing.
pub fn dkim_selectors_of(data: &serde_json::Value) -> Vec<(String, String)> {
    let Some(dkim) = data.get("dkim") else {
        return vec![];
    };
    if dkim.get("origin").and_then(|o| o.as_str()) != Some("AWS_SES") {
        return vec![];
    }
    let Some(keys) = dkim.get("keys").and_then(|k| k.as_array()) else {
        return vec![];
    };
    keys.iter()
        .filter_map(|k| {
            let token = k.get("selector")?.as_str()?;
            let public = k.get("public_key")?.as_str()?;
            Some((token.to_string(), public.to_string()))
        })
        .collect()
}

/// Where message bodies live (the spool). `sesame-spool` implements it on local disk with
/// group commit; an object-store implementation can come later.
#[async_trait]
pub trait BodyStore: Send + Sync + 'static {
    /// Returns only when the body is durable (fsync of the file and its directory entry).
    async fn write_body(&self, id: &str, bytes: Vec<u8>) -> std::io::Result<()>;
    async fn read_body(&self, id: &str) -> std::io::Result<Vec<u8>>;
    /// Several bodies in one read, for a batch of claimed messages: those of `ids` that are
    /// there and at most `max_each` bytes long. Larger ones, missing ones, and all of them for
    /// a store without batch reads (the default) are left out: the caller reads those one by
    /// one with [`BodyStore::read_body`].
    async fn prefetch_bodies(
        &self,
        ids: &[String],
        max_each: usize,
    ) -> std::io::Result<std::collections::HashMap<String, Vec<u8>>> {
        let _ = (ids, max_each);
        Ok(std::collections::HashMap::new())
    }
    /// Idempotent.
    async fn remove_body(&self, id: &str) -> std::io::Result<()>;
    /// True when finishing a message in the store (`Store::finish_message`) removes its body
    /// too, so delivery need not call [`BodyStore::remove_body`] afterwards (bodies kept in the
    /// store's own database). `false` for a separate spool.
    fn removed_with_message(&self) -> bool {
        false
    }
    /// True when bodies live in the store's database and are written by
    /// [`Store::accept_messages_with_bodies`] in the queue row's own transaction, instead of
    /// [`BodyStore::write_body`].
    fn written_with_queue_row(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// only Easy DKIM (`AWS_SES`) keys are indexed.
    #[test]
    fn dkim_selectors_of_documents() {
        let easy = serde_json::json!({"dkim": {"origin": "AWS_SES", "keys": [
            {"selector": "t1", "public_key": "P1", "bits": 2048},
            {"selector": "t2", "public_key": "P2"},
            {"selector": "t3"}
        ]}});
        assert_eq!(
            dkim_selectors_of(&easy),
            vec![("t1".into(), "P1".into()), ("t2".into(), "P2".into())]
        );
        let byo = serde_json::json!({"dkim": {"origin": "EXTERNAL", "keys": [
            {"selector": "sel", "public_key": "P"}]}});
        assert!(dkim_selectors_of(&byo).is_empty());
        for doc in [
            serde_json::json!({"dkim": null}),
            serde_json::json!({}),
            serde_json::json!({"dkim": {"origin": "AWS_SES"}}),
            serde_json::json!("text"),
        ] {
            assert!(dkim_selectors_of(&doc).is_empty(), "{doc}");
        }
    }
}
