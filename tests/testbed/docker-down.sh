#!/bin/bash
# Stop the test-bed Docker engine and clear what it leaves on the host; works
# after a crash too (stale pid files, orphaned containerd-shims, mounts).
#   docker-down.sh [--keep-data]   --keep-data: keep the data root (swarm,
#                                  images, pki) so docker-up.sh restarts it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
KEEP=; [ "${1:-}" = --keep-data ] && KEEP=1

stop_pidfile "$SOCAT_PID" "$D_SOCK"
# Data about to be deleted: kill the containers now rather than let dockerd
# wait out each one's stop timeout (10 s by default) on shutdown.
if [ -z "$KEEP" ] && pid_of "$D_PID" "$D/" >/dev/null; then
  ids=$(DK_TIMEOUT=5 dk ps -q 2>/dev/null) || true
  [ -z "$ids" ] || DK_TIMEOUT=10 dk kill $ids >/dev/null 2>&1 || true
fi
# dockerd stops its containers, then containerd. 15 s, not 10: a container's
# own stop timeout (default 10 s) wins over --shutdown-timeout 2, and a KILL
# would leave the crash leftovers handled below.
stop_pidfile "$D_PID" "$D/" 15

# After a crash: containers that still run under orphaned shims (killed via
# runc, whose state dockerd keeps in exec-root), then containerd and the shims.
for root in "$D"/exec/runtime-*/moby; do
  [ -d "$root" ] || continue
  for id in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete --force "$id" || true; done
done
for p in $(pids_using "$D/" 'dockerd|containerd|containerd-shim.*'); do stop_pid "$p"; done
umount_under "$D"
# exec-root is runtime state (like /run) and must not outlive the daemon: its
# containerd.pid may name the killed containerd, still a zombie or a reused
# pid, and dockerd would then wait for that "running" containerd and time out.
rm -rf "$D/exec"
rm -f "$D_PID" "$D_SOCK" "$D/env"

# Host networking: docker0/docker_gwbridge and docker's iptables chains are
# shared by every engine in this network namespace: only clear them (and
# restore the sysctl/policy dockerd changed) when no other dockerd runs here.
other_dockerd() {
  local f p
  for f in $(grep -lx dockerd /proc/[0-9]*/comm 2>/dev/null); do
    p=${f#/proc/}; p=${p%/comm}
    alive "$p" && [ "$(readlink "/proc/$p/ns/net")" = "$(readlink /proc/self/ns/net)" ] && return 0
  done
  return 1
}
if command -v iptables >/dev/null && ! other_dockerd; then
  for l in docker0 docker_gwbridge; do ip link del "$l" 2>/dev/null || true; done
  for t in filter nat; do      # unhook docker's chains from the built-in ones, then drop them
    iptables -t "$t" -S 2>/dev/null | { grep -E '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*(DOCKER|docker0|docker_gwbridge)' || true; } |
      while read -r -a rule; do iptables -t "$t" -D "${rule[@]:1}" || true; done
    for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$t" -F "$c" && iptables -t "$t" -X "$c" || true
    done
  done
  if [ -f "$D/host.saved" ]; then
    source "$D/host.saved"
    echo "$IP_FORWARD" >/proc/sys/net/ipv4/ip_forward
    [ -z "$FORWARD_POLICY" ] || iptables -P FORWARD "$FORWARD_POLICY"
  fi
fi

if [ -z "$KEEP" ]; then rm -rf "$D"; rmdir "$STATE" 2>/dev/null || true; fi
say "docker down${KEEP:+ (data kept in $D)}"
