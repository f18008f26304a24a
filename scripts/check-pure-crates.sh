#!/usr/bin/env bash
# The pure core crates must not pull in a runtime, a database driver or an HTTP stack
# (STYLE.md: "CI checks that the pure crates pull in no tokio, sqlx or hyper").
set -euo pipefail
cd "$(dirname "$0")/.."
PURE=(sesame-model sesame-awsproto sesame-sigv4 sesame-template sesame-mail sesame-policy sesame-events sesame-engine sesame-metrics sesame-dnscheck)
FORBIDDEN='^(tokio|tokio-[a-z-]+|sqlx|sqlx-[a-z-]+|hyper|hyper-[a-z-]+|axum|mio|reqwest) v'
status=0
for c in "${PURE[@]}"; do
  bad=$(cargo tree -p "$c" -e normal --prefix none 2>/dev/null | grep -E "$FORBIDDEN" | sort -u || true)
  if [ -n "$bad" ]; then
    echo "FAIL: pure crate $c depends on:"; echo "$bad" | sed 's/^/    /'; status=1
  else
    echo "ok: $c has no tokio/sqlx/hyper/axum in its dependency tree"
  fi
done
exit $status
