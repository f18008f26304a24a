#!/usr/bin/env bash
# Starts a release-built Sesame for benchmarks on loopback, with one production account whose
# quotas are unlimited and a verified sender domain, then prints the tokens bench/submission.sh
# reads and waits (kill it to stop; its data dir is removed on exit):
#   SESAME_SMTP=host:port SESAME_SMTP_USER=AKIA… SESAME_SMTP_PASS=… SESAME_API=host:port
#   SESAME_KEY=AKIA… SESAME_SECRET=… SESAME_FROM=bench@example.test
# Delivery is `hold` mode so accepted mail stays queued: the benchmark measures durable
# acceptance, and the queue (and memory) grows with the load.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SESAME_BIN:-target/release/sesame}
D=$(mktemp -d /tmp/sesame-bench.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT INT TERM
export SESAME_DATA_DIR=$D SESAME_HTTP_ADDR=127.0.0.1:0 SESAME_SUBMISSION_ADDR=127.0.0.1:0 \
  SESAME_SUBMISSION_TLS_ADDR=off SESAME_MX_ADDR=off SESAME_DNS_ADDR=off SESAME_DELIVERY_MODE=hold SESAME_LOG=${SESAME_LOG:-warn}
json=$("$BIN" account create --name bench --json)
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$json" "$1"; }
ACCT=$(field account_id); KEY=$(field access_key_id); SECRET=$(field secret_access_key); PASS=$(field smtp_password)
"$BIN" account production --account "$ACCT" >/dev/null
"$BIN" account set-quota --account "$ACCT" --max-24h-send -1 --max-send-rate 1000000 >/dev/null
"$BIN" serve --dev >"$D/out" 2>"$D/err" &
PID=$!
for _ in $(seq 1 300); do grep -q '^sesame ready' "$D/out" && break; sleep 0.1; done
READY=$(grep '^sesame ready' "$D/out")
HTTP=$(sed -E 's/.*http=([^ ]+).*/\1/' <<<"$READY")
SUB=$(sed -E 's/.*submission=([^ ]+).*/\1/' <<<"$READY")
curl -sf --aws-sigv4 "aws:amz:us-east-1:ses" --user "$KEY:$SECRET" -H 'Content-Type: application/json' \
  -d '{"EmailIdentity":"example.test"}' "http://$HTTP/v2/email/identities" >/dev/null
"$BIN" identity verify --force --account "$ACCT" example.test >/dev/null
echo "SESAME_PID=$PID SESAME_SMTP=$SUB SESAME_SMTP_USER=$KEY SESAME_SMTP_PASS=$PASS SESAME_API=$HTTP SESAME_KEY=$KEY SESAME_SECRET=$SECRET SESAME_FROM=bench@example.test"
wait "$PID"
