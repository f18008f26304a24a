//! `sesame serve`: bind the listeners, start the roles, print the ready line, wait for a signal.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use sesame_api::ApiState;
use sesame_config::{Config, DeliveryMode};
use sesame_engine::Engine;
use sesame_smtp::{ListenerMode, SmtpConfig, SubmissionBackend, TlsSetup};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::instance;
use crate::smtp_backend::EngineBackend;

pub async fn serve(cfg: Config, dev: bool) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&cfg.log)
        .with_context(|| format!("invalid SESAME_LOG filter {:?}", cfg.log))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    // One registry per process: the API renders it at GET /metrics. Delivery outcomes are
    // counted from the events the store commits (Delivery, DeliveryDelay, Bounce, Complaint),
    // whichever role records them; `Metrics::delivery_outcome` is there for anything else.
    let metrics = Arc::new(sesame_metrics::Metrics::default());
    let observer: sesame_engine::cache::EventObserver = {
        let metrics = metrics.clone();
        Arc::new(move |events| metrics.record_events(events))
    };
    let mut engine = instance::open_with(&cfg, instance::Role::Server, Some(observer)).await?;
    let mode = cfg.delivery_mode(dev);
    let wake = Arc::new(tokio::sync::Notify::new());
    {
        let wake = wake.clone();
        engine.set_queue_waker(Arc::new(move || wake.notify_one()));
    }
    // In-flow control on a node that delivers (`in_flow_delay_ms`; see inflow.rs).
    let inflow = (mode != DeliveryMode::Hold && cfg.in_flow_delay_ms > 0).then(|| {
        Arc::new(crate::inflow::Inflow::new(
            std::time::Duration::from_millis(cfg.in_flow_delay_ms),
        ))
    });
    if let Some(gate) = &inflow {
        engine.set_inflow_gate(gate.clone());
    }
    // The operator signature d=<service_domain> (Q-72): loaded, or generated once for every
    // node sharing the database, before the ready line, so the zone publishes it and the
    // first message is signed. Key generation is CPU work: off the async workers.
    if let Some(op) = &cfg.dns.operator_dkim {
        let (e, selector, customer_mail) = (engine.clone(), op.selector.clone(), op.customer_mail);
        let loaded = tokio::task::spawn_blocking(move || {
            tokio::runtime::Handle::current()
                .block_on(e.load_operator_dkim(&selector, customer_mail))
        })
        .await
        .context("loading the operator DKIM key")?
        .context("loading the operator DKIM key (SESAME_OPERATOR_DKIM)")?;
        tracing::info!(selector = %loaded.selector, domain = %loaded.domain, customer_mail, "operator DKIM signature enabled");
        engine.set_operator_dkim(loaded);
    }
    let operator_txt = engine
        .operator_dkim()
        .map(|o| (o.selector.clone(), o.public_key.clone()));
    let listener = tokio::net::TcpListener::bind(cfg.http_addr)
        .await
        .with_context(|| {
            format!(
                "binding the API listener on {} (SESAME_HTTP_ADDR)",
                cfg.http_addr
            )
        })?;
    let addr = listener.local_addr()?;
    let endpoint = format!("http://{addr}");
    engine.default_verification_base_url(&endpoint);
    if dev {
        // Tracked links in captured mail point at this listener (docs/tracking.md).
        engine.default_tracking_base_url(&endpoint);
    }
    engine.default_sns_base_url(&endpoint);
    let smtp = bind_smtp(&cfg, dev).await?;
    let mx = crate::feedback_backend::bind(&cfg, dev).await?;
    let dns = crate::dns_zone::bind(&cfg).await?;

    if dev {
        print_dev_banner(&engine, &cfg, &endpoint, &smtp).await?;
    }
    tracing::info!(%endpoint, database = %instance::redact(&cfg.database_url), regions = ?cfg.regions, delivery_mode = mode.as_str(), "sesame started");

    // One shutdown signal for every role: SIGINT/SIGTERM flips it, each role drains.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = {
        let stop_rx = stop_rx.clone();
        move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        }
    };

    // Removes the spool bodies of messages deleted with `sesame queue delete`.
    let sweep = tokio::spawn(crate::queue_sweep::run(
        engine.store.clone(),
        engine.bodies.clone(),
        stop_rx.clone(),
    ));

    let handoff = match mode {
        DeliveryMode::Capture => Some(crate::delivery::Handoff::Capture),
        DeliveryMode::Smtp => Some(crate::delivery::Handoff::Smtp(crate::outbound::transport(
            &cfg,
        )?)),
        DeliveryMode::Hold => {
            tracing::warn!(
                "delivery_mode = hold: accepted messages stay queued and nothing is delivered"
            );
            None
        }
    };
    let node = crate::delivery::node_id(&cfg.data_dir)
        .with_context(|| format!("reading or creating {}/node-id", cfg.data_dir.display()))?;
    let node_name = node.clone();
    // DNS verification of identities (docs/verification.md).
    let verifying = tokio::spawn(crate::verification::run(
        engine.clone(),
        crate::verification::lookup(&cfg)?,
        crate::verification::timings(&cfg),
        node.clone(),
        std::time::Duration::from_secs(cfg.verification_poll_seconds),
        stop_rx.clone(),
    ));
    // SNS HTTP(S) subscription deliveries (sesame-publish), on every node in every mode:
    // notifications are not mail, `hold` does not apply to them.
    let sns_publisher = tokio::spawn(sesame_publish::sns::run(
        engine.clone(),
        node.clone(),
        sesame_publish::sns::Options::default(),
        stop_rx.clone(),
    ));
    // SES event publishing (docs/events.md): the publishing outbox → configuration-set SNS,
    // Firehose, EventBridge and CloudWatch destinations and identity notification topics, on
    // every node in every mode.
    let event_publisher = tokio::spawn(sesame_publish::events::run(
        engine.clone(),
        node.clone(),
        sesame_publish::events::Options::default(),
        Arc::new(sesame_publish::sinks::Sinks::new(&node)),
        Some(metrics.clone()),
        stop_rx.clone(),
    ));
    let limits = crate::delivery::Limits {
        batch: 64,
        concurrency: match mode {
            DeliveryMode::Capture => 8,
            _ => cfg.delivery_concurrency,
        },
    };
    let delivery = handoff.map(|handoff| {
        tokio::spawn(crate::delivery::run_delivery(
            engine.clone(),
            node,
            handoff,
            limits,
            wake,
            inflow,
            stop_rx.clone(),
        ))
    });

    let (ready_submission, ready_submission_tls) =
        (shown(smtp.starttls.as_ref()), shown(smtp.implicit.as_ref()));
    let mut smtp_tasks = Vec::new();
    if let Some(tls) = smtp.tls.clone() {
        let backend: Arc<dyn SubmissionBackend> = Arc::new(EngineBackend::new(engine.clone()));
        let listeners = [
            (smtp.starttls, ListenerMode::StartTls),
            (smtp.implicit, ListenerMode::ImplicitTls),
        ];
        for ((listener, _), mode) in listeners.into_iter().filter_map(|(l, m)| l.map(|l| (l, m))) {
            smtp_tasks.push(tokio::spawn(sesame_smtp::run(
                listener,
                mode,
                smtp.cfg.clone(),
                tls.clone(),
                backend.clone(),
                stopped(),
            )));
        }
    }
    // The feedback MX (DSNs and complaints for VERP addresses) and the pruning of the
    // sent-message log it reads.
    let ready_mx = mx
        .as_ref()
        .map_or_else(|| "off".to_string(), |m| m.addr.to_string());
    if let Some(mx) = mx {
        let backend: Arc<dyn sesame_smtp::FeedbackBackend> =
            Arc::new(crate::feedback_backend::FeedbackIngest::new(engine.clone()));
        smtp_tasks.push(tokio::spawn(sesame_smtp::run_feedback(
            mx.listener,
            mx.cfg,
            mx.tls,
            backend,
            stopped(),
        )));
    }
    // The authoritative responder of the instance zone (Q-65 (a)), see dns_zone.rs.
    let ready_dns = dns
        .as_ref()
        .map_or_else(|| "off".to_string(), |(_, a)| a.to_string());
    let dns_task = dns.map(|(listeners, _)| {
        let (cfg, store, stopped) = (cfg.clone(), engine.store.clone(), stopped());
        let operator_txt = operator_txt.clone();
        tokio::spawn(async move {
            crate::dns_zone::run(listeners, &cfg, store, operator_txt, stopped).await
        })
    });
    let rotation = cfg.dns.dkim_rotation_seconds.map(|secs| {
        tokio::spawn(crate::dkim_rotation::run(
            engine.clone(),
            cfg.regions.clone(),
            std::time::Duration::from_secs(secs),
            stop_rx.clone(),
        ))
    });
    // Automatic review and pausing (docs/reputation.md), on every node.
    let reputation = cfg.reputation.evaluation_seconds.map(|secs| {
        tokio::spawn(crate::reputation::run(
            engine.clone(),
            cfg.clone(),
            metrics.clone(),
            std::time::Duration::from_secs(secs),
            stop_rx.clone(),
        ))
    });
    // The account-notice mailer (docs/notices.md), on every node in every mode: notices go
    // through the queue like any mail.
    let notices = cfg.notices.poll_seconds.map(|secs| {
        tokio::spawn(crate::notices::run(
            engine.clone(),
            cfg.regions.clone(),
            node_name.clone(),
            cfg.notices.fallback.clone(),
            std::time::Duration::from_secs(secs),
            stop_rx.clone(),
        ))
    });
    // Managed dedicated IP pools (docs/dedicated-ips.md): warm-up state, automatic allocation
    // and the ses_managed_pool_* gauges, on every node.
    let managed_pools = cfg.managed_pools.evaluation_seconds.map(|secs| {
        tokio::spawn(crate::managed_pools::run(
            engine.clone(),
            cfg.clone(),
            metrics.clone(),
            std::time::Duration::from_secs(secs),
            stop_rx.clone(),
        ))
    });
    let pruning = tokio::spawn(crate::feedback_backend::prune_message_log(
        engine.clone(),
        stop_rx.clone(),
    ));
    let mut state = ApiState::new(engine)
        .with_dev_inbox(mode == DeliveryMode::Capture || dev)
        .with_metrics(metrics);
    // The DNS doctor endpoint (`GET /_sesame/dns-check`) asks SESAME_RESOLVER.
    match sesame_dns::Lookup::new(cfg.resolver) {
        Ok(dns) => state = state.with_dns(std::sync::Arc::new(dns)),
        Err(e) => tracing::warn!(error = %e, "no resolver for the DNS doctor endpoint"),
    }
    // The test harness and scripts wait for this line: `sesame ready http=ADDR` comes first, then
    // `submission=ADDR submission_tls=ADDR`, then `mx=ADDR`, then `dns=ADDR` (`off` when
    // disabled); keys may be added at the end, never in between.
    println!(
        "sesame ready http={addr} submission={ready_submission} submission_tls={ready_submission_tls} mx={ready_mx} dns={ready_dns}"
    );
    let server = tokio::spawn(sesame_api::run(listener, state, stopped()));
    server.await.context("API task")?.context("API server")?;
    for task in smtp_tasks {
        task.await.context("SMTP task")?.context("SMTP server")?;
    }
    if let Some(d) = delivery {
        d.await.context("delivery task")?;
    }
    if let Some(t) = dns_task {
        t.await.context("DNS task")??;
    }
    if let Some(t) = rotation {
        t.await.context("DKIM rotation task")?;
    }
    if let Some(t) = reputation {
        t.await.context("reputation task")?;
    }
    if let Some(t) = managed_pools {
        t.await.context("managed pool task")?;
    }
    if let Some(t) = notices {
        t.await.context("account notice task")?;
    }
    pruning.await.context("message log pruning task")?;
    event_publisher.await.context("event publishing task")?;
    sns_publisher.await.context("SNS delivery task")?;
    sweep.await.context("queue sweep task")?;
    verifying.await.context("verification task")?;
    tracing::info!("sesame stopped");
    Ok(())
}

/// The submission listeners, bound before the ready line so it can print their ports.
struct SmtpListeners {
    /// STARTTLS listener (`SESAME_SUBMISSION_ADDR`) and its bound address.
    starttls: Option<(TcpListener, SocketAddr)>,
    /// Implicit-TLS listener (`SESAME_SUBMISSION_TLS_ADDR`) and its bound address.
    implicit: Option<(TcpListener, SocketAddr)>,
    /// Present when at least one listener is enabled.
    tls: Option<Arc<TlsSetup>>,
    cfg: Arc<SmtpConfig>,
}

fn shown(l: Option<&(TcpListener, SocketAddr)>) -> String {
    l.map_or_else(|| "off".to_string(), |(_, a)| a.to_string())
}

/// Loads the certificate (Q-62: operator PEM files; a persisted self-signed one in `--dev`) and
/// binds the enabled submission listeners.
async fn bind_smtp(cfg: &Config, dev: bool) -> anyhow::Result<SmtpListeners> {
    let mut smtp_cfg = SmtpConfig::new(cfg.smtp_region.clone(), cfg.smtp_hostname.clone());
    smtp_cfg.max_connections = cfg.smtp_max_connections;
    smtp_cfg.max_messages_per_connection = cfg.smtp_max_messages_per_connection;
    let mut out = SmtpListeners {
        starttls: None,
        implicit: None,
        tls: None,
        cfg: Arc::new(smtp_cfg),
    };
    if cfg.submission_addr.is_none() && cfg.submission_tls_addr.is_none() {
        return Ok(out);
    }
    let tls = match &cfg.smtp_tls {
        Some((cert, key)) => sesame_smtp::load_tls(cert, key).with_context(|| {
            format!(
                "loading the SMTP certificate (SESAME_SMTP_TLS_CERT={}, SESAME_SMTP_TLS_KEY={})",
                cert.display(),
                key.display()
            )
        })?,
        None if dev => sesame_smtp::dev_self_signed(&cfg.data_dir, &cfg.smtp_hostname)
            .context("creating the development SMTP certificate")?,
        None => anyhow::bail!(
            "the SMTP submission listeners need a TLS certificate: set SESAME_SMTP_TLS_CERT and \
             SESAME_SMTP_TLS_KEY (PEM files), use `sesame serve --dev` for a self-signed one, or \
             disable them with SESAME_SUBMISSION_ADDR=off SESAME_SUBMISSION_TLS_ADDR=off"
        ),
    };
    out.tls = Some(Arc::new(tls));
    for (addr, setting, slot) in [
        (
            cfg.submission_addr,
            "SESAME_SUBMISSION_ADDR",
            &mut out.starttls,
        ),
        (
            cfg.submission_tls_addr,
            "SESAME_SUBMISSION_TLS_ADDR",
            &mut out.implicit,
        ),
    ] {
        if let Some(addr) = addr {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the SMTP listener on {addr} ({setting})"))?;
            let bound = l.local_addr()?;
            *slot = Some((l, bound));
        }
    }
    Ok(out)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// Dev mode: make sure a bootstrap account exists and print how to use it.
async fn print_dev_banner(
    engine: &Engine,
    cfg: &Config,
    endpoint: &str,
    smtp: &SmtpListeners,
) -> anyhow::Result<()> {
    let accounts = engine.list_accounts().await?;
    let dev = accounts.iter().find(|a| a.name.as_deref() == Some("dev"));
    let (account_id, key_id, secret) = match dev {
        Some(a) => {
            let keys = engine.list_keys(&a.account_id).await?;
            let Some(k) = keys.into_iter().find(|k| k.status == "Active") else {
                anyhow::bail!("the dev account {} has no active access key: create one with `sesame key create --account {}`", a.account_id, a.account_id);
            };
            let resolved = engine
                .resolve_key(&k.access_key_id)
                .await?
                .context("the dev account's key could not be opened")?;
            (
                a.account_id.to_string(),
                k.access_key_id,
                resolved.secret_access_key,
            )
        }
        None => {
            let c = engine
                .create_account(Some("dev".into()), None, None)
                .await?;
            // Dev mode: the bootstrap account starts with production access so any recipient
            // works; operators create real accounts with `sesame account create`.
            engine
                .grant_production_access(&c.account_id.parse().expect("12 digits"), None)
                .await?;
            (c.account_id, c.access_key_id, c.secret_access_key)
        }
    };
    let region = cfg.default_region();
    println!("Sesame (dev mode) is listening on {endpoint}");
    println!("  data directory: {}", cfg.data_dir.display());
    println!("  dev account:    {account_id}");
    println!("  dev inbox:      {endpoint}/_aws/ses   (or `sesame inbox list`)");
    println!();
    println!("Try it (paste into a shell):");
    println!();
    println!("  export AWS_ACCESS_KEY_ID={key_id} AWS_SECRET_ACCESS_KEY={secret} AWS_DEFAULT_REGION={region}");
    println!(
        "  aws --endpoint-url {endpoint} sesv2 create-email-identity --email-identity example.com"
    );
    println!("  aws --endpoint-url {endpoint} sesv2 list-email-identities");
    println!();
    if smtp.tls.is_some() {
        let password = sesame_sigv4::smtp_password::derive_smtp_password(&secret, &cfg.smtp_region);
        let cert = if cfg.smtp_tls.is_some() {
            "configured certificate"
        } else {
            "self-signed certificate"
        };
        println!(
            "SMTP (region {}, host name {}, {cert}):",
            cfg.smtp_region, cfg.smtp_hostname
        );
        if let Some((_, a)) = &smtp.starttls {
            println!("  STARTTLS:     {a}");
        }
        if let Some((_, a)) = &smtp.implicit {
            println!("  implicit TLS: {a}");
        }
        println!("  username:     {key_id}");
        println!("  password:     {password}");
        if let Some((_, a)) = &smtp.starttls {
            println!();
            println!(
                "  swaks --server {} --port {} --tls --auth PLAIN --auth-user {key_id} --auth-password '{password}' --from you@YOUR-VERIFIED-DOMAIN --to someone@example.net",
                a.ip(),
                a.port()
            );
        }
        println!();
    }
    Ok(())
}
