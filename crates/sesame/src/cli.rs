//! Command-line interface (clap). Subcommand and flag names are operator contracts: keep them.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sesame_engine::accounts::ImportedKey;
use sesame_model::AccountId;

use crate::instance;

#[derive(Parser, Debug)]
#[command(
    name = "sesame",
    version,
    about = "Sesame: a self-hosted, SES-compatible email platform."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct Global {
    /// TOML configuration file (every setting can also come from a SESAME_* variable).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides SESAME_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start every role (HTTP API, SMTP submission; later delivery, DNS, console) in one process.
    Serve {
        /// Development mode: create a bootstrap account on first start and print ready-to-paste
        /// credentials and an `aws` command.
        #[arg(long)]
        dev: bool,
    },
    /// Manage accounts (the 12-digit isolation unit).
    #[command(subcommand)]
    Account(AccountCmd),
    /// Manage access keys of an account.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Manage identities as the operator.
    #[command(subcommand)]
    Identity(IdentityCmd),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// The dev inbox: messages captured instead of sent (`delivery_mode = capture`).
    #[command(subcommand)]
    Inbox(InboxCmd),
    /// The delivery queue: list, show, retry now, delete (docs/queue.md).
    #[command(subcommand)]
    Queue(crate::queue_cmd::QueueCmd),
    /// Dedicated IP pools: `pool show NAME --account ID`, a managed pool's sending status,
    /// IPs, volumes and per-ISP capacity (docs/dedicated-ips.md).
    #[command(subcommand)]
    Pool(crate::managed_pools::PoolCmd),
    /// DNS helpers: `dns check DOMAIN`, the DNS doctor (docs/dns-doctor.md).
    #[command(subcommand)]
    Dns(crate::dns_cmd::DnsCmd),
    /// SNS topics: `sns dead-letters` lists (or `--retry`) failed HTTP(S) deliveries (docs/sns.md).
    #[command(subcommand)]
    Sns(crate::sns_cmd::SnsCmd),
    /// Firehose delivery streams: where KinesisFirehoseDestination events are written
    /// (JSON-lines files, NATS JetStream, HTTP); docs/event-destinations.md.
    #[command(subcommand)]
    Firehose(crate::sinks_cmd::FirehoseCmd),
    /// EventBridge: rules of an account's default event bus (EventBridgeDestination events
    /// in EventBridge envelopes); docs/event-destinations.md.
    #[command(subcommand)]
    Eventbridge(crate::sinks_cmd::EventBridgeCmd),
    /// Events recorded for a message (Send, Delivery, Bounce, Complaint, …).
    Events {
        /// The SES MessageId.
        #[arg(long, value_name = "ID")]
        message_id: String,
        /// Only this account (default: search every account).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Only this region (default: every configured region).
        #[arg(long)]
        region: Option<String>,
        /// Print the events as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum InboxCmd {
    /// List captured messages, newest first.
    List {
        /// Print LocalStack's `/_aws/ses` JSON (`{"messages":[…]}`).
        #[arg(long)]
        json: bool,
        /// Only messages of this account.
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// At most this many messages.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show one captured message.
    Show {
        /// The SES MessageId.
        message_id: String,
        /// Print the exact bytes that would have been sent (DKIM signature included).
        #[arg(long)]
        raw: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum IdentityCmd {
    /// Verify an identity: without --force, check its DNS records now (as `identity check`);
    /// with --force, mark it (and its DKIM keys and MAIL FROM) verified without checking DNS.
    Verify {
        /// Operator override: mark verified without looking at DNS.
        #[arg(long)]
        force: bool,
        #[arg(long, value_name = "ID")]
        account: String,
        /// Region of the identity (default: the first configured region).
        #[arg(long)]
        region: Option<String>,
        /// The email address or domain.
        identity: String,
    },
    /// Rotate a domain's Easy DKIM keys now: the next key starts signing, the active one
    /// stays published as the previous one, a new next key is generated. Works while the server
    /// runs (the store is shared).
    DkimRotate {
        #[arg(long, value_name = "ID")]
        account: String,
        /// Region of the identity (default: the first configured region).
        #[arg(long)]
        region: Option<String>,
        /// The domain identity.
        identity: String,
    },
    /// Check an identity's DNS records now (DKIM, the v1 `_amazonses` TXT token, custom MAIL
    /// FROM), update its statuses, and print what was looked up, what was found and why.
    Check {
        #[arg(long, value_name = "ID")]
        account: String,
        /// Region of the identity (default: the first configured region).
        #[arg(long)]
        region: Option<String>,
        /// The email address or domain.
        identity: String,
    },
    /// Show the last DNS verification checks of an identity (names, types, values seen,
    /// results) and the account notices its status changes produced.
    Audit {
        #[arg(long, value_name = "ID")]
        account: String,
        /// Region of the identity (default: the first configured region).
        #[arg(long)]
        region: Option<String>,
        /// Print JSON: {"checks":[…],"notices":[…]}.
        #[arg(long)]
        json: bool,
        /// The email address or domain.
        identity: String,
    },
    /// Print the DNS records to publish for an identity's DKIM keys.
    DkimRecords {
        #[arg(long, value_name = "ID")]
        account: String,
        /// Region of the identity (default: the first configured region).
        #[arg(long)]
        region: Option<String>,
        /// Print a JSON array of {"name","type","value"}.
        #[arg(long)]
        json: bool,
        /// The domain (or address) identity.
        identity: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// Create an account with an access key; prints the credentials once.
    Create {
        /// Label for the account.
        #[arg(long)]
        name: Option<String>,
        /// Choose the 12-digit account id (default: random).
        #[arg(long, value_name = "ID")]
        account_id: Option<String>,
        /// Import an existing access key id (with --secret-access-key).
        #[arg(long, requires = "secret_access_key")]
        access_key_id: Option<String>,
        /// Secret of the imported key.
        #[arg(long, requires = "access_key_id")]
        secret_access_key: Option<String>,
        /// Print JSON: {"account_id","access_key_id","secret_access_key","smtp_username","smtp_password"}.
        #[arg(long)]
        json: bool,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Move an account out of the sandbox (in one region, or all configured regions).
    Production {
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long)]
        region: Option<String>,
    },
    /// Set an account's sending quotas (in one region, or all configured regions).
    SetQuota {
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long)]
        region: Option<String>,
        /// Messages per rolling 24 hours (-1 = unlimited).
        #[arg(long = "max-24h-send", allow_negative_numbers = true)]
        max_24h_send: Option<f64>,
        /// Messages per second.
        #[arg(long)]
        max_send_rate: Option<f64>,
    },
    /// Evaluate an account's bounce and complaint rates now and apply automatic review and
    /// pausing, as `sesame serve` does every SESAME_REPUTATION_EVALUATION_SECONDS
    /// (docs/reputation.md). Prints what it saw and changed.
    Reputation {
        #[arg(long, value_name = "ID")]
        account: String,
        /// One region (default: every configured region).
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The account's notices (MAIL FROM and DKIM status changes, removed notification topics,
    /// reputation reviews and pauses): where they are mailed and whether each was
    /// (docs/notices.md).
    Notices {
        #[arg(long, value_name = "ID")]
        account: String,
        /// One region (default: every configured region).
        #[arg(long)]
        region: Option<String>,
        /// Only notices not mailed yet.
        #[arg(long)]
        pending: bool,
        /// Print a JSON array, one object per region:
        /// {"account_id","region","recipients","recipients_source","notices":[…]}.
        #[arg(long)]
        json: bool,
    },
    /// Set an account's enforcement status (the operator's review decision, docs/reputation.md):
    /// HEALTHY, PROBATION or SHUTDOWN (no sending at all until lifted).
    Enforcement {
        #[arg(long, value_name = "ID")]
        account: String,
        /// One region (default: every configured region).
        #[arg(long)]
        region: Option<String>,
        #[arg(long, value_parser = ["HEALTHY", "PROBATION", "SHUTDOWN"])]
        status: String,
        /// Count only mail sent from now on (after the sender fixed the cause).
        #[arg(long)]
        reset_window: bool,
        /// Recorded in the account's reputation history.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Create (or import) an access key.
    Create {
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long, requires = "secret_access_key")]
        access_key_id: Option<String>,
        #[arg(long, requires = "access_key_id")]
        secret_access_key: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete an access key.
    Delete {
        #[arg(long, value_name = "ID")]
        account: String,
        /// The access key id to delete.
        access_key_id: String,
    },
    /// List access keys (ids only; secrets are never shown again).
    List {
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Print docs/configuration.md (generated from the settings table).
    Docs,
    /// Load and validate the configuration, then print it.
    Validate,
}

fn print_reputation(r: &sesame_engine::reputation::ReputationReport) {
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.2}%", v * 100.0));
    let rates = |x: &sesame_engine::reputation::Rates| {
        format!(
            "bounce {} ({}/{}, {}), complaint {} ({}/{}, {}){}",
            pct(x.bounce_rate),
            x.bounces,
            x.sends,
            x.bounce_status,
            pct(x.complaint_rate),
            x.complaints,
            x.sends,
            x.complaint_status,
            if x.representative {
                ""
            } else {
                " [below the minimum volume]"
            }
        )
    };
    let a = &r.account;
    println!("account {} ({})", r.account_id, r.region);
    println!(
        "  status {}, sending {}",
        a.enforcement_status,
        if a.sending_enabled {
            "enabled"
        } else {
            "paused"
        }
    );
    println!("  rates: {}", rates(&a.rates));
    println!("  since last resume: {}", rates(&a.since_resume));
    if !a.changes.is_empty() {
        println!("  changed: {}", a.changes.join(", "));
    }
    for s in &r.configuration_sets {
        println!(
            "  configuration set {}: sending {}; {}{}",
            s.name,
            if s.sending_enabled {
                "enabled"
            } else {
                "paused"
            },
            rates(&s.rates),
            if s.changes.is_empty() {
                String::new()
            } else {
                format!("; changed: {}", s.changes.join(", "))
            }
        );
    }
}

pub(crate) fn account_id(s: &str) -> anyhow::Result<AccountId> {
    s.parse::<AccountId>().map_err(|e| anyhow::anyhow!("{e}"))
}

fn imported(id: Option<String>, secret: Option<String>) -> Option<ImportedKey> {
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Some(ImportedKey {
            access_key_id,
            secret_access_key,
        }),
        _ => None,
    }
}

pub(crate) fn fmt_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// SMTP passwords are per region: when the submission listeners serve another region than
/// the default one, also print the password that works on them.
fn print_listener_password(cfg: &sesame_config::Config, secret: &str) {
    if cfg.smtp_region != cfg.default_region() {
        println!(
            "smtp_password:     {}   (region {}, SESAME_SMTP_REGION of the SMTP listeners)",
            sesame_sigv4::smtp_password::derive_smtp_password(secret, &cfg.smtp_region),
            cfg.smtp_region
        );
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = instance::load_config(cli.global.config.as_deref(), cli.global.data_dir.as_deref())?;
    match cli.command {
        Command::Serve { dev } => crate::serve::serve(cfg, dev).await,
        Command::Dns(cmd) => crate::dns_cmd::run(&cfg, cmd).await,
        Command::Config(ConfigCmd::Docs) => {
            print!("{}", sesame_config::render_docs());
            Ok(())
        }
        Command::Config(ConfigCmd::Validate) => {
            println!("configuration is valid:\n{cfg:#?}");
            Ok(())
        }
        Command::Account(cmd) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            match cmd {
                AccountCmd::Create {
                    name,
                    account_id: id,
                    access_key_id,
                    secret_access_key,
                    json,
                } => {
                    let id = id.as_deref().map(account_id).transpose()?;
                    let created = engine
                        .create_account(name, id, imported(access_key_id, secret_access_key))
                        .await
                        .context("creating account")?;
                    if json {
                        println!("{}", serde_json::to_string(&created)?);
                    } else {
                        println!("account_id:        {}", created.account_id);
                        println!("access_key_id:     {}", created.access_key_id);
                        println!("secret_access_key: {}", created.secret_access_key);
                        println!("smtp_username:     {}", created.smtp_username);
                        println!(
                            "smtp_password:     {}   (region {})",
                            created.smtp_password,
                            engine.default_region()
                        );
                        print_listener_password(&cfg, &created.secret_access_key);
                        println!("The secret is shown only now; store it safely.");
                    }
                    Ok(())
                }
                AccountCmd::List { json } => {
                    let accounts = engine.list_accounts().await?;
                    if json {
                        let v: Vec<_> = accounts
                            .iter()
                            .map(|a| serde_json::json!({"account_id": a.account_id, "name": a.name, "status": a.status, "created_at": fmt_ms(a.created_at)}))
                            .collect();
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    } else if accounts.is_empty() {
                        println!("no accounts yet: create one with `sesame account create`");
                    } else {
                        println!("{:<14} {:<8} {:<22} NAME", "ACCOUNT", "STATUS", "CREATED");
                        for a in accounts {
                            println!(
                                "{:<14} {:<8} {:<22} {}",
                                a.account_id,
                                a.status,
                                fmt_ms(a.created_at),
                                a.name.unwrap_or_default()
                            );
                        }
                    }
                    Ok(())
                }
                AccountCmd::Production { account, region } => {
                    let id = account_id(&account)?;
                    engine
                        .grant_production_access(&id, region.as_deref())
                        .await?;
                    println!(
                        "account {id} now has production access ({})",
                        region.as_deref().unwrap_or("all regions")
                    );
                    Ok(())
                }
                AccountCmd::Reputation {
                    account,
                    region,
                    json,
                } => {
                    let id = account_id(&account)?;
                    let reports =
                        crate::reputation::evaluate(&engine, &cfg, &id, region.as_deref()).await?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&reports)?);
                    } else {
                        for r in &reports {
                            print_reputation(r);
                        }
                    }
                    Ok(())
                }
                AccountCmd::Notices {
                    account,
                    region,
                    pending,
                    json,
                } => {
                    let id = account_id(&account)?;
                    engine.require_account(&id).await?;
                    let scopes: Vec<sesame_model::Scope> = engine
                        .regions_or_all(region.as_deref())?
                        .into_iter()
                        .map(|r| sesame_model::Scope::new(id.clone(), r))
                        .collect();
                    crate::notices::print(&engine, &scopes, &cfg.notices.fallback, pending, json)
                        .await
                }
                AccountCmd::Enforcement {
                    account,
                    region,
                    status,
                    reset_window,
                    reason,
                } => {
                    let id = account_id(&account)?;
                    let regions = match &region {
                        Some(r) => vec![r.clone()],
                        None => cfg.regions.clone(),
                    };
                    for r in regions {
                        let scope = sesame_model::Scope::new(id.clone(), r.parse()?);
                        engine
                            .set_enforcement_status(
                                &scope,
                                &status,
                                reset_window,
                                &reason,
                                sesame_engine::now_ms(),
                            )
                            .await?;
                        println!("account {id} ({r}): enforcement status {status}");
                    }
                    Ok(())
                }
                AccountCmd::SetQuota {
                    account,
                    region,
                    max_24h_send,
                    max_send_rate,
                } => {
                    if max_24h_send.is_none() && max_send_rate.is_none() {
                        anyhow::bail!("give --max-24h-send and/or --max-send-rate");
                    }
                    let id = account_id(&account)?;
                    engine
                        .set_quota(&id, region.as_deref(), max_24h_send, max_send_rate)
                        .await?;
                    println!(
                        "quota of account {id} updated ({})",
                        region.as_deref().unwrap_or("all regions")
                    );
                    Ok(())
                }
            }
        }
        Command::Identity(IdentityCmd::Verify {
            force,
            account,
            region,
            identity,
        }) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            let scope = scope_of(&engine, &account, region.as_deref()).await?;
            if !force {
                println!("checking DNS (pass --force to mark {identity} verified without DNS, as the operator)");
                return crate::verification::check_now(&cfg, &engine, &scope, &identity)
                    .await
                    .with_context(|| {
                        format!(
                            "identity {identity} in account {} region {}",
                            scope.account, scope.region
                        )
                    });
            }
            let rec = engine
                .force_verify_identity(&scope, &identity)
                .await
                .with_context(|| {
                    format!(
                        "identity {identity} in account {} region {}",
                        scope.account, scope.region
                    )
                })?;
            println!(
                "{} {} is verified (operator override){}",
                if rec.identity_type == "DOMAIN" {
                    "domain"
                } else {
                    "address"
                },
                rec.identity,
                if rec.dkim.as_ref().is_some_and(|d| d.status == "SUCCESS") {
                    ", DKIM signing active"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Identity(IdentityCmd::DkimRotate {
            account,
            region,
            identity,
        }) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            let scope = scope_of(&engine, &account, region.as_deref()).await?;
            let rec = engine.require_identity(&scope, &identity).await?;
            if !crate::dkim_rotation::rotate(&engine, &scope, rec, 0).await? {
                anyhow::bail!(
                    "{identity} has no Easy DKIM keys to rotate (BYODKIM keys are the customer's)"
                );
            }
            println!("{identity}: Easy DKIM keys rotated");
            Ok(())
        }
        Command::Identity(IdentityCmd::Check {
            account,
            region,
            identity,
        }) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            let scope = scope_of(&engine, &account, region.as_deref()).await?;
            crate::verification::check_now(&cfg, &engine, &scope, &identity)
                .await
                .with_context(|| {
                    format!(
                        "identity {identity} in account {} region {}",
                        scope.account, scope.region
                    )
                })
        }
        Command::Identity(IdentityCmd::Audit {
            account,
            region,
            json,
            identity,
        }) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            let scope = scope_of(&engine, &account, region.as_deref()).await?;
            crate::verification::print_audit(&engine, &scope, &identity, json).await
        }
        Command::Identity(IdentityCmd::DkimRecords {
            account,
            region,
            json,
            identity,
        }) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            let scope = scope_of(&engine, &account, region.as_deref()).await?;
            let rec = engine.require_identity(&scope, &identity).await?;
            let records =
                sesame_engine::identities::dkim_dns_records(&rec, &engine.settings.service_domain);
            if json {
                println!("{}", serde_json::to_string_pretty(&records)?);
            } else if records.is_empty() {
                println!("{identity} has no DKIM keys of its own (an address signs with its domain's keys, if any)");
            } else {
                for r in records {
                    println!("{}\t{}\t{}", r.name, r.rtype, r.value);
                }
            }
            Ok(())
        }
        Command::Sns(cmd) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            crate::sns_cmd::run(&engine, cmd).await
        }
        Command::Firehose(cmd) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            crate::sinks_cmd::firehose(&engine, cmd).await
        }
        Command::Eventbridge(cmd) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            crate::sinks_cmd::eventbridge(&engine, cmd).await
        }
        Command::Queue(cmd) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            crate::queue_cmd::run(&engine, cmd).await
        }
        Command::Pool(cmd) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            crate::managed_pools::run_cmd(&engine, &cfg, cmd).await
        }
        Command::Inbox(cmd) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            inbox(&engine, cmd).await
        }
        Command::Events {
            message_id,
            account,
            region,
            json,
        } => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            let accounts = match account {
                Some(a) => vec![account_id(&a)?],
                None => engine
                    .list_accounts()
                    .await?
                    .into_iter()
                    .map(|a| a.account_id)
                    .collect(),
            };
            let regions = engine.regions_or_all(region.as_deref())?;
            let mut events = Vec::new();
            for a in &accounts {
                for r in &regions {
                    let scope = sesame_model::Scope::new(a.clone(), r.clone());
                    events.extend(engine.store.message_events(&scope, &message_id).await?);
                }
            }
            if json {
                let v: Vec<_> = events
                    .iter()
                    .map(|e| {
                        // `data` is the event record (what destinations get); the remote MTA's
                        // address, kept for identity notifications only (G-60), beside it.
                        let mut v = serde_json::json!({"event_id": e.event_id, "account_id": e.scope.account, "region": e.scope.region.as_str(), "message_id": e.message_id, "event_type": e.event_type, "timestamp": fmt_ms(e.timestamp), "data": sesame_events::stored::event_record(&e.data)});
                        if let Some(ip) = sesame_events::stored::remote_mta_ip(&e.data) {
                            v["remote_mta_ip"] = ip.into();
                        }
                        v
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if events.is_empty() {
                println!("no events for message {message_id}");
            } else {
                for e in events {
                    println!(
                        "{:<22} {:<18} {}",
                        fmt_ms(e.timestamp),
                        e.event_type,
                        e.event_id
                    );
                }
            }
            Ok(())
        }
        Command::Key(cmd) => {
            let engine = instance::open(&cfg, instance::Role::Cli).await?;
            match cmd {
                KeyCmd::Create {
                    account,
                    access_key_id,
                    secret_access_key,
                    json,
                } => {
                    let id = account_id(&account)?;
                    let k = engine
                        .create_key(&id, imported(access_key_id, secret_access_key))
                        .await?;
                    if json {
                        println!("{}", serde_json::to_string(&k)?);
                    } else {
                        println!("access_key_id:     {}", k.access_key_id);
                        println!("secret_access_key: {}", k.secret_access_key);
                        println!(
                            "smtp_password:     {}   (region {})",
                            k.smtp_password,
                            engine.default_region()
                        );
                        print_listener_password(&cfg, &k.secret_access_key);
                    }
                    Ok(())
                }
                KeyCmd::Delete {
                    account,
                    access_key_id,
                } => {
                    let id = account_id(&account)?;
                    engine.delete_key(&id, &access_key_id).await?;
                    println!("deleted access key {access_key_id}");
                    Ok(())
                }
                KeyCmd::List { account, json } => {
                    let id = account_id(&account)?;
                    let keys = engine.list_keys(&id).await?;
                    if json {
                        let v: Vec<_> = keys
                            .iter()
                            .map(|k| serde_json::json!({"access_key_id": k.access_key_id, "user_name": k.user_name, "status": k.status, "created_at": fmt_ms(k.created_at)}))
                            .collect();
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    } else {
                        println!(
                            "{:<24} {:<8} {:<10} CREATED",
                            "ACCESS KEY", "STATUS", "USER"
                        );
                        for k in keys {
                            println!(
                                "{:<24} {:<8} {:<10} {}",
                                k.access_key_id,
                                k.status,
                                k.user_name,
                                fmt_ms(k.created_at)
                            );
                        }
                    }
                    Ok(())
                }
            }
        }
    }
}

/// `(account, region)` from CLI flags, checking the account exists.
pub(crate) async fn scope_of(
    engine: &sesame_engine::Engine,
    account: &str,
    region: Option<&str>,
) -> anyhow::Result<sesame_model::Scope> {
    let id = account_id(account)?;
    engine.require_account(&id).await?;
    let region = engine.regions_or_all(Some(region.unwrap_or(engine.default_region().as_str())))?;
    Ok(sesame_model::Scope::new(id, region[0].clone()))
}

async fn inbox(engine: &sesame_engine::Engine, cmd: InboxCmd) -> anyhow::Result<()> {
    use sesame_api::dev_inbox::message_json;
    match cmd {
        InboxCmd::List {
            json,
            account,
            limit,
        } => {
            let account = account.as_deref().map(account_id).transpose()?;
            let found: Vec<_> = engine
                .store
                .captured_messages(None, None, usize::MAX)
                .await?
                .into_iter()
                .filter(|m| account.as_ref().is_none_or(|a| &m.scope.account == a))
                .take(limit)
                .collect();
            if json {
                let messages: Vec<_> = found.iter().map(message_json).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "messages": messages }))?
                );
            } else if found.is_empty() {
                println!("the dev inbox is empty");
            } else {
                println!(
                    "{:<62} {:<22} {:<28} {:<28} SUBJECT",
                    "MESSAGE ID", "CAPTURED", "FROM", "TO"
                );
                for m in &found {
                    let v = message_json(m);
                    println!(
                        "{:<62} {:<22} {:<28} {:<28} {}",
                        m.message_id,
                        fmt_ms(m.captured_at),
                        v["Source"].as_str().unwrap_or(""),
                        m.recipients.join(","),
                        v["Subject"].as_str().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
        InboxCmd::Show { message_id, raw } => {
            let Some(m) = engine
                .store
                .captured_messages(None, Some(&message_id), 1)
                .await?
                .into_iter()
                .next()
            else {
                anyhow::bail!("no captured message {message_id} in the dev inbox");
            };
            if raw {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(&m.raw)?;
                out.flush()?;
                return Ok(());
            }
            let v = message_json(&m);
            println!("Message-Id:  {}", m.message_id);
            println!("Account:     {} ({})", m.scope.account, m.scope.region);
            println!("Captured:    {}", fmt_ms(m.captured_at));
            println!("Mail from:   {}", m.mail_from);
            println!("Recipients:  {}", m.recipients.join(", "));
            println!("From:        {}", v["Source"].as_str().unwrap_or(""));
            println!("Subject:     {}", v["Subject"].as_str().unwrap_or(""));
            println!(
                "DKIM:        {}",
                if m.raw.starts_with(b"DKIM-Signature:") {
                    "signed"
                } else {
                    "not signed"
                }
            );
            println!();
            match (
                v["Body"]["text_part"].as_str(),
                v["Body"]["html_part"].as_str(),
            ) {
                (Some(t), _) => println!("{t}"),
                (None, Some(h)) => println!("{h}"),
                (None, None) => println!("(no text or HTML body; use --raw)"),
            }
            Ok(())
        }
    }
}
