#!/bin/bash
# Stop SecantusDB and remove its data; works with a stale pid file too.
#   mongo-down.sh [--keep-data]   --keep-data: keep $STATE/mongo/data
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ -d "$M" ] || exit 0
stop_pidfile "$M_PID" "$M/data"
rm -f "$M/env"
if [ "${1:-}" = --keep-data ]; then exit 0; fi
rm -rf "$M"; rmdir "$STATE" 2>/dev/null || true
say "mongo down"
