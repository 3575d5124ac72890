"""`bench`: one seed sim plus the hostile proxies and fake SSH hosts in front of it, per module,
with the all-pass baseline (every layer ok; its summaries) already read through them."""

from __future__ import annotations

import pytest

from tests.faults.bench import FaultBench
from tests.simlab import SimLab


@pytest.fixture(scope="module")
def bench():
    with SimLab("seed", speed=10.0) as lab, FaultBench(lab) as b:
        base = b.run(None, None)
        broken = {k: v["error"] for k, v in base.doc["layers"].items() if not v["ok"]}
        assert not broken and base.code == 0, f"the bench's all-pass route is not healthy (exit {base.code}): {broken}"
        b.baseline = {k: v["summary"] for k, v in base.doc["layers"].items()}
        yield b
