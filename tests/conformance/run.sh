#!/usr/bin/env bash
# Conformance suite: unmodified boto3 and aws CLI against a real `sesame serve`.
#
#   bash tests/conformance/run.sh [pytest args…]
#
# Runs once against SQLite (temp data dir) and, when SESAME_TEST_DATABASE_URL is set
# (e.g. postgres://postgres@127.0.0.1:5432/test), once more against a fresh PostgreSQL
# database created on that URL's server (dropped afterwards).
# SESAME_BIN=path skips the cargo build. Exit status is non-zero if any backend failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.venv-conformance"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV" || { echo "conformance: cannot create venv $VENV" >&2; exit 2; }
fi
# Reinstall only when requirements.txt changed.
STAMP="$VENV/.conformance-requirements"
if ! cmp -s "$HERE/requirements.txt" "$STAMP" 2>/dev/null; then
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt" \
    || { echo "conformance: pip install failed" >&2; exit 2; }
  cp "$HERE/requirements.txt" "$STAMP"
fi

if [ -z "${SESAME_BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q -p sesame) || { echo "conformance: cargo build failed" >&2; exit 2; }
  SESAME_BIN="$ROOT/target/debug/sesame"
fi
export SESAME_BIN
# The CLI found by the tests is the venv's `aws`.
export PATH="$VENV/bin:$PATH"

declare -a SUMMARY=()
STATUS=0

run_backend() { # name, then env assignments for the run
  local name="$1"; shift
  local log rc line
  log="$(mktemp -t sesame-conformance-XXXXXX.log)"
  echo "=== conformance: backend $name ==="
  env "$@" "$VENV/bin/python" -m pytest "$HERE" -q -rfEsxX -p no:cacheprovider "${PYTEST_ARGS[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line="$(grep -E '[0-9]+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected)|no tests ran' "$log" | tail -1 | sed -E 's/^=+ //; s/ =+$//')"
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then STATUS=1; SUMMARY+=("conformance[$name]: FAIL (pytest exit $rc) $line");
  else SUMMARY+=("conformance[$name]: OK $line"); fi
}

PYTEST_ARGS=("$@")

# --- SQLite: the harness gives each server a temp data dir (sqlite://<dir>/sesame.db).
run_backend sqlite -u SESAME_DATABASE_URL

# --- PostgreSQL: a fresh database per run on the server named by SESAME_TEST_DATABASE_URL.
if [ -n "${SESAME_TEST_DATABASE_URL:-}" ]; then
  BASE_URL="${SESAME_TEST_DATABASE_URL%%\?*}"
  SERVER_URL="${BASE_URL%/*}"          # postgres://user@host:port
  DB="sesame_conf_$(date +%s)_$$_$RANDOM"
  ADMIN_URL="$SERVER_URL/${BASE_URL##*/}"
  if createdb --maintenance-db="$ADMIN_URL" "$DB" 2>/tmp/sesame-conf-createdb.$$; then
    run_backend postgres SESAME_DATABASE_URL="$SERVER_URL/$DB"
    dropdb --maintenance-db="$ADMIN_URL" --if-exists "$DB" >/dev/null 2>&1 \
      || echo "conformance: could not drop database $DB" >&2
  else
    STATUS=1
    SUMMARY+=("conformance[postgres]: FAIL (createdb $DB: $(cat /tmp/sesame-conf-createdb.$$))")
  fi
  rm -f /tmp/sesame-conf-createdb.$$
else
  SUMMARY+=("conformance[postgres]: not run (set SESAME_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)")
fi

echo
for s in "${SUMMARY[@]}"; do echo "$s"; done
exit "$STATUS"
