"""Keepalived dumps -> VrrpInstance; `ip -j addr` -> addresses.

Two dump formats are understood:
- the JSON dump (`kill -s $(keepalived --signum=JSON)` -> /tmp/keepalived.json):
  an array of {"data": {...}, "stats": {...}} (keepalived's vrrp_json.c);
- the text dump (SIGUSR1 -> keepalived.data, SIGUSR2 -> keepalived.stats),
  as written by keepalived 1.3 .. 2.2.

Sync groups: the text dump names each member's group ("Sync group = VG_1" in
the instance, and a "VRRP Sync groups" section); keepalived's JSON dump
(vrrp_json.c, up to 2.3) has no sync group field, so with it the membership
comes from the config (vrrp.sync_groups, applied by the source).

Both carry the VRRP password in clear (`auth_data`, "Password = ..."): it is
never read into the model, so it cannot reach a screen, a log or JSON output.
A dump that lists no instance, or has the wrong shape, raises ShapeError: it
says nothing about who holds the VIP, so it must not read as healthy.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from console.errors import json_problem
from console.inert import inert, inert_block, inert_tree
from console.model import VRRP_STATES, VrrpInstance
from console.sources import shape as sh
from console.sources.shape import ShapeError

STATE_NAMES = {name: name for name in VRRP_STATES.values()}


def parse_dump(text: str, where: str = "keepalived", stats_text: str | None = None) -> tuple[VrrpInstance, ...]:
    """Either format, detected from the first character."""
    stripped = text.lstrip()
    if not stripped:
        raise ShapeError(where, "keepalived dump is empty", "is keepalived running and built with JSON support?")
    if stripped[0] in "[{":
        return parse_json_dump(stripped, where)
    if "VRRP Instance" in stripped:
        return _some(parse_text_dump(inert_block(stripped), stats_text), where)
    raise ShapeError(where, f"not a keepalived dump (starts with {_preview(stripped)!r})")


def _some(instances: tuple[VrrpInstance, ...], where: str) -> tuple[VrrpInstance, ...]:
    if not instances:
        raise ShapeError(where, "keepalived dump lists no VRRP instance",
                         "is a vrrp_instance configured, and is this the right keepalived?")
    return instances


def parse_json_dump(text: str, where: str = "keepalived") -> tuple[VrrpInstance, ...]:
    try:
        raw = inert_tree(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ShapeError(where, f"malformed keepalived JSON dump: {json_problem(exc)}",
                         "the dump may be incomplete; try again") from None
    if isinstance(raw, dict) and isinstance(raw.get("vrrp"), list):  # json_version 2: {"vrrp": [...], ...}
        raw = raw["vrrp"]
    if isinstance(raw, dict):  # a single instance, not wrapped in an array
        raw = [raw]
    if not isinstance(raw, list):
        raise ShapeError(where, f"keepalived JSON dump is {sh.kind(raw)}, expected a list of instances")
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ShapeError(where, f"keepalived JSON dump entry {i} is not an object")
        data = entry.get("data", entry)
        stats = entry.get("stats") or {}
        if not isinstance(data, dict) or not isinstance(stats, dict):
            raise ShapeError(where, f"keepalived JSON dump entry {i}: data/stats are not objects")
        with sh.at(f"{where} entry {i}"):
            out.append(_instance_from_json(data, stats, where, i))
    return _some(tuple(out), where)


def _instance_from_json(data: dict[str, Any], stats: dict[str, Any], where: str, i: int) -> VrrpInstance:
    name = data.get("iname")
    if not isinstance(name, str) or not name:
        raise ShapeError(where, f"keepalived JSON dump entry {i} has no instance name (iname)")
    H = sh.HERE
    base = sh.integer(data.get("base_priority"), H, "base_priority", 0, lo=0, hi=255)
    last = data.get("last_transition")
    return VrrpInstance(
        name=name,
        vrid=sh.integer(data.get("vrid"), H, "vrid", 0, lo=0, hi=255),
        state=_state(data.get("state")),
        base_priority=base,
        effective_priority=sh.integer(data.get("effective_priority"), H, "effective_priority", base, lo=0, hi=255),
        vips=tuple(_vip_address(v) for v in sh.opt_list(data.get("vips"), H, "`vips`") if isinstance(v, str)),
        last_transition=sh.num(last, H, "last_transition", lo=0) if last is not None else None,
        master_transitions=sh.integer(stats.get("become_master"), H, "become_master", 0, lo=0),
        nopreempt=sh.flag(data.get("nopreempt"), H, "nopreempt"),
    )


def _state(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return VRRP_STATES.get(value, f"UNKNOWN({value})")
    if isinstance(value, str):
        return STATE_NAMES.get(value.upper(), value.upper())
    return "UNKNOWN"


def _vip_address(text: str) -> str:
    """'10.0.0.1/24 dev eth0 scope global set' -> '10.0.0.1/24'."""
    return text.split()[0] if text.split() else text


# ------------------------------------------------------------------ text dump

_INSTANCE = re.compile(r"^\s*VRRP Instance\s*=\s*(\S+)")
_KV = re.compile(r"^\s*([A-Za-z_][A-Za-z _]*?)\s*=\s*(.*)$")
_VIP_HEADER = re.compile(r"^\s*Virtual IP\b(?!\s+Excluded)")
_ADDRESS_LINE = re.compile(r"^\s+[0-9a-fA-F:.]+[:.][0-9a-fA-F:./]*(\s|$)")
_SECTION = re.compile(r"^-+<\s*(.+?)\s*>-+$")


def parse_text_dump(text: str, stats_text: str | None = None) -> tuple[VrrpInstance, ...]:
    """keepalived.data (SIGUSR1), optionally with keepalived.stats (SIGUSR2)."""
    transitions = parse_text_stats(stats_text) if stats_text else {}
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    in_vips = False
    section = None
    for line in text.splitlines():
        m = _SECTION.match(line.strip())
        if m:
            section, current, in_vips = m.group(1), None, False
            continue
        if section not in (None, "VRRP Topology"):
            continue
        m = _INSTANCE.match(line)
        if m:
            current = {"name": m.group(1), "vips": []}
            blocks.append(current)
            in_vips = False
            continue
        if current is None:
            continue
        if _VIP_HEADER.match(line):
            in_vips = True
            continue
        if in_vips:
            if _ADDRESS_LINE.match(line):
                current["vips"].append(_vip_address(line.strip()))
                continue
            in_vips = False
        m = _KV.match(line)
        if m:
            key = m.group(1).strip().lower()
            if key == "password":  # the VRRP password: never kept
                continue
            current.setdefault(key, m.group(2).strip())
    return tuple(_instance_from_text(b, transitions) for b in blocks)


def _instance_from_text(b: dict[str, Any], transitions: dict[str, int]) -> VrrpInstance:
    base = _int(b.get("priority"), 0)
    eff = _int(b.get("effective priority"), base)
    last = b.get("last transition")
    return VrrpInstance(
        name=b["name"],
        vrid=_int(b.get("virtual router id"), 0),
        state=_state(b.get("state", "UNKNOWN")),
        base_priority=base,
        effective_priority=eff,
        vips=tuple(b["vips"]),
        last_transition=_float(last.split()[0]) if isinstance(last, str) and last else None,
        master_transitions=transitions.get(b["name"], 0),
        nopreempt=b.get("preempt", "enabled").lower() == "disabled",
        sync_group=b.get("sync group") or None,
    )


def parse_text_stats(text: str) -> dict[str, int]:
    """keepalived.stats -> {instance name: times it became master}."""
    out: dict[str, int] = {}
    name = None
    for line in text.splitlines():
        m = re.match(r"^VRRP Instance:\s*(\S+)", line)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"^\s*Became master:\s*(\d+)", line)
        if m and name:
            out[name] = int(m.group(1))
    return out


# ------------------------------------------------------------------ ip -j addr


def parse_ip_addr(text: str, where: str = "ip") -> tuple[str, ...]:
    """`ip -j addr` -> ("10.0.0.1/24", ...) for every address except loopback."""
    try:
        raw = inert_tree(json.loads(text or "[]"))
    except json.JSONDecodeError as exc:
        raise ShapeError(where, f"malformed `ip -j addr` output: {json_problem(exc)}") from None
    out = []
    for link in raw if isinstance(raw, list) else ():
        if not isinstance(link, dict) or link.get("ifname") == "lo":
            continue
        for a in link.get("addr_info") or ():
            if isinstance(a, dict) and a.get("local"):
                prefix = a.get("prefixlen")
                out.append(f"{a['local']}/{prefix}" if prefix is not None else str(a["local"]))
    return tuple(out)


def _int(value: Any, default: int) -> int:
    """A number from the text dump (a malformed one keeps the default: the text is free-form)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _preview(text: str) -> str:
    return inert(text[:20])
