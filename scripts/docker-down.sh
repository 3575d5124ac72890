#!/bin/bash
# Stop the dockerd started by docker-up.sh (by its recorded PID) and remove its state.
# Safe to run twice, or after a failed docker-up.sh.
B=${LAB_DOCKER_DIR:-/tmp/labconsole-docker}
[ -d "$B" ] || exit 0

# Every PID dockerd and containerd recorded under the state dir: dockerd,
# containerd, each task's init process and its containerd-shim (its parent;
# shims re-parent to init, so they are found through the recorded init PIDs).
pids=""
for f in "$B/dockerd.pid" "$B/dockerd.launch.pid" "$B/exec/containerd/containerd.pid" \
         "$B"/exec/containerd/daemon/io.containerd.runtime.v2.task/moby/*/init.pid; do
  [ -s "$f" ] || continue
  p=$(cat "$f"); pids="$pids $p"
  case "$f" in
    */init.pid) pp=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 0)
                [ "${pp:-0}" -gt 1 ] && pids="$pids $pp" ;;
  esac
done
# a zombie (exited, not reaped by its parent) counts as gone
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
wait_gone() {  # wait_gone TENTHS PID...: until none of PIDs is alive
  local n=$1; shift
  for _ in $(seq 1 "$n"); do
    left=""; for p in "$@"; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  return 1
}
# dockerd first, alone: it stops its tasks and its containerd itself (killing
# containerd at the same time makes dockerd hang on reconnecting to it).
main=""
for f in "$B/dockerd.pid" "$B/dockerd.launch.pid"; do [ -s "$f" ] && main="$main $(cat "$f")"; done
for p in $main; do kill -TERM "$p" 2>/dev/null || true; done
# the optional sshd (and its per-connection children)
for f in "$B/sshd.pid" "$B/sshd.launch.pid"; do
  [ -s "$f" ] || continue
  p=$(cat "$f"); alive "$p" || continue
  pids="$pids $p $(pgrep -P "$p" 2>/dev/null | tr '\n' ' ')"
done
wait_gone 150 $main || true
for p in $pids; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
wait_gone 50 $pids || true
for p in $pids; do alive "$p" && kill -KILL "$p" 2>/dev/null; done

# unmount whatever dockerd left mounted under the state dir, deepest first
grep -o " $B/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
rm -rf "$B"
exit 0
