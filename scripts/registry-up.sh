#!/bin/bash
# Start a private image registry (Debian's docker-registry, distribution 2.8) on
# loopback for the real-daemon tests, and, when a dockerd is given, push test images.
#
# Everything lives under $LAB_REGISTRY_DIR (default /tmp/labconsole-registry):
#   config.yml      the registry's configuration (filesystem storage under data/)
#   registry.pid    its PID (registry-down.sh stops it by this PID)
#   registry.log    its log
# It listens on 127.0.0.1:$LAB_REGISTRY_PORT (default 5055), plain HTTP: Docker
# treats 127.0.0.0/8 as an insecure registry, so dockerd pulls from it as is.
#
# With DOCKER_HOST set (scripts/docker-up.sh's socket), it builds images from
# busybox-static with `docker import` and pushes them as 127.0.0.1:PORT/lab/app:
#   :1        prints "app v1 started", then sleeps           (digest A)
#   :2        prints "app v2 started", then sleeps           (digest B, other content)
#   :stable   = :1                                           (digest A; a test re-points it)
#   :crash    prints "app crashing" and exits 1 at once      (forces a Swarm rollback)
# then removes them from dockerd, so a service must pull them from the registry.
# Prints "127.0.0.1:PORT" on success. Installs docker-registry with apt-get when
# missing (root only). Exit 0 = ready; non-zero = could not start (reason on stderr).
set -euo pipefail
B=${LAB_REGISTRY_DIR:-/tmp/labconsole-registry}
PORT=${LAB_REGISTRY_PORT:-5055}
ADDR=127.0.0.1:$PORT
D=/usr/bin/docker

die() { echo "registry-up: $*" >&2; exit 1; }

if [ ! -x /usr/bin/docker-registry ]; then
  [ "$(id -u)" = 0 ] || die "docker-registry missing and not root: apt-get install docker-registry"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 docker-registry \
    >"/tmp/labconsole-registry-apt.log" 2>&1 || die "apt-get install docker-registry failed (see /tmp/labconsole-registry-apt.log)"
fi
if [ -s "$B/registry.pid" ] && kill -0 "$(cat "$B/registry.pid")" 2>/dev/null; then
  die "a registry from a previous run is still alive (pid $(cat "$B/registry.pid")); run scripts/registry-down.sh"
fi
mkdir -p "$B/data"
cat >"$B/config.yml" <<EOC
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $B/data
  delete:
    enabled: true
http:
  addr: $ADDR
  headers:
    X-Content-Type-Options: [nosniff]
EOC
setsid /usr/bin/docker-registry serve "$B/config.yml" >"$B/registry.log" 2>&1 </dev/null &
echo $! >"$B/registry.pid"
ok=""
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://$ADDR/v2/', timeout=1)" 2>/dev/null; then ok=1; break; fi
  kill -0 "$(cat "$B/registry.pid")" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ok" ] || die "the registry did not answer on $ADDR within 10 s: $(tail -n 3 "$B/registry.log" | tr '\n' ' ')"

if [ -n "${DOCKER_HOST:-}" ]; then
  [ -x /bin/busybox ] || die "busybox-static missing (apt-get install busybox-static)"
  R=$B/rootfs
  build() {  # build TAG VERSION CMD-JSON: an image from busybox with /etc/app-version
    rm -rf "$R"; mkdir -p "$R/bin" "$R/etc" "$R/tmp"
    cp /bin/busybox "$R/bin/busybox"
    for a in sh sleep ls cat echo; do ln -sf busybox "$R/bin/$a"; done
    echo 'root:x:0:0:root:/:/bin/sh' >"$R/etc/passwd"; echo 'root:x:0:' >"$R/etc/group"
    echo "$2" >"$R/etc/app-version"
    tar -C "$R" -c . | $D import -c 'ENV PATH=/bin' -c "CMD $3" - "$ADDR/lab/app:$1" >/dev/null \
      || die "docker import of lab/app:$1 failed"
  }
  build 1 v1 '["sh", "-c", "echo app v1 started; exec sleep 100000"]'
  build 2 v2 '["sh", "-c", "echo app v2 started; exec sleep 100000"]'
  build crash crash '["sh", "-c", "echo app crashing; exit 1"]'
  $D tag "$ADDR/lab/app:1" "$ADDR/lab/app:stable"
  for t in 1 2 crash stable; do
    $D push -q "$ADDR/lab/app:$t" >"$B/push.log" 2>&1 || die "docker push lab/app:$t failed: $(tail -n 2 "$B/push.log")"
  done
  for t in 1 2 crash stable; do $D rmi -f "$ADDR/lab/app:$t" >/dev/null 2>&1 || true; done
fi
echo "$ADDR"
