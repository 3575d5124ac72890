#!/bin/sh
# Install everything the test suite needs, lint and type-check, then run it: scripts/test.sh [pytest args]
# Exits non-zero when ruff or mypy find a problem, when a test fails AND when no test ran at all.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test
echo "test.sh: ruff check"
.venv/bin/ruff check --no-cache .
echo "test.sh: mypy"
.venv/bin/mypy
set +e
# Two workers (pytest-xdist): most of the suite waits on simulated labs and real daemons rather
# than on the CPU. Real-daemon tests share one worker (tests/conftest.py). LABCONSOLE_TEST_WORKERS=0
# runs everything in this process.
workers=${LABCONSOLE_TEST_WORKERS:-2}
if [ "$workers" = "0" ]; then
    .venv/bin/python -m pytest "$@"
else
    .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
fi
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "test.sh: no tests ran; that counts as a failure" >&2
    exit 1
fi
exit "$rc"
