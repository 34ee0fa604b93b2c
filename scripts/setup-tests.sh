#!/usr/bin/env bash
# Installs what the test suite needs, idempotently: Node dependencies from package-lock.json
# (re-installed only when the lock file changed). Runs before `npm test` (the pretest script).
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.matrix-scale-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup-tests: installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

# Real servers for the integration tests (Debian packages, Synapse in a cached virtualenv).
bash scripts/install-integration.sh
