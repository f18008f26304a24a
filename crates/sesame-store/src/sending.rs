//! Queries of the sending path: `queue`, `events` (the outbox), `quota_usage`, `rate_buckets`,
//! `send_stats` and `captured` (schema: `migrations/*/0002_sending.sql`).
//!
//! Write transactions: on SQLite every one starts with `BEGIN IMMEDIATE`, which takes the
//! database's single write lock before anything is read, so read-then-write sequences (quota
//! checks, claims) are serialised and never fail with a stale snapshot. On PostgreSQL
//! `accept_messages` serialises per scope with transaction-scoped advisory locks (see
//! [`PG_SCOPE_LOCKS`]); claims use `FOR UPDATE SKIP LOCKED`; the other writes are single-row
//! conditional statements whose row locks are enough.
//!
//! Every method that appends events also folds them into `send_stats` in the same transaction
//! ([`StatsDelta::of_event`]), so statistics and outbox never disagree.

use std::collections::{BTreeMap, BTreeSet};

use sesame_model::{
    AcceptOutcome, CapturedMessage, EventRecord, QueuedMessage, ReputationBucket, Scope,
    SendStatsBucket, StoreError,
};
use sqlx::{Executor, Row};

use crate::connect::Pool;
use crate::error::{corrupt, map_err};
use crate::group_commit::{AcceptItem, FinishItem};
use crate::quota::{
    daily_allows, floor_to, quota_cutoff, rate_limited, ReputationDelta, StatsDelta, TokenBucket,
    MINUTE_MS, REPUTATION_BUCKET_MS, STATS_BUCKET_MS,
};
use crate::{rows, SqlStore};

/// Rows per multi-row INSERT: 256 × 9 binds stays far below SQLite's 32 766 and PostgreSQL's
/// 65 535 parameters, and a batch of 64 is one statement.
const INSERT_CHUNK: usize = 256;
/// `$first, $first+1, …` for `n` bound values (an `IN (…)` list after `first - 1` other
/// parameters).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most body bytes in one multi-row INSERT into `message_bodies`.
const BODY_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Advisory lock class of `accept_messages` (ASCII "SESQ"); the second key is
/// `hashtext(account_id || '/' || region)`. Two-key locks never collide with single-key ones
/// other software may take. Keys are de-duplicated and taken in ascending order in one
/// statement, so two batches touching overlapping scopes can never deadlock, even when two
/// scopes' hashes collide (a collision only serialises two scopes more than needed).
const PG_LOCK_CLASS: i32 = 0x5345_5351;

const QUEUE_COLUMNS: &str = "message_id, account_id, region, mail_from, recipients, meta, \
     created_at, next_attempt_at, attempts";

const EVENT_COLUMNS: &str = "event_id, account_id, region, message_id, event_type, timestamp, data";

const CAPTURED_COLUMNS: &str =
    "message_id, account_id, region, mail_from, recipients, raw, captured_at";

/// A scope as the two key columns.
type ScopeKey = (String, String);

fn scope_key(scope: &Scope) -> ScopeKey {
    (
        scope.account.as_str().to_string(),
        scope.region.as_str().to_string(),
    )
}

/// `send_stats` key: scope and bucket start. Ordered, so upserts take row locks in one global
/// order (no deadlock between concurrent appenders on PostgreSQL).
type StatsKey = (String, String, i64);

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("JSON value", e))
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// An event ready to bind: its JSON serialised up front so binding cannot fail.
struct EventRow<'a> {
    event: &'a EventRecord,
    data: std::borrow::Cow<'a, str>,
}

/// The JSON text of one accepted item, made by the caller before it joins a commit round
/// (`group_commit.rs`): serialising in the callers' tasks, in parallel, keeps it off the
/// serial commit path.
pub(crate) struct ItemJson {
    pub recipients: String,
    pub meta: String,
    /// One per event of the item, in order.
    pub events: Vec<String>,
}

impl ItemJson {
    pub(crate) fn of(message: &QueuedMessage, events: &[EventRecord]) -> Result<Self, StoreError> {
        Ok(ItemJson {
            recipients: to_json(&message.recipients)?,
            meta: to_json(&message.meta)?,
            events: events
                .iter()
                .map(|e| to_json(&e.data))
                .collect::<Result<_, _>>()?,
        })
    }
}

fn event_rows<'a>(
    events: impl IntoIterator<Item = &'a EventRecord>,
) -> Result<Vec<EventRow<'a>>, StoreError> {
    events
        .into_iter()
        .map(|event| {
            Ok(EventRow {
                event,
                data: to_json(&event.data)?.into(),
            })
        })
        .collect()
}

/// `reputation_stats` key: scope, configuration set (`""` for none) and hour of the send.
type ReputationKey = (String, String, String, i64);

/// What a transaction adds to `send_stats` and `reputation_stats`.
#[derive(Default)]
struct Folded {
    stats: BTreeMap<StatsKey, StatsDelta>,
    reputation: BTreeMap<ReputationKey, ReputationDelta>,
}

fn add_event_stats(folded: &mut Folded, rows: &[EventRow<'_>]) {
    for row in rows {
        let delta = StatsDelta::of_event(row.event);
        if !delta.is_zero() {
            let (account, region) = scope_key(&row.event.scope);
            let bucket = floor_to(row.event.timestamp, STATS_BUCKET_MS);
            folded
                .stats
                .entry((account, region, bucket))
                .or_default()
                .add(delta);
        }
        if let Some((set, hour, delta)) = ReputationDelta::of_event(row.event) {
            let (account, region) = scope_key(&row.event.scope);
            folded
                .reputation
                .entry((account, region, set, hour))
                .or_default()
                .add(delta);
        }
    }
}

/// Begins a write transaction bound to `$tx` (see the module docs) and runs `$body`, which must
/// commit; returning early drops `$tx`, which rolls back. `$pg` tells the body which backend
/// it was compiled for, for the few PostgreSQL-only statements.
macro_rules! write_tx {
    ($store:expr, $tx:ident, $pg:ident => $body:block) => {
        match &$store.pool {
            Pool::Sqlite(pool) => {
                let _turn = $store.sqlite_write_turn().await?;
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
            Pool::Postgres(pool) => {
                let mut $tx = pool.begin().await.map_err(map_err)?;
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
        }
    };
}

/// A SQLite write transaction of delivery bookkeeping bound to `$tx`, in the write turn, on
/// the store's bookkeeping connection (`synchronous = NORMAL`) when it has one, else on the
/// pool; `$body` must commit. Use inside the `Pool::Sqlite($pool)` arm.
macro_rules! sqlite_bookkeeping_tx {
    ($store:expr, $pool:ident, $tx:ident => $body:block) => {{
        let _turn = $store.sqlite_write_turn().await?;
        match $store.bookkeeping_connection().await? {
            Some(mut conn) => {
                let mut $tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE")
                    .await
                    .map_err(map_err)?;
                $body
            }
            None => {
                let mut $tx = $pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
                $body
            }
        }
    }};
}

/// Like `write_tx!`, for the bookkeeping of delivery: claims, finishing a message, retries.
/// Their commits are not flushed to disk one by one — SQLite: the bookkeeping connection,
/// `synchronous = NORMAL` (WAL frames written at commit, flushed with the next flushed commit
/// or checkpoint); PostgreSQL: `SET LOCAL synchronous_commit = off`. A process crash
/// (`kill -9`) loses nothing: the operating system has the writes. A power failure may lose
/// the last few of them, which only makes work happen again: the message is still queued and
/// is delivered again (at-least-once, as after a crash mid-delivery), with its events. This is
/// Postfix's trade too: the queue file is flushed when mail is accepted, not when it is
/// removed after delivery. Acceptance (`accept_rows`) and every other write stay flushed
/// before they return.
macro_rules! bookkeeping_tx {
    ($store:expr, $tx:ident, $pg:ident => $body:block) => {
        match &$store.pool {
            Pool::Sqlite(pool) => {
                #[allow(unused_variables)]
                let $pg = false;
                sqlite_bookkeeping_tx!($store, pool, $tx => $body)
            }
            Pool::Postgres(pool) => {
                let mut $tx = pool
                    .begin_with("BEGIN; SET LOCAL synchronous_commit TO OFF")
                    .await
                    .map_err(map_err)?;
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
        }
    };
}

/// Multi-row INSERT of `$rows: &[EventRow]` into `events`. Calls go through
/// `Executor::execute(&mut *tx, q)` for the reason given in `migrate.rs` (Send futures).
macro_rules! insert_events {
    ($tx:ident, $rows:expr) => {
        for chunk in $rows.chunks(INSERT_CHUNK) {
            let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO events ({EVENT_COLUMNS}) "));
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.event.event_id.as_str())
                    .push_bind(r.event.scope.account.as_str())
                    .push_bind(r.event.scope.region.as_str())
                    .push_bind(r.event.message_id.as_str())
                    .push_bind(r.event.event_type.as_str())
                    .push_bind(r.event.timestamp)
                    .push_bind(&*r.data);
            });
            (&mut *$tx).execute(qb.build()).await.map_err(map_err)?;
            // The publishing outbox row, in the same transaction (0009_event_dispatch.sql):
            // an event is committed with its row if and only if some destination could take
            // it (`EventRecord::publishable`: the Send of a message without a configuration
            // set goes nowhere, so it costs no outbox row, claim and delete).
            let publish: Vec<&EventRow> = chunk.iter().filter(|r| r.event.publishable()).collect();
            if publish.is_empty() {
                continue;
            }
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO event_dispatch (event_id, account_id, region, message_id) ",
            );
            qb.push_values(publish, |mut b, r| {
                b.push_bind(r.event.event_id.as_str())
                    .push_bind(r.event.scope.account.as_str())
                    .push_bind(r.event.scope.region.as_str())
                    .push_bind(r.event.message_id.as_str());
            });
            (&mut *$tx).execute(qb.build()).await.map_err(map_err)?;
        }
    };
}

/// Adds `$folded: &Folded` to `send_stats` and `reputation_stats`, in key order.
macro_rules! upsert_stats {
    ($tx:ident, $folded:expr) => {
        for ((account, region, bucket), d) in $folded.stats.iter() {
            (&mut *$tx)
                .execute(
                    sqlx::query(
                        "INSERT INTO send_stats (account_id, region, bucket_start, \
                         delivery_attempts, bounces, complaints, rejects) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (account_id, region, bucket_start) DO UPDATE SET \
                         delivery_attempts = send_stats.delivery_attempts \
                             + excluded.delivery_attempts, \
                         bounces = send_stats.bounces + excluded.bounces, \
                         complaints = send_stats.complaints + excluded.complaints, \
                         rejects = send_stats.rejects + excluded.rejects",
                    )
                    .bind(account.as_str())
                    .bind(region.as_str())
                    .bind(*bucket)
                    .bind(d.delivery_attempts)
                    .bind(d.bounces)
                    .bind(d.complaints)
                    .bind(d.rejects),
                )
                .await
                .map_err(map_err)?;
        }
        for ((account, region, set, bucket), d) in $folded.reputation.iter() {
            (&mut *$tx)
                .execute(
                    sqlx::query(
                        "INSERT INTO reputation_stats (account_id, region, configuration_set, \
                         bucket_start, sends, bounces, complaints, simulator_sends, \
                         simulator_bounces, simulator_complaints) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                         ON CONFLICT (account_id, region, configuration_set, bucket_start) \
                         DO UPDATE SET \
                         sends = reputation_stats.sends + excluded.sends, \
                         bounces = reputation_stats.bounces + excluded.bounces, \
                         complaints = reputation_stats.complaints + excluded.complaints, \
                         simulator_sends = reputation_stats.simulator_sends \
                             + excluded.simulator_sends, \
                         simulator_bounces = reputation_stats.simulator_bounces \
                             + excluded.simulator_bounces, \
                         simulator_complaints = reputation_stats.simulator_complaints \
                             + excluded.simulator_complaints",
                    )
                    .bind(account.as_str())
                    .bind(region.as_str())
                    .bind(set.as_str())
                    .bind(*bucket)
                    .bind(d.sends)
                    .bind(d.bounces)
                    .bind(d.complaints)
                    .bind(d.simulator_sends)
                    .bind(d.simulator_bounces)
                    .bind(d.simulator_complaints),
                )
                .await
                .map_err(map_err)?;
        }
    };
}

/// A scope's quota state inside an accept transaction.
struct ScopeState {
    /// Recipients counted in the window, including this batch's accepted items so far.
    used: i64,
    /// Recipients this batch adds (to the current minute's bucket).
    added: i64,
    /// Whether the current minute already had a `quota_usage` row (if not, this is the first
    /// write of the minute: the moment to prune the scope's expired buckets).
    minute_row_exists: bool,
    /// The stored bucket, then the refilled one once an item needed it.
    bucket: Option<TokenBucket>,
    /// Whether `bucket` changed and must be written back.
    bucket_dirty: bool,
}

impl SqlStore {
    pub(crate) async fn accept_rows(
        &self,
        batch: &[AcceptItem<'_>],
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let scopes: BTreeSet<ScopeKey> = batch
            .iter()
            .map(|item| scope_key(&item.message.scope))
            .collect();
        let minute = floor_to(now_ms, MINUTE_MS);
        let cutoff = quota_cutoff(now_ms);

        write_tx!(self, tx, pg => {
            if pg {
                let values = (1..=scopes.len())
                    .map(|i| format!("(${i})"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "SELECT pg_advisory_xact_lock({PG_LOCK_CLASS}, h) FROM \
                     (SELECT DISTINCT hashtext(k) AS h FROM (VALUES {values}) AS v(k) \
                      ORDER BY h) AS keys"
                );
                let mut q = sqlx::query(&sql);
                for (account, region) in &scopes {
                    q = q.bind(format!("{account}/{region}"));
                }
                (&mut *tx).execute(q).await.map_err(map_err)?;
            }

            // One read per scope: window sum, this minute's row, and the token bucket.
            let mut state: BTreeMap<ScopeKey, ScopeState> = BTreeMap::new();
            for key in scopes {
                let row = (&mut *tx)
                    .fetch_one(
                        sqlx::query(
                            "SELECT CAST(COALESCE((SELECT SUM(recipients) FROM quota_usage \
                               WHERE account_id = $1 AND region = $2 AND minute_bucket > $3), 0) \
                               AS BIGINT) AS used, \
                             (SELECT recipients FROM quota_usage WHERE account_id = $1 \
                               AND region = $2 AND minute_bucket = $4) AS this_minute, \
                             (SELECT tokens FROM rate_buckets WHERE account_id = $1 \
                               AND region = $2) AS tokens, \
                             (SELECT updated_at FROM rate_buckets WHERE account_id = $1 \
                               AND region = $2) AS updated_at",
                        )
                        .bind(key.0.as_str())
                        .bind(key.1.as_str())
                        .bind(cutoff)
                        .bind(minute),
                    )
                    .await
                    .map_err(map_err)?;
                let used: i64 = row.try_get("used").map_err(map_err)?;
                let this_minute: Option<i64> = row.try_get("this_minute").map_err(map_err)?;
                let tokens: Option<f64> = row.try_get("tokens").map_err(map_err)?;
                let updated_at: Option<i64> = row.try_get("updated_at").map_err(map_err)?;
                let bucket = match (tokens, updated_at) {
                    (Some(tokens), Some(updated_at)) => Some(TokenBucket { tokens, updated_at }),
                    _ => None,
                };
                state.insert(
                    key,
                    ScopeState {
                        used,
                        added: 0,
                        minute_row_exists: this_minute.is_some(),
                        bucket,
                        bucket_dirty: false,
                    },
                );
            }

            // Decide item by item, in order, against the running state (Q-105: daily first,
            // then rate; a refused item changes nothing).
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut accepted = Vec::new();
            let mut stats = Folded::default();
            for (i, item) in batch.iter().enumerate() {
                let (m, check) = (item.message, item.check);
                let key = scope_key(&m.scope);
                let st = state.get_mut(&key).expect("every scope was read");
                let counted = i64::from(check.counted_recipients);
                let outcome = if !daily_allows(check, st.used) {
                    AcceptOutcome::DailyQuotaExceeded
                } else if rate_limited(check) {
                    let mut bucket = TokenBucket::refilled(st.bucket, check, now_ms);
                    if bucket.try_take(check) {
                        st.bucket = Some(bucket);
                        st.bucket_dirty = true;
                        AcceptOutcome::Accepted
                    } else {
                        AcceptOutcome::RateExceeded
                    }
                } else {
                    AcceptOutcome::Accepted
                };
                if outcome == AcceptOutcome::Accepted {
                    st.used += counted;
                    st.added += counted;
                    if counted > 0 {
                        let bucket = floor_to(now_ms, STATS_BUCKET_MS);
                        stats
                            .stats
                            .entry((key.0, key.1, bucket))
                            .or_default()
                            .delivery_attempts += counted;
                    }
                    accepted.push(i);
                }
                outcomes.push(outcome);
            }

            if !accepted.is_empty() {
                for chunk in accepted.chunks(INSERT_CHUNK) {
                    let mut qb =
                        sqlx::QueryBuilder::new(format!("INSERT INTO queue ({QUEUE_COLUMNS}) "));
                    qb.push_values(chunk, |mut b, &i| {
                        let m = batch[i].message;
                        let (recipients, meta) = (&batch[i].json.recipients, &batch[i].json.meta);
                        b.push_bind(m.message_id.as_str())
                            .push_bind(m.scope.account.as_str())
                            .push_bind(m.scope.region.as_str())
                            .push_bind(m.mail_from.as_str())
                            .push_bind(recipients.as_str())
                            .push_bind(meta.as_str())
                            .push_bind(m.created_at)
                            .push_bind(m.next_attempt_at)
                            .push_bind(m.attempts);
                    });
                    (&mut *tx).execute(qb.build()).await.map_err(map_err)?;
                }
                // Bodies (`Store::accept_messages_with_bodies`), in the same transaction as
                // their queue rows: one commit makes both durable.
                let with_body: Vec<(usize, &[u8])> = accepted
                    .iter()
                    .filter_map(|&i| batch[i].body.map(|b| (i, b)))
                    .collect();
                let mut rest = with_body.as_slice();
                while !rest.is_empty() {
                    let mut n = 0;
                    let mut bytes = 0;
                    while n < rest.len() && n < INSERT_CHUNK && (n == 0 || bytes < BODY_CHUNK_BYTES)
                    {
                        bytes += rest[n].1.len();
                        n += 1;
                    }
                    let (chunk, tail) = rest.split_at(n);
                    rest = tail;
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO message_bodies (message_id, created_at, body) ",
                    );
                    qb.push_values(chunk, |mut b, &(i, body)| {
                        b.push_bind(batch[i].message.message_id.as_str())
                            .push_bind(now_ms)
                            .push_bind(body);
                    });
                    qb.push(
                        " ON CONFLICT (message_id) DO UPDATE SET body = excluded.body, \
                         created_at = excluded.created_at",
                    );
                    (&mut *tx).execute(qb.build()).await.map_err(map_err)?;
                }
                let events: Vec<EventRow<'_>> = accepted
                    .iter()
                    .flat_map(|&i| batch[i].events.iter().zip(&batch[i].json.events))
                    .map(|(event, data)| EventRow {
                        event,
                        data: data.as_str().into(),
                    })
                    .collect();
                add_event_stats(&mut stats, &events);
                insert_events!(tx, events);
            }

            for ((account, region), st) in &state {
                if st.bucket_dirty {
                    let b = st.bucket.expect("dirty bucket is set");
                    (&mut *tx)
                        .execute(
                            sqlx::query(
                                "INSERT INTO rate_buckets (account_id, region, tokens, updated_at) \
                                 VALUES ($1, $2, $3, $4) \
                                 ON CONFLICT (account_id, region) DO UPDATE SET \
                                 tokens = excluded.tokens, updated_at = excluded.updated_at",
                            )
                            .bind(account.as_str())
                            .bind(region.as_str())
                            .bind(b.tokens)
                            .bind(b.updated_at),
                        )
                        .await
                        .map_err(map_err)?;
                }
                if st.added > 0 {
                    (&mut *tx)
                        .execute(
                            sqlx::query(
                                "INSERT INTO quota_usage \
                                 (account_id, region, minute_bucket, recipients) \
                                 VALUES ($1, $2, $3, $4) \
                                 ON CONFLICT (account_id, region, minute_bucket) DO UPDATE SET \
                                 recipients = quota_usage.recipients + excluded.recipients",
                            )
                            .bind(account.as_str())
                            .bind(region.as_str())
                            .bind(minute)
                            .bind(st.added),
                        )
                        .await
                        .map_err(map_err)?;
                    if !st.minute_row_exists {
                        (&mut *tx)
                            .execute(
                                sqlx::query(
                                    "DELETE FROM quota_usage WHERE account_id = $1 \
                                     AND region = $2 AND minute_bucket <= $3",
                                )
                                .bind(account.as_str())
                                .bind(region.as_str())
                                .bind(cutoff),
                            )
                            .await
                            .map_err(map_err)?;
                    }
                }
            }
            upsert_stats!(tx, stats);
            tx.commit().await.map_err(map_err)?;
            Ok(outcomes)
        })
    }

    pub(crate) async fn sent_last_24h_rows(
        &self,
        scope: &Scope,
        now_ms: i64,
    ) -> Result<f64, StoreError> {
        const SQL: &str = "SELECT CAST(COALESCE(SUM(recipients), 0) AS BIGINT) AS used \
            FROM quota_usage WHERE account_id = $1 AND region = $2 AND minute_bucket > $3";
        let used: i64 = with_pool!(self, pool => {
            let row = sqlx::query(SQL)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(quota_cutoff(now_ms))
                .fetch_one(pool)
                .await
                .map_err(map_err)?;
            row.try_get("used").map_err(map_err)?
        });
        Ok(used as f64)
    }

    /// One UPDATE picks and leases the messages. On PostgreSQL the subquery's
    /// `FOR UPDATE SKIP LOCKED` makes concurrent claimers on other nodes pass over rows being
    /// claimed right now, and a row another transaction just leased is re-checked against the
    /// lease condition (READ COMMITTED re-evaluation) and dropped. On SQLite the statement runs
    /// under `BEGIN IMMEDIATE`, i.e. alone.
    pub(crate) async fn claim_rows(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lease_until = now_ms.saturating_add(lease_ms);
        let sql = |lock: &str| {
            format!(
                "UPDATE queue SET lease_owner = $1, lease_until = $2 WHERE message_id IN \
                 (SELECT message_id FROM queue WHERE next_attempt_at <= $3 \
                  AND (lease_until IS NULL OR lease_until < $3) \
                  ORDER BY next_attempt_at LIMIT $4{lock}) \
                 RETURNING {QUEUE_COLUMNS}"
            )
        };
        let mut claimed = match &self.pool {
            Pool::Sqlite(pool) => sqlite_bookkeeping_tx!(self, pool, tx => {
                let found = (&mut *tx)
                    .fetch_all(
                        sqlx::query(&sql(""))
                            .bind(node)
                            .bind(lease_until)
                            .bind(now_ms)
                            .bind(limit_param(limit)),
                    )
                    .await
                    .map_err(map_err)?;
                let claimed = found
                    .iter()
                    .map(rows::queued_message)
                    .collect::<Result<Vec<_>, _>>()?;
                tx.commit().await.map_err(map_err)?;
                claimed
            }),
            Pool::Postgres(pool) => {
                let found = sqlx::query(&sql(" FOR UPDATE SKIP LOCKED"))
                    .bind(node)
                    .bind(lease_until)
                    .bind(now_ms)
                    .bind(limit_param(limit))
                    .fetch_all(pool)
                    .await
                    .map_err(map_err)?;
                found
                    .iter()
                    .map(rows::queued_message)
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        // RETURNING order is unspecified: hand them out oldest due first.
        claimed.sort_by(|a, b| {
            (a.next_attempt_at, a.created_at, &a.message_id).cmp(&(
                b.next_attempt_at,
                b.created_at,
                &b.message_id,
            ))
        });
        Ok(claimed)
    }

    pub(crate) async fn release_lease_rows(&self, node: &str) -> Result<u64, StoreError> {
        let sql = "UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1";
        let n = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query(sql)
                .bind(node)
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected(),
            Pool::Postgres(pool) => sqlx::query(sql)
                .bind(node)
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected(),
        };
        Ok(n)
    }

    pub(crate) async fn finish_row(
        &self,
        node: &str,
        message_id: &str,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let item = FinishItem {
            node: node.to_string(),
            message_id: message_id.to_string(),
            events: events.to_vec(),
        };
        self.finish_rows(std::slice::from_ref(&item))
            .await?
            .pop()
            .unwrap_or(Err(StoreError::NotFound))
    }

    /// Several `finish_row`s in one transaction (group commit, `group_commit.rs`): one result
    /// per item, in order. A message whose lease is gone gets its own `Conflict`/`NotFound`
    /// and leaves no trace (its log copy and delete are conditioned on the lease, its events
    /// are not written); the others commit together. `Err` only when the transaction fails.
    pub(crate) async fn finish_rows(
        &self,
        items: &[FinishItem],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let finished_at = crate::connect::now_ms();
        let mut prepared = Vec::with_capacity(items.len());
        for it in items {
            prepared.push(event_rows(&it.events)?);
        }
        // Set-based per node (normally one): copy the leased rows to the log, delete them
        // (RETURNING tells which were ours), delete their bodies — three statements per round
        // instead of three per message.
        let mut nodes: Vec<&str> = items.iter().map(|it| it.node.as_str()).collect();
        nodes.sort_unstable();
        nodes.dedup();
        bookkeeping_tx!(self, tx, _pg => {
            let mut finished: BTreeSet<String> = BTreeSet::new();
            for node in &nodes {
                let ids: Vec<&str> = items
                    .iter()
                    .filter(|it| it.node == *node)
                    .map(|it| it.message_id.as_str())
                    .collect();
                for chunk in ids.chunks(INSERT_CHUNK) {
                    let list = placeholders(3, chunk.len());
                    let sql = format!(
                        "INSERT INTO message_log \
                         (message_id, account_id, region, mail_from, recipients, meta, created_at, \
                          attempts, finished_at) \
                         SELECT message_id, account_id, region, mail_from, recipients, meta, \
                          created_at, attempts, $2 \
                         FROM queue WHERE lease_owner = $1 AND message_id IN ({list}) \
                         ON CONFLICT (message_id) DO NOTHING"
                    );
                    let mut q = sqlx::query(&sql).bind(*node).bind(finished_at);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    (&mut *tx).execute(q).await.map_err(map_err)?;
                    let list = placeholders(2, chunk.len());
                    let sql = format!(
                        "DELETE FROM queue WHERE lease_owner = $1 AND message_id IN ({list}) \
                         RETURNING message_id"
                    );
                    let mut q = sqlx::query(&sql).bind(*node);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    let deleted: Vec<String> = (&mut *tx)
                        .fetch_all(q)
                        .await
                        .map_err(map_err)?
                        .iter()
                        .map(|r| r.try_get::<String, _>("message_id"))
                        .collect::<Result<_, _>>()
                        .map_err(map_err)?;
                    if !deleted.is_empty() {
                        // The bodies go with their queue rows (0010_message_bodies.sql).
                        let list = placeholders(1, deleted.len());
                        let sql = format!("DELETE FROM message_bodies WHERE message_id IN ({list})");
                        let mut q = sqlx::query(&sql);
                        for id in &deleted {
                            q = q.bind(id.as_str());
                        }
                        (&mut *tx).execute(q).await.map_err(map_err)?;
                    }
                    finished.extend(deleted);
                }
            }
            let mut results = Vec::with_capacity(items.len());
            let mut all_events = Vec::new();
            let mut stats = Folded::default();
            for (it, events) in items.iter().zip(prepared) {
                if !finished.remove(&it.message_id) {
                    let exists = (&mut *tx)
                        .fetch_optional(
                            sqlx::query("SELECT attempts FROM queue WHERE message_id = $1")
                                .bind(it.message_id.as_str()),
                        )
                        .await
                        .map_err(map_err)?
                        .is_some();
                    results.push(Err(if exists { StoreError::Conflict } else { StoreError::NotFound }));
                    continue;
                }
                add_event_stats(&mut stats, &events);
                all_events.extend(events);
                results.push(Ok(()));
            }
            insert_events!(tx, all_events);
            upsert_stats!(tx, stats);
            tx.commit().await.map_err(map_err)?;
            Ok(results)
        })
    }

    pub(crate) async fn retry_row(
        &self,
        node: &str,
        message_id: &str,
        recipients: &[String],
        next_attempt_at: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let recipients = to_json(&recipients)?;
        let events = event_rows(events)?;
        let mut stats = Folded::default();
        add_event_stats(&mut stats, &events);
        bookkeeping_tx!(self, tx, _pg => {
            let updated = (&mut *tx)
                .execute(
                    sqlx::query(
                        "UPDATE queue SET recipients = $3, next_attempt_at = $4, \
                         attempts = attempts + 1, lease_owner = NULL, lease_until = NULL \
                         WHERE message_id = $1 AND lease_owner = $2",
                    )
                    .bind(message_id)
                    .bind(node)
                    .bind(recipients.as_str())
                    .bind(next_attempt_at),
                )
                .await
                .map_err(map_err)?
                .rows_affected();
            if updated == 0 {
                let exists = (&mut *tx)
                    .fetch_optional(
                        sqlx::query("SELECT attempts FROM queue WHERE message_id = $1")
                            .bind(message_id),
                    )
                    .await
                    .map_err(map_err)?
                    .is_some();
                return Err(if exists { StoreError::Conflict } else { StoreError::NotFound });
            }
            insert_events!(tx, events);
            upsert_stats!(tx, stats);
            tx.commit().await.map_err(map_err)?;
            Ok(())
        })
    }

    pub(crate) async fn queue_depth_rows(&self) -> Result<u64, StoreError> {
        let n: i64 = with_pool!(self, pool => {
            sqlx::query("SELECT COUNT(*) AS n FROM queue")
                .fetch_one(pool)
                .await
                .map_err(map_err)?
                .try_get("n")
                .map_err(map_err)?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(crate) async fn append_event_rows(&self, events: &[EventRecord]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let events = event_rows(events)?;
        let mut stats = Folded::default();
        add_event_stats(&mut stats, &events);
        write_tx!(self, tx, _pg => {
            insert_events!(tx, events);
            upsert_stats!(tx, stats);
            tx.commit().await.map_err(map_err)?;
            Ok(())
        })
    }

    pub(crate) async fn message_event_rows(
        &self,
        scope: &Scope,
        message_id: &str,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events \
             WHERE account_id = $1 AND region = $2 AND message_id = $3 \
             ORDER BY timestamp, seq"
        );
        with_pool!(self, pool => {
            let found = sqlx::query(&sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(message_id)
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
            found.iter().map(|r| rows::event(r, scope)).collect()
        })
    }

    /// Buckets from the one containing `since_ms` on, skipping all-zero rows.
    pub(crate) async fn send_statistics_rows(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<SendStatsBucket>, StoreError> {
        const SQL: &str = "SELECT bucket_start, delivery_attempts, bounces, complaints, rejects \
            FROM send_stats WHERE account_id = $1 AND region = $2 AND bucket_start >= $3 \
            AND delivery_attempts + bounces + complaints + rejects > 0 \
            ORDER BY bucket_start";
        with_pool!(self, pool => {
            let found = sqlx::query(SQL)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(floor_to(since_ms, STATS_BUCKET_MS))
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
            found
                .iter()
                .map(|r| {
                    Ok(SendStatsBucket {
                        bucket_start: r.try_get("bucket_start").map_err(map_err)?,
                        delivery_attempts: r.try_get("delivery_attempts").map_err(map_err)?,
                        bounces: r.try_get("bounces").map_err(map_err)?,
                        complaints: r.try_get("complaints").map_err(map_err)?,
                        rejects: r.try_get("rejects").map_err(map_err)?,
                    })
                })
                .collect()
        })
    }

    /// `reputation_stats` rows of `scope` from the hour containing `since_ms` on, ascending.
    pub(crate) async fn reputation_rows(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<ReputationBucket>, StoreError> {
        const SQL: &str = "SELECT configuration_set, bucket_start, sends, bounces, complaints, \
            simulator_sends, simulator_bounces, simulator_complaints FROM reputation_stats \
            WHERE account_id = $1 AND region = $2 AND bucket_start >= $3 \
            ORDER BY bucket_start, configuration_set";
        with_pool!(self, pool => {
            let found = sqlx::query(SQL)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(floor_to(since_ms, REPUTATION_BUCKET_MS))
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
            found
                .iter()
                .map(|r| {
                    let set: String = r.try_get("configuration_set").map_err(map_err)?;
                    Ok(ReputationBucket {
                        configuration_set: (!set.is_empty()).then_some(set),
                        bucket_start: r.try_get("bucket_start").map_err(map_err)?,
                        sends: r.try_get("sends").map_err(map_err)?,
                        bounces: r.try_get("bounces").map_err(map_err)?,
                        complaints: r.try_get("complaints").map_err(map_err)?,
                        simulator_sends: r.try_get("simulator_sends").map_err(map_err)?,
                        simulator_bounces: r.try_get("simulator_bounces").map_err(map_err)?,
                        simulator_complaints: r.try_get("simulator_complaints").map_err(map_err)?,
                    })
                })
                .collect()
        })
    }

    pub(crate) async fn prune_statistics_rows(
        &self,
        stats_before_ms: i64,
        reputation_before_ms: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let a = sqlx::query("DELETE FROM send_stats WHERE bucket_start < $1")
                .bind(stats_before_ms)
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected();
            let b = sqlx::query("DELETE FROM reputation_stats WHERE bucket_start < $1")
                .bind(reputation_before_ms)
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected();
            Ok(a + b)
        })
    }

    pub(crate) async fn capture_row(&self, m: &CapturedMessage) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO captured ({CAPTURED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (message_id) DO NOTHING"
        );
        let recipients = to_json(&m.recipients)?;
        with_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(m.message_id.as_str())
                .bind(m.scope.account.as_str())
                .bind(m.scope.region.as_str())
                .bind(m.mail_from.as_str())
                .bind(recipients.as_str())
                .bind(m.raw.as_slice())
                .bind(m.captured_at)
                .execute(pool)
                .await
                .map_err(map_err)?;
        });
        Ok(())
    }

    pub(crate) async fn captured_rows(
        &self,
        scope: Option<&Scope>,
        message_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CapturedMessage>, StoreError> {
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if scope.is_some() {
            conditions.push(format!("account_id = {} AND region = {}", next(), next()));
        }
        if message_id.is_some() {
            conditions.push(format!("message_id = {}", next()));
        }
        let limit_at = next();
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {} ", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {CAPTURED_COLUMNS} FROM captured {filter}\
             ORDER BY captured_at DESC, message_id DESC LIMIT {limit_at}"
        );
        with_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            if let Some(scope) = scope {
                q = q.bind(scope.account.as_str()).bind(scope.region.as_str());
            }
            if let Some(id) = message_id {
                q = q.bind(id);
            }
            let found = q.bind(limit_param(limit)).fetch_all(pool).await.map_err(map_err)?;
            found.iter().map(rows::captured).collect()
        })
    }

    pub(crate) async fn delete_captured_rows(
        &self,
        message_id: Option<&str>,
    ) -> Result<u64, StoreError> {
        let sql = match message_id {
            Some(_) => "DELETE FROM captured WHERE message_id = $1",
            None => "DELETE FROM captured",
        };
        with_pool!(self, pool => {
            let mut q = sqlx::query(sql);
            if let Some(id) = message_id {
                q = q.bind(id);
            }
            let done = q.execute(pool).await.map_err(map_err)?;
            Ok(done.rows_affected())
        })
    }
}
