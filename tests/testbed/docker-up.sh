#!/bin/bash
# Start (or make sure of) one Docker 20.10 engine as a single-node Swarm
# manager, reachable on a unix socket, on plain TCP (via socat) and on TLS TCP.
# Safe to run again: a healthy engine is kept, a crashed one is cleaned up and
# restarted on its kept data root (so the swarm survives docker-down --keep-data).
#   docker-up.sh [--fresh]     --fresh: wipe any previous engine state first
set -euo pipefail
source "$(dirname "$0")/lib.sh"
T0=$EPOCHREALTIME
[ "${1:-}" = --fresh ] && "$TB/docker-down.sh"
"$TB/install.sh"
check_fs "$STATE"
mkdir -p "$D"

# TLS material, generated once: a CA, a server cert for 127.0.0.1/localhost and
# a client cert; file names follow docker's DOCKER_CERT_PATH convention.
make_pki() {
  local k=$D_PKI tmp; tmp=$(mktemp -d "$D/pki.XXXXXX")
  (cd "$tmp"
   openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=zanepool-testbed-ca \
     -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
     -keyout ca-key.pem -out ca.pem
   sign() { # sign NAME CN EXTENSIONS
     openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1-key.pem" -out "$1.csr"
     openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
       -extfile <(printf '%s\n' "$3") -out "$1-cert.pem"
   }
   # key identifiers + key usage: strict verifiers (Python 3.13's default
   # VERIFY_X509_STRICT) reject leaf certs without them
   local ext="subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
keyUsage=critical,digitalSignature,keyEncipherment"
   sign server localhost "$ext
subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
   sign client zanepool-testbed-client "$ext
extendedKeyUsage=clientAuth"
   mv client-cert.pem cert.pem; mv client-key.pem key.pem
   rm -f ./*.csr ./*.srl; chmod 600 ./*key.pem) >"$D/openssl.log" 2>&1 || die "openssl failed, see $D/openssl.log"
  rm -rf "$k"; mv "$tmp" "$k"     # appears complete or not at all
}
[ -s "$D_PKI/key.pem" ] || make_pki

# Engine: keep it when it is ours, alive and answering; otherwise clear what a
# crashed run left (pid files, containerd, shims, mounts, links) and start it.
if DPID=$(pid_of "$D_PID" "$D/") && dk version >/dev/null 2>&1; then
  say "dockerd $DPID already running"
else
  "$TB/docker-down.sh" --keep-data
  # Save the host settings dockerd changes, so docker-down.sh can restore them.
  [ -f "$D/host.saved" ] || printf 'IP_FORWARD=%s\nFORWARD_POLICY=%s\n' \
    "$(cat /proc/sys/net/ipv4/ip_forward)" "$(iptables -S FORWARD | awk '$1=="-P"{print $3}')" >"$D/host.saved"
  # PREFER_OFFLINE_IMAGE: the swarm agent uses the local image instead of
  # trying to pull it (no registry is reachable). --tlsverify only applies to
  # tcp listeners; the unix socket stays plain.
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid /usr/sbin/dockerd \
    --data-root "$D/root" --exec-root "$D/exec" --pidfile "$D_PID" \
    -H "unix://$D_SOCK" -H "tcp://127.0.0.1:$TLS_PORT" \
    --tlsverify --tlscacert "$D_PKI/ca.pem" --tlscert "$D_PKI/server-cert.pem" \
    --tlskey "$D_PKI/server-key.pem" --shutdown-timeout 2 \
    >>"$D_LOG" 2>&1 </dev/null &
  DPID=$!
  wait_for 60 "$DPID" "$D_LOG" dockerd dk version
  say "dockerd $DPID ready after $(since "$T0") s"
fi

# Swarm: the state is kept in the data root. Right after a restart the node is
# "pending" for a moment, and the manager API answers only once raft has a leader.
swarm_state() { dk info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }
swarm_settled() { [[ $(swarm_state) =~ ^(active|inactive|error|locked)$ ]]; }
wait_for 60 "$DPID" "$D_LOG" "swarm state" swarm_settled
state=$(swarm_state)
if [ "$state" = error ] || [ "$state" = locked ]; then
  say "swarm state $state: leaving and re-creating it"
  dk swarm leave --force >/dev/null; state=inactive
fi
if [ "$state" = inactive ]; then
  dk swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
fi
wait_for 60 "$DPID" "$D_LOG" "swarm manager" dk node ls

# Image: no registry is reachable, so build local/busybox:1 from busybox-static.
if ! dk image inspect local/busybox:1 >/dev/null 2>&1; then
  R=$D/rootfs; rm -rf "$R"; mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/root"
  cp /bin/busybox "$R/bin/busybox"
  for a in $("$R/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"; echo 'root:x:0:' >"$R/etc/group"
  tar -C "$R" -c . | dk import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - local/busybox:1 >/dev/null
  rm -rf "$R"
fi

# Plain TCP endpoint: socat forwards loopback TCP to the unix socket, so the
# engine itself only has a TLS tcp listener (one --tlsverify covers all tcp -H).
if ! pid_of "$SOCAT_PID" "$D_SOCK" >/dev/null; then
  rm -f "$SOCAT_PID"
  setsid socat "TCP-LISTEN:$TCP_PORT,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$D_SOCK" \
    >>"$D/socat.log" 2>&1 </dev/null &
  echo $! >"$SOCAT_PID"
  tcp_ok() { DK_TIMEOUT=3 dockercli -H "tcp://127.0.0.1:$TCP_PORT" version; }
  wait_for 10 "$!" "$D/socat.log" socat tcp_ok
fi

write_env "$D/env" <<ENV
ZANEPOOL_TB_DOCKER_UNIX=unix://$D_SOCK
ZANEPOOL_TB_DOCKER_TCP=tcp://127.0.0.1:$TCP_PORT
ZANEPOOL_TB_DOCKER_TLS=tcp://127.0.0.1:$TLS_PORT
ZANEPOOL_TB_DOCKER_PKI=$D_PKI
ZANEPOOL_TB_DOCKER_PID=$DPID
ENV
say "docker up in $(since "$T0") s; env: $D/env"
echo "$D/env"
