#!/bin/bash
# Stop or start engines of the Swarm test bed, keeping their data and
# namespaces, so a test can take a node (or a whole pool's engines) down and
# bring it back: a restarted Swarm node rejoins its swarm from its data.
#   engine.sh stop|start NAME...     NAME: zpn1..zpn9, zpb1..zpb9
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || die "usage: $0 stop|start NAME..."
cmd=$1; shift
for n in "$@"; do
  addr_of "$n" >/dev/null
  [ -d "$S/$n" ] || die "no engine $n in $S (is the swarm test bed up?)"
done
case $cmd in
  stop) each engine_stop "$@" ;;
  start) each engine_start "$@" ;;
  *) die "usage: $0 stop|start NAME..." ;;
esac
