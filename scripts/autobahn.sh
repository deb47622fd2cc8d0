#!/usr/bin/env bash
# RFC 6455 conformance run: the Autobahn TestSuite cases, driven by the PyPI
# package `kosoku` (a Rust/PyO3 re-implementation of Autobahn's fuzzingclient),
# against our WebSocket echo server (crates/embercast-ws, example `ws_echo`).
#
#   scripts/autobahn.sh
#
# Runs every case except 12.* and 13.* (permessage-deflate; we do not negotiate
# compression), writes the report to reports/autobahn/ (git-ignored: open
# reports/autobahn/index.html; summary in summary.txt / summary.json) and exits
# 0 only if every selected case passes.
#
# Pass rule = kosoku's own (`CaseResult.passed` in kosoku 0.1.0, same as the
# Autobahn convention): behavior OK / NON-STRICT / INFORMATIONAL *and*
# behaviorClose OK / INFORMATIONAL. FAILED, UNIMPLEMENTED, ERROR, WRONG CODE,
# UNCLEAN, FAILED BY CLIENT, and cases with no verdict (TIMEOUT, NOT RUN,
# MISSING) fail the run. See scripts/autobahn_summary.py.
#
# Environment:
#   AUTOBAHN_ECHO_CMD      shell command that starts the echo server instead of
#                          building ws_echo; it must print
#                          `listening on HOST:PORT` as its first stdout line.
#   AUTOBAHN_CASES         space-separated case ids/globs to run instead of the
#                          whole suite, e.g. "6.4.* 7.1.5" (12.*/13.* stay out).
#   AUTOBAHN_TIMEOUT       overall seconds for the case run (default 600).
#   AUTOBAHN_CASE_TIMEOUT  seconds per case before it counts as TIMEOUT
#                          (default 30; 9.* cases get AUTOBAHN_SLOW_CASE_TIMEOUT,
#                          default 120).
#   AUTOBAHN_START_TIMEOUT seconds to wait for the `listening on` line (default 30).
#   AUTOBAHN_BUILD_TIMEOUT seconds for the cargo build (default 1800).
#   AUTOBAHN_REPORT_DIR    report directory (default $REPO/reports/autobahn).
set -euo pipefail

KOSOKU_VERSION=0.1.0

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-autobahn"
REPORT_DIR="${AUTOBAHN_REPORT_DIR:-$REPO/reports/autobahn}"
RUN_TIMEOUT="${AUTOBAHN_TIMEOUT:-600}"
CASE_TIMEOUT="${AUTOBAHN_CASE_TIMEOUT:-30}"
SLOW_CASE_TIMEOUT="${AUTOBAHN_SLOW_CASE_TIMEOUT:-120}"
START_TIMEOUT="${AUTOBAHN_START_TIMEOUT:-30}"
BUILD_TIMEOUT="${AUTOBAHN_BUILD_TIMEOUT:-1800}"

log() { printf 'autobahn: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SERVER_PID=""
SERVER_PGID_OWN=0

# kill -0 also succeeds for an exited-but-unreaped child (zombie), so look at
# its state where /proc is available.
alive() {
  if [[ -r "/proc/$1/stat" ]]; then
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
  else
    kill -0 "$1" 2>/dev/null
  fi
}

# shellcheck disable=SC2317  # only called from the EXIT trap
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  local pid="$SERVER_PID"
  SERVER_PID=""
  # The server runs in its own session/process group (setsid) so that a
  # wrapper shell from AUTOBAHN_ECHO_CMD and its children go down together.
  if ((SERVER_PGID_OWN)); then
    kill -TERM -- "-$pid" 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  local i
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if ((SERVER_PGID_OWN)); then
    kill -KILL -- "-$pid" 2>/dev/null || true
  else
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# Long-running steps run in the background and are waited for, so that an
# INT/TERM sent to this script is handled at once (bash defers traps while a
# foreground child runs, and `timeout` moves its child out of the terminal's
# process group, so Ctrl-C would otherwise not reach it).
CHILD_PID=""
run_child() {
  "$@" &
  CHILD_PID=$!
  local rc=0
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  return "$rc"
}

# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
  if [[ -n "$CHILD_PID" ]]; then
    kill -TERM "$CHILD_PID" 2>/dev/null || true
    wait "$CHILD_PID" 2>/dev/null || true
    CHILD_PID=""
  fi
  stop_server
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. venv with the pinned kosoku -----------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating venv $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" - "$KOSOKU_VERSION" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(0 if version("kosoku") == sys.argv[1] else 1)
PY
  log "installing kosoku==$KOSOKU_VERSION into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "kosoku==$KOSOKU_VERSION"
fi

# --- 2. the echo server -----------------------------------------------------
if [[ -n "${AUTOBAHN_ECHO_CMD:-}" ]]; then
  ECHO_CMD=(bash -c "$AUTOBAHN_ECHO_CMD")
else
  log "building ws_echo (release)"
  run_child timeout "$BUILD_TIMEOUT" \
    cargo build --manifest-path "$REPO/Cargo.toml" --release -p embercast-ws --example ws_echo ||
    die "cargo build of the ws_echo example failed (or exceeded ${BUILD_TIMEOUT}s)"
  ECHO_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/examples/ws_echo"
  [[ -x "$ECHO_BIN" ]] || die "built binary not found at $ECHO_BIN"
  ECHO_CMD=("$ECHO_BIN" 127.0.0.1:0)
fi

# Clear the previous run's report (only kosoku's and our own files: the
# directory may be overridden, so never `rm -rf` it).
mkdir -p "$REPORT_DIR"
rm -f "$REPORT_DIR"/*_case_*.json "$REPORT_DIR"/*_case_*.html \
  "$REPORT_DIR"/index.json "$REPORT_DIR"/index.html \
  "$REPORT_DIR"/summary.json "$REPORT_DIR"/summary.txt \
  "$REPORT_DIR"/echo-server.stdout "$REPORT_DIR"/echo-server.stderr
SERVER_OUT="$REPORT_DIR/echo-server.stdout"
SERVER_ERR="$REPORT_DIR/echo-server.stderr"

log "starting echo server: ${AUTOBAHN_ECHO_CMD:-${ECHO_CMD[*]}}"
if command -v setsid >/dev/null 2>&1; then
  (cd "$REPO" && exec setsid "${ECHO_CMD[@]}") >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null &
else
  (cd "$REPO" && exec "${ECHO_CMD[@]}") >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null &
fi
SERVER_PID=$!
# setsid execs in place (the background child is not a group leader), so the
# server's pid is its process-group id; check rather than assume.
if [[ "$(ps -o pgid= -p "$SERVER_PID" 2>/dev/null | tr -d ' ')" == "$SERVER_PID" ]]; then
  SERVER_PGID_OWN=1
fi

# Wait for the single `listening on HOST:PORT` line, polling with a deadline.
ADDR=""
deadline=$((SECONDS + START_TIMEOUT))
while :; do
  if [[ -s "$SERVER_OUT" ]] && [[ "$(wc -l <"$SERVER_OUT")" -ge 1 ]]; then
    first_line="$(head -n 1 "$SERVER_OUT" | tr -d '\r')"
    if [[ "$first_line" =~ ^listening\ on\ (.+:[0-9]+)$ ]]; then
      ADDR="${BASH_REMATCH[1]}"
      break
    fi
    die "echo server printed an unexpected first line: '$first_line'"
  fi
  if ! alive "$SERVER_PID"; then
    status=0
    wait "$SERVER_PID" || status=$?
    SERVER_PID=""
    log "echo server stderr:"
    tail -n 20 "$SERVER_ERR" >&2 || true
    die "echo server exited (status $status) before printing 'listening on ...'"
  fi
  if ((SECONDS >= deadline)); then
    die "echo server did not print 'listening on ...' within ${START_TIMEOUT}s"
  fi
  sleep 0.05
done
URL="ws://$ADDR"
log "echo server is listening on $URL"

# --- 3. the conformance run -------------------------------------------------
SELECT=(--exclude '12.*' --exclude '13.*')
if [[ -n "${AUTOBAHN_CASES:-}" ]]; then
  read -r -a patterns <<<"$AUTOBAHN_CASES"
  for p in "${patterns[@]}"; do SELECT+=(--include "$p"); done
fi

# The helper enforces RUN_TIMEOUT itself (per-case timeouts + overall deadline)
# so that it can still write the report; `timeout` is only the backstop.
status=0
run_child timeout --kill-after=10 "$((RUN_TIMEOUT + 60))" \
  "$VENV/bin/python" "$REPO/scripts/autobahn_summary.py" run \
  --url "$URL" --outdir "$REPORT_DIR" \
  --case-timeout "$CASE_TIMEOUT" --slow-case-timeout "$SLOW_CASE_TIMEOUT" \
  --deadline "$RUN_TIMEOUT" "${SELECT[@]}" || status=$?

if ((status == 124 || status == 137)); then
  die "kosoku run exceeded the ${RUN_TIMEOUT}s budget and was killed; no complete report"
fi

if [[ -n "$SERVER_PID" ]] && ! alive "$SERVER_PID"; then
  log "echo server stderr:"
  tail -n 20 "$SERVER_ERR" >&2 || true
  log "error: the echo server exited during the run"
  ((status != 0)) || status=1
fi

if ((status == 0)); then
  log "all selected cases passed (report: $REPORT_DIR/index.html)"
else
  log "FAILED (exit $status; report: $REPORT_DIR/index.html, summary: $REPORT_DIR/summary.txt)"
fi
exit "$status"
