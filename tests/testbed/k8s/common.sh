# shellcheck shell=bash
# Layout of the Kubernetes test bed, shared by build.sh, up.sh and down.sh;
# sourced, never run. Everything it starts lives under $K, so that a crashed
# run can be found and cleaned up by the next one; the binaries live in a
# build cache outside the repository that down.sh never touches.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
KT=$TB/k8s

K8S_VERSION=v1.20.2
K8S_CACHE=${ZANEPOOL_K8S_CACHE:-/var/cache/zanepool/k8s-$K8S_VERSION}
KBIN=$K8S_CACHE/bin
K8S_BINS="kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl etcd etcdctl pause"

K=$STATE/k8s
K_PKI=$K/pki
K_KUBECONFIG=$K/admin.kubeconfig
KD=$K/docker                  # the node's private Docker engine
KD_SOCK=$KD/docker.sock
KN=$K/node                    # kubelet state, certs, the mount namespace's dirs
# Ports, all on 127.0.0.1; none clash with the Swarm test bed (2377, 7946,
# 23750, 23760) or SecantusDB (27517).
K_API_PORT=${ZANEPOOL_TB_K8S_PORT:-16443}
K_ETCD_PORT=${ZANEPOOL_TB_K8S_ETCD_PORT:-23790}
K_ETCD_PEER_PORT=${ZANEPOOL_TB_K8S_ETCD_PEER_PORT:-23800}
K_KUBELET_PORT=10250          # kubelet API (logs, exec, port-forward)
K_KUBELET_HEALTHZ=10248
# The node's engine gets its own bridge: two engines on one docker0 break
# each other, and the Swarm test bed's engine owns docker0.
K_BRIDGE=zpk8s0
K_BRIDGE_CIDR=172.30.0.1/24
K_CHAIN=ZANEPOOL-K8S          # iptables chain confining the pods to the bridge
# The node must be named after its address: kubelet takes an IP node name as
# its InternalIP, which is what the apiserver dials for logs/exec.
K_NODE=127.0.0.1
# Sysctls kubelet sets at start (it cannot be told not to); down.sh restores them.
K_SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes"

# kd ARGS: docker CLI on the node's engine; kc ARGS: kubectl as the admin.
kd() { dockercli -H "unix://$KD_SOCK" "$@"; }
kc() { "$KBIN/kubectl" --kubeconfig "$K_KUBECONFIG" --cache-dir "$K/kube-cache" --request-timeout 10s "$@"; }

# need_cmds CMD:PACKAGE...: apt-get install the packages whose command is missing.
need_cmds() {
  local c pkgs=()
  for c in "$@"; do command -v "${c%%:*}" >/dev/null || pkgs+=(${c#*:}); done
  [ "${#pkgs[@]}" = 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${pkgs[*]}"
  say "installing ${pkgs[*]}"
  apt-get update -qq
  NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-upgrade "${pkgs[@]}" >/dev/null
}

# The API server, started in the background and waited for (up.sh, apiserver.sh).
# Node,RBAC: kubelet is held to its own node, the nobody token gets 403s.
# No kube-proxy here, so the "kubernetes" service's endpoints are not kept.
apiserver_start() {
  setsid "$KBIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$K_ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$K_API_PORT" --insecure-port=0 \
    --tls-cert-file="$K_PKI/apiserver.crt" --tls-private-key-file="$K_PKI/apiserver.key" \
    --client-ca-file="$K_PKI/ca.crt" --token-auth-file="$K/tokens.csv" --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$K_PKI/sa.pub" \
    --service-account-signing-key-file="$K_PKI/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
    --endpoint-reconciler-type=none --allow-privileged=true --profiling=false \
    --kubelet-client-certificate="$K_PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$K_PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$K_PKI/ca.crt" --kubelet-preferred-address-types=InternalIP,Hostname \
    >>"$K/apiserver.log" 2>&1 </dev/null &
  echo $! >"$K/apiserver.pid"
  wait_for 60 $! "$K/apiserver.log" kube-apiserver api_ready
}

# The API server answers /readyz with the admin token (from tokens.csv).
api_ready() {
  local token; token=$(cut -d, -f1 "$K/tokens.csv" | head -1)
  [ "$(curl -s --cacert "$K_PKI/ca.crt" -H "Authorization: Bearer $token" \
        "https://127.0.0.1:$K_API_PORT/readyz")" = ok ]
}
