#!/bin/bash
# Stop the whole test bed and remove its state; works after a crash too.
#   down.sh [--keep-data]   passed on to mongo-down.sh and docker-down.sh
# With ZANEPOOL_TB_K8S=1 also the Kubernetes test bed (its build cache stays).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
rm -f "$STATE/env"
# Independent, so in parallel (secantusd alone takes ~2 s to exit on TERM).
"$TB/mongo-down.sh" "$@" & MONGO_DOWN=$!
# The multi-node Swarm bed: stopped whenever it is there, whoever started it.
SWARM_DOWN=; { [ "${ZANEPOOL_TB_SWARM:-}" = 1 ] || [ -d "$STATE/swarm" ]; } && { "$TB/swarm/down.sh" & SWARM_DOWN=$!; }
# The Kubernetes bed only when asked for (opt-in, like its start).
K8S_DOWN=; [ "${ZANEPOOL_TB_K8S:-}" != 1 ] || { "$TB/k8s/down.sh" & K8S_DOWN=$!; }
rc=0; "$TB/docker-down.sh" "$@" || rc=$?
wait "$MONGO_DOWN" || rc=$?
[ -z "$SWARM_DOWN" ] || wait "$SWARM_DOWN" || rc=$?
[ -z "$K8S_DOWN" ] || wait "$K8S_DOWN" || rc=$?
exit "$rc"
