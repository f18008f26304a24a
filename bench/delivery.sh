#!/usr/bin/env bash
# End-to-end delivery benchmark: messages per second that go all the way through — accepted
# over SMTP submission (STARTTLS + AUTH, 32 connections, 5 KB), DKIM-signed with RSA-2048 and
# delivered over SMTP to a local counting sink — for Sesame and for Postfix + OpenDKIM, on this
# machine in the same run. Prints numbers; asserts nothing (not a test). Needs root.
#
#   bash bench/delivery.sh [--duration SECS] [--warmup SECS] [--connections N] [--size BYTES]
#                          [--skip-postfix] [--skip-sesame] [--with-events]
#
# How each side is measured: the load runs for warm-up + duration seconds; the sink's count of
# completed DATA transactions is read when the warm-up ends and when the load ends; the rate is
# their difference over the duration. That is the delivery throughput in steady state (if a
# server accepts faster than it delivers, its queue grows and only delivered mail counts). The
# sink also counts messages that carry a DKIM-Signature, to show both sides signed.
#
# Sesame: release build, `delivery_mode = smtp`, a private knot (authoritative DNS) on
# 127.0.0.43:53 publishing `MX 10 mx.rcpt.bench.test` → 127.0.0.42, the sink on 127.0.0.42:25,
# sender domain example.test verified with an Easy DKIM RSA-2048 key.
# Postfix: bench/postfix-submission.sh's private instance with PF_SINK=relay to the sink on
# 127.0.0.41:25 (relayhost, no MX lookup) and OpenDKIM (Debian's package) as a milter signing
# example.test with an RSA-2048 key, relaxed/relaxed.
# Sesame signs once per message like OpenDKIM (the customer's Easy DKIM key): the second,
# operator signature of Q-72 is off here unless SESAME_OPERATOR_DKIM_CUSTOMER_MAIL=true.
# --with-events: Sesame's mail also goes through a configuration set (the identity's default,
# Q-127) whose event destination writes every Send and Delivery event to a Firehose file stream
# (docs/event-destinations.md), as most SES senders publish events; the script then reports the
# events written. Postfix has no counterpart (compare with a run without the flag).
# The RSA-2048 signing limit of the machine (`openssl speed -multi 2 rsa2048`) is printed so
# the results can be read as a fraction of it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-5}
CONNS=${BENCH_CONNECTIONS:-32}
SIZE=${BENCH_SIZE:-5120}
SKIP_POSTFIX=
SKIP_SESAME=
WITH_EVENTS=
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --skip-postfix) SKIP_POSTFIX=1; shift ;;
    --skip-sesame) SKIP_SESAME=1; shift ;;
    --with-events) WITH_EVENTS=1; shift ;;
    -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "delivery.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "delivery.sh: needs root (ports 25/53, Postfix)" >&2; exit 1; }

# shellcheck source=bench/postfix-submission.sh
source "$ROOT/bench/postfix-submission.sh"
log() { echo "delivery.sh: $*" >&2; }

WORK=$(mktemp -d /tmp/bench-delivery.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  pf_stop
  wait 2>/dev/null || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_peers() {
  local need=
  command -v knotd >/dev/null || need="$need knot knot-dnsutils"
  command -v opendkim >/dev/null || need="$need opendkim opendkim-tools"
  if [ -n "$need" ]; then
    log "installing$need"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null 2>&1 || {
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null
    }
  fi
  pf_install
}

log "building sesame, smtp-bench, smtp-sink (release)"
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build -q --release -p sesame -p sesame-smtp-bench
BIN=$ROOT/target/release
install_peers

# A sink; prints its PID. Its count is in $WORK/NAME.count (rewritten every second).
start_sink() { # NAME ADDR
  "$BIN/smtp-sink" "$2" --out "$WORK/$1.count" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do grep -q listening "$WORK/$1.log" && return 0; sleep 0.1; done
  log "sink $1 did not start"; cat "$WORK/$1.log" >&2; return 1
}
sink_field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$WORK/$1.count" 2>/dev/null || echo 0; }
sink_count() { local c; c=$(sed -n 's/^sink count=\([0-9]*\).*/\1/p' "$WORK/$1.count" 2>/dev/null); echo "${c:-0}"; }

# Runs the load against a submission server and measures the sink; prints one result line.
measure() { # LABEL SINK SERVER USER PASS FROM
  local label=$1 sink=$2 before after signed rate
  "$BIN/smtp-bench" --label "$label" --server "$3" --starttls --auth-user "$4" --auth-pass "$5" \
    --from "$6" --to "someone@rcpt.bench.test" --connections "$CONNS" --size "$SIZE" \
    --warmup 0 --duration "$((WARMUP + DURATION))" --quiet >"$WORK/$label.bench" 2>&1 &
  local load=$!
  sleep "$WARMUP"; sleep 1.05 # the sink file is rewritten every second
  before=$(sink_count "$sink")
  sleep "$DURATION"
  after=$(sink_count "$sink")
  wait "$load" || true
  signed=$(sink_field "$sink" signed)
  rate=$(awk -v a="$after" -v b="$before" -v d="$DURATION" 'BEGIN { printf "%.1f", (a - b) / d }')
  echo "delivery: target=$label delivered_rate=$rate/s window=${DURATION}s delivered_in_window=$((after - before)) sink_total=$after sink_signed=$signed accepted=[$(grep -o 'sent=[0-9]*.*' "$WORK/$label.bench" | head -c 200)]"
}

echo "machine: $(nproc) cores; RSA-2048 signing limit: $(openssl speed -multi "$(nproc)" -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $(NF-1) " signs/s"}')"

PF_RESULT=
if [ -z "$SKIP_POSTFIX" ]; then
  start_sink postfix 127.0.0.41:25
  # OpenDKIM signing example.test with a 2048-bit key, as a milter on a loopback TCP port.
  K=$WORK/opendkim; mkdir -p "$K"
  opendkim-genkey -b 2048 -d example.test -s bench -D "$K" >/dev/null
  chown -R opendkim:opendkim "$K" 2>/dev/null || true
  cat >"$K/opendkim.conf" <<CONF
Syslog no
Mode s
Domain example.test
Selector bench
KeyFile $K/bench.private
Canonicalization relaxed/relaxed
Socket inet:18891@127.0.0.1
PidFile $K/opendkim.pid
UserID opendkim
SignatureAlgorithm rsa-sha256
RequireSafeKeys false
CONF
  opendkim -f -x "$K/opendkim.conf" >"$K/log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do ss -Htln 'sport = :18891' | grep -q . && break; sleep 0.1; done
  PF_SINK=relay PF_RELAYHOST=127.0.0.41 PF_MAIN_EXTRA="smtpd_milters = inet:127.0.0.1:18891
non_smtpd_milters = inet:127.0.0.1:18891
milter_default_action = tempfail" pf_start
  log "postfix + opendkim: $CONNS connections, $SIZE bytes, ${WARMUP}s warm-up + ${DURATION}s"
  PF_RESULT=$(measure postfix postfix "$POSTFIX_SMTP" "$PF_USER" "$PF_PASS" bench@example.test)
  echo "$PF_RESULT"
  echo "postfix-queue-after: $(pf_queue)"
  pf_stop
fi

S_RESULT=
if [ -z "$SKIP_SESAME" ]; then
  start_sink sesame 127.0.0.42:25
  # Authoritative DNS for the recipient domain.
  Z=$WORK/knot; mkdir -p "$Z"
  cat >"$Z/rcpt.bench.test.zone" <<ZONE
\$ORIGIN rcpt.bench.test.
\$TTL 3600
@   SOA ns.rcpt.bench.test. hostmaster.rcpt.bench.test. 1 3600 600 86400 60
@   NS  ns
ns  A   127.0.0.43
@   MX  10 mx
mx  A   127.0.0.42
ZONE
  cat >"$Z/knot.conf" <<CONF
server:
    rundir: "$Z"
    listen: 127.0.0.43@53
database:
    storage: "$Z"
zone:
  - domain: rcpt.bench.test
    file: "$Z/rcpt.bench.test.zone"
    journal-content: none
CONF
  knotd -c "$Z/knot.conf" >"$Z/log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do kdig @127.0.0.43 +short +timeout=1 rcpt.bench.test MX 2>/dev/null | grep -q . && break; sleep 0.1; done

  D=$WORK/sesame; mkdir -p "$D"
  export SESAME_DATA_DIR=$D SESAME_HTTP_ADDR=127.0.0.1:0 SESAME_SUBMISSION_ADDR=127.0.0.1:0 \
    SESAME_SUBMISSION_TLS_ADDR=off SESAME_MX_ADDR=off SESAME_DNS_ADDR=off SESAME_DELIVERY_MODE=smtp \
    SESAME_RESOLVER=127.0.0.43:53 SESAME_LOG=${SESAME_LOG:-warn} \
    SESAME_OPERATOR_DKIM_CUSTOMER_MAIL=${SESAME_OPERATOR_DKIM_CUSTOMER_MAIL:-false}
  json=$("$BIN/sesame" account create --name bench --json)
  field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$json" "$1"; }
  ACCT=$(field account_id); KEY=$(field access_key_id); SECRET=$(field secret_access_key); PASS=$(field smtp_password)
  "$BIN/sesame" account production --account "$ACCT" >/dev/null
  "$BIN/sesame" account set-quota --account "$ACCT" --max-24h-send -1 --max-send-rate 1000000 >/dev/null
  "$BIN/sesame" serve --dev >"$D/out" 2>"$D/err" &
  SPID=$!
  PIDS+=($SPID)
  for _ in $(seq 1 300); do grep -q '^sesame ready' "$D/out" && break; sleep 0.1; done
  READY=$(grep '^sesame ready' "$D/out") || { cat "$D/err" >&2; exit 1; }
  HTTP=$(sed -E 's/.*http=([^ ]+).*/\1/' <<<"$READY")
  SUB=$(sed -E 's/.*submission=([^ ]+).*/\1/' <<<"$READY")
  curl -sf --aws-sigv4 "aws:amz:us-east-1:ses" --user "$KEY:$SECRET" -H 'Content-Type: application/json' \
    -d '{"EmailIdentity":"example.test","DkimSigningAttributes":{"NextSigningKeyLength":"RSA_2048_BIT"}}' \
    "http://$HTTP/v2/email/identities" >/dev/null
  "$BIN/sesame" identity verify --force --account "$ACCT" example.test >/dev/null
  if [ -n "$WITH_EVENTS" ]; then
    "$BIN/sesame" firehose create bench-events --account "$ACCT" --to "file://$D/events" >/dev/null
    v2() { # METHOD PATH JSON
      curl -sf -X "$1" --aws-sigv4 "aws:amz:us-east-1:ses" --user "$KEY:$SECRET" \
        -H 'Content-Type: application/json' -d "$3" "http://$HTTP$2" >/dev/null
    }
    v2 POST /v2/email/configuration-sets '{"ConfigurationSetName":"bench"}'
    v2 POST /v2/email/configuration-sets/bench/event-destinations \
      "{\"EventDestinationName\":\"firehose\",\"EventDestination\":{\"Enabled\":true,\"MatchingEventTypes\":[\"SEND\",\"DELIVERY\"],\"KinesisFirehoseDestination\":{\"IamRoleArn\":\"arn:aws:iam::$ACCT:role/bench\",\"DeliveryStreamArn\":\"arn:aws:firehose:us-east-1:$ACCT:deliverystream/bench-events\"}}}"
    v2 PUT /v2/email/identities/example.test/configuration-set '{"ConfigurationSetName":"bench"}'
    log "sesame: Send and Delivery events of configuration set bench go to file://$D/events"
  fi
  log "sesame: same load against $SUB"
  S_RESULT=$(measure sesame sesame "$SUB" "$KEY" "$PASS" bench@example.test)
  echo "$S_RESULT"
  echo "sesame-rss-after: $(awk '/^VmRSS:/ {printf "%.1fMB", $2/1024}' /proc/$SPID/status)"
  if [ -n "$WITH_EVENTS" ]; then
    # Counted once the dispatcher has caught up (two equal counts a second apart, at most 60 s).
    count_events() {
      cat "$D"/events/*/*/*/*/*.jsonl 2>/dev/null |
        awk '/"eventType":"Send"/ {s++} /"eventType":"Delivery"/ {d++} END {printf "send=%d delivery=%d", s, d}'
    }
    prev= cur=$(count_events) waited=0
    while [ "$cur" != "$prev" ] && [ "$waited" -lt 60 ]; do
      sleep 1; waited=$((waited + 1)); prev=$cur; cur=$(count_events)
    done
    echo "sesame-events-written: $cur (caught up ${waited}s after the load)"
  fi
fi

echo "== summary"
[ -n "$PF_RESULT" ] && echo "$PF_RESULT"
[ -n "$S_RESULT" ] && echo "$S_RESULT"
if [ -n "$PF_RESULT" ] && [ -n "$S_RESULT" ]; then
  awk -v s="$(sed -n 's/.*delivered_rate=\([0-9.]*\).*/\1/p' <<<"$S_RESULT")" \
      -v p="$(sed -n 's/.*delivered_rate=\([0-9.]*\).*/\1/p' <<<"$PF_RESULT")" 'BEGIN {
    r = (p > 0) ? s / p : 0
    printf "ratio: sesame/postfix+opendkim=%.2f (target >= 5.00: %s)\n", r, (r >= 5 ? "met" : "not met")
  }'
fi
