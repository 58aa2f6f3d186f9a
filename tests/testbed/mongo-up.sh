#!/bin/bash
# Start (or make sure of) SecantusDB, a MongoDB wire-protocol server, on
# loopback. It is GPL: only ever run it as a separate process, never import it.
# Python: $PYTHON (default python3 on PATH) must have pymongo, for the ping.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
T0=$EPOCHREALTIME
PY=$(command -v "${PYTHON:-python3}") || die "no python: ${PYTHON:-python3}"
BIN=${ZANEPOOL_SECANTUSD:-$(dirname "$PY")/secantusd-py}
[ -x "$BIN" ] || BIN=$(command -v secantusd-py) ||
  die "secantusd-py not found: pip install secantusdb==0.7.0b3 next to $PY, or set ZANEPOOL_SECANTUSD"
"$PY" -c 'import pymongo' 2>/dev/null || die "$PY cannot import pymongo (set PYTHON to the project venv's python)"
mongo_ping() {
  "$PY" - "$MONGO_PORT" <<'PY'
import sys, pymongo
c = pymongo.MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}/?retryWrites=false", serverSelectionTimeoutMS=300)
c.admin.command("ping")
PY
}
check_fs "$STATE"

if MPID=$(pid_of "$M_PID" "$M/data") && mongo_ping >/dev/null 2>&1; then
  say "secantusd $MPID already running"
else
  "$TB/mongo-down.sh" --keep-data            # clears a stale pid file / hung server
  mkdir -p "$M/data"
  setsid "$BIN" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$M/data" \
    --log-level WARNING >>"$M_LOG" 2>&1 </dev/null &
  MPID=$!; echo "$MPID" >"$M_PID"
  wait_for 30 "$MPID" "$M_LOG" secantusd mongo_ping
fi
# retryWrites=false: secantusd keeps every retryable-write record and scans
# them on each write, so with retries on, writes slow down as a run goes on.
write_env "$M/env" <<ENV
ZANEPOOL_TB_MONGODB_URI=mongodb://127.0.0.1:$MONGO_PORT/?retryWrites=false
ZANEPOOL_TB_MONGO_PID=$MPID
ENV
say "mongo up in $(since "$T0") s; env: $M/env"
echo "$M/env"
