#!/bin/bash
# Build the Kubernetes test bed's binaries into a cache outside the repository,
# keyed by version: kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet and kubectl v1.20.2 compiled from Debian bookworm's `kubernetes`
# source package (every Go dependency vendored) with Debian's golang-1.19,
# offline but for Debian's mirror; etcd and etcdctl unpacked from Debian's
# debs (dpkg -x, never installed: no system etcd service); a static pause.
# No registry ships these any more, and the newest kubelet with a built-in
# dockershim is 1.23: 1.20 is what Debian can build.
# Cold: ~8 min on 2 cores, 1.4 GB peak memory, ~3 GB temporary disk. A cache
# whose stamp file (written last) is present is used as is.
#   build.sh          build if needed; prints the cache dir
#   build.sh --force  rebuild
set -euo pipefail
source "$(dirname "$0")/common.sh"
T0=$EPOCHREALTIME
# The build itself only needs gcc (pause), the rest is for up.sh / the node:
# curl (readiness probes), socat (kubelet's port-forward), nsenter/unshare.
need_cmds gcc:"gcc libc6-dev" curl:curl socat:socat nsenter:util-linux flock:util-linux

# The stamp names the recipe's revision: a cache built by an older recipe
# (e.g. without the reflect2 fix below) is rebuilt.
REV="recipe $K8S_VERSION-2"
cached() {
  grep -qxF "$REV" "$K8S_CACHE/stamp" 2>/dev/null || return 1
  local b; for b in $K8S_BINS; do [ -x "$KBIN/$b" ] || return 1; done
}
[ "${1:-}" = --force ] || ! cached || { echo "$K8S_CACHE"; exit 0; }

PARENT=$(dirname "$K8S_CACHE"); NAME=$(basename "$K8S_CACHE")
mkdir -p "$PARENT"
LOG=$PARENT/$NAME.build.log
# One build at a time (two up.sh runs may race); the second one waits and
# then finds the cache filled.
exec 9>"$PARENT/.$NAME.lock"
flock 9
[ "${1:-}" = --force ] || ! cached || { echo "$K8S_CACHE"; exit 0; }
# Work dirs of a crashed build (we hold the lock, so none is in use).
rm -rf "$PARENT/.$NAME.build."*
W=$(mktemp -d "$PARENT/.$NAME.build.XXXXXX")
trap 'rm -rf "$W"' EXIT
say "building Kubernetes $K8S_VERSION into $K8S_CACHE (~8 min; log: $LOG)"
: >"$LOG"

# Private apt state, so that neither the system's package lists nor its
# sources are changed: the machine's own Debian entries (not third-party
# repositories, which may have no sources), plus deb-src ones.
mkdir -p "$W"/{apt/lists/partial,apt/cache/archives/partial,apt/parts,debs,root,src,tools,home,out/bin}
for f in /etc/apt/sources.list.d/*.sources; do
  if [ -e "$f" ] && grep -qi debian "$f"; then sed 's/^Types: *deb *$/Types: deb deb-src/' "$f"; echo; fi
done >"$W/apt/parts/debian.sources"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  if [ -e "$f" ]; then sed -n 's/^deb \(.*debian.*\)/deb \1\ndeb-src \1/ip' "$f"; fi
done >"$W/apt/parts/debian.list"
APT=(apt-get -q -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$W/apt/parts"
     -o "Dir::State::Lists=$W/apt/lists" -o "Dir::Cache=$W/apt/cache" -o APT::Sandbox::User=root)
apt_() { "${APT[@]}" "$@" >>"$LOG" 2>&1 || die "apt-get $1 failed, see $LOG"; }
apt_ update
# The source package is 1.20.5+really1.20.2 (Debian rolled back to 1.20.2).
(cd "$W/src" && apt_ source --download-only kubernetes)
(cd "$W/debs" && apt_ download golang-1.19-go golang-1.19-src etcd-server etcd-client \
   golang-github-modern-go-reflect2-dev rsync libpopt0)
ORIG=$(ls "$W"/src/kubernetes_*really${K8S_VERSION#v}.orig.tar.gz 2>/dev/null) ||
  die "Debian's kubernetes source is not ${K8S_VERSION}: $(ls "$W/src")"
for f in "$W"/debs/*.deb; do dpkg -x "$f" "$W/root"; done
tar -C "$W/src" -xzf "$ORIG"
SRC=$W/src/kubernetes-${K8S_VERSION#v}
[ -d "$SRC" ] || die "no $SRC in $ORIG"
# Kubernetes 1.20 vendors reflect2 v1.0.1, which calls the Go runtime's map
# iterator with the pre-1.18 signature: built with Go 1.19 the apiserver dies
# at random ("fatal error: fault" in mapiternext, e.g. on kubectl logs), and
# so may Debian's own kubectl, which is why kubectl is built here too.
# v1.0.2 fixed that with the same API; Debian packages it.
R2=$SRC/vendor/github.com/modern-go/reflect2
rm -rf "$R2"; cp -a "$W/root/usr/share/gocode/src/github.com/modern-go/reflect2" "$R2"; rm -f "$R2/go.mod"

# Kubernetes' make runs rsync (from the deb, it may not be installed); the
# version is normally taken from git, which a tarball has not.
printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$W/root/usr/lib/x86_64-linux-gnu" \
  "$W/root/usr/bin/rsync" >"$W/tools/rsync"; chmod +x "$W/tools/rsync"
cat >"$W/version.env" <<V
KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_VERSION='$K8S_VERSION'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
V
# make WHAT=..., not go build: the build generates files (openapi) first. Go
# runs in GOPATH mode over vendor/, GOPROXY=off proves nothing is downloaded.
# -p=2 bounds peak memory (~1.4 GB); nice: tests may be running beside us.
(cd "$SRC" && env PATH="$W/tools:$W/root/usr/lib/go-1.19/bin:$PATH" GOROOT="$W/root/usr/lib/go-1.19" \
   CGO_ENABLED=0 GOPROXY=off GOFLAGS= HOME="$W/home" KUBE_GIT_VERSION_FILE="$W/version.env" \
   nice -n 10 make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet cmd/kubectl" \
   GOFLAGS=-p=2) >>"$LOG" 2>&1 || die "make failed, see $LOG"

O=$W/out
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do cp "$SRC/_output/bin/$b" "$O/bin/"; done
cp "$W/root/usr/bin/etcd" "$W/root/usr/bin/etcdctl" "$O/bin/"
# The pod sandbox image's only binary, static so the image needs no libc.
cp "$SRC/build/pause/linux/pause.c" "$O/"
gcc -Os -static -DVERSION="$K8S_VERSION-zanepool" -o "$O/bin/pause" "$O/pause.c" >>"$LOG" 2>&1 || die "gcc failed, see $LOG"
strip "$O/bin/pause"
"$O/bin/kubelet" --version >>"$LOG" 2>&1 || die "the built kubelet does not run, see $LOG"
{ echo "$REV"
  echo "kubernetes $K8S_VERSION from $(basename "$ORIG") with $("$W/root/usr/lib/go-1.19/bin/go" version)"
  for f in "$W"/debs/{etcd-server,golang-github-modern-go-reflect2-dev}_*.deb; do basename "$f"; done
  date -u +"built %FT%TZ"; } >"$O/stamp"
# Into place in one rename (same file system); an incomplete old cache goes.
rm -rf "$K8S_CACHE"
mv "$O" "$K8S_CACHE"
say "built in $(since "$T0") s: $K8S_CACHE ($(du -sh "$K8S_CACHE" | cut -f1))"
echo "$K8S_CACHE"
