#!/bin/bash
# Install the Debian packages the test bed needs, only if something is missing
# (CI runs on fresh machines; a developer machine usually has them already).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# busybox must be the static build: it is copied into an image with no libc.
static_busybox() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }

if command -v dockerd >/dev/null && static_busybox && command -v socat >/dev/null \
   && command -v openssl >/dev/null; then
  exit 0
fi
[ "$(id -u)" = 0 ] || die "need root to apt-get install docker.io busybox-static socat openssl"
# Without a policy-rc.d, the docker.io postinst would start a system dockerd on
# docker0, which would clash with ours: forbid service starts during install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
say "installing docker.io busybox-static socat openssl"
apt-get update -qq
# --no-upgrade: install what is missing, leave installed packages as they are;
# NEEDRESTART_SUSPEND: needrestart's apt hook has no business here.
NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-upgrade docker.io busybox-static socat openssl >/dev/null
