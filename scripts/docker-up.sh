#!/bin/bash
# Start a private dockerd in Swarm mode for the real-daemon tests.
#
# Everything lives under $LAB_DOCKER_DIR (default /tmp/labconsole-docker):
#   docker.sock   the Engine API socket (unix://$LAB_DOCKER_DIR/docker.sock)
#   dockerd.pid   the dockerd PID (docker-down.sh stops it by this PID)
#   dockerd.log   its log
# It initialises a one-node swarm on 127.0.0.1, imports a busybox image
# (lab/busybox:1, from busybox-static: no registry is reachable) and creates
# the service "web" (2 replicas), then waits until both tasks run.
# With LAB_DOCKER_SSH_PORT set, also an sshd on 127.0.0.1:$LAB_DOCKER_SSH_PORT
# (ssh/known_hosts, ssh/client_ed25519, sshd.pid), so a test can reach the
# Engine socket the way the console reaches a remote manager: ssh:// + a
# forwarded unix socket.
# LAB_DOCKER_PULL=1: let tasks pull their image (from a registry such as
# scripts/registry-up.sh's) instead of preferring the local copy.
# Installs docker.io + busybox-static with apt-get when missing (root only).
# Exit 0 = ready; non-zero = could not start (reason on stderr).
set -euo pipefail
B=${LAB_DOCKER_DIR:-/tmp/labconsole-docker}
SOCK=$B/docker.sock
D=/usr/bin/docker   # Debian's client matches the Debian dockerd (API 1.41)
export DOCKER_HOST=unix://$SOCK

die() { echo "docker-up: $*" >&2; exit 1; }

if ! command -v dockerd >/dev/null || [ ! -x $D ] || [ ! -x /bin/busybox ]; then
  [ "$(id -u)" = 0 ] || die "dockerd/docker/busybox missing and not root: apt-get install docker.io busybox-static"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 docker.io busybox-static \
    >"/tmp/labconsole-docker-apt.log" 2>&1 || die "apt-get install docker.io busybox-static failed (see /tmp/labconsole-docker-apt.log)"
fi
[ "$(id -u)" = 0 ] || die "dockerd needs root"

if [ -s "$B/dockerd.pid" ] && kill -0 "$(cat "$B/dockerd.pid")" 2>/dev/null; then
  die "a dockerd from a previous run is still alive (pid $(cat "$B/dockerd.pid")); run scripts/docker-down.sh"
fi
mkdir -p "$B/data" "$B/exec"
# No registry: tasks must use the local image instead of trying a pull first
# (with the variable set, swarm tasks never pull: LAB_DOCKER_PULL=1 leaves it out).
offline=1; [ "${LAB_DOCKER_PULL:-0}" = 1 ] && offline=0
DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=$offline setsid dockerd -H "unix://$SOCK" --data-root "$B/data" --exec-root "$B/exec" \
  --pidfile "$B/dockerd.pid" >"$B/dockerd.log" 2>&1 </dev/null &
echo $! >"$B/dockerd.launch.pid"
for _ in $(seq 1 300); do $D info >/dev/null 2>&1 && break; sleep 0.1; done
$D info >/dev/null 2>&1 || die "dockerd did not answer on $SOCK within 30 s: $(tail -n 3 "$B/dockerd.log" | tr '\n' ' ')"

$D swarm init --advertise-addr 127.0.0.1 >/dev/null 2>"$B/swarm-init.err" \
  || die "swarm init failed: $(cat "$B/swarm-init.err")"

R=$B/rootfs; rm -rf "$R"; mkdir -p "$R/bin" "$R/etc" "$R/tmp"
cp /bin/busybox "$R/bin/busybox"
for a in sh sleep ls cat echo httpd nc; do ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$R/etc/passwd"; echo 'root:x:0:' >"$R/etc/group"
tar -C "$R" -c . | $D import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - lab/busybox:1 >/dev/null
# a second tag, so a test can update a service to another image and roll back
$D tag lab/busybox:1 lab/busybox:2

# short update/rollback monitors so an update or a rollback completes in a few seconds
$D service create -d --no-resolve-image --name web --replicas 2 --init --stop-grace-period 1s \
  --update-delay 0s --update-parallelism 2 --update-monitor 500ms \
  --rollback-delay 0s --rollback-parallelism 2 --rollback-monitor 500ms \
  lab/busybox:1 sh -c 'echo "web task started"; exec sleep 100000' >/dev/null
if [ -n "${LAB_DOCKER_SSH_PORT:-}" ]; then
  [ -x /usr/sbin/sshd ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    openssh-server >>/tmp/labconsole-docker-apt.log 2>&1 || die "apt-get install openssh-server failed"
  mkdir -p "$B/ssh" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$B/ssh/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -f "$B/ssh/client_ed25519"
  cp "$B/ssh/client_ed25519.pub" "$B/ssh/authorized_keys"; chmod 600 "$B/ssh/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$LAB_DOCKER_SSH_PORT" "$(cut -d' ' -f1,2 "$B/ssh/host_ed25519.pub")" >"$B/ssh/known_hosts"
  cat >"$B/ssh/sshd_config" <<EOS
Port $LAB_DOCKER_SSH_PORT
ListenAddress 127.0.0.1
HostKey $B/ssh/host_ed25519
PidFile $B/sshd.pid
AuthorizedKeysFile $B/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowStreamLocalForwarding yes
EOS
  setsid /usr/sbin/sshd -D -e -f "$B/ssh/sshd_config" >"$B/sshd.log" 2>&1 </dev/null &
  echo $! >"$B/sshd.launch.pid"
fi

for _ in $(seq 1 300); do
  [ "$($D service ls --filter name=web --format '{{.Replicas}}')" = "2/2" ] && { echo "$SOCK"; exit 0; }
  sleep 0.1
done
die "service web did not reach 2/2 within 30 s: $($D service ps web --no-trunc 2>&1 | tail -n 3 | tr '\n' ' ')"
