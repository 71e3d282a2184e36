#!/usr/bin/env bash
# Installs the pinned npm tools of tools/npm/ (bpmn-js for the browser round-trip test, bpmnlint
# for .ci/run) into a cache dir outside the repository, and prints that dir on stdout.
#   CAREROUTE_NPM_TOOLS=DIR   where to install (default: ~/.cache/careroute/npm-tools)
# Re-installs only when tools/npm/package-lock.json changed. `npm ci` follows the committed lock
# file exactly; a failed download is retried 3 times, then the script says what to check.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/npm" && pwd)"
DEST="${CAREROUTE_NPM_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/careroute/npm-tools}"
STAMP="$DEST/.careroute-lock.sha256"
WANT="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"

if ! command -v npm >/dev/null 2>&1; then
  echo "tools/npm_tools.sh: npm is not installed (apt-get install -y npm, or Node.js 18+)" >&2
  exit 1
fi
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -d "$DEST/node_modules/bpmn-js" ]; then
  echo "$DEST"
  exit 0
fi

mkdir -p "$DEST"
cp "$HERE/package.json" "$HERE/package-lock.json" "$DEST/"
for attempt in 1 2 3; do
  if npm ci --prefix "$DEST" --no-audit --no-fund --loglevel=error >&2; then
    echo "$WANT" >"$STAMP"
    echo "$DEST"
    exit 0
  fi
  echo "tools/npm_tools.sh: npm ci failed (attempt $attempt of 3)" >&2
  sleep $((attempt * 5))
done
echo "tools/npm_tools.sh: could not install bpmn-js and bpmnlint from $(npm config get registry)" \
  "into $DEST after 3 attempts: check the network or the registry, then run it again" >&2
exit 1
