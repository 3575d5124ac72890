#!/bin/bash
# Stop everything scripts/ceph-up.sh and ceph-sshd.sh started, by recorded PID
# only (TERM, then KILL after ~10 s). CEPH_LAB_DIR as for ceph-up.sh.
# CEPH_LAB_KEEP=1 keeps the state directory (for looking at logs).
D=${CEPH_LAB_DIR:-/tmp/labconsole-ceph}
[ -d "$D" ] || exit 0
for f in "$D"/pids.*; do
  [ -f "$f" ] || continue
  p=$(cat "$f"); kill -TERM "$p" 2>/dev/null && echo "[ceph-down] TERM ${f##*/pids.} $p" >&2
done
for i in $(seq 1 20); do
  alive=0
  for f in "$D"/pids.*; do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 0.5
done
for f in "$D"/pids.*; do
  [ -f "$f" ] || continue
  kill -0 "$(cat "$f")" 2>/dev/null && { kill -KILL "$(cat "$f")"; echo "[ceph-down] KILL ${f##*/pids.}" >&2; }
done
[ "${CEPH_LAB_KEEP:-0}" = 1 ] || rm -rf "$D"
exit 0
