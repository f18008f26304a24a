//! `sesame dns check DOMAIN`: the DNS doctor (issue 5 item 5, docs/dns-doctor.md). Fetches the
//! domain's SPF, DKIM, DMARC and MAIL FROM records through `SESAME_RESOLVER` and prints the
//! report of `sesame-dnscheck` as text, JSON, a BIND snippet or CSV. Exit code: 0 ready for
//! `p=reject` with nothing to fix, 1 problems found, 2 usage or DNS error.

use std::sync::Arc;

use clap::{Subcommand, ValueEnum};

use crate::instance;

#[derive(Subcommand, Debug)]
pub enum DnsCmd {
    /// Check a domain's SPF, DKIM, DMARC and custom MAIL FROM records and print what to publish.
    Check {
        /// The From domain to check.
        domain: String,
        /// Account whose identity the domain is: checks its Easy DKIM/BYODKIM keys and its
        /// custom MAIL FROM (without it, DKIM cannot be checked).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Region (the MAIL FROM MX names its feedback host; default: the first configured).
        #[arg(long)]
        region: Option<String>,
        /// Custom MAIL FROM domain to check (`bounce` or `bounce.DOMAIN`); default: the
        /// identity's.
        #[arg(long, value_name = "SUBDOMAIN")]
        mail_from: Option<String>,
        /// Output: a readable report, the JSON report, a BIND zone snippet or CSV
        /// `Type,Name,Value` of the records to publish.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Bind,
    Csv,
}

/// A command that ends with a given exit status (main.rs maps it; the message, if any, has
/// been printed).
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

fn usage(msg: impl std::fmt::Display) -> anyhow::Error {
    eprintln!("error: {msg}");
    Exit(2).into()
}

pub async fn run(cfg: &sesame_config::Config, cmd: DnsCmd) -> anyhow::Result<()> {
    let DnsCmd::Check {
        domain,
        account,
        region,
        mail_from,
        format,
    } = cmd;
    let domain = sesame_api::dns_check::normalize_domain(&domain).map_err(usage)?;
    let mail_from = mail_from
        .map(|m| sesame_api::dns_check::mail_from_name(&m, &domain))
        .transpose()
        .map_err(usage)?;
    if let Some(mf) = &mail_from {
        if !mf.ends_with(&format!(".{domain}")) {
            return Err(usage(format!(
                "the MAIL FROM domain {mf} is not under {domain}"
            )));
        }
    }
    let engine = instance::open(cfg, instance::Role::Cli).await?;
    let region = engine
        .regions_or_all(Some(
            region
                .as_deref()
                .unwrap_or(engine.default_region().as_str()),
        ))
        .map_err(usage)?[0]
        .clone();
    let scope = match account {
        Some(a) => {
            let id: sesame_model::AccountId = a
                .parse()
                .map_err(|_| usage(format!("'{a}' is not a 12-digit account id")))?;
            engine.require_account(&id).await.map_err(usage)?;
            Some(sesame_model::Scope::new(id, region.clone()))
        }
        None => None,
    };
    let input = sesame_api::dns_check::input_for(
        &engine,
        scope.as_ref(),
        region.as_str(),
        &domain,
        mail_from,
    )
    .await?;
    let dns: Arc<dyn sesame_model::dns::DnsLookup> = Arc::new(
        sesame_dns::Lookup::new(cfg.resolver).map_err(|e| usage(format!("resolver: {e}")))?,
    );
    if format == Format::Text {
        eprintln!(
            "checking {domain} through {}…",
            cfg.resolver
                .map_or("the system resolver".to_string(), |a| a.to_string())
        );
    }
    let report = sesame_dnscheck::run(&*dns, &input).await;
    let out = match format {
        Format::Text => sesame_dnscheck::render::text(&report),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Bind => sesame_dnscheck::render::bind(&report),
        Format::Csv => sesame_dnscheck::render::csv(&report),
    };
    print!("{out}");
    match report.exit_code() {
        0 => Ok(()),
        code => {
            if format == Format::Text {
                eprintln!(
                    "{}",
                    if code == 2 {
                        "DNS errors: the check is incomplete, try again"
                    } else {
                        "problems found: see the findings above"
                    }
                );
            }
            Err(Exit(code).into())
        }
    }
}
