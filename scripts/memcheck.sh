#!/usr/bin/env bash
# Memory check (issue 2): the server's resident memory per idle connection.
#
#   scripts/memcheck.sh                      # 10,000 connections
#   CONNECTIONS=1000 scripts/memcheck.sh
#   EMBERCAST_LOG=warn scripts/memcheck.sh   # without the per-connect INFO lines
#
# Builds `embercast` and the load client (crates/embercast/examples/conn_hold.rs)
# in release mode, starts `embercast serve --port 0`, lets one warm-up
# connection join and leave, and takes the server's memory as the baseline.
# Then N connections each join `echo:mem` and are held (heartbeating); once
# the server's RSS is stable it is measured again:
#
#   per connection = (RSS after - RSS baseline) / N
#
# That is user-space memory only. Kernel socket memory (~3.9 KB per idle
# loopback socket on this machine) is not in any process's RSS; the kernel's
# slab growth is printed for information. Finally one broadcast is sent to the
# topic through POST /api/broadcast and, once every client has received it,
# the RSS is measured a third time.
#
# A measurement, not a test: it prints a result block and one JSON line, and
# exits non-zero only if something failed (build, start, joins, delivery).
#
# Environment (defaults in brackets):
#   CONNECTIONS [10000]   connections to hold
#   CONCURRENCY [100]     connects in flight in the client
#   SOURCE_ADDRS [127.0.0.1,127.0.0.2]  client source addresses, round-robin
#   ROOMS [1]             spread the connections over ROOMS topics <TOPIC>-<i % ROOMS>
#                         (no broadcast step then); TOPIC=room:mem ROOMS=1000 measures
#                         rooms of 10 that track presence
#   TOPIC [echo:mem]      the topic joined and broadcast to (echo:* keeps no
#                         per-channel state; rooms track presence, see BENCHMARKS.md)
#   EMBERCAST_LOG         passed to the server (its default is info: one line per connect)
#   JOIN_TIMEOUT [300]    seconds for all N to join
#   STABLE_TIMEOUT [60]   seconds for the RSS to settle
#   WORK_DIR [target/memcheck]  logs of the run
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONNECTIONS="${CONNECTIONS:-10000}"
CONCURRENCY="${CONCURRENCY:-100}"
SOURCE_ADDRS="${SOURCE_ADDRS:-127.0.0.1,127.0.0.2}"
TOPIC="${TOPIC:-echo:mem}"
ROOMS="${ROOMS:-1}"
JOIN_TIMEOUT="${JOIN_TIMEOUT:-300}"
STABLE_TIMEOUT="${STABLE_TIMEOUT:-60}"
START_TIMEOUT=30
PUSH_TIMEOUT=30
# The client holds at most this long even if this script dies without stopping it.
HOLD_SECS=$((JOIN_TIMEOUT + 3 * STABLE_TIMEOUT + PUSH_TIMEOUT + 60))
WORK_DIR="${WORK_DIR:-$REPO/target/memcheck}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"

log() { printf 'memcheck: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive integer"

# Each connection is one socket in the server and one in the client; both
# processes inherit this limit (20,000 is the hard limit on this machine).
ulimit -n "$(ulimit -Hn)"
if ((CONNECTIONS + 100 > $(ulimit -n))); then
  die "CONNECTIONS=$CONNECTIONS does not fit in the open-file limit $(ulimit -n)"
fi

# kill -0 also succeeds for an exited-but-unreaped child, so read its state.
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

SERVER_PID=""
CLIENT_PID=""
# Stops a process this script started: TERM, up to 10 s, then KILL.
stop_pid() {
  local pid="$1" i
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
  stop_pid "$CLIENT_PID"
  CLIENT_PID=""
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- memory readings (kB) ---------------------------------------------------
vmrss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# Field of smaps_rollup (Pss, Private_Dirty), or "null" where it is not readable.
rollup_kb() {
  local v
  v="$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || true)"
  echo "${v:-null}"
}
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }
# TCP socket buffer memory, in pages, from /proc/net/sockstat.
tcp_mem_pages() { awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1) }' /proc/net/sockstat; }

# Polls every 500 ms until two consecutive VmRSS readings differ by < 1%;
# prints the last reading.
wait_stable_rss() {
  local pid="$1" prev cur deadline=$((SECONDS + STABLE_TIMEOUT))
  prev="$(vmrss_kb "$pid")"
  while :; do
    sleep 0.5
    alive "$pid" || die "process $pid exited while its memory was being measured"
    cur="$(vmrss_kb "$pid")"
    local diff=$((cur > prev ? cur - prev : prev - cur))
    if ((diff * 100 < prev)); then
      echo "$cur"
      return 0
    fi
    ((SECONDS < deadline)) || die "RSS of $pid did not settle within ${STABLE_TIMEOUT}s (last $prev -> $cur kB)"
    prev="$cur"
  done
}

# Waits until file $1 has a line matching regex $2, while pid $3 is alive.
wait_for_line() {
  local file="$1" pattern="$2" pid="$3" timeout="$4" what="$5"
  local deadline=$((SECONDS + timeout))
  until grep -Eq "$pattern" "$file" 2>/dev/null; do
    alive "$pid" || die "$what: process exited first (see $file and ${file%.out}.err)"
    ((SECONDS < deadline)) || die "$what: not within ${timeout}s"
    sleep 0.1
  done
}

# --- 1. build -----------------------------------------------------------------
log "building embercast and the conn_hold example (release)"
cargo build --manifest-path "$REPO/Cargo.toml" --release -p embercast --bin embercast --example conn_hold
SERVER_BIN="$TARGET_DIR/release/embercast"
CLIENT_BIN="$TARGET_DIR/release/examples/conn_hold"
mkdir -p "$WORK_DIR"
rm -f "$WORK_DIR"/server.out "$WORK_DIR"/server.err "$WORK_DIR"/client*.out "$WORK_DIR"/client*.err

# --- 2. the server --------------------------------------------------------------
"$SERVER_BIN" serve --port 0 >"$WORK_DIR/server.out" 2>"$WORK_DIR/server.err" </dev/null &
SERVER_PID=$!
PORT=""
deadline=$((SECONDS + START_TIMEOUT))
while [[ -z "$PORT" ]]; do
  PORT="$(sed -n 's#^embercast listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$#\1#p' "$WORK_DIR/server.out")"
  [[ -n "$PORT" ]] && break
  alive "$SERVER_PID" || die "server exited before listening (see $WORK_DIR/server.err)"
  ((SECONDS < deadline)) || die "server did not print its address within ${START_TIMEOUT}s"
  sleep 0.05
done
URL="ws://127.0.0.1:$PORT/socket/websocket"
log "server pid $SERVER_PID listening on port $PORT (EMBERCAST_LOG=${EMBERCAST_LOG:-unset, i.e. info})"

client() {
  local name="$1"
  shift
  "$CLIENT_BIN" --url "$URL" --topic "$TOPIC" --rooms "$ROOMS" --source-addrs "$SOURCE_ADDRS" "$@" \
    >"$WORK_DIR/$name.out" 2>"$WORK_DIR/$name.err" </dev/null &
  CLIENT_PID=$!
}

# --- 3. baseline, after one connection has joined and left ----------------------
# The first connection initialises what the server creates lazily (tokio's
# worker threads and their malloc arenas, the topic's registry shard, ...).
client warmup --connections 1 --hold-secs 0
wait "$CLIENT_PID" || die "warm-up connection failed (see $WORK_DIR/warmup.err)"
CLIENT_PID=""
RSS_BASE="$(wait_stable_rss "$SERVER_PID")"
PSS_BASE="$(rollup_kb "$SERVER_PID" Pss)"
DIRTY_BASE="$(rollup_kb "$SERVER_PID" Private_Dirty)"
SLAB_BASE="$(slab_kb)"
TCPMEM_BASE="$(tcp_mem_pages)"
log "baseline: VmRSS $RSS_BASE kB, Pss $PSS_BASE kB, Private_Dirty $DIRTY_BASE kB"

# --- 4. N connections, joined and held ----------------------------------------------
log "opening $CONNECTIONS connections (concurrency $CONCURRENCY, from $SOURCE_ADDRS)"
client clients --connections "$CONNECTIONS" --concurrency "$CONCURRENCY" --hold-secs "$HOLD_SECS"
wait_for_line "$WORK_DIR/clients.out" '^ALL JOINED ' "$CLIENT_PID" "$JOIN_TIMEOUT" "waiting for ALL JOINED"
read -r _ _ JOINED JOIN_MS < <(grep -E '^ALL JOINED ' "$WORK_DIR/clients.out")
log "all $JOINED joined in $JOIN_MS ms; waiting for the server's RSS to settle"
RSS_AFTER="$(wait_stable_rss "$SERVER_PID")"
PSS_AFTER="$(rollup_kb "$SERVER_PID" Pss)"
DIRTY_AFTER="$(rollup_kb "$SERVER_PID" Private_Dirty)"
SLAB_AFTER="$(slab_kb)"
TCPMEM_AFTER="$(tcp_mem_pages)"
CLIENT_RSS="$(vmrss_kb "$CLIENT_PID")"
CONNECT_LOG_LINES="$(grep -c ' connected' "$WORK_DIR/server.err" || true)"

# --- 5. one broadcast to every connection -----------------------------------------
# (Skipped with ROOMS > 1: the connections are then on ROOMS topics.)
if ((ROOMS > 1)); then
  RSS_BCAST="$RSS_AFTER"
  PSS_BCAST="$PSS_AFTER"
else
BROADCAST_STATUS="$(curl -s -o "$WORK_DIR/broadcast.json" -w '%{http_code}' -X POST \
  "http://127.0.0.1:$PORT/api/broadcast" -H 'content-type: application/json' \
  -d "{\"topic\":\"$TOPIC\",\"event\":\"ping\",\"payload\":{\"n\":1}}")"
[[ "$BROADCAST_STATUS" == 202 ]] || die "broadcast answered HTTP $BROADCAST_STATUS: $(cat "$WORK_DIR/broadcast.json")"
wait_for_line "$WORK_DIR/clients.out" "^PUSHES $CONNECTIONS\$" "$CLIENT_PID" "$PUSH_TIMEOUT" \
  "waiting for every client to receive the broadcast"
RSS_BCAST="$(wait_stable_rss "$SERVER_PID")"
PSS_BCAST="$(rollup_kb "$SERVER_PID" Pss)"
fi

# --- 6. stop ------------------------------------------------------------------------
kill -TERM "$CLIENT_PID"
CLIENT_RC=0
wait "$CLIENT_PID" || CLIENT_RC=$?
CLIENT_PID=""
DONE_LINE="$(grep -E '^DONE ' "$WORK_DIR/clients.out" || echo 'DONE (missing)')"
((CLIENT_RC == 0)) || die "client exited $CLIENT_RC: $DONE_LINE"
stop_pid "$SERVER_PID"
SERVER_PID=""

# --- 7. results -----------------------------------------------------------------------
per_conn() { awk -v a="$1" -v b="$2" -v n="$CONNECTIONS" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }'; }
kb() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1024 }'; }
PER_CONN_B="$(per_conn "$RSS_BASE" "$RSS_AFTER")"
PER_CONN_PSS_B="null"
[[ "$PSS_BASE" != null && "$PSS_AFTER" != null ]] && PER_CONN_PSS_B="$(per_conn "$PSS_BASE" "$PSS_AFTER")"
PER_CONN_DIRTY_B="null"
[[ "$DIRTY_BASE" != null && "$DIRTY_AFTER" != null ]] && PER_CONN_DIRTY_B="$(per_conn "$DIRTY_BASE" "$DIRTY_AFTER")"
BCAST_PER_CONN_B="$(per_conn "$RSS_AFTER" "$RSS_BCAST")"
SLAB_PER_CONN_B="$(per_conn "$SLAB_BASE" "$SLAB_AFTER")"
TCPMEM_PER_CONN_B="$(awk -v a="$TCPMEM_BASE" -v b="$TCPMEM_AFTER" -v n="$CONNECTIONS" 'BEGIN { printf "%.0f", (b - a) * 4096 / n }')"
CLIENT_PER_CONN_B="$(awk -v r="$CLIENT_RSS" -v n="$CONNECTIONS" 'BEGIN { printf "%.0f", r * 1024 / n }')"
JOINS_PER_S="$(awk -v n="$CONNECTIONS" -v ms="$JOIN_MS" 'BEGIN { printf "%.0f", (ms > 0 ? n * 1000 / ms : 0) }')"
VERDICT="$( ((PER_CONN_B <= 8192)) && echo "within" || echo "OVER")"

cat <<EOF

== Embercast memory check (issue 2) ==
machine            $(nproc) cores, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)
server             embercast serve (release), EMBERCAST_LOG=${EMBERCAST_LOG:-unset (info)}
connections        $CONNECTIONS joined to $TOPIC (rooms: $ROOMS) in $JOIN_MS ms ($JOINS_PER_S connect+join per s), from $SOURCE_ADDRS
server log         $CONNECT_LOG_LINES 'connected' INFO lines written
server VmRSS       baseline $RSS_BASE kB, after $RSS_AFTER kB, after one broadcast $RSS_BCAST kB
server Pss         baseline $PSS_BASE kB, after $PSS_AFTER kB, after one broadcast $PSS_BCAST kB
server Priv_Dirty  baseline $DIRTY_BASE kB, after $DIRTY_AFTER kB
per connection     $PER_CONN_B bytes ($(kb "$PER_CONN_B") KB) of user-space RSS; target <= 8 KB: $VERDICT
                   (Pss: $PER_CONN_PSS_B bytes, Private_Dirty: $PER_CONN_DIRTY_B bytes)
broadcast          +$BCAST_PER_CONN_B bytes of RSS per connection after one broadcast reached all $CONNECTIONS
kernel (NOT above) socket memory is kernel space and in no RSS: slab +$SLAB_PER_CONN_B bytes and TCP buffers
                   +$TCPMEM_PER_CONN_B bytes per connection (both loopback ends, client's included)
client             conn_hold VmRSS $CLIENT_RSS kB ($CLIENT_PER_CONN_B bytes per connection); $DONE_LINE
EOF
printf '{"check":"memcheck","connections":%s,"topic":"%s","rooms":%s,"embercast_log":"%s","join_ms":%s,"rss_baseline_kb":%s,"rss_after_kb":%s,"rss_after_broadcast_kb":%s,"pss_baseline_kb":%s,"pss_after_kb":%s,"private_dirty_baseline_kb":%s,"private_dirty_after_kb":%s,"per_connection_bytes":%s,"per_connection_pss_bytes":%s,"per_connection_private_dirty_bytes":%s,"broadcast_growth_per_connection_bytes":%s,"kernel_slab_per_connection_bytes":%s,"kernel_tcp_buffers_per_connection_bytes":%s,"client_rss_kb":%s,"target_bytes":8192,"within_target":%s}\n' \
  "$CONNECTIONS" "$TOPIC" "$ROOMS" "${EMBERCAST_LOG:-info}" "$JOIN_MS" "$RSS_BASE" "$RSS_AFTER" "$RSS_BCAST" \
  "$PSS_BASE" "$PSS_AFTER" "$DIRTY_BASE" "$DIRTY_AFTER" "$PER_CONN_B" "$PER_CONN_PSS_B" "$PER_CONN_DIRTY_B" \
  "$BCAST_PER_CONN_B" "$SLAB_PER_CONN_B" "$TCPMEM_PER_CONN_B" "$CLIENT_RSS" \
  "$( ((PER_CONN_B <= 8192)) && echo true || echo false)"
