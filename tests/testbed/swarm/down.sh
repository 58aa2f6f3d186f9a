#!/bin/bash
# Stop the multi-node Swarm test bed and remove everything it made: engines
# (and what a killed dockerd leaves), registry, namespaces, veths, zpbr0, the
# FORWARD rule, mounts and $STATE/swarm. Works after a crash too. Leaves the
# host-namespace engine of the single-node test bed (and its docker0) alone.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
T0=$EPOCHREALTIME
rm -f "$S/env" "$S/layout"

# Its data goes away: kill the containers rather than let dockerd wait out
# each one's stop grace period, then stop it and clear its namespace.
engine_down() {
  local ids
  if pid_of "$S/$1/dockerd.pid" "$S/$1/" >/dev/null; then
    ids=$(DK_TIMEOUT=5 sdk "$1" ps -q 2>/dev/null) || true
    [ -z "$ids" ] || DK_TIMEOUT=10 sdk "$1" kill $ids >/dev/null 2>&1 || true
  fi
  engine_stop "$1"
  netns_down "$1"
}
mapfile -t NAMES < <(all_names)
each engine_down "${NAMES[@]}"
stop_pidfile "$REG_PID" "$REG_DIR/"

ip link del "$BR" 2>/dev/null || true
while iptables -w -C "${FWD_RULE[@]}" 2>/dev/null; do iptables -w -D "${FWD_RULE[@]}"; done
# `ip netns add` made /run/netns a mount point; undo that once no namespace is left.
if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
  while mountpoint -q /run/netns; do umount /run/netns || break; done
  rmdir /run/netns 2>/dev/null || true
fi
umount_under "$S"
rm -rf "$S"
rmdir "$STATE" 2>/dev/null || true
say "swarm test bed down in $(since "$T0") s"
