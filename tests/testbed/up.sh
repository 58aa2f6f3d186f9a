#!/bin/bash
# Start the whole test bed (Docker Swarm engine + SecantusDB) and print the
# path of one env file with every ZANEPOOL_TB_* variable. Safe to run again.
# With ZANEPOOL_TB_K8S=1 also the Kubernetes test bed (k8s/up.sh; its first
# run builds Kubernetes for ~8 min into a cache outside the repository).
# Use:  set -a; . "$(tests/testbed/up.sh)"; set +a
set -euo pipefail
source "$(dirname "$0")/lib.sh"
T0=$EPOCHREALTIME
"$TB/install.sh"
# The two start independently; in parallel the cold start takes ~2 s less.
"$TB/docker-up.sh" >/dev/null & DOCKER_UP=$!
# Opt-in (ZANEPOOL_TB_SWARM=1): the multi-node Swarm test bed, also in parallel.
SWARM_UP=; [ "${ZANEPOOL_TB_SWARM:-}" != 1 ] || { "$TB/swarm/up.sh" >/dev/null & SWARM_UP=$!; }
# Opt-in (ZANEPOOL_TB_K8S=1): the Kubernetes test bed, also in parallel.
K8S_UP=; [ "${ZANEPOOL_TB_K8S:-}" != 1 ] || { "$TB/k8s/up.sh" >/dev/null & K8S_UP=$!; }
rc=0; "$TB/mongo-up.sh" >/dev/null || rc=$?
wait "$DOCKER_UP" || rc=$?
[ -z "$SWARM_UP" ] || wait "$SWARM_UP" || rc=$?
[ -z "$K8S_UP" ] || wait "$K8S_UP" || rc=$?
[ "$rc" = 0 ] || die "test bed did not come up; stop what did with $TB/down.sh"
cat "$D/env" "$M/env" | write_env "$STATE/env"
[ -z "$SWARM_UP" ] || cat "$STATE/env" "$STATE/swarm/env" | write_env "$STATE/env"
[ -z "$K8S_UP" ] || cat "$STATE/env" "$STATE/k8s/env" | write_env "$STATE/env"
say "test bed up in $(since "$T0") s; env: $STATE/env"
echo "$STATE/env"
