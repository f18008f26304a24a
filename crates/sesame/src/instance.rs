//! Opening an instance: configuration, data directory, instance key, store and engine.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use sesame_config::Config;
use sesame_engine::{Engine, Settings};
use sesame_store::SqlStore;

/// Loads the configuration: file, then environment, then command-line overrides.
pub fn load_config(file: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Config> {
    let mut cfg = Config::load(file).context("loading configuration")?;
    if let Some(d) = data_dir {
        let default_db = format!("sqlite://{}", cfg.data_dir.join("sesame.db").display());
        if cfg.database_url == default_db {
            cfg.database_url = format!("sqlite://{}", d.join("sesame.db").display());
        }
        cfg.data_dir = d.to_path_buf();
    }
    Ok(cfg)
}

/// The instance key: from config, or `<data_dir>/instance.key` (created on first use, 0600).
pub fn master_key(cfg: &Config) -> anyhow::Result<[u8; 32]> {
    if let Some(k) = cfg.master_key {
        return Ok(k);
    }
    let path = cfg.master_key_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .with_context(|| format!("{} is not hex", path.display()))?;
            let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                bail!("{} must hold 64 hex characters", path.display());
            };
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = sesame_sigv4::secrets::generate_key();
            write_private(&path, hex::encode(key).as_bytes())
                .with_context(|| format!("creating instance key {}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading instance key {}", path.display())),
    }
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// How old a body without a queue row must be before it is swept: far longer than a send
/// takes between writing its body and committing its queue row.
const ORPHAN_GRACE_MS: i64 = 10 * 60 * 1000;

/// The server's body store: bodies in the database; the file spool only for bodies an earlier
/// version wrote there (read until those messages are finished).
struct Bodies {
    db: sesame_store::bodies::SqlBodies,
    spool: sesame_spool::Spool,
    /// The spool held bodies at start-up.
    legacy: bool,
}

#[async_trait::async_trait]
impl sesame_model::BodyStore for Bodies {
    async fn write_body(&self, id: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        self.db.write_body(id, bytes).await
    }
    async fn read_body(&self, id: &str) -> std::io::Result<Vec<u8>> {
        match self.db.read_body(id).await {
            Err(e) if self.legacy && e.kind() == std::io::ErrorKind::NotFound => {
                self.spool.read_body(id).await
            }
            r => r,
        }
    }
    /// From the database only; legacy spool bodies are read one by one.
    async fn prefetch_bodies(
        &self,
        ids: &[String],
        max_each: usize,
    ) -> std::io::Result<std::collections::HashMap<String, Vec<u8>>> {
        self.db.prefetch_bodies(ids, max_each).await
    }
    async fn remove_body(&self, id: &str) -> std::io::Result<()> {
        self.db.remove_body(id).await?;
        if self.legacy {
            self.spool.remove_body(id).await?;
        }
        Ok(())
    }
    fn removed_with_message(&self) -> bool {
        !self.legacy
    }
    fn written_with_queue_row(&self) -> bool {
        true
    }
}

/// Body store for operator commands: the spool belongs to the server process (it holds an
/// exclusive lock), so CLI commands that run beside it never touch message bodies.
struct NoSpool;

#[async_trait::async_trait]
impl sesame_model::BodyStore for NoSpool {
    async fn write_body(&self, _id: &str, _bytes: Vec<u8>) -> std::io::Result<()> {
        Err(no_spool())
    }
    async fn read_body(&self, _id: &str) -> std::io::Result<Vec<u8>> {
        Err(no_spool())
    }
    async fn remove_body(&self, _id: &str) -> std::io::Result<()> {
        Err(no_spool())
    }
}

fn no_spool() -> std::io::Error {
    std::io::Error::other("message bodies are only available inside `sesame serve`")
}

/// Which parts of the instance a command needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `sesame serve`: owns the spool.
    Server,
    /// Operator commands: store only.
    Cli,
}

/// Creates the data dir, opens and migrates the store, and builds the engine.
pub async fn open(cfg: &Config, role: Role) -> anyhow::Result<Engine> {
    open_with(cfg, role, None).await
}

/// [`open`], and for the server: report every event the store commits to `observer` (the
/// `/metrics` outcome counters; `sesame_engine::cache::EventObserver`).
pub async fn open_with(
    cfg: &Config,
    role: Role,
    observer: Option<sesame_engine::cache::EventObserver>,
) -> anyhow::Result<Engine> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data directory {}", cfg.data_dir.display()))?;
    let key = master_key(cfg)?;
    let store = SqlStore::connect(&cfg.database_url)
        .await
        .with_context(|| format!("opening database {}", redact(&cfg.database_url)))?;
    store
        .migrate()
        .await
        .context("applying database migrations")?;
    let settings = Settings {
        regions: cfg
            .regions
            .iter()
            .map(|r| r.parse().expect("validated by config"))
            .collect(),
        partition: cfg.partition.clone(),
        service_domain: cfg.service_domain.clone(),
        new_accounts_in_sandbox: cfg.new_accounts_in_sandbox,
        sandbox_max_24h_send: cfg.sandbox_max_24h_send,
        sandbox_max_send_rate: cfg.sandbox_max_send_rate,
        production_max_24h_send: cfg.production_max_24h_send,
        production_max_send_rate: cfg.production_max_send_rate,
        delivery_retry_base_seconds: cfg.delivery_retry_base_seconds,
        delivery_retry_window_seconds: cfg.delivery_retry_window_seconds,
        outbound_ips: cfg.outbound_ips.clone(),
        verification: sesame_engine::email_verification::VerificationSettings {
            base_url: cfg.verification_base_url.clone(),
            link_ttl_seconds: cfg.verification_link_ttl_seconds,
            brand: cfg.brand.clone(),
            abuse_contact: Some(cfg.abuse_contact.clone()),
        },
        tracking: sesame_engine::tracking::TrackingSettings {
            base_url: cfg.tracking_base_url.clone(),
            trust_forwarded_for: cfg.tracking_trust_forwarded_for,
        },
        sns: sesame_engine::sns::SnsSettings {
            base_url: cfg.sns_base_url.clone(),
            retry_base_seconds: cfg.sns_retry_base_seconds,
            retry_max_delay_seconds: cfg.sns_retry_max_delay_seconds,
            retry_window_seconds: cfg.sns_retry_window_seconds,
        },
        eventbridge_source: cfg.eventbridge_source.clone(),
        contacts: sesame_engine::contacts::ContactLimits {
            max_lists: cfg.contact_lists_per_account as u64,
            max_topics: cfg.contact_list_max_topics,
        },
    };
    let bodies: Arc<dyn sesame_model::BodyStore> = match role {
        Role::Server => {
            // Bodies live in the database (sesame_store::bodies). The file spool is still
            // opened: its lock keeps a second `sesame serve` off this data directory, and it
            // serves the bodies of messages queued by a version that wrote files.
            let dir = cfg.data_dir.join("spool");
            let spool = sesame_spool::Spool::open(&dir, sesame_spool::SpoolOptions::default())
                .with_context(|| format!("opening the spool in {} (is another `sesame serve` using this data directory?)", dir.display()))?;
            let legacy = spool.stats().recovered_bodies > 0;
            if legacy {
                tracing::info!(bodies = spool.stats().recovered_bodies, "message bodies from an earlier version are read from the file spool until delivered");
            }
            // Bodies of sends that never committed their queue row (no acknowledgement was
            // given): removed after ORPHAN_GRACE_MS, checked every few minutes.
            let db = store.bodies();
            let sweeper = db.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
                loop {
                    tick.tick().await;
                    let before = sesame_engine::now_ms() - ORPHAN_GRACE_MS;
                    match sweeper.sweep_orphans(before).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(
                            bodies = n,
                            "removed bodies of sends that never completed"
                        ),
                        Err(e) => {
                            tracing::warn!(error = %e, "sweeping orphan message bodies failed")
                        }
                    }
                }
            });
            Arc::new(Bodies { db, spool, legacy })
        }
        Role::Cli => Arc::new(NoSpool),
    };
    // Every send reads identities, account settings and keys: serve them from a 1 s cache
    // so the database only sees writes and queue traffic.
    let store: Arc<dyn sesame_model::Store> = match role {
        Role::Server => {
            let cache = sesame_engine::cache::CachingStore::new(Arc::new(store));
            Arc::new(match observer {
                Some(f) => cache.with_event_observer(f),
                None => cache,
            })
        }
        Role::Cli => Arc::new(store),
    };
    Ok(Engine::new(store, bodies, key, settings))
}

/// Hides a password in a database URL for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
