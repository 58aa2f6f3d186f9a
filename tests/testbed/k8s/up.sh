#!/bin/bash
# Start (or make sure of) the Kubernetes test bed: a v1.20.2 control plane
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on loopback
# and one real node, kubelet with its built-in dockershim over a private
# Docker engine, then print the path of an env file with ZANEPOOL_TB_K8S_*.
# A healthy test bed is kept; anything else (a crashed run, half a test bed)
# is cleared with down.sh and started afresh: a fresh cluster takes seconds.
# The first run builds the binaries (build.sh, ~8 min, cached outside the repo).
#   Use:  set -a; . "$(tests/testbed/k8s/up.sh)"; set +a
set -euo pipefail
source "$(dirname "$0")/common.sh"
T0=$EPOCHREALTIME
"$TB/install.sh"                 # docker.io, busybox-static, socat, openssl
"$KT/build.sh" >/dev/null        # a no-op when the cache is complete
check_fs "$STATE"
case $K/ in /var/lib/*|/var/log/*) die "$K is under /var/lib or /var/log, which the node's mount namespace replaces";; esac

node_ready() {
  [ "$(curl -s "http://127.0.0.1:$K_KUBELET_HEALTHZ/healthz")" = ok ] &&
  [ "$(kc get node "$K_NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
healthy() {
  local c; for c in etcd apiserver controller-manager scheduler mntns kubelet; do pid_of "$K/$c.pid" "$K/" || return 1; done
  pid_of "$KD/dockerd.pid" "$KD/" && kd version && iptables -w -C FORWARD -j "$K_CHAIN" && node_ready
}
if [ -s "$K/env" ] && healthy >/dev/null 2>&1; then
  say "kubernetes already up; env: $K/env"; echo "$K/env"; exit 0
fi
"$KT/down.sh"                    # leftovers of a crashed or partial run
mkdir -p "$K" "$KD" "$KN"/{varlog,varlib/upper,varlib/work,run-containerd,root,dockershim}

# --- PKI: a CA and the certificates signed by it. Key identifiers and key
# usage on every certificate: strict verifiers (Python 3.13's default
# VERIFY_X509_STRICT) reject certificates without them.
tmp=$(mktemp -d "$K/pki.XXXXXX")
(cd "$tmp"
 openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=zanepool-testbed-k8s-ca \
   -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
   -keyout ca.key -out ca.crt
 sign() { # sign NAME SUBJECT EXTENSIONS
   openssl req -new -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr"
   openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out "$1.crt" \
     -extfile <(printf '%s\n' subjectKeyIdentifier=hash authorityKeyIdentifier=keyid,issuer \
                keyUsage=critical,digitalSignature,keyEncipherment "$3")
 }
 sign apiserver /CN=kube-apiserver \
   "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
 # apiserver -> kubelet (logs, exec, port-forward); kubelet authorizes it by SubjectAccessReview
 sign apiserver-kubelet-client /O=system:masters/CN=kube-apiserver-kubelet-client extendedKeyUsage=clientAuth
 # the tests' admin client certificate (ZANEPOOL_TB_K8S_CLIENT_CERT/KEY)
 sign admin /O=system:masters/CN=zanepool-testbed-admin extendedKeyUsage=clientAuth
 # kubelet -> apiserver, as the Node authorizer wants it; kubelet's own :10250 serving cert
 sign kubelet-client "/O=system:nodes/CN=system:node:$K_NODE" extendedKeyUsage=clientAuth
 sign kubelet "/CN=$K_NODE" "subjectAltName=IP:$K_NODE,DNS:localhost
extendedKeyUsage=serverAuth"
 openssl genrsa -out sa.key 2048; openssl rsa -in sa.key -pubout -out sa.pub   # service account tokens
 rm -f ./*.csr ./*.srl; chmod 600 ./*.key) >"$K/openssl.log" 2>&1 || die "openssl failed, see $K/openssl.log"
mv "$tmp" "$K_PKI"

# Bearer tokens, fresh per run: an admin, and a user without any RBAC binding
# (so the tests can provoke 403 Forbidden). Both get system:authenticated.
ADMIN_TOKEN=$(openssl rand -hex 24); NOBODY_TOKEN=$(openssl rand -hex 24)
(umask 077; printf '%s,zanepool-testbed-admin,zanepool-testbed-admin,"system:masters"\n%s,zanepool-testbed-nobody,zanepool-testbed-nobody\n' \
   "$ADMIN_TOKEN" "$NOBODY_TOKEN" >"$K/tokens.csv")
kubeconfig() { # kubeconfig FILE USER-FIELDS
  (umask 077; cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters: [{name: zanepool-testbed, cluster: {server: "https://127.0.0.1:$K_API_PORT", certificate-authority: "$K_PKI/ca.crt"}}]
users: [{name: user, user: {$2}}]
contexts: [{name: zanepool-testbed, context: {cluster: zanepool-testbed, user: user}}]
current-context: zanepool-testbed
KC
  )
}
kubeconfig "$K_KUBECONFIG" "token: $ADMIN_TOKEN"
kubeconfig "$KN/kubelet.kubeconfig" "client-certificate: $K_PKI/kubelet-client.crt, client-key: $K_PKI/kubelet-client.key"

# --- control plane, loopback only. etcd without fsync: a test cluster's
# data is thrown away anyway, and fsync makes every write ~10x slower.
setsid "$KBIN/etcd" --name zanepool-testbed --data-dir "$K/etcd" \
  --listen-client-urls "http://127.0.0.1:$K_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$K_ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$K_ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$K_ETCD_PEER_PORT" \
  --initial-cluster "zanepool-testbed=http://127.0.0.1:$K_ETCD_PEER_PORT" --listen-metrics-urls '' \
  --unsafe-no-fsync >>"$K/etcd.log" 2>&1 </dev/null &
echo $! >"$K/etcd.pid"
wait_for 30 $! "$K/etcd.log" etcd curl -sf "http://127.0.0.1:$K_ETCD_PORT/health"

apiserver_start
T_API=$(since "$T0")

# Controllers (deployments, replica sets, GC, namespaces, service account
# tokens, node lifecycle) and the scheduler; no metrics/health listeners.
setsid "$KBIN/kube-controller-manager" --kubeconfig="$K_KUBECONFIG" --leader-elect=false \
  --port=0 --secure-port=0 --bind-address=127.0.0.1 \
  --controllers='*,-nodeipam,-cloud-node-lifecycle,-route,-service,-csrsigning,-csrapproving' \
  --service-account-private-key-file="$K_PKI/sa.key" --root-ca-file="$K_PKI/ca.crt" \
  --use-service-account-credentials=false >>"$K/controller-manager.log" 2>&1 </dev/null &
echo $! >"$K/controller-manager.pid"; CM=$!
setsid "$KBIN/kube-scheduler" --kubeconfig="$K_KUBECONFIG" --leader-elect=false \
  --port=0 --secure-port=0 --bind-address=127.0.0.1 >>"$K/scheduler.log" 2>&1 </dev/null &
echo $! >"$K/scheduler.pid"
# Pods can be admitted once the default service account has its token.
sa_ready() { [ -n "$(kc -n default get sa default -o 'jsonpath={.secrets[0].name}')" ]; }
wait_for 60 "$CM" "$K/controller-manager.log" kube-controller-manager sa_ready
T_CP=$(since "$T0")

# --- the node. kubelet changes these sysctls; down.sh puts them back.
for s in $K_SYSCTLS; do echo "$s=$(sysctl -n "$s")"; done >"$K/sysctl.saved"

# A private mount namespace for dockerd and kubelet: kubelet 1.20 hard-codes
# /var/log/pods, /var/log/containers and /var/lib/kubelet/device-plugins, so
# in there /var/log is $KN/varlog and /var/lib an overlay writing to
# $KN/varlib; dockerd must share it to see kubelet's volume mounts; a private
# /run/containerd keeps our shims' sockets apart from the Swarm engine's.
# The namespace starts as a copy of ours: drop the copies of the other
# engine's mounts under $STATE, which would otherwise pin its overlays and
# network namespaces after it unmounts them.
mkdir -p /run/containerd
setsid unshare -m --propagation private bash -c '
  set -e; source "$1/lib.sh"; umount_under "$2"
  mount --bind "$3/varlog" /var/log
  mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$3/varlib/upper,workdir=$3/varlib/work" /var/lib
  mount --bind "$3/run-containerd" /run/containerd
  exec -a "zanepool-k8s-mntns $4/" sleep infinity' _ "$TB" "$STATE" "$KN" "$K" \
  >>"$K/mntns.log" 2>&1 </dev/null &
NS=$!; echo "$NS" >"$K/mntns.pid"
wait_for 10 "$NS" "$K/mntns.log" "mount namespace" pid_of "$K/mntns.pid" "zanepool-k8s-mntns $K/"

# The pods' own bridge (the Swarm engine owns docker0).
ip link show "$K_BRIDGE" >/dev/null 2>&1 || {
  ip link add "$K_BRIDGE" type bridge && ip addr add "$K_BRIDGE_CIDR" dev "$K_BRIDGE"; }
ip link set "$K_BRIDGE" up
# Pods talk to each other and to this host, never beyond: bridged traffic
# passes the FORWARD chain (br_netfilter), whose policy the Swarm engine sets
# to DROP, and nothing may leave the bridge (it would go out un-NATed). Our
# own chain, hooked in first; down.sh removes both.
iptables -w -N "$K_CHAIN"
iptables -w -A "$K_CHAIN" -i "$K_BRIDGE" -o "$K_BRIDGE" -j ACCEPT
iptables -w -A "$K_CHAIN" -i "$K_BRIDGE" -j DROP
iptables -w -A "$K_CHAIN" -o "$K_BRIDGE" -j DROP
iptables -w -I FORWARD 1 -j "$K_CHAIN"
# The node's Docker engine: no iptables/ip_forward changes (the Swarm engine
# in this network namespace owns those), own config file (not
# /etc/docker/daemon.json), containers outside kubelet's pods in /zpk8s.
echo '{}' >"$KD/daemon.json"
setsid nsenter -t "$NS" -m -- /usr/sbin/dockerd --config-file "$KD/daemon.json" \
  --data-root "$KD/root" --exec-root "$KD/exec" --pidfile "$KD/dockerd.pid" -H "unix://$KD_SOCK" \
  --bridge "$K_BRIDGE" --iptables=false --ip-forward=false --ip-masq=false \
  --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent /zpk8s --storage-driver overlay2 \
  --add-runtime zanepool-runc="$KT/runc-wrapper.sh" --default-runtime zanepool-runc \
  --shutdown-timeout 2 >>"$KD/dockerd.log" 2>&1 </dev/null &
DPID=$!
wait_for 60 "$DPID" "$KD/dockerd.log" "node dockerd" kd version

# No registry: kubelet's sandbox image from the static pause binary, and a
# busybox image for the tests' pods (imagePullPolicy: Never).
R=$KD/rootfs; rm -rf "$R"; mkdir -p "$R"
cp "$KBIN/pause" "$R/pause"
tar -C "$R" -c . | kd import -c 'ENTRYPOINT ["/pause"]' - local/pause:3.2 >/dev/null
rm -rf "$R"; mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/root"
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"; echo 'root:x:0:' >"$R/etc/group"
tar -C "$R" -c . | kd import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - local/busybox:1 >/dev/null
rm -rf "$R"

# kubelet: loopback only, no read-only port, x509 client auth; its iptables
# chains off (no kube-proxy, and the host's iptables are the Swarm engine's).
cat >"$KN/kubelet-config.yaml" <<CFG
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $K_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $K_KUBELET_HEALTHZ
tlsCertFile: $K_PKI/kubelet.crt
tlsPrivateKeyFile: $K_PKI/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $K_PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failSwapOn: false
makeIPTablesUtilChains: false
clusterDomain: cluster.local
serializeImagePulls: false
nodeStatusUpdateFrequency: 2s
CFG
# --resolv-conf="": pods get no nameserver (not the host's), so they send no
# DNS queries anywhere (in the config file "" would mean the default).
setsid nsenter -t "$NS" -m -- "$KBIN/kubelet" --config="$KN/kubelet-config.yaml" \
  --kubeconfig="$KN/kubelet.kubeconfig" --root-dir="$KN/root" --cert-dir="$K_PKI" \
  --hostname-override="$K_NODE" --container-runtime=docker --docker-endpoint="unix://$KD_SOCK" \
  --docker="unix://$KD_SOCK" --docker-root="$KD/root" \
  --container-runtime-endpoint="unix://$KN/dockershim.sock" \
  --experimental-dockershim-root-directory="$KN/dockershim" \
  --pod-infra-container-image=local/pause:3.2 --network-plugin="" --resolv-conf="" --v=1 \
  >>"$KN/kubelet.log" 2>&1 </dev/null &
echo $! >"$K/kubelet.pid"
wait_for 120 $! "$KN/kubelet.log" kubelet node_ready

write_env "$K/env" <<ENV
ZANEPOOL_TB_K8S_API=https://127.0.0.1:$K_API_PORT
ZANEPOOL_TB_K8S_CA=$K_PKI/ca.crt
ZANEPOOL_TB_K8S_TOKEN=$ADMIN_TOKEN
ZANEPOOL_TB_K8S_KUBECONFIG=$K_KUBECONFIG
ZANEPOOL_TB_K8S_CLIENT_CERT=$K_PKI/admin.crt
ZANEPOOL_TB_K8S_CLIENT_KEY=$K_PKI/admin.key
ZANEPOOL_TB_K8S_READONLY_TOKEN=$NOBODY_TOKEN
ZANEPOOL_TB_K8S_NODE=$K_NODE
ZANEPOOL_TB_K8S_DOCKER=unix://$KD_SOCK
ENV
say "kubernetes up in $(since "$T0") s (apiserver $T_API s, controllers $T_CP s); env: $K/env"
echo "$K/env"
