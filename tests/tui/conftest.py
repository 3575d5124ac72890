from __future__ import annotations

import pytest

from console.app import ConsoleApp
from .fixtures import WALL_NOW, FakeActions, FakeLab, FrozenClock, test_config


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """The console reads maintenance journals and silences from the state dir: one per test."""
    d = tmp_path / "state"
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(d))
    return d


@pytest.fixture
def lab() -> FakeLab:
    return FakeLab()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def make_app(lab, clock):
    """Build a ConsoleApp over the fake lab; polling is driven by the test (hub.poll_all_once)."""

    def make(read_only: bool = False, unconfigured: tuple[str, ...] = (), cluster: str | None = None) -> ConsoleApp:
        hubs = []

        def factory(cluster_cfg):
            hub = lab.hub(clock, unconfigured)
            hubs.append((cluster_cfg.name, hub))
            return hub, FakeActions(read_only or cluster_cfg.read_only, cluster_cfg.name)

        app = ConsoleApp(test_config(), cluster, factory, read_only=read_only, clock=clock,
                         start_polling=False, wall_clock=lambda: WALL_NOW)
        app.test_hubs = hubs
        return app

    return make
