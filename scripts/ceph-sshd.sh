#!/bin/bash
# An sshd on 127.0.0.1:$CEPH_SSH_PORT (default 22310) whose sessions run the
# ceph CLI against the cluster of scripts/ceph-up.sh (SetEnv CEPH_CONF=…).
# Own host key, own client key, and a known_hosts for the client, all under
# $CEPH_LAB_DIR/ssh; its PID goes to $CEPH_LAB_DIR/pids.sshd so ceph-down.sh
# stops it. Prints the files to use as KEY=VALUE lines on stdout.
set -euo pipefail
D=${CEPH_LAB_DIR:-/tmp/labconsole-ceph}
PORT=${CEPH_SSH_PORT:-22310}
S=$D/ssh
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q openssh-server >&2
  else
    echo "[ceph-sshd] sshd missing and not root" >&2; exit 3
  fi
fi
[ -f "$D/ceph.conf" ] || { echo "[ceph-sshd] $D/ceph.conf missing: run ceph-up.sh first" >&2; exit 4; }
mkdir -p "$S" /run/sshd 2>/dev/null || mkdir -p "$S"
chmod 700 "$S"
rm -f "$S"/host_key* "$S"/client_key*
ssh-keygen -q -t ed25519 -N '' -C labconsole-ceph-host -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -C labconsole-ceph-client -f "$S/client_key"
cp "$S/client_key.pub" "$S/authorized_keys"
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$S/host_key.pub")" > "$S/known_hosts"
USER_NAME=$(id -un)
cat > "$S/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $S/host_key
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers $USER_NAME
UsePAM no
SetEnv CEPH_CONF=$D/ceph.conf
LogLevel INFO
CONF
"$SSHD" -t -f "$S/sshd_config"
"$SSHD" -D -e -f "$S/sshd_config" >"$D/log/sshd.log" 2>&1 &
echo $! > "$D/pids.sshd"
for i in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || { echo "[ceph-sshd] sshd did not listen on $PORT; log:" >&2; cat "$D/log/sshd.log" >&2; exit 1; }
echo "[ceph-sshd] sshd pid $(cat "$D/pids.sshd") on 127.0.0.1:$PORT" >&2
echo "SSH_PORT=$PORT"
echo "SSH_USER=$USER_NAME"
echo "SSH_KEY=$S/client_key"
echo "SSH_KNOWN_HOSTS=$S/known_hosts"
