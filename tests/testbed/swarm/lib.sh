# Layout and helpers of the multi-node Swarm test bed; sourced, never run.
# Every engine runs in its own network namespace (own docker0, iptables and
# ports 2375/2377/7946), named after the engine: zpn1..zpnN are Swarm nodes
# (zpn1 the manager), zpb1..zpbB bare engines in no swarm. A veth ties each
# to the host bridge zpbr0 (10.201.0.1, also the registry's address). The
# server in the host namespace reaches each engine on its unix socket; the
# engines also listen on tcp://10.201.0.X:2375 (no TLS) on the bridge.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
S=$STATE/swarm
BR=zpbr0
NET=10.201.0
REG=$NET.1:5000
REG_DIR=$S/registry
REG_PID=$REG_DIR/registry.pid
# The host FORWARD policy is DROP once a host dockerd ran, and bridged frames
# go through it (br_netfilter): let the namespaces talk to each other.
FWD_RULE=(FORWARD -i "$BR" -o "$BR" -j ACCEPT)

# addr_of NAME: zpnK -> 10.201.0.1K, zpbK -> 10.201.0.2K (K in 1..9).
addr_of() {
  [[ $1 =~ ^zp([nb])([1-9])$ ]] || die "bad engine name '$1' (zpn1..zpn9, zpb1..zpb9)"
  if [ "${BASH_REMATCH[1]}" = n ]; then echo "$NET.1${BASH_REMATCH[2]}"; else echo "$NET.2${BASH_REMATCH[2]}"; fi
}
sock_of() { echo "$S/$1/docker.sock"; }
endpoint_of() { echo "unix://$(sock_of "$1")"; }
# sdk NAME ARGS: the docker CLI on one engine's unix socket.
sdk() { local n=$1; shift; dockercli -H "$(endpoint_of "$n")" "$@"; }
answers() { DK_TIMEOUT=5 sdk "$1" version; }

# all_names: every engine this bed has or left behind (state dirs, namespaces,
# host-side veths), whatever NODES/BARE were when it was made.
all_names() {
  { ls "$S" 2>/dev/null; ip netns list 2>/dev/null | awk '{print $1}'
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed -n 's/^ve-\([^@]*\)@.*/\1/p'
  } | grep -xE 'zp[nb][1-9]' | sort -u || true
}

# each FUNC NAME...: FUNC NAME for every NAME in parallel; fails if any did.
each() {
  local f=$1 n p rc=0 pids=(); shift
  for n in "$@"; do "$f" "$n" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return "$rc"
}

# netns_up NAME: the namespace with eth0 (veth to zpbr0) addressed and up.
netns_up() {
  local n=$1 v=ve-$1
  ip netns exec "$n" true 2>/dev/null || { ip netns del "$n" 2>/dev/null || true; ip netns add "$n"; }
  if ! ip -n "$n" link show eth0 >/dev/null 2>&1; then
    ip link del "$v" 2>/dev/null || true
    ip link add "$v" type veth peer name eth0 netns "$n"
  fi
  ip link set "$v" master "$BR" up
  ip -n "$n" addr replace "$(addr_of "$n")/24" dev eth0
  ip -n "$n" link set eth0 up; ip -n "$n" link set lo up
}

# netns_down NAME: end whatever still runs inside, delete namespace and veth.
netns_down() {
  local p
  for p in $(ip netns pids "$1" 2>/dev/null); do stop_pid "$p" 5; done
  ip netns del "$1" 2>/dev/null || true
  ip link del "ve-$1" 2>/dev/null || true
}

# engine_start NAME: start the engine's dockerd on its kept data (no-op when
# it answers). `ip netns exec` mounts a fresh /sys, so the host's cgroup
# mounts are redone inside; unshare --uts gives it its own hostname (= NAME),
# which is what `docker node ls` shows.
engine_start() {
  local n=$1 d=$S/$1 cg
  answers "$n" >/dev/null 2>&1 && return 0
  engine_stop "$n"; netns_up "$n"; mkdir -p "$d"
  echo "{\"deprecated-key-path\": \"$d/key.json\"}" >"$d/daemon.json"
  cg=$(awk '$2 == "/sys/fs/cgroup" || index($2, "/sys/fs/cgroup/") == 1 {print $3, $2, $4}' /proc/mounts)
  # No proxy variables: registry traffic must stay on zpbr0. PREFER_OFFLINE:
  # the swarm agent uses a local image instead of asking a registry. Own
  # key.json (a config-file-only setting): its own engine ID, not the one of
  # the shared /etc/docker/key.json. --tls=false: without it, a non-loopback
  # tcp listener delays the start by 15 s.
  env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
    setsid ip netns exec "$n" unshare --uts sh -c '
      hostname "$1"
      echo "$2" | while read -r t m o; do mkdir -p "$m"; mount -t "$t" -o "$o" "$t" "$m"; done
      shift 2; exec "$@"' sh "$n" "$cg" /usr/sbin/dockerd \
    --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    --config-file "$d/daemon.json" \
    -H "unix://$d/docker.sock" -H "tcp://$(addr_of "$n"):2375" --tls=false \
    --insecure-registry "$REG" --shutdown-timeout 2 >>"$d/dockerd.log" 2>&1 </dev/null &
  wait_for 60 $! "$d/dockerd.log" "dockerd $n" answers "$n"
}

# engine_stop NAME: stop the engine's dockerd (its containers stop first; 15 s
# covers their default 10 s grace) and clear crash leftovers; keeps its data.
engine_stop() {
  local d=$S/$1
  stop_pidfile "$d/dockerd.pid" "$d/" 15
  reap_engine "$d"
  rm -f "$d/dockerd.pid" "$d/docker.sock"
}
