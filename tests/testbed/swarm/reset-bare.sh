#!/bin/bash
# Put the bare engines of the Swarm test bed back to bare, so each test starts
# from them: (re)start any that is down, make it leave whatever swarm it
# joined, drop it from the manager's node list, remove its containers and the
# registry images it pulled.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# mgr_bare [ARGS]: IDs of zpn1's nodes that are bare engines (hostname zpbK).
# Best effort: zpn1 may be stopped by a test, then there is nothing to drop.
mgr_bare() { DK_TIMEOUT=10 sdk zpn1 node ls "$@" --format '{{.ID}} {{.Hostname}}' 2>/dev/null | awk '$2 ~ /^zpb[1-9]$/ {print $1}' || true; }

reset_bare() {
  local n=$1 ids imgs
  engine_start "$n"
  [ "$(sdk "$n" info --format '{{.Swarm.LocalNodeState}}')" = inactive ] || sdk "$n" swarm leave --force >/dev/null
  ids=$(sdk "$n" ps -aq)
  [ -z "$ids" ] || sdk "$n" rm -f $ids >/dev/null
  imgs=$(sdk "$n" images --format '{{.Repository}}:{{.Tag}}' | grep -F "$REG/" || true)
  [ -z "$imgs" ] || sdk "$n" rmi -f $imgs >/dev/null
}
mapfile -t NAMES < <(cd "$S" 2>/dev/null && ls -d zpb[1-9] 2>/dev/null || true)
# Demote bare engines that became zpn1's managers first: their forced leave
# would otherwise cost zpn1's swarm its raft quorum.
ids=$(mgr_bare --filter role=manager)
[ -z "$ids" ] || DK_TIMEOUT=30 sdk zpn1 node demote $ids >/dev/null
each reset_bare "${NAMES[@]}"
ids=$(mgr_bare)
[ -z "$ids" ] || DK_TIMEOUT=30 sdk zpn1 node rm --force $ids >/dev/null
