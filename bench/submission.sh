#!/usr/bin/env bash
# Submission benchmark: durable accepted messages per second over SMTP (STARTTLS + AUTH,
# 32 connections, 5 KB messages), for a private Postfix instance and, when given, Sesame,
# on this machine in the same run. Prints numbers; asserts nothing (not a test).
#
#   bash bench/submission.sh                                   # Postfix only
#   SESAME_SMTP=127.0.0.1:2587 SESAME_SMTP_USER=AKIA... SESAME_SMTP_PASS=... \
#     bash bench/submission.sh                                 # + an already running Sesame
#   bash bench/submission.sh --sesame-cmd 'target/release/sesame serve ...'
#                                                              # + a Sesame this script starts
#
# Options (or env): --duration SECS (BENCH_DURATION, 20), --warmup SECS (BENCH_WARMUP, 3),
# --connections N (BENCH_CONNECTIONS, 32), --size BYTES (BENCH_SIZE, 5120),
# --sesame-cmd CMD (SESAME_CMD), --skip-postfix. PF_SINK=defer|hold picks how the Postfix
# instance keeps mail undelivered (see bench/README.md). Needs root (Postfix).
#
# --sesame-cmd: the command runs in the background (its PID is recorded and killed at the
# end); its output is read for the listener and the credentials, as tokens anywhere on a line:
#   SESAME_SMTP=host:port or starttls=host:port, SESAME_SMTP_USER=... or user=...,
#   SESAME_SMTP_PASS=... or password=...   (SESAME_SMTP* in the environment win).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-3}
CONNS=${BENCH_CONNECTIONS:-32}
SIZE=${BENCH_SIZE:-5120}
SESAME_CMD=${SESAME_CMD:-}
SKIP_POSTFIX=
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --sesame-cmd) SESAME_CMD=$2; shift 2 ;;
    --skip-postfix) SKIP_POSTFIX=1; shift ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "submission.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done

# shellcheck source=bench/postfix-submission.sh
source "$ROOT/bench/postfix-submission.sh"

log() { echo "submission.sh: $*" >&2; }

WORK=$(mktemp -d /tmp/bench-submission.XXXXXX)
SAMPLER_PID=
SESAME_PID=
cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  if [ -n "$SESAME_PID" ] && kill -0 "$SESAME_PID" 2>/dev/null; then
    kill "$SESAME_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SESAME_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  pf_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building smtp-bench (release)"
cargo build -q --release -p sesame-smtp-bench -p sesame
BENCH=$ROOT/target/release/smtp-bench

# Runs the load; prints smtp-bench's summary line; stderr (progress, errors) to $WORK/LABEL.err.
run_load() { # LABEL SERVER USER PASS
  "$BENCH" --label "$1" --server "$2" --starttls --auth-user "$3" --auth-pass "$4" \
    --connections "$CONNS" --size "$SIZE" --warmup "$WARMUP" --duration "$DURATION" \
    2>"$WORK/$1.err" || { cat "$WORK/$1.err" >&2; return 1; }
  # Errors are counted, not fatal: show what they were.
  grep -v ' t=[0-9]*s ' "$WORK/$1.err" | grep -v '^smtp-bench: target=' | head -n 5 >&2 || true
}

rate_of() { sed -n 's/.* rate=\([0-9.]*\)\/s.*/\1/p' <<<"$1"; }

PF_LINE=
if [ -z "$SKIP_POSTFIX" ]; then
  if [ "$(id -u)" != 0 ]; then log "Postfix needs root"; exit 1; fi
  pf_install
  pf_start
  pf_swaks
  echo "postfix-mem-before: $(pf_mem)"
  echo "postfix-queue-before: $(pf_queue)"
  # Memory and queue every 5 s while the load runs (one ps and one find, so as not to take
  # CPU from Postfix): memory should stay flat as the queue grows.
  (
    start=$SECONDS
    while :; do
      echo "t=$((SECONDS - start))s $(pf_mem_quick) $(pf_queue_quick)"
      sleep 5
    done
  ) >"$WORK/postfix-samples" 2>/dev/null &
  SAMPLER_PID=$!
  log "postfix: $CONNS connections, $SIZE bytes, STARTTLS+AUTH, ${WARMUP}s warm-up + ${DURATION}s"
  PF_LINE=$(run_load postfix "$POSTFIX_SMTP" "$PF_USER" "$PF_PASS")
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
  echo "$PF_LINE"
  echo "postfix-mem-after: $(pf_mem)"
  echo "postfix-queue-after: $(pf_queue)"
  echo "postfix-samples (every 5 s during the load):"
  sed 's/^/  /' "$WORK/postfix-samples"
  pf_stop
fi

SESAME_LINE=
S_ADDR=${SESAME_SMTP:-}
S_USER=${SESAME_SMTP_USER:-}
S_PASS=${SESAME_SMTP_PASS:-}
if [ -n "$SESAME_CMD" ]; then
  log "starting Sesame: $SESAME_CMD"
  bash -c "exec $SESAME_CMD" >"$WORK/sesame.out" 2>"$WORK/sesame.err" &
  SESAME_PID=$!
  tok() {
    { grep -o -m1 -E "(^|[[:space:]])($1)=[^[:space:]]+" "$WORK/sesame.out" || true; } |
      head -n1 | sed 's/^[[:space:]]*[^=]*=//'
  }
  for _ in $(seq 1 600); do
    kill -0 "$SESAME_PID" 2>/dev/null || { cat "$WORK/sesame.err" >&2; log "Sesame exited"; exit 1; }
    [ -n "$S_ADDR" ] || S_ADDR=$(tok 'SESAME_SMTP|starttls')
    [ -n "$S_USER" ] || S_USER=$(tok 'SESAME_SMTP_USER|user')
    [ -n "$S_PASS" ] || S_PASS=$(tok 'SESAME_SMTP_PASS|password')
    if [ -n "$S_ADDR" ] && [ -n "$S_USER" ] && [ -n "$S_PASS" ]; then break; fi
    sleep 0.1
  done
  [ -n "$S_ADDR" ] || { log "no SMTP address from Sesame's output"; exit 1; }
  # A wrapper script may start the server as a child: prefer the PID it reports.
  S_PID=$(tok SESAME_PID)
  [ -n "$S_PID" ] && MEM_PID=$S_PID || MEM_PID=$SESAME_PID
  log "Sesame (pid $MEM_PID) listens on $S_ADDR"
fi
if [ -n "$S_ADDR" ]; then
  [ -n "$S_USER" ] && [ -n "$S_PASS" ] || { log "SESAME_SMTP_USER/SESAME_SMTP_PASS missing"; exit 1; }
  if [ -n "$SESAME_PID" ]; then
    echo "sesame-mem-before: rss=$(awk '/^VmRSS:/ {printf "%.1fMB", $2/1024}' /proc/${MEM_PID:-$SESAME_PID}/status)"
  fi
  log "sesame: same load against $S_ADDR"
  SESAME_LINE=$(run_load sesame "$S_ADDR" "$S_USER" "$S_PASS")
  echo "$SESAME_LINE"
  if [ -n "$SESAME_PID" ]; then
    echo "sesame-mem-after: rss=$(awk '/^VmRSS:/ {printf "%.1fMB", $2/1024}' /proc/${MEM_PID:-$SESAME_PID}/status)"
  fi
  # The same load over the SES v2 API (SendEmail, Raw content), when the target told us how.
  S_API=${SESAME_API:-$( [ -n "$SESAME_CMD" ] && tok SESAME_API || true)}
  S_KEY=${SESAME_KEY:-$( [ -n "$SESAME_CMD" ] && tok SESAME_KEY || true)}
  S_SECRET=${SESAME_SECRET:-$( [ -n "$SESAME_CMD" ] && tok SESAME_SECRET || true)}
  S_FROM=${SESAME_FROM:-$( [ -n "$SESAME_CMD" ] && tok SESAME_FROM || true)}
  if [ -n "$S_API" ] && [ -n "$S_KEY" ] && [ -n "$S_SECRET" ]; then
    log "sesame: same load over the API at $S_API"
    API_LINE=$("$ROOT/target/release/api-bench" --endpoint "$S_API" --key "$S_KEY" --secret "$S_SECRET" \
      --from "${S_FROM:-bench@bench.example}" --connections "$CONNS" --size "$SIZE" \
      --duration "$DURATION" --warmup "$WARMUP")
    echo "$API_LINE"
    if [ -n "$SESAME_PID" ]; then
      echo "sesame-mem-after-api: rss=$(awk '/^VmRSS:/ {printf "%.1fMB", $2/1024}' /proc/${MEM_PID:-$SESAME_PID}/status)"
    fi
  fi
fi

echo "== summary"
[ -n "$PF_LINE" ] && echo "$PF_LINE"
[ -n "$SESAME_LINE" ] && echo "$SESAME_LINE"
[ -n "${API_LINE:-}" ] && echo "$API_LINE"
if [ -n "$PF_LINE" ] && [ -n "$SESAME_LINE" ]; then
  awk -v s="$(rate_of "$SESAME_LINE")" -v p="$(rate_of "$PF_LINE")" 'BEGIN {
    r = (p > 0) ? s / p : 0
    printf "ratio: sesame/postfix=%.2f (target >= 5.00: %s)\n", r, (r >= 5 ? "met" : "not met")
  }'
fi
