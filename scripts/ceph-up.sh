#!/bin/bash
# Start a Ceph Pacific mini cluster on 127.0.0.1 for the real-daemon tests:
# 1 mon + 1 mgr + 3 OSDs (memstore), each OSD under its own CRUSH host
# (node1..node3), pool "rbd" size 3 / min_size 2; wait until HEALTH_OK with
# all PGs active+clean. Based on ../shared/real-daemons/ceph/bringup.sh.
#
#   CEPH_LAB_DIR   where all state goes (default /tmp/labconsole-ceph); it is
#                  wiped first. Each daemon's PID is in $CEPH_LAB_DIR/pids.<name>.
#   CEPH_LAB_TIMEOUT  seconds to wait for active+clean (default 180)
# Stop with scripts/ceph-down.sh (same CEPH_LAB_DIR). Ceph's ports are fixed
# (3300, 6789, 6800-7300), so only one such cluster can run on a machine.
set -euo pipefail
D=${CEPH_LAB_DIR:-/tmp/labconsole-ceph}
TIMEOUT=${CEPH_LAB_TIMEOUT:-180}
C=$D/ceph.conf
log() { echo "[ceph-up $(date +%T)] $*" >&2; }

need=()
for b in ceph-mon ceph-mgr ceph-osd ceph monmaptool ceph-authtool; do command -v $b >/dev/null || need+=($b); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing ceph packages (missing: ${need[*]})"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
      ceph-mon ceph-mgr ceph-osd ceph-common >&2
  else
    log "missing ${need[*]} and not root: cannot install ceph-mon ceph-mgr ceph-osd ceph-common"; exit 3
  fi
fi

if [ -d "$D" ] && ls "$D"/pids.* >/dev/null 2>&1; then
  for f in "$D"/pids.*; do
    if kill -0 "$(cat "$f")" 2>/dev/null; then log "a daemon from a previous run is alive ($f); run ceph-down.sh first"; exit 4; fi
  done
fi
if (exec 3<>/dev/tcp/127.0.0.1/3300) 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/6789) 2>/dev/null; then
  log "port 3300 or 6789 on 127.0.0.1 is in use: another Ceph cluster runs here"; exit 5
fi

rm -rf "$D"; mkdir -p "$D"/{run,log,mon,mgr,osd,crash}
FSID=$(uuidgen)
cat > "$C" <<CONF
[global]
fsid = $FSID
mon initial members = a
mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
mon cluster log file = $D/log/cluster.log
crash dir = $D/crash
osd pool default size = 3
osd pool default min size = 2
osd pool default pg autoscale mode = off
auth allow insecure global id reclaim = false
mon warn on pool no redundancy = false
mon allow pool delete = true
mon osd down out interval = 600
mon data avail warn = 2
mon data avail crit = 1
mgr initial modules = iostat
osd heartbeat grace = 6
osd heartbeat interval = 2
[client]
keyring = $D/keyring
[mon]
keyring = $D/mon/\$cluster-\$id/keyring
mon data = $D/mon/\$cluster-\$id
mon memory target = 268435456
mon osd min down reporters = 1
[mgr]
keyring = $D/mgr/\$cluster-\$id/keyring
mgr data = $D/mgr/\$cluster-\$id
[osd]
keyring = $D/osd/\$cluster-\$id/keyring
osd data = $D/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd memory target = 536870912
osd memory base = 134217728
osd memory cache min = 67108864
osd op num shards = 2
osd op num threads per shard = 1
osd recovery sleep hdd = 0
osd recovery sleep hybrid = 0
[osd.0]
crush location = root=default host=node1
[osd.1]
crush location = root=default host=node2
[osd.2]
crush location = root=default host=node3
CONF

ceph-authtool --create-keyring "$D/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$D/keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
ceph-authtool "$D/mon.keyring" --import-keyring "$D/keyring" >/dev/null
monmaptool --create --fsid "$FSID" --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$D/monmap" >/dev/null
ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/mon.keyring"
ceph-mon -c "$C" -i a -f >"$D/log/mon.a.stdout" 2>&1 &
echo $! > "$D/pids.mon.a"
log "mon.a pid $(cat "$D/pids.mon.a")"
for i in $(seq 1 60); do ceph -c "$C" --connect-timeout 2 mon stat >/dev/null 2>&1 && break; sleep 0.5; done
ceph -c "$C" --connect-timeout 5 mon stat >/dev/null

mkdir -p "$D/mgr/ceph-x"
ceph -c "$C" auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$D/mgr/ceph-x/keyring"
ceph-mgr -c "$C" -i x -f >"$D/log/mgr.x.stdout" 2>&1 &
echo $! > "$D/pids.mgr.x"
log "mgr.x pid $(cat "$D/pids.mgr.x")"

for i in 0 1 2; do
  UUID=$(uuidgen)
  KEY=$(ceph-authtool --gen-print-key)
  ID=$(echo "{\"cephx_secret\": \"$KEY\"}" | ceph -c "$C" osd new "$UUID" -i -)
  mkdir -p "$D/osd/ceph-$ID"
  ceph-authtool --create-keyring "$D/osd/ceph-$ID/keyring" --name "osd.$ID" --add-key "$KEY" >/dev/null
  ceph-osd -c "$C" -i "$ID" --mkfs --osd-uuid "$UUID" >"$D/log/osd.$ID.mkfs" 2>&1
  ceph-osd -c "$C" -i "$ID" -f >"$D/log/osd.$ID.stdout" 2>&1 &
  echo $! > "$D/pids.osd.$ID"
  log "osd.$ID pid $(cat "$D/pids.osd.$ID")"
done

ceph -c "$C" osd pool create rbd 32 32 replicated >/dev/null 2>&1
ceph -c "$C" osd pool set rbd size 3 >/dev/null 2>&1
ceph -c "$C" osd pool set rbd min_size 2 >/dev/null 2>&1
ceph -c "$C" osd pool application enable rbd rbd >/dev/null

# HEALTH_OK shows before the mgr is up and with 0 PGs: wait for all of it.
python3 - "$C" 3 "$TIMEOUT" <<'PY'
import json, subprocess, sys, time
conf, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end, last = time.time() + timeout, None
while time.time() < end:
    try:
        out = subprocess.run(["ceph", "-c", conf, "--connect-timeout", "5", "status", "-f", "json"],
                             capture_output=True, text=True, timeout=15).stdout
        s = json.loads(out)
        pg, om = s["pgmap"], s["osdmap"].get("osdmap", s["osdmap"])
        clean = sum(x["count"] for x in pg.get("pgs_by_state", []) if x["state_name"] == "active+clean")
        last = (s["health"]["status"], pg.get("pgs_by_state"))
        if (s["health"]["status"] == "HEALTH_OK" and s["mgrmap"]["available"] and om["num_up_osds"] == n
                and om["num_in_osds"] == n and pg["num_pgs"] > 0 and clean == pg["num_pgs"]):
            sys.exit(0)
    except Exception as e:  # mon not answering yet, partial JSON, ...
        last = repr(e)
    time.sleep(0.5)
print(f"timeout after {timeout:g} s waiting for HEALTH_OK/active+clean; last: {last}", file=sys.stderr)
sys.exit(1)
PY
log "HEALTH_OK, 3 OSDs up/in, all PGs active+clean (conf: $C)"
