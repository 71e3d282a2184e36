#!/usr/bin/env bash
# Installs what the browser tests (pytest -m browser) need; .ci/run calls it before them.
#   - Debian's chromium (/usr/bin/chromium); never `playwright install` (no browser downloads)
#   - Playwright's Python package, used only as a driver with executable_path=/usr/bin/chromium
#   - axe-core from the npm registry, injected by the accessibility test
#   - bpmn-js (pinned in tools/npm) for the BPMN round-trip test, via tools/npm_tools.sh
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
"$ROOT/.venv/bin/pip" install -q playwright
if [ ! -f node_modules_axe/node_modules/axe-core/axe.min.js ]; then
  npm install --no-audit --no-fund --prefix node_modules_axe axe-core
fi
bash "$ROOT/tools/npm_tools.sh" >/dev/null
/usr/bin/chromium --version
