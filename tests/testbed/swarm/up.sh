#!/bin/bash
# Start the multi-node Swarm test bed and print the path of its env file:
# NODES (default 3) Swarm engines zpn1..zpnN (zpn1 manager, the rest workers)
# and BARE (default 2) engines zpb1..zpbB in no swarm, each in its own network
# namespace on bridge zpbr0, plus a registry on 10.201.0.1:5000. See lib.sh.
# Safe to run again: a healthy bed is kept (its bare engines reset), anything
# else (a crashed run, another NODES/BARE) is torn down and made afresh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
T0=$EPOCHREALTIME
NODES=${NODES:-3} BARE=${BARE:-2}
[[ $NODES =~ ^[1-9]$ && $BARE =~ ^[0-9]$ ]] || die "NODES must be 1..9, BARE 0..9"
SWARM=() BARES=()
for i in $(seq "$NODES"); do SWARM+=("zpn$i"); done
for i in $(seq "$BARE"); do BARES+=("zpb$i"); done
ALL=("${SWARM[@]}" "${BARES[@]}")
MGR=${SWARM[0]} MGR_ADDR=$(addr_of "${SWARM[0]}")

"$TB/install.sh"
if ! command -v docker-registry >/dev/null; then
  say "installing docker-registry"
  # The lock timeout: other test beds may be installing packages meanwhile.
  apt-get update -qq -o DPkg::Lock::Timeout=300
  NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-upgrade -o DPkg::Lock::Timeout=300 docker-registry >/dev/null
fi
# The package's own service (user docker-registry, all addresses, port 5000)
# must not run: policy-rc.d normally stops its postinst from starting it.
if pgrep -u docker-registry -x docker-registry >/dev/null 2>&1; then
  say "stopping the system docker-registry service"; /etc/init.d/docker-registry stop >/dev/null || true
fi
check_fs "$STATE"

registry_ok() { curl -sf --noproxy '*' -m 2 "http://$REG/v2/" >/dev/null; }
all_ready() { [ "$(sdk "$MGR" node ls --format '{{.Status}}' | grep -c '^Ready$')" = "$NODES" ]; }
healthy() {
  [ "$(cat "$S/layout" 2>/dev/null)" = "$NODES $BARE" ] && [ -s "$S/env" ] && registry_ok || return 1
  local n; for n in "${ALL[@]}"; do answers "$n" >/dev/null 2>&1 || return 1; done
  "$TB/swarm/reset-bare.sh" && [ "$(sdk "$MGR" node ls -q | wc -l)" = "$NODES" ] && all_ready
}
if healthy; then say "swarm test bed already up"; echo "$S/env"; exit 0; fi

# Anything else is a crashed or different bed: clear it and start afresh.
"$TB/swarm/down.sh"
mkdir -p "$REG_DIR"
ip link add "$BR" type bridge; ip addr add "$NET.1/24" dev "$BR"; ip link set "$BR" up
iptables -w -I "${FWD_RULE[@]}"
# Namespaces one by one: the first `ip netns add` sets up /run/netns.
for n in "${ALL[@]}"; do netns_up "$n"; done

# Registry on the bridge address only, so every namespace (and nothing
# outside this host) reaches it; plain HTTP, hence --insecure-registry.
cat >"$REG_DIR/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $REG_DIR/data}
  delete: {enabled: true}
http: {addr: "$REG"}
EOF
setsid docker-registry serve "$REG_DIR/config.yml" >>"$REG_DIR/registry.log" 2>&1 </dev/null &
echo $! >"$REG_PID"
each engine_start "${ALL[@]}"
wait_for 20 "$(cat "$REG_PID")" "$REG_DIR/registry.log" registry registry_ok
say "engines and registry ready after $(since "$T0") s"

# local/busybox:1 on every engine (swarm services use it without a pull).
busybox_rootfs "$S/rootfs"; tar -C "$S/rootfs" -cf "$S/busybox.tar" .
import_busybox() { sdk "$1" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - local/busybox:1 <"$S/busybox.tar" >/dev/null; }
each import_busybox "${ALL[@]}"

sdk "$MGR" swarm init --advertise-addr "$MGR_ADDR" --listen-addr "$MGR_ADDR:2377" >/dev/null
TOKEN=$(sdk "$MGR" swarm join-token -q worker)
join() { local a; a=$(addr_of "$1"); sdk "$1" swarm join --token "$TOKEN" --advertise-addr "$a" --listen-addr "$a:2377" "$MGR_ADDR:2377" >/dev/null; }
each join "${SWARM[@]:1}"

# Registry content: busybox:1, and hello:1 (busybox + /hello + a label) that
# no engine has locally, for pull tests. Pushed from the manager, whose tags
# are then dropped so that every engine starts with local/busybox:1 only.
echo hello >"$S/rootfs/hello"
tar -C "$S/rootfs" -c . | sdk "$MGR" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' \
  -c 'LABEL org.zanepool.testbed=hello' - "$REG/hello:1" >/dev/null
sdk "$MGR" tag local/busybox:1 "$REG/busybox:1"
for i in busybox:1 hello:1; do sdk "$MGR" push -q "$REG/$i" >/dev/null; sdk "$MGR" rmi "$REG/$i" >/dev/null; done
rm -rf "$S/rootfs" "$S/busybox.tar"

wait_for 60 "$(cat "$S/$MGR/dockerd.pid")" "$S/$MGR/dockerd.log" "swarm nodes" all_ready
echo "$NODES $BARE" >"$S/layout"
# words FUNC NAME...: FUNC of each NAME, space-separated.
words() { local f=$1 n out=(); shift; for n in "$@"; do out+=("$("$f" "$n")"); done; echo "${out[*]}"; }
write_env "$S/env" <<ENV
ZANEPOOL_TB_SWARM_MANAGER=$(endpoint_of "$MGR")
ZANEPOOL_TB_SWARM_NODES="$(words endpoint_of "${SWARM[@]}")"
ZANEPOOL_TB_SWARM_NODE_ADDRS="$(words addr_of "${SWARM[@]}")"
ZANEPOOL_TB_SWARM_BARE="$(words endpoint_of "${BARES[@]}")"
ZANEPOOL_TB_SWARM_BARE_ADDRS="$(words addr_of "${BARES[@]}")"
ZANEPOOL_TB_REGISTRY=$REG
ZANEPOOL_TB_REGISTRY_IMAGE=$REG/hello:1
ENV
say "swarm test bed up in $(since "$T0") s: $NODES nodes, $BARE bare; env: $S/env"
echo "$S/env"
