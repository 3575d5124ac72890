#!/bin/bash
# Stop the registry started by registry-up.sh (by its recorded PID) and remove its state.
# Safe to run twice, or after a failed registry-up.sh.
B=${LAB_REGISTRY_DIR:-/tmp/labconsole-registry}
[ -d "$B" ] || exit 0
if [ -s "$B/registry.pid" ]; then
  p=$(cat "$B/registry.pid")
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
fi
rm -rf "$B"
exit 0
