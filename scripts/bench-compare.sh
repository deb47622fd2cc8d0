#!/usr/bin/env bash
# Embercast vs Socket.IO 4, side by side in one run (issue 6).
#
#   scripts/bench-compare.sh                       # fan-out at 1k/5k/10k/18k + connect rate
#   SIZES="1000 5000" scripts/bench-compare.sh     # fewer sizes
#
# For each size, each server is started fresh (`embercast serve`, release
# build; `node bench/socketio/server.js`, Socket.IO 4.8.4 from its lock file)
# and measured by `embercast bench fanout`: N subscribers on one topic (the
# demo's `echo:bench`; the Socket.IO room `bench`), 20 broadcasts of 250-byte
# JSON payloads 500 ms apart, published over HTTP. Then `embercast bench
# connect` measures connect+join rate at CONNECT_N connections on each.
#
# Writes target/bench-compare/results.jsonl (one bench JSON line per run,
# with the server and the command) and target/bench-compare/table.md (the
# side-by-side table with ratios), and prints the table.
#
# Environment (defaults in brackets):
#   SIZES ["1000 5000 10000 18000"]  fan-out subscriber counts
#   BROADCASTS [20]  INTERVAL_MS [500]  PAYLOAD_BYTES [250]
#   CONNECT_N [10000]                 connections for the connect-rate runs
#   CONCURRENCY [100]                 connects in flight
#   WORK_DIR [target/bench-compare]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="${SIZES:-1000 5000 10000 18000}"
BROADCASTS="${BROADCASTS:-20}"
INTERVAL_MS="${INTERVAL_MS:-500}"
PAYLOAD_BYTES="${PAYLOAD_BYTES:-250}"
CONNECT_N="${CONNECT_N:-10000}"
CONCURRENCY="${CONCURRENCY:-100}"
WORK_DIR="${WORK_DIR:-$REPO/target/bench-compare}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
START_TIMEOUT=30

log() { printf 'bench-compare: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Each connection is a socket in the server and one in the load process
# (20,000 is the hard limit on this machine); children inherit the limit.
ulimit -n "$(ulimit -Hn)"

alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# Every run connects from its own source addresses, 127.0.<10+k>.2 and .3:
# closed connections leave their local ports in TIME_WAIT for a minute, and
# a source address whose ports are mostly taken makes connect() crawl (other
# load tools on this machine use 127.0.0.1 and 127.0.0.2).
RUN_NO=0

SERVER_PID=""
stop_server() {
  local i
  [[ -n "$SERVER_PID" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$SERVER_PID" || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts server $1 (embercast | socketio) and sets SERVER_PID and SERVER_URL.
start_server() {
  local name="$1" out="$WORK_DIR/$1.out" deadline pattern
  # Emptied here, not by the redirection below: that happens in the child,
  # possibly after the first look for the address (which would find the last run's).
  : >"$out"
  case "$name" in
    embercast)
      EMBERCAST_LOG=warn "$BIN" serve --port 0 >"$out" 2>"$WORK_DIR/$name.err" </dev/null &
      pattern='^embercast listening on (http://127\.0\.0\.1:[0-9]+)$'
      ;;
    socketio)
      # Started the way its users run it: node server.js.
      (cd "$REPO/bench/socketio" && PORT=0 exec node server.js) >"$out" 2>"$WORK_DIR/$name.err" </dev/null &
      pattern='^socket\.io listening on (http://127\.0\.0\.1:[0-9]+)$'
      ;;
  esac
  SERVER_PID=$!
  SERVER_URL=""
  deadline=$((SECONDS + START_TIMEOUT))
  until [[ -n "$SERVER_URL" ]]; do
    SERVER_URL="$(sed -En "s#${pattern}#\\1#p" "$out")"
    [[ -n "$SERVER_URL" ]] && break
    alive "$SERVER_PID" || die "$name exited before listening (see $WORK_DIR/$name.err)"
    ((SECONDS < deadline)) || die "$name did not print its address within ${START_TIMEOUT}s"
    sleep 0.05
  done
}

# Runs one bench against a fresh server: run <server> <scenario> <n> [args...]
run() {
  local server="$1" scenario="$2" n="$3" proto line cmd load
  shift 3
  proto=phoenix
  [[ "$server" == socketio ]] && proto=socketio
  start_server "$server"
  # The machine may be shared: the 1-minute load average before the run goes in the results.
  read -r load _ </proc/loadavg
  RUN_NO=$((RUN_NO + 1))
  local sources="127.0.$((10 + RUN_NO)).2,127.0.$((10 + RUN_NO)).3"
  cmd=(embercast bench "$scenario" --proto "$proto" -n "$n" --concurrency "$CONCURRENCY" --source-addrs "$sources" "$@")
  log "$server: ${cmd[*]}"
  line="$("$BIN" bench "$scenario" --proto "$proto" --url "$SERVER_URL" -n "$n" --concurrency "$CONCURRENCY" \
    --source-addrs "$sources" --server-pid "$SERVER_PID" "$@" 2>>"$WORK_DIR/bench.err" | tee -a "$WORK_DIR/bench.out" | tail -n 1)" || true
  stop_server
  [[ "$line" == "{"* ]] || die "no report from: ${cmd[*]} (see $WORK_DIR/bench.err)"
  # The report, with which server and which command produced it.
  printf '{"server":"%s","command":"%s","load1":%s,"report":%s}\n' "$server" "${cmd[*]}" "$load" "$line" >>"$WORK_DIR/results.jsonl"
}

log "building embercast (release)"
cargo build --manifest-path "$REPO/Cargo.toml" --release -p embercast --bin embercast
BIN="$TARGET_DIR/release/embercast"
if [[ ! -d "$REPO/bench/socketio/node_modules/socket.io" ]]; then
  log "installing the Socket.IO peer (npm ci)"
  (cd "$REPO/bench/socketio" && npm ci --no-audit --no-fund)
fi
mkdir -p "$WORK_DIR"
: >"$WORK_DIR/results.jsonl"
: >"$WORK_DIR/bench.out"
: >"$WORK_DIR/bench.err"

for n in $SIZES; do
  for server in embercast socketio; do
    # A run that misses deliveries still reports (and exits non-zero); it goes in the table.
    run "$server" fanout "$n" --broadcasts "$BROADCASTS" --interval-ms "$INTERVAL_MS" --payload-bytes "$PAYLOAD_BYTES"
  done
done
for server in embercast socketio; do
  run "$server" connect "$CONNECT_N"
done

# The table: one row per figure, Embercast, Socket.IO and their ratio.
node - "$WORK_DIR/results.jsonl" >"$WORK_DIR/table.md" <<'JS'
const fs = require("node:fs");
const runs = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const find = (server, bench, n) => runs.find((r) => r.server === server && r.report.bench === bench && r.report.connections === n);
const fmt = (v, d = 0) => (v == null ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (e, s) => (e == null || s == null || e === 0 ? "–" : `${(e / s).toFixed(2)}`);
const rows = [];
rows.push("| scenario | figure | Embercast | Socket.IO 4.8.4 | Embercast / Socket.IO |");
rows.push("|---|---|---:|---:|---:|");
const figures = [
  ["delivered / expected", (r) => null, (r) => `${fmt(r.received)} / ${fmt(r.expected)}`],
  ["server memory per connection (B)", (r) => r.server_rss_per_connection_bytes],
  ["server CPU per delivery (µs)", (r) => r.server_cpu_s_per_million, null, 1],
  ["load generator CPU per delivery (µs)", (r) => r.load_cpu_s_per_million, null, 1],
  ["last subscriber reached, median (ms)", (r) => r.last_subscriber_median_ms, null, 1],
  ["last subscriber reached, slowest (ms)", (r) => r.last_subscriber_max_ms, null, 1],
  ["delivery latency p50 / p99 (ms)", (r) => r.latency?.p50_ms, (r) => `${fmt(r.latency?.p50_ms, 1)} / ${fmt(r.latency?.p99_ms, 1)}`],
  ["deliveries per second", (r) => r.per_s],
  ["connect+join per second", (r) => r.joins_per_s],
];
const ns = [...new Set(runs.filter((r) => r.report.bench === "fanout").map((r) => r.report.connections))];
for (const n of ns) {
  const e = find("embercast", "fanout", n)?.report;
  const s = find("socketio", "fanout", n)?.report;
  for (const [name, value, text, digits = 0] of figures) {
    const show = (r) => (r == null ? "–" : text ? text(r) : fmt(value(r), digits));
    rows.push(`| fan-out ${fmt(n)} | ${name} | ${show(e)} | ${show(s)} | ${ratio(e && value(e), s && value(s))} |`);
  }
}
const ce = runs.find((r) => r.server === "embercast" && r.report.bench === "connect")?.report;
const cs = runs.find((r) => r.server === "socketio" && r.report.bench === "connect")?.report;
if (ce || cs) {
  const n = (ce ?? cs).connections;
  rows.push(`| connect ${fmt(n)} | connect+join per second | ${fmt(ce?.joins_per_s)} | ${fmt(cs?.joins_per_s)} | ${ratio(ce?.joins_per_s, cs?.joins_per_s)} |`);
  rows.push(`| connect ${fmt(n)} | connect+join latency p50 / p99 (ms) | ${fmt(ce?.join_latency?.p50_ms, 1)} / ${fmt(ce?.join_latency?.p99_ms, 1)} | ${fmt(cs?.join_latency?.p50_ms, 1)} / ${fmt(cs?.join_latency?.p99_ms, 1)} | ${ratio(ce?.join_latency?.p50_ms, cs?.join_latency?.p50_ms)} |`);
  rows.push(`| connect ${fmt(n)} | server memory per connection (B) | ${fmt(ce?.server_rss_per_connection_bytes)} | ${fmt(cs?.server_rss_per_connection_bytes)} | ${ratio(ce?.server_rss_per_connection_bytes, cs?.server_rss_per_connection_bytes)} |`);
}
rows.push("");
rows.push(`1-minute load average before each run: ${runs.map((r) => r.load1).join(", ")}.`);
rows.push("");
rows.push("Commands (each against a fresh server; `--url` and `--server-pid` added by the script):");
rows.push("");
for (const r of runs) rows.push(`- ${r.server}: \`${r.command}\``);
console.log(rows.join("\n"));
JS
cat "$WORK_DIR/table.md"
