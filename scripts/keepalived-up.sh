#!/bin/bash
# Two "firewalls" for the real-daemon tests: network namespaces fw1 and fw2
# joined by a veth pair (10.99.0.1 / 10.99.0.2), a real keepalived in each
# (VRRPv3, advert_int 0.2 s for fast failover, priorities 150 / 100, VIP
# 10.99.0.100/24) and an sshd in each, exposed in the root namespace on
# 127.0.0.1:22001 (fw1) and 127.0.0.1:22002 (fw2) through socat (other ports:
# LAB_KA_PORT1 / LAB_KA_PORT2).
#
# State under $LAB_KA_DIR (default /tmp/labconsole-keepalived):
#   ssh/known_hosts           host key of both sshds, for [127.0.0.1]:22001/22002
#   ssh/client_ed25519        the client key (authorized for root)
#   bin/ka-state              prints keepalived's JSON dump (exit 2: keepalived gone)
#   fwN/ka.pid fwN/vrrp.pid   keepalived parent / VRRP child PIDs
#   fwN/sshd.pid fwN/socat.pid
#   fwN/keepalived.json       where keepalived writes its JSON dump (TMPDIR)
# Installs keepalived, openssh-server, iproute2, socat with apt-get when
# missing (root only). Exit 0 when fw1 is MASTER, fw2 BACKUP and both sshds run.
set -euo pipefail
B=${LAB_KA_DIR:-/tmp/labconsole-keepalived}
P1=${LAB_KA_PORT1:-22001}
P2=${LAB_KA_PORT2:-22002}
die() { echo "keepalived-up: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
if ! command -v keepalived >/dev/null || [ ! -x /usr/sbin/sshd ] || ! command -v socat >/dev/null \
   || ! command -v ip >/dev/null || ! command -v flock >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    keepalived openssh-server iproute2 socat util-linux >/tmp/labconsole-keepalived-apt.log 2>&1 \
    || die "apt-get install keepalived openssh-server iproute2 socat failed (see /tmp/labconsole-keepalived-apt.log)"
fi
# Read whole outputs before matching: under pipefail, `cmd | grep -q` fails
# when grep exits at its first match and cmd, still writing, gets SIGPIPE.
ka_version=$(keepalived -v 2>&1 || true)
grep -qi json <<<"$ka_version" || die "this keepalived was built without JSON support (keepalived -v)"
netns=$(ip netns list)
for n in 1 2; do
  grep -qw "fw$n" <<<"$netns" && die "network namespace fw$n exists already (another run? stop it, or: ip netns del fw$n)"
done

mkdir -p "$B"/bin "$B"/ssh /run/sshd
cd "$B"
[ -f ssh/host_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -f ssh/host_ed25519
[ -f ssh/client_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -f ssh/client_ed25519
cp ssh/client_ed25519.pub ssh/authorized_keys; chmod 600 ssh/authorized_keys
HK=$(cut -d' ' -f1,2 ssh/host_ed25519.pub)
printf '[127.0.0.1]:%s,[127.0.0.1]:%s %s\n' "$P1" "$P2" "$HK" >ssh/known_hosts

cat >bin/notify.sh <<'EON'
#!/bin/sh
printf '%s\n' "$3" > "$KA_DIR/state.tmp" && mv "$KA_DIR/state.tmp" "$KA_DIR/state"
EON
# ka-state: signal keepalived to dump JSON, wait until the file is complete, print it.
cat >bin/ka-state <<'EON'
#!/bin/sh
d=${KA_DIR:-/tmp}; pidf=${KA_PIDFILE:-$d/ka.pid}; f=$d/keepalived.json
exec 9>"$d/ka-state.lock"; flock 9; rm -f "$f"
kill -s "$(keepalived --signum=JSON)" "$(cat "$pidf")" 2>/dev/null || { echo "keepalived is not running" >&2; exit 2; }
i=0; until [ -s "$f" ] && [ "$(tail -c 2 "$f" | tr -d '\n ')" = "]" ]; do
  i=$((i+1)); [ $i -gt 500 ] && { echo "timeout: $f" >&2; exit 3; }; sleep 0.01; done
cat "$f"
EON
chmod 755 bin/notify.sh bin/ka-state

touch netns.ours   # keepalived-down.sh deletes fw1/fw2 only when this exists
ip netns add fw1
ip netns add fw2
ip link add veth1 netns fw1 type veth peer name veth2 netns fw2
for n in 1 2; do
  ip -n fw$n link set lo up
  ip -n fw$n addr add 10.99.0.$n/24 dev veth$n
  ip -n fw$n link set veth$n up
  mkdir -p fw$n
  echo 0 >fw$n/track
  cat >fw$n/keepalived.conf <<EOK
global_defs {
  router_id fw$n
  enable_script_security
  script_user root
}
vrrp_instance VI_1 {
  state BACKUP
  interface veth$n
  virtual_router_id 51
  priority $([ $n = 1 ] && echo 150 || echo 100)
  advert_int 0.2
  version 3
  virtual_ipaddress {
    10.99.0.100/24 dev veth$n
  }
  notify "$B/bin/notify.sh"
}
EOK
  ip netns exec fw$n env KA_DIR="$B/fw$n" TMPDIR="$B/fw$n" setsid keepalived -n -l -f "$B/fw$n/keepalived.conf" \
    -p "$B/fw$n/ka.pid" -r "$B/fw$n/vrrp.pid" -c "$B/fw$n/chk.pid" >"$B/fw$n/ka.log" 2>&1 </dev/null &
  echo $! >fw$n/ka.launch.pid
  cat >fw$n/sshd_config <<EOS
Port 2222
ListenAddress 127.0.0.1
HostKey $B/ssh/host_ed25519
PidFile $B/fw$n/sshd.pid
AuthorizedKeysFile $B/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv KA_DIR=$B/fw$n PATH=$B/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOS
  ip netns exec fw$n setsid /usr/sbin/sshd -D -e -f "$B/fw$n/sshd_config" >"$B/fw$n/sshd.log" 2>&1 </dev/null &
  echo $! >fw$n/sshd.launch.pid
  # expose fwN's sshd on 127.0.0.1:$PN in the root namespace
  port=$([ $n = 1 ] && echo "$P1" || echo "$P2")
  setsid socat TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork \
    "EXEC:ip netns exec fw$n socat STDIO TCP\:127.0.0.1\:2222" >"$B/fw$n/socat.log" 2>&1 </dev/null &
  echo $! >fw$n/socat.pid
done

# ready: fw1 MASTER (higher priority), fw2 BACKUP, both sshd listening
for _ in $(seq 1 150); do
  for n in 1 2; do
    kill -0 "$(cat fw$n/socat.pid)" 2>/dev/null || die "socat for fw$n exited: $(tail -n 2 fw$n/socat.log | tr '\n' ' ')"
  done
  if [ "$(cat fw1/state 2>/dev/null)" = MASTER ] && [ "$(cat fw2/state 2>/dev/null)" = BACKUP ] \
     && [ -s fw1/sshd.pid ] && [ -s fw2/sshd.pid ]; then
    echo "$B"; exit 0
  fi
  sleep 0.1
done
die "not ready within 15 s: fw1=$(cat fw1/state 2>/dev/null) fw2=$(cat fw2/state 2>/dev/null); $(tail -n 2 fw1/ka.log fw1/sshd.log 2>/dev/null | tr '\n' ' ')"
