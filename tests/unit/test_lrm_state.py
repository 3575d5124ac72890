"""The LRM status text of /cluster/ha/status/current as PVE writes it -> a short state."""

import pytest

from console.sources.proxmox_parse import lrm_state


@pytest.mark.parametrize("text, state", [
    ("pve1 (active, Wed Nov 25 09:10:11 2026)", "active"),
    ("pve2 (idle, Wed Nov 25 09:10:11 2026)", "idle"),
    ("pve3 (maintenance mode, Wed Nov 25 09:10:11 2026)", "maintenance"),
    ("pve3 (old timestamp - dead?, Wed Nov 25 09:10:11 2026)", "dead"),
    ("wait_for_agent_lock", "wait_for_agent_lock"),
    (None, None),
])
def test_lrm_state(text, state):
    assert lrm_state(text) == state
