//! The account-notice mailer loop and `sesame account notices` (docs/notices.md;
//! `sesame_engine::notices` has the rules and the claim protocol).
//!
//! Every node runs the loop, in every delivery mode: each round goes through every account and
//! region, and the engine's compare-and-swap claims make sure one node mails each notice. A
//! cursor per scope (the last notice mailed and settled) keeps rounds from re-reading the
//! account's whole notice history; it starts empty at each start.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sesame_engine::notices::{NoticeEntry, Recipients};
use sesame_engine::{now_ms, Engine};
use sesame_model::Scope;
use tokio::sync::watch;

use crate::cli::fmt_ms;

/// Runs mailing rounds every `every` until `stop` flips.
pub async fn run(
    engine: Engine,
    regions: Vec<String>,
    node: String,
    fallback: Vec<String>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut state = State::default();
    loop {
        if let Err(e) = round(&engine, &regions, &node, &fallback, &mut state).await {
            tracing::warn!(error = %format!("{e:#}"), "account notices: mailing round failed; retrying next interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// What the loop remembers between rounds.
#[derive(Default)]
struct State {
    /// The engine's cursor per scope.
    cursors: HashMap<Scope, String>,
    /// Scopes whose waiting notices were already reported (once per process, until mailed).
    warned: HashSet<Scope>,
}

async fn round(
    engine: &Engine,
    regions: &[String],
    node: &str,
    fallback: &[String],
    state: &mut State,
) -> anyhow::Result<()> {
    for account in engine.store.list_accounts().await? {
        for region in regions {
            let scope = Scope::new(account.account_id.clone(), region.parse()?);
            let after = state.cursors.get(&scope).cloned();
            let r = engine
                .mail_account_notices(&scope, node, fallback, after.as_deref(), now_ms())
                .await?;
            for (name, message_id, to) in &r.mailed {
                tracing::info!(account = %scope.account, region = %scope.region, notice = %name,
                    %message_id, to = %to.join(", "), "account notice mailed");
            }
            if let Some(c) = r.cursor {
                state.cursors.insert(scope.clone(), c);
            }
            if r.waiting == 0 {
                state.warned.remove(&scope);
            } else if state.warned.insert(scope.clone()) {
                tracing::warn!(account = %scope.account, region = %scope.region, waiting = r.waiting,
                    "account notices not mailed: the account has no AdditionalContactEmailAddresses \
                     (PutAccountDetails) in this region and SESAME_NOTICES_FALLBACK_ADDRESS is not \
                     set; they stay stored (`sesame account notices`) until one is");
            }
        }
    }
    Ok(())
}

/// `sesame account notices`: the notices of each region of the account, where they go, and
/// whether (when, to whom, under which message id) each was mailed.
pub async fn print(
    engine: &Engine,
    scopes: &[Scope],
    fallback: &[String],
    pending_only: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut out = Vec::new();
    for scope in scopes {
        let to = engine.notice_recipients(scope, fallback).await?;
        let mut notices = engine.account_notice_entries(scope, None).await?;
        if pending_only {
            notices.retain(|n| n.notice.delivered_at.is_none());
        }
        out.push((scope, to, notices));
    }
    if json {
        let v: Vec<serde_json::Value> = out
            .iter()
            .map(|(scope, to, notices)| {
                serde_json::json!({
                    "account_id": scope.account,
                    "region": scope.region.as_str(),
                    "recipients": to.addresses(),
                    "recipients_source": to.source(),
                    "notices": notices.iter().map(|n| {
                        let mut v = serde_json::to_value(&n.notice).unwrap_or_default();
                        v["name"] = n.name.clone().into();
                        v
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for (scope, to, notices) in &out {
        println!(
            "account {} ({}): {}",
            scope.account,
            scope.region,
            match to {
                Recipients::Account(a) => format!(
                    "notices go to {} (AdditionalContactEmailAddresses)",
                    a.join(", ")
                ),
                Recipients::Fallback(a) => format!(
                    "no contact address; notices go to the operator's {} (SESAME_NOTICES_FALLBACK_ADDRESS)",
                    a.join(", ")
                ),
                Recipients::None => "no contact address and no SESAME_NOTICES_FALLBACK_ADDRESS: \
                     notices are stored, not mailed (set AdditionalContactEmailAddresses with \
                     PutAccountDetails)"
                    .to_string(),
            }
        );
        if notices.is_empty() {
            println!(
                "  no {}notices",
                if pending_only { "unmailed " } else { "" }
            );
        }
        for n in notices {
            print_one(n);
        }
    }
    Ok(())
}

fn print_one(e: &NoticeEntry) {
    let n = &e.notice;
    let about = if n.identity.is_empty() {
        String::new()
    } else {
        format!(" identity {}", n.identity)
    };
    println!("  {} {}{about}", fmt_ms(n.created_at), n.notice_type);
    println!("    subject: {}", n.subject);
    match (n.delivered_at, &n.claim) {
        (Some(at), _) => println!(
            "    mailed:  {} to {} (message {})",
            fmt_ms(at),
            n.mailed_to.join(", "),
            n.message_id.as_deref().unwrap_or("?")
        ),
        (None, Some(c)) if c.until > now_ms() => {
            println!("    mailing: being mailed by node {}", c.node)
        }
        (None, _) => println!("    mailed:  not yet"),
    }
}
