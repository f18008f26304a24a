#!/usr/bin/env bash
# Creates (or completes) the Python virtualenv the real-peer tests use: aiosmtpd for the
# scripted SMTP sink (tests/peers/smtp_sink.py), dkimpy/dnspython/pyspf/authheaders for
# independent DKIM/SPF/DMARC checks. Idempotent and quiet: a venv that already imports every
# module is left alone. Usage: bash tests/peers/venv.sh [VENV_DIR] (default: <repo>/.venv-peers).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${1:-${SESAME_PEERS_VENV:-$ROOT/.venv-peers}}"
PKGS=(aiosmtpd dkimpy dnspython pyspf authheaders)
MODS="aiosmtpd, dkim, dns.resolver, spf, authheaders"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import $MODS" 2>/dev/null; then
  exit 0
fi
python3 -m venv --help >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PKGS[@]}"
"$VENV/bin/python" -c "import $MODS"
