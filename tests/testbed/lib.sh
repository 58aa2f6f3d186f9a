# Shared helpers for the Zane Pool test-bed scripts; sourced, never run.
# Everything lives under one state directory so that a crashed run can be
# found and cleaned up by the next one. It must be on ext4/xfs: dockerd's
# overlay2 storage driver does not work on tmpfs or overlayfs.
set -euo pipefail
TB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${ZANEPOOL_TESTBED_DIR:-/var/tmp/zanepool-testbed}
export DEBIAN_FRONTEND=noninteractive

say() { echo "testbed: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# alive PID: the process exists and is not a zombie (a child we started and
# have not reaped still answers kill -0, which would hide a dead daemon).
alive() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

# pid_of PIDFILE MATCH: print the pid if it is alive and its command line
# contains MATCH (guards against a stale pid file whose pid was reused).
pid_of() {
  local p; p=$(cat "$1" 2>/dev/null) || return 1
  alive "$p" && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "$2" && echo "$p"
}

# stop_pid PID [SECS]: TERM, wait up to SECS (10) s, then KILL and wait.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  local i
  for i in $(seq $((${2:-10} * 10))); do alive "$1" || return 0; sleep 0.1; done
  say "pid $1 still alive ${2:-10} s after TERM, killing"
  kill -KILL "$1" 2>/dev/null || true
  for i in $(seq 50); do alive "$1" || return 0; sleep 0.1; done
}

# stop_pidfile PIDFILE MATCH [SECS]: stop the process named by a pid file (if
# it is still ours) and remove the file; a stale pid file is just removed.
stop_pidfile() {
  local p; p=$(pid_of "$1" "$2") && stop_pid "$p" "${3:-10}"
  rm -f "$1"
}

# wait_for SECONDS PID LOGFILE WHAT CMD...: run CMD until it succeeds; fail
# early with the log tail if PID dies, or after SECONDS.
wait_for() {
  local secs=$1 pid=$2 log=$3 what=$4; shift 4
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then tail -n 30 "$log" >&2 || true; die "$what died while starting (log: $log)"; fi
    if [ "$SECONDS" -ge "$end" ]; then tail -n 30 "$log" >&2 || true; die "$what not ready after ${secs}s (log: $log)"; fi
    sleep 0.1
  done
}

# pids_using DIR COMM_REGEX: processes named like COMM_REGEX whose command
# line mentions DIR (leftovers of a crashed run, e.g. containerd-shims).
pids_using() {
  local f p
  for f in $(grep -lxE -- "$2" /proc/[0-9]*/comm 2>/dev/null); do
    p=${f#/proc/}; p=${p%/comm}
    tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "$1" && echo "$p"
  done
  return 0
}

# umount_under DIR: unmount everything below DIR, deepest first (netns bind
# mounts, overlay2 rootfs and shm mounts that a killed dockerd leaves).
umount_under() {
  local m
  awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "cannot umount $m"
  done
}

# check_fs DIR: refuse tmpfs/overlayfs (overlay2 cannot stack on them).
check_fs() {
  mkdir -p "$1"
  case $(stat -f -c %T "$1") in
    tmpfs|overlayfs|ramfs) die "$1 is on $(stat -f -c %T "$1"); set ZANEPOOL_TESTBED_DIR to a dir on ext4/xfs";;
  esac
}

# write_env FILE: write stdin atomically, so readers never see half a file.
write_env() { cat >"$1.tmp" && mv -f "$1.tmp" "$1"; }

# --- Docker engine layout, shared by docker-up.sh and docker-down.sh ---
D=$STATE/docker
D_SOCK=$D/docker.sock
D_PID=$D/dockerd.pid
D_LOG=$D/dockerd.log
D_PKI=$D/pki
SOCAT_PID=$D/socat.pid
TCP_PORT=${ZANEPOOL_TB_TCP_PORT:-23750}
TLS_PORT=${ZANEPOOL_TB_TLS_PORT:-23760}
# dockercli ARGS: the docker CLI, deaf to the caller's DOCKER_* environment and
# bounded by DK_TIMEOUT (a wrong listener on a port must not hang us);
# dk ARGS: the same on our engine's unix socket.
dockercli() { env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH \
                timeout "${DK_TIMEOUT:-60}" docker "$@"; }
dk() { dockercli -H "unix://$D_SOCK" "$@"; }

# --- SecantusDB layout, shared by mongo-up.sh and mongo-down.sh ---
M=$STATE/mongo
M_PID=$M/secantusd.pid
M_LOG=$M/secantusd.log
MONGO_PORT=${ZANEPOOL_TB_MONGO_PORT:-27517}

# since T0: seconds elapsed since a saved $EPOCHREALTIME, one decimal.
since() { local us=$(( ${EPOCHREALTIME//[.,]/} - ${1//[.,]/} )); echo "$((us / 1000000)).$((us / 100000 % 10))"; }

# --- Generic engine helpers (used by swarm/; docker-up/-down inline the same) ---
# reap_engine DIR: once the dockerd whose data/exec roots are under DIR is
# stopped or was killed, clear what it leaves: containers still running under
# orphaned shims (runc keeps their state in exec-root), containerd and the
# shims, mounts, and exec-root itself (runtime state that must not outlive
# the daemon, or the next dockerd waits for a "running" containerd).
reap_engine() {
  local root id p
  for root in "$1"/exec/runtime-*/moby; do
    [ -d "$root" ] || continue
    for id in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete --force "$id" || true; done
  done
  for p in $(pids_using "$1/" 'dockerd|containerd|containerd-shim.*'); do stop_pid "$p"; done
  umount_under "$1"
  rm -rf "$1/exec"
}

# busybox_rootfs DIR: a minimal image root (static busybox, its applets as
# symlinks, root in passwd/group) to `docker import`: no registry is reachable.
busybox_rootfs() {
  rm -rf "$1"; mkdir -p "$1/bin" "$1/etc" "$1/tmp" "$1/root"
  cp /bin/busybox "$1/bin/busybox"
  chroot "$1" /bin/busybox --install -s /bin    # links to /bin/busybox; 100x faster than ln in a loop
  echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"; echo 'root:x:0:' >"$1/etc/group"
}
