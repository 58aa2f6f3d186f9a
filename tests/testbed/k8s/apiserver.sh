#!/bin/bash
# Stop or start the Kubernetes test bed's API server, keeping everything else
# (etcd, its data, the kubelet, the controllers, which reconnect by themselves),
# so a test can take the API server away mid-stream and bring it back.
#   apiserver.sh stop|start
set -euo pipefail
source "$(dirname "$0")/common.sh"
[ -f "$K/tokens.csv" ] || die "the Kubernetes test bed is not up ($K)"
case ${1:-} in
  stop) stop_pidfile "$K/apiserver.pid" "$K/" ;;
  start)
    if pid_of "$K/apiserver.pid" "$K/" >/dev/null; then exit 0; fi  # already running
    apiserver_start ;;
  *) die "usage: $0 stop|start" ;;
esac
