#!/usr/bin/env bash
# Runs every check and test of the repository. This is the README's test command and what CI
# runs. PostgreSQL variants run when SESAME_TEST_DATABASE_URL is set
# (e.g. postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "pure core crates stay pure"
bash scripts/check-pure-crates.sh

step "cargo test (unit, store suite on SQLite${SESAME_TEST_DATABASE_URL:+ and PostgreSQL}, protocol and SigV4 vectors)"
cargo test --workspace

step "conformance: boto3 and the aws CLI against a real sesame serve"
bash tests/conformance/run.sh
