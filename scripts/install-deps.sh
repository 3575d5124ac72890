#!/bin/sh
# Install what labconsole needs into ./.venv (and, with --test and as root,
# the Debian packages the real-daemon tests use). Fast when nothing changed.
#   scripts/install-deps.sh          runtime only (for the demo)
#   scripts/install-deps.sh --test   runtime + test extras + apt packages
set -eu
cd "$(dirname "$0")/.."

with_tests=false
[ "${1:-}" = "--test" ] && with_tests=true

base_pkgs="python3-venv"
test_pkgs="docker.io docker-registry busybox-static keepalived openssh-server iproute2 socat ceph-mon ceph-mgr ceph-osd ceph-common tmux uuid-runtime bc"
pkgs=$base_pkgs
$with_tests && pkgs="$pkgs $test_pkgs"

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for p in $pkgs; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing="$missing $p"
    done
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian packages:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        # shellcheck disable=SC2086
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
    else
        echo "note: not root, not installing Debian packages:$missing" >&2
        echo "      (run this as root, or: sudo apt-get install$missing)" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || {
        echo "cannot create .venv: install python3-venv (as root: apt-get install python3-venv)" >&2
        rm -rf .venv
        exit 1
    }
fi

# Re-install only when pyproject.toml changed since the last successful install.
extra=""
$with_tests && extra="[test]"
stamp=.venv/.labconsole-installed
want="$(cksum < pyproject.toml) $extra"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install -q -e ".$extra"
    echo "$want" > "$stamp"
fi

# Byte-compile our own modules now: with PYTHONDONTWRITEBYTECODE set (as on
# these machines) they would otherwise be compiled on every launch, which
# costs ~0.15 s of the console's first frame.
.venv/bin/python -m compileall -q console screens widgets >/dev/null
