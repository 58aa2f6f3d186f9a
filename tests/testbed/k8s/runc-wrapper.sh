#!/bin/sh
# OCI runtime of the node's dockerd (--add-runtime/--default-runtime): the
# real runc, after clamping a negative process.oomScoreAdj to 0 in the
# bundle's config.json. kubelet asks for -998 on every pod sandbox and on
# Guaranteed pods, and where root lacks CAP_SYS_RESOURCE (VMs, containers)
# runc then fails with "can't get final child's PID from pipe".
prev=
for a in "$@"; do
  if [ "$prev" = --bundle ] || [ "$prev" = -b ]; then
    [ -f "$a/config.json" ] && sed -i 's/"oomScoreAdj": *-[0-9][0-9]*/"oomScoreAdj":0/' "$a/config.json"
  fi
  prev=$a
done
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH exec runc "$@"
