#!/usr/bin/env bash
# The chat page of `embercast serve` in headless Chromium (tests/browser):
# two people chatting, presence, a server restart, over WebSocket and LongPoll.
# Needs target/release/embercast (scripts/test builds it), Node >= 20.11 with
# npm, and Chromium at /usr/bin/chromium (or $CHROMIUM); .ci/run installs
# Debian's package when it is missing. Screenshots go to target/browser-artifacts/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../tests/browser"

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "browser tests need Chromium at $chromium (apt-get install chromium, or set CHROMIUM)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm test
