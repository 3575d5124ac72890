"""vrrp.track_file: a config key (default /etc/keepalived/track) that the VRRP source writes to."""

from __future__ import annotations

import asyncio
from pathlib import Path

from console.config import parse_config
from console.sources.vrrp import VrrpSource

BASE = """
[clusters.home.vrrp]
{extra}
[[clusters.home.vrrp.firewalls]]
name = "fw1"
"""


class RecordingSsh:
    """Records the commands the source sends (the real SSH path is covered in tests/sim)."""

    def __init__(self):
        self.commands: list[tuple[str, str]] = []

    async def run(self, alias, command, timeout=None, check=False, privileged=False):
        self.commands.append((alias, command))


def _vrrp(extra: str):
    return parse_config(BASE.format(extra=extra), Path("/tmp/x.toml")).cluster().vrrp


def test_track_file_defaults_to_the_keepalived_path():
    assert _vrrp("").track_file == "/etc/keepalived/track"


def test_set_track_writes_the_configured_track_file():
    cfg = _vrrp('track_file = "/run/keepalived/lab track"')
    ssh = RecordingSsh()
    asyncio.run(VrrpSource(cfg, ssh).set_track("fw1", 1))
    assert ssh.commands == [("fw1", "echo 1 > '/run/keepalived/lab track'")]


def test_track_file_must_not_be_empty():
    from console.config import ConfigError

    try:
        _vrrp('track_file = ""')
    except ConfigError as exc:
        assert "clusters.home.vrrp.track_file: must not be empty" in str(exc)
    else:
        raise AssertionError("an empty track_file was accepted")


def test_track_file_must_be_absolute():
    from console.config import ConfigError

    try:
        _vrrp('track_file = "track"')
    except ConfigError as exc:
        assert "'track' must be an absolute path on the firewalls" in str(exc)
    else:
        raise AssertionError("a relative track_file was accepted")
