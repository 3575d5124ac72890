"""Shared fixtures: `shared_dir` (../shared, skipped when absent), `seed_sim` (one healthy seed
lab for the session, speed 10), `sim` (a fresh seed lab per test, speed 10, as shipped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.simlab import SimLab

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT / ".." / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED.resolve()} is absent: the design docs and upstream fixtures live next to the repository "
                    "(CI has them)")
    return SHARED.resolve()


@pytest.fixture(scope="session")
def seed_sim():
    """One running seed lab shared by the session, healthy: its two guests without a recent
    backup (111 stale, 113 never) are backed up first, so `check` on it is OK. Do not leave
    faults injected (clear() them)."""
    with SimLab("seed", speed=10.0) as lab:
        lab.back_up_all()
        yield lab


@pytest.fixture
def sim():
    """A fresh seed lab for a test that changes the lab's state."""
    with SimLab("seed", speed=10.0) as lab:
        yield lab


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the mark into the test's work unit
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`--dist loadgroup`), every real-daemon test runs in one worker, one
    after another: their scripts bind fixed resources (dockerd's socket, netns names, Ceph dirs)."""
    for item in items:
        if "tests/realdaemon/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("realdaemon"))


@pytest.fixture(autouse=True)
def _private_state_dirs(tmp_path_factory, monkeypatch):
    """No test reads or writes the real user's state/config dirs, and parallel workers never share
    a journal or lock (tests that need their own set LABCONSOLE_STATE_DIR again afterwards)."""
    root = tmp_path_factory.mktemp("home-dirs")
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(root / "state"))
    monkeypatch.setenv("XDG_STATE_HOME", str(root / "xdg-state"))
