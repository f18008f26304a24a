//! `sesame queue list/show/retry/delete` (issue 4 item 7): the operator's view of the delivery
//! queue. Like the other operator commands it opens the store directly, so it works while the
//! server runs (and on any node of a PostgreSQL cluster); it never touches the spool.
//! Operating guide: docs/queue.md.

use clap::Subcommand;
use serde_json::{json, Value};
use sesame_engine::Engine;
use sesame_model::{EventRecord, QueueCursor, QueueEntry, QueueFilter, Region, StoreError};

use crate::cli::{account_id, fmt_ms};

#[derive(Subcommand, Debug)]
pub enum QueueCmd {
    /// List queued messages, next attempt first.
    ///
    /// Columns: message id, account, region, age, attempts, next attempt, recipients (count and
    /// first), last error (from the latest DeliveryDelay event, when there was one).
    List {
        /// Only messages of this account.
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Only messages of this region.
        #[arg(long)]
        region: Option<String>,
        /// At most this many messages.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue a previous listing (the token it printed).
        #[arg(long, value_name = "TOKEN")]
        next_token: Option<String>,
        /// Print {"messages":[…],"next_token":…} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one queued message: envelope, recipients, attempts, next attempt, lease, and the
    /// events recorded for it so far.
    Show {
        /// The SES MessageId.
        message_id: String,
        /// Print one JSON object (with `meta` and `events`).
        #[arg(long)]
        json: bool,
    },
    /// Attempt a message (or every queued message) now instead of at its scheduled retry.
    ///
    /// A message being delivered right now keeps its schedule (its attempt is already under
    /// way). Retrying does not extend the retry window: a message still expires and bounces
    /// when its window ends.
    Retry {
        /// The SES MessageId.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        message_id: Option<String>,
        /// Every queued message that is waiting for a later attempt.
        #[arg(long)]
        all: bool,
    },
    /// Remove a message from the queue: its remaining recipients get nothing.
    ///
    /// SES has no such operation, so nothing is recorded for the message: no Bounce or other
    /// event, no notification, no suppression-list entry (the message's events so far stay).
    /// The server's log notes the removal when the running server removes the message's body
    /// from its spool, which it does within a few minutes (a tombstone left by this command
    /// tells it to). A message being delivered right now is refused unless --force.
    Delete {
        /// The SES MessageId.
        message_id: String,
        /// Delete even while a delivery attempt holds the message. That attempt may still
        /// deliver to some recipients; its outcome is then not recorded.
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(engine: &Engine, cmd: QueueCmd) -> anyhow::Result<()> {
    let now = sesame_engine::now_ms();
    match cmd {
        QueueCmd::List {
            account,
            region,
            limit,
            next_token,
            json,
        } => {
            let filter = QueueFilter {
                account: account.as_deref().map(account_id).transpose()?,
                region: region
                    .as_deref()
                    .map(|r| r.parse::<Region>())
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            };
            let after = next_token
                .as_deref()
                .map(str::parse::<QueueCursor>)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--next-token: {e}"))?;
            // One more than asked tells whether there is a next page.
            let mut found = engine
                .store
                .list_queue(&filter, after.as_ref(), limit.saturating_add(1))
                .await?;
            let next = if found.len() > limit {
                found.truncate(limit);
                found
                    .last()
                    .map(|e| QueueCursor::after(&e.message).to_string())
            } else {
                None
            };
            let mut rows = Vec::with_capacity(found.len());
            for e in &found {
                let events = if e.message.attempts > 0 {
                    engine
                        .store
                        .message_events(&e.message.scope, &e.message.message_id)
                        .await?
                } else {
                    Vec::new()
                };
                rows.push((e, last_error(&events)));
            }
            if json {
                let messages: Vec<Value> = rows
                    .iter()
                    .map(|(e, err)| entry_json(e, err.as_deref(), now))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"messages": messages, "next_token": next})
                    )?
                );
                return Ok(());
            }
            let stats = engine.store.queue_stats(now).await?;
            if rows.is_empty() {
                println!(
                    "no queued messages{}",
                    if stats.depth > 0 {
                        " match (the queue holds others)"
                    } else {
                        ""
                    }
                );
                return Ok(());
            }
            println!(
                "{:<62} {:<12} {:<14} {:>7} {:>4} {:<14} {:>5} {:<32} LAST ERROR",
                "MESSAGE ID",
                "ACCOUNT",
                "REGION",
                "AGE",
                "TRY",
                "NEXT ATTEMPT",
                "RCPTS",
                "FIRST RECIPIENT"
            );
            for (e, err) in &rows {
                let m = &e.message;
                println!(
                    "{:<62} {:<12} {:<14} {:>7} {:>4} {:<14} {:>5} {:<32} {}",
                    m.message_id,
                    m.scope.account,
                    m.scope.region,
                    duration(now - m.created_at),
                    m.attempts,
                    next_attempt(e, now),
                    m.recipients.len(),
                    m.recipients.first().map(String::as_str).unwrap_or("-"),
                    err.as_deref()
                        .map_or_else(|| "-".to_string(), |t| clip(t, 80))
                );
            }
            println!(
                "{} shown; {} queued in all ({} deferred, {} in delivery)",
                rows.len(),
                stats.depth,
                stats.deferred,
                stats.in_delivery
            );
            if let Some(t) = next {
                println!("more: sesame queue list --next-token {t}");
            }
            Ok(())
        }
        QueueCmd::Show { message_id, json } => {
            let Some(e) = engine.store.get_queued(&message_id).await? else {
                anyhow::bail!("{}", not_queued(&message_id));
            };
            let m = &e.message;
            let events = engine.store.message_events(&m.scope, &m.message_id).await?;
            let err = last_error(&events);
            if json {
                let mut v = entry_json(&e, err.as_deref(), now);
                v["meta"] = m.meta.clone();
                v["events"] = events.iter().map(event_json).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            let text = |k: &str| m.meta.get(k).and_then(Value::as_str).map(str::to_string);
            println!("Message-Id:    {}", m.message_id);
            println!("Account:       {} ({})", m.scope.account, m.scope.region);
            println!(
                "Created:       {} ({} ago)",
                fmt_ms(m.created_at),
                duration(now - m.created_at)
            );
            // `meta.mail` is the engine's `MailInfo` (sesame-events), serialised with its
            // Rust field names.
            if let Some(s) = m.meta["mail"]["common"]["subject"].as_str() {
                println!("Subject:       {s}");
            }
            if let Some(from) = m.meta["mail"]["source"].as_str() {
                println!("Source:        {from}");
            }
            println!(
                "Mail from:     {}",
                if m.mail_from.is_empty() {
                    "<> (null reverse-path)"
                } else {
                    &m.mail_from
                }
            );
            if let Some(cs) = text("configuration_set") {
                println!("Config set:    {cs}");
            }
            println!("Recipients:    {} still to deliver", m.recipients.len());
            for r in &m.recipients {
                println!("  {r}");
            }
            println!("Attempts:      {}", m.attempts);
            println!(
                "Next attempt:  {} ({})",
                fmt_ms(m.next_attempt_at),
                next_attempt(&e, now)
            );
            println!("Lease:         {}", lease(&e, now));
            println!("Last error:    {}", err.as_deref().unwrap_or("-"));
            println!();
            if events.is_empty() {
                println!("no events recorded for this message");
            } else {
                println!("Events:");
                for ev in &events {
                    println!(
                        "  {:<22} {:<18} {}",
                        fmt_ms(ev.timestamp),
                        ev.event_type,
                        event_summary(ev)
                    );
                }
            }
            Ok(())
        }
        QueueCmd::Retry { message_id, all } => {
            if all {
                let moved = engine.store.retry_queued_now(None, now).await?;
                println!(
                    "{moved} message(s) rescheduled to be attempted now (messages being delivered keep their schedule)"
                );
                return Ok(());
            }
            let id = message_id.expect("clap: a message id or --all");
            match engine.store.retry_queued_now(Some(&id), now).await {
                Ok(1..) => println!("message {id} will be attempted now"),
                Ok(0) => println!(
                    "message {id} is already due: it is attempted as soon as a delivery slot is free"
                ),
                Err(StoreError::Conflict) => println!(
                    "message {id} is being delivered right now: not rescheduled"
                ),
                Err(StoreError::NotFound) => anyhow::bail!("{}", not_queued(&id)),
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
        QueueCmd::Delete { message_id, force } => {
            match engine.store.delete_queued(&message_id, force, now).await {
                Ok(e) => {
                    println!(
                        "deleted message {} from the queue (account {}, region {}): {} recipient(s) will not get it; no event is recorded. The running server removes its body from the spool within a few minutes.",
                        message_id,
                        e.message.scope.account,
                        e.message.scope.region,
                        e.message.recipients.len()
                    );
                    if e.in_delivery(now) {
                        println!(
                            "warning: a delivery attempt by {} was in progress and may still deliver it",
                            e.lease_owner.as_deref().unwrap_or("another node")
                        );
                    }
                    Ok(())
                }
                Err(StoreError::Conflict) => {
                    let holder = match engine.store.get_queued(&message_id).await? {
                        Some(e) => lease(&e, now),
                        None => "a delivery".to_string(),
                    };
                    anyhow::bail!(
                        "message {message_id} is being delivered right now ({holder}): wait for the attempt to end and retry, or pass --force (the attempt under way may still deliver it)"
                    )
                }
                Err(StoreError::NotFound) => anyhow::bail!("{}", not_queued(&message_id)),
                Err(e) => Err(e.into()),
            }
        }
    }
}

fn not_queued(id: &str) -> String {
    format!(
        "message {id} is not in the queue (delivered, bounced, deleted, or never accepted; see `sesame events --message-id {id}`)"
    )
}

/// The queue entry as JSON (`list --json`, the base of `show --json`). Times are RFC 3339.
fn entry_json(e: &QueueEntry, last_error: Option<&str>, now: i64) -> Value {
    let m = &e.message;
    json!({
        "message_id": m.message_id,
        "account_id": m.scope.account,
        "region": m.scope.region.as_str(),
        "mail_from": m.mail_from,
        "recipients": m.recipients,
        "created_at": fmt_ms(m.created_at),
        "age_seconds": (now - m.created_at).max(0) / 1000,
        "attempts": m.attempts,
        "next_attempt_at": fmt_ms(m.next_attempt_at),
        "in_delivery": e.in_delivery(now),
        "lease_owner": e.lease_owner,
        "lease_until": e.lease_until.map(fmt_ms),
        "last_error": last_error,
    })
}

fn event_json(e: &EventRecord) -> Value {
    json!({
        "event_id": e.event_id,
        "event_type": e.event_type,
        "timestamp": fmt_ms(e.timestamp),
        "data": e.data,
    })
}

/// The reason of the latest `DeliveryDelay` (G-53): its first delayed recipient's
/// `diagnosticCode`, else its `delayType`.
fn last_error(events: &[EventRecord]) -> Option<String> {
    let delay = events
        .iter()
        .rev()
        .find(|e| e.event_type == "DeliveryDelay")?;
    let d = &delay.data["deliveryDelay"];
    d["delayedRecipients"][0]["diagnosticCode"]
        .as_str()
        .or_else(|| d["delayType"].as_str())
        .map(str::to_string)
}

/// One line about an event for `show`.
fn event_summary(e: &EventRecord) -> String {
    let d = &e.data;
    let text = match e.event_type.as_str() {
        "DeliveryDelay" => last_error(std::slice::from_ref(e)),
        "Delivery" => d["delivery"]["smtpResponse"].as_str().map(str::to_string),
        "Bounce" => d["bounce"]["bounceType"].as_str().map(|t| {
            format!(
                "{t}/{}",
                d["bounce"]["bounceSubType"].as_str().unwrap_or("?")
            )
        }),
        _ => None,
    };
    text.map_or_else(|| e.event_id.clone(), |t| clip(&t, 100))
}

fn next_attempt(e: &QueueEntry, now: i64) -> String {
    if e.in_delivery(now) {
        "in delivery".to_string()
    } else if e.message.next_attempt_at <= now {
        "due now".to_string()
    } else {
        format!("in {}", duration(e.message.next_attempt_at - now))
    }
}

fn lease(e: &QueueEntry, now: i64) -> String {
    match (&e.lease_owner, e.lease_until) {
        (None, _) => "none".to_string(),
        (Some(owner), Some(until)) if until >= now => {
            format!("held by {owner} until {}", fmt_ms(until))
        }
        (Some(owner), Some(until)) => format!("expired ({owner}, {})", fmt_ms(until)),
        (Some(owner), None) => format!("held by {owner}"),
    }
}

/// `45s`, `5m07s`, `3h04m`, `2d03h`.
fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

fn clip(s: &str, max: usize) -> String {
    let one_line = s.replace(['\r', '\n'], " ");
    match one_line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_model::Scope;

    #[test]
    fn duration_table() {
        for (ms, want) in [
            (-5, "0s"),
            (999, "0s"),
            (45_000, "45s"),
            (307_000, "5m07s"),
            (3_600_000, "1h00m"),
            (11_040_000, "3h04m"),
            (183_600_000, "2d03h"),
        ] {
            assert_eq!(duration(ms), want, "{ms}");
        }
    }

    #[test]
    fn last_error_is_the_latest_delay_reason() {
        let ev = |kind: &str, data: Value| EventRecord {
            event_id: "e".into(),
            scope: Scope::new(
                "111122223333".parse().unwrap(),
                "us-east-1".parse().unwrap(),
            ),
            message_id: "m".into(),
            event_type: kind.into(),
            timestamp: 0,
            data,
        };
        let first = ev(
            "DeliveryDelay",
            json!({"deliveryDelay": {"delayType": "TransientCommunicationFailure",
                "delayedRecipients": [{"emailAddress": "a@x", "diagnosticCode": "smtp; 451 4.7.1 later"}]}}),
        );
        let second = ev(
            "DeliveryDelay",
            json!({"deliveryDelay": {"delayType": "MailboxFull", "delayedRecipients": [{}]}}),
        );
        let send = ev("Send", json!({}));
        assert_eq!(last_error(std::slice::from_ref(&send)), None);
        assert_eq!(
            last_error(&[send.clone(), first.clone()]).as_deref(),
            Some("smtp; 451 4.7.1 later")
        );
        assert_eq!(
            last_error(&[first, second, send]).as_deref(),
            Some("MailboxFull")
        );
    }

    #[test]
    fn clip_is_one_line_and_bounded() {
        assert_eq!(clip("a\r\nb", 10), "a  b");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("äöüß", 4), "äöüß");
    }
}
