#!/usr/bin/env bash
# Spool write throughput and latency: durable 5 KB writes/s and p50/p99 for 1, 8 and 32
# concurrent writers, group commit (per-file fdatasync + batched directory fsync), group commit
# with syncfs, and the naive one-fsync-per-file-and-directory baseline. Prints numbers only.
#
#   bench/spool.sh [--dir DIR] [--secs N] [--writers 1,8,32] [--modes group,syncfs,naive]
#
# The default directory is under target/ so it is on the repository's disk, never tmpfs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p sesame-spool --bin spool-bench
exec target/release/spool-bench "$@"
