//! `sesame serve`: bind the listeners, start the roles, print the ready line, wait for a signal.

use std::sync::Arc;

use anyhow::Context;
use sesame_api::ApiState;
use sesame_config::{Config, DeliveryMode};
use sesame_engine::Engine;
use tracing_subscriber::EnvFilter;

use crate::instance;

pub async fn serve(cfg: Config, dev: bool) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&cfg.log)
        .with_context(|| format!("invalid SESAME_LOG filter {:?}", cfg.log))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let mut engine = instance::open(&cfg, instance::Role::Server).await?;
    let mode = cfg.delivery_mode(dev);
    let wake = Arc::new(tokio::sync::Notify::new());
    {
        let wake = wake.clone();
        engine.set_queue_waker(Arc::new(move || wake.notify_one()));
    }
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

    if dev {
        print_dev_banner(&engine, &cfg, &endpoint).await?;
    }
    tracing::info!(%endpoint, database = %instance::redact(&cfg.database_url), regions = ?cfg.regions, delivery_mode = mode.as_str(), "sesame started");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let delivery = match mode {
        DeliveryMode::Capture => {
            let node = format!("serve-{}", std::process::id());
            Some(tokio::spawn(crate::delivery::run_capture_delivery(
                engine.clone(),
                node,
                wake,
                stop_rx.clone(),
            )))
        }
        DeliveryMode::Smtp => {
            tracing::warn!(
                "delivery_mode = smtp, but the outbound SMTP MTA is not built yet: accepted messages stay queued and nothing is delivered. Set SESAME_DELIVERY_MODE=capture to deliver into the dev inbox (GET /_aws/ses)."
            );
            None
        }
    };
    let state = ApiState::new(engine).with_dev_inbox(mode == DeliveryMode::Capture || dev);
    // The test harness and scripts wait for this exact line (`sesame ready http=ADDR`).
    println!("sesame ready http={addr}");

    let mut api_stop = stop_rx;
    let server = tokio::spawn(sesame_api::run(listener, state, async move {
        let _ = api_stop.wait_for(|stopped| *stopped).await;
    }));
    server.await.context("API task")?.context("API server")?;
    if let Some(d) = delivery {
        d.await.context("delivery task")?;
    }
    tracing::info!("sesame stopped");
    Ok(())
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
async fn print_dev_banner(engine: &Engine, cfg: &Config, endpoint: &str) -> anyhow::Result<()> {
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
    Ok(())
}
