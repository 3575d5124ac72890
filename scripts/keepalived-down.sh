#!/bin/bash
# Stop what keepalived-up.sh started, by the PIDs it recorded (and their
# direct children: socat/sshd per-connection processes), then delete the
# namespaces fw1/fw2 and the state dir. Safe to run twice or after a failed up.
B=${LAB_KA_DIR:-/tmp/labconsole-keepalived}
[ -d "$B" ] || exit 0

# a zombie (exited, not reaped by its parent) counts as gone
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

pids=""
for n in 1 2; do
  for f in socat sshd sshd.launch ka ka.launch vrrp chk; do
    [ -s "$B/fw$n/$f.pid" ] || continue
    p=$(cat "$B/fw$n/$f.pid")
    alive "$p" || continue
    pids="$pids $p $(pgrep -P "$p" 2>/dev/null | tr '\n' ' ')"
  done
done
# keepalived on SIGTERM sends a priority-0 advert and removes the VIP
for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
for _ in $(seq 1 50); do
  left=""; for p in $pids; do alive "$p" && left="$left $p"; done
  [ -z "$left" ] && break
  sleep 0.1
done
for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
if [ -e "$B/netns.ours" ]; then  # never delete namespaces another run created
  ip netns del fw1 2>/dev/null
  ip netns del fw2 2>/dev/null
fi
rm -rf "$B"
exit 0
