//! `sesame sns dead-letters`: the operator's view of SNS HTTP(S) deliveries that ran out of
//! retries (DECISIONS Q-170; docs/sns.md), and `--retry` to send them again with a fresh
//! retry window. Opens the store directly, so it works while the server runs.

use clap::Subcommand;
use serde_json::json;
use sesame_engine::Engine;

use crate::cli::fmt_ms;

#[derive(Subcommand, Debug)]
pub enum SnsCmd {
    /// List dead letters (oldest first) or put them back into the delivery outbox.
    DeadLetters {
        /// Requeue these dead letters (ids from the listing) for a new retry window.
        #[arg(long, value_name = "ID", num_args = 1.., conflicts_with = "retry_all")]
        retry: Vec<String>,
        /// Requeue every dead letter.
        #[arg(long)]
        retry_all: bool,
        /// At most this many in the listing.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(engine: &Engine, cmd: SnsCmd) -> anyhow::Result<()> {
    match cmd {
        SnsCmd::DeadLetters {
            retry,
            retry_all,
            limit,
            json,
        } => {
            if retry_all || !retry.is_empty() {
                let now = sesame_engine::now_ms();
                let n = engine.sns_requeue_dead_letters(&retry, now).await?;
                println!("requeued {n} dead letter(s)");
                return Ok(());
            }
            let dead = engine.sns_dead_letters(limit).await?;
            if json {
                let out: Vec<_> = dead
                    .iter()
                    .map(|d| {
                        json!({
                            "id": d.id, "url": d.url, "message_type": d.message_type,
                            "message_id": d.message_id, "topic_arn": d.topic_arn,
                            "subscription_arn": d.subscription_arn, "attempts": d.attempts,
                            "published_at": d.created_at, "died_at": d.next_attempt_at,
                            "last_error": d.last_error,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(());
            }
            for d in &dead {
                println!(
                    "{}  {}  {}  attempts={}  died={}  {}  {}",
                    d.id,
                    d.message_type,
                    d.message_id,
                    d.attempts,
                    fmt_ms(d.next_attempt_at),
                    d.url,
                    d.last_error.as_deref().unwrap_or("")
                );
            }
            if dead.is_empty() {
                println!("no dead letters");
            }
            Ok(())
        }
    }
}
