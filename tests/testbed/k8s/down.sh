#!/bin/bash
# Stop the Kubernetes test bed and remove its state (never the build cache);
# works after a crash too: stale pid files, orphaned containerd-shims and pod
# processes, a leftover mount namespace, bridge, cgroups and sysctls.
set -euo pipefail
source "$(dirname "$0")/common.sh"
rm -f "$K/env"

# kubelet first, or it restarts the pod containers removed next. Removing
# them now beats dockerd waiting out each one's stop timeout on shutdown.
stop_pidfile "$K/kubelet.pid" "$K/" 15
if pid_of "$KD/dockerd.pid" "$KD/" >/dev/null; then
  ids=$(DK_TIMEOUT=5 kd ps -aq 2>/dev/null) || true
  [ -z "$ids" ] || DK_TIMEOUT=30 kd rm -f $ids >/dev/null 2>&1 || true
fi
stop_pidfile "$KD/dockerd.pid" "$KD/" 15

# After a crash: containers still running under orphaned shims (runc keeps
# their state in the exec root), then containerd and the shims themselves,
# then whatever still runs in the cgroups only this test bed uses (kubelet's
# /kubepods, the node engine's /zpk8s; the Swarm engine uses /docker).
for root in "$KD"/exec/runtime-*/moby; do
  [ -d "$root" ] || continue
  for id in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete --force "$id" || true; done
done
for p in $(pids_using "$KD/" 'dockerd|containerd|containerd-shim.*'); do stop_pid "$p"; done
cgroups() { find /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/zpk8s /sys/fs/cgroup/*/zpk8s \
              -depth -type d 2>/dev/null || true; }
left=$(for cg in $(cgroups); do cat "$cg/cgroup.procs" 2>/dev/null || true; done | sort -u)
if [ -n "$left" ]; then
  say "killing leftover pod processes: ${left//$'\n'/ }"
  kill -KILL $left 2>/dev/null || true
  for p in $left; do for i in $(seq 50); do alive "$p" || break; sleep 0.1; done; done
fi

# The mount namespace dies with its last process, and its mounts with it.
# Anything still inside is ours (a private namespace); a debugging shell too.
if NS=$(pid_of "$K/mntns.pid" "zanepool-k8s-mntns $K/"); then
  mnt=$(readlink "/proc/$NS/ns/mnt")
  for f in /proc/[0-9]*/ns/mnt; do
    p=${f#/proc/}; p=${p%/ns/mnt}
    [ "$p" = "$NS" ] || [ "$(readlink "$f" 2>/dev/null)" != "$mnt" ] || stop_pid "$p"
  done
fi
stop_pidfile "$K/mntns.pid" "zanepool-k8s-mntns $K/"

# Control plane, then any of our processes whose pid file is gone.
for c in scheduler controller-manager apiserver etcd; do stop_pidfile "$K/$c.pid" "$K/"; done
for p in $(pids_using "$K/" 'etcd|kube-apiserver|kube-controller|kube-scheduler|kubelet|sleep'); do stop_pid "$p"; done

# Host leftovers: only our own bridge (never docker0, the Swarm engine's)
# and iptables chain, kubelet's now empty cgroups, the sysctls it changed.
ip link del "$K_BRIDGE" 2>/dev/null || true
while iptables -w -D FORWARD -j "$K_CHAIN" 2>/dev/null; do :; done
iptables -w -F "$K_CHAIN" 2>/dev/null && iptables -w -X "$K_CHAIN" || true
for cg in $(cgroups); do rmdir "$cg" 2>/dev/null || true; done
if [ -f "$K/sysctl.saved" ]; then
  while IFS= read -r kv; do sysctl -q -w "$kv" || say "cannot restore $kv"; done <"$K/sysctl.saved"
fi
umount_under "$K"
rm -rf "$K"; rmdir "$STATE" 2>/dev/null || true
say "kubernetes down"
