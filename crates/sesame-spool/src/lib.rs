//! `sesame-spool`: message bodies on local disk. It owns the body files — their layout under
//! `<dir>/bodies/<xx>/<id>`, the commit protocol that makes them durable before a message is
//! acknowledged, recovery after a crash, and enumeration for reconciliation. Queue rows (which
//! message goes where, when) live in the database (`sesame-store`); the engine writes the body
//! here first, then the row, then acknowledges, so a crash leaves at worst an orphan body that
//! reconciliation deletes, never a row without a body.
//!
//! **Commit protocol** (one write): write `tmp/<id>.<n>.tmp` → make its data durable → rename
//! it to `bodies/<xx>/<id>` → make `bodies/<xx>/` durable → acknowledge. The file is complete
//! before its name appears, and the name is durable before the caller hears "ok"; a crash at
//! any earlier point leaves a temp file (deleted at open) or an unacknowledged body (an orphan).
//!
//! **Group commit**: writers write their temp files at once, concurrently, on tokio's blocking
//! pool, then queue on one committer thread. Each committer round takes every write queued
//! since its last round, makes all of them durable together and wakes all of that round's
//! writers; while a round runs, the next one fills up, so batches grow with load and a lone
//! writer waits for no timer ([`SpoolStats::average_batch_size`]). [`CommitMode`] chooses the
//! syncs of a round: by default (Linux) `syncfs` → renames → `syncfs`, two device flushes per
//! round whatever its size; or per-file `fdatasync` by each writer plus one fsync per distinct
//! directory per round; or the naive one-fsync-per-file-and-directory baseline. Why the default
//! batches best (fewest device flushes per write) is measured and explained on [`CommitMode`].
//! At most [`SpoolOptions::max_in_flight`] writes are admitted at once; the rest wait in
//! [`Spool::write`], which is the backpressure that slows ingress before memory grows.
//!
//! **kill -9 vs power loss**: a killed process loses nothing the kernel already has — the page
//! cache survives — so the kill -9 test proves the ordering (nothing acknowledged before its
//! rename, no partial body under a final name) but cannot prove the syncs. Durability across
//! power loss rests on the fsync protocol above: the data sync before the rename and the
//! directory sync before the acknowledgement. The tests check that a `fsync: true` spool really
//! issues them ([`SpoolStats::fsyncs`]).
//!
//! Map:
//! - [`Spool`] (`spool.rs`): open + recovery, `write`/`read`/`exists`/`remove`, `iter_ids`, `stats`.
//! - `commit.rs`: on-disk layout, the blocking write steps, the committer thread and its rounds.
//! - `id.rs`: id validation (`[A-Za-z0-9-]{1,128}`, so ids are safe path components) and the
//!   fan-out hash.
//! - [`SpoolOptions`], [`CommitMode`] (`options.rs`); [`SpoolStats`] (`stats.rs`).
//! - `src/bin/spool-bench.rs`, driven by `bench/spool.sh`: accepts/s and latency per mode.

mod commit;
mod id;
mod options;
mod spool;
mod stats;

pub use id::{validate as validate_id, MAX_ID_LEN};
pub use options::{CommitMode, SpoolOptions};
pub use spool::Spool;
pub use stats::SpoolStats;

/// The spool is the engine's body store (`sesame_model::BodyStore`).
#[async_trait::async_trait]
impl sesame_model::BodyStore for Spool {
    async fn write_body(&self, id: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        self.write(id, bytes::Bytes::from(bytes)).await
    }
    async fn read_body(&self, id: &str) -> std::io::Result<Vec<u8>> {
        self.read(id).await
    }
    async fn remove_body(&self, id: &str) -> std::io::Result<()> {
        self.remove(id).await
    }
}
