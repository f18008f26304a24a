//! `sesame firehose …` and `sesame eventbridge …`: the operator registers what stands in for a
//! Kinesis Data Firehose delivery stream and the rules of an account's default event
//! bus, per account and region (docs/event-destinations.md). Opens the store directly,
//! so it works while the server runs; every node sees the change at once.

use clap::Subcommand;
use serde_json::json;
use sesame_engine::sinks::SinkTarget;
use sesame_engine::Engine;

use crate::cli::fmt_ms;

/// Targets, as `--to` takes them.
const TARGET_HELP: &str = "file:///DIR (JSON lines under DIR/YYYY/MM/DD/HH/), nats://HOST:PORT/SUBJECT (JetStream) or http(s)://URL";

#[derive(Subcommand, Debug)]
pub enum FirehoseCmd {
    /// Create a delivery stream: what a KinesisFirehoseDestination's DeliveryStreamArn
    /// (arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME) writes to. Each record is the
    /// event JSON and a newline.
    Create {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Where records go.
        #[arg(long, value_name = "URI", long_help = TARGET_HELP)]
        to: String,
        /// The stream name (1–64 of letters, digits, `_`, `.`, `-`).
        name: String,
    },
    /// List an account's delivery streams.
    List {
        #[command(flatten)]
        scope: ScopeArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete a delivery stream (destinations naming it then drop their events).
    Delete {
        #[command(flatten)]
        scope: ScopeArgs,
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum EventBridgeCmd {
    /// Create or replace a rule on the account's default event bus: envelopes that match
    /// PATTERN (an EventBridge event pattern; every event without one) go to --to. An http(s)
    /// target gets a new HMAC key, printed once (header X-Sesame-Signature: sha256=…).
    PutRule {
        #[command(flatten)]
        scope: ScopeArgs,
        /// The event pattern (JSON), e.g. '{"detail-type":["Email Bounced"]}'.
        #[arg(long, value_name = "JSON")]
        pattern: Option<String>,
        /// Where matching envelopes go.
        #[arg(long, value_name = "URI", long_help = TARGET_HELP)]
        to: String,
        /// The rule name.
        name: String,
    },
    /// List the rules of the account's default event bus.
    ListRules {
        #[command(flatten)]
        scope: ScopeArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete a rule.
    DeleteRule {
        #[command(flatten)]
        scope: ScopeArgs,
        name: String,
    },
}

/// The account and region a command works on.
#[derive(clap::Args, Debug)]
pub struct ScopeArgs {
    #[arg(long, value_name = "ID")]
    account: String,
    /// Region (default: the first configured region).
    #[arg(long)]
    region: Option<String>,
}

impl ScopeArgs {
    async fn scope(&self, engine: &Engine) -> anyhow::Result<sesame_model::Scope> {
        crate::cli::scope_of(engine, &self.account, self.region.as_deref()).await
    }
}

fn target(uri: &str) -> anyhow::Result<SinkTarget> {
    SinkTarget::parse(uri).map_err(|e| anyhow::anyhow!("--to {e}"))
}

pub async fn firehose(engine: &Engine, cmd: FirehoseCmd) -> anyhow::Result<()> {
    match cmd {
        FirehoseCmd::Create { scope, to, name } => {
            let t = target(&to)?;
            let scope = scope.scope(engine).await?;
            let rec = engine.create_delivery_stream(&scope, &name, &t).await?;
            println!(
                "created delivery stream {}  →  {}\nDeliveryStreamArn: arn:{}:firehose:{}:{}:deliverystream/{}",
                rec.name, rec.target, engine.settings.partition, scope.region, scope.account, rec.name
            );
            Ok(())
        }
        FirehoseCmd::List { scope, json } => {
            let scope = scope.scope(engine).await?;
            let streams = engine.list_delivery_streams(&scope).await?;
            if json {
                let out: Vec<_> = streams
                    .iter()
                    .map(
                        |s| json!({"name": s.name, "target": s.target, "created_at": s.created_at}),
                    )
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(());
            }
            for s in &streams {
                println!("{}  {}  created {}", s.name, s.target, fmt_ms(s.created_at));
            }
            if streams.is_empty() {
                println!("no delivery streams");
            }
            Ok(())
        }
        FirehoseCmd::Delete { scope, name } => {
            let scope = scope.scope(engine).await?;
            engine.delete_delivery_stream(&scope, &name).await?;
            println!("deleted delivery stream {name}");
            Ok(())
        }
    }
}

pub async fn eventbridge(engine: &Engine, cmd: EventBridgeCmd) -> anyhow::Result<()> {
    use sesame_engine::sinks::DEFAULT_BUS;
    match cmd {
        EventBridgeCmd::PutRule {
            scope,
            pattern,
            to,
            name,
        } => {
            let t = target(&to)?;
            let scope = scope.scope(engine).await?;
            let (rec, secret) = engine
                .put_event_bus_rule(&scope, DEFAULT_BUS, &name, pattern.as_deref(), &t)
                .await?;
            println!(
                "rule {} on event bus {}  →  {}\npattern: {}",
                rec.name,
                rec.bus,
                rec.target,
                rec.pattern.as_deref().unwrap_or("(every event)")
            );
            if let Some(s) = secret {
                println!("signing key (shown once): {s}");
            }
            Ok(())
        }
        EventBridgeCmd::ListRules { scope, json } => {
            let scope = scope.scope(engine).await?;
            let rules = engine.list_event_bus_rules(&scope, DEFAULT_BUS).await?;
            if json {
                let out: Vec<_> = rules
                    .iter()
                    .map(|r| {
                        json!({"bus": r.bus, "name": r.name, "pattern": r.pattern,
                            "target": r.target, "enabled": r.enabled, "created_at": r.created_at})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(());
            }
            for r in &rules {
                println!(
                    "{}  {}  {}",
                    r.name,
                    r.target,
                    r.pattern.as_deref().unwrap_or("(every event)")
                );
            }
            if rules.is_empty() {
                println!("no rules on event bus {DEFAULT_BUS}");
            }
            Ok(())
        }
        EventBridgeCmd::DeleteRule { scope, name } => {
            let scope = scope.scope(engine).await?;
            engine
                .delete_event_bus_rule(&scope, DEFAULT_BUS, &name)
                .await?;
            println!("deleted rule {name}");
            Ok(())
        }
    }
}
