"""The registry of sources and layers (console/layers.py) and the lists that read it."""

from __future__ import annotations

import dataclasses

from console import health, layers, poller, verdict
from console.config_model import ClusterConfig
from console.sources.base import Source


def test_sources_and_layers_are_distinct_names():
    assert layers.SOURCE_NAMES == ("proxmox", "ceph", "swarm", "traefik", "vrrp")
    assert layers.LAYER_NAMES == ("cluster", "guests", "ceph", "swarm", "traefik", "vrrp")
    assert {layer.source for layer in layers.LAYERS} == set(layers.SOURCE_NAMES)
    assert all(s.layer in layers.LAYER_BY_NAME for s in layers.SOURCES)


def test_each_source_names_a_config_table_a_source_class_and_its_rules():
    fields = {f.name for f in dataclasses.fields(ClusterConfig)}
    for spec in layers.SOURCES:
        assert spec.config_attr in fields
        cls = spec.load_class()
        assert cls.name == spec.name
        assert callable(cls.fetch) and callable(cls.close)
        assert health.RULES[spec.name] is getattr(health, spec.rules)


def test_the_old_lists_read_the_registry():
    assert poller.SOURCES == layers.SOURCE_NAMES == verdict.SOURCES
    assert [name for name, _ in verdict.LAYERS] == list(layers.LAYER_NAMES)
    assert health.LAYER_OF_SOURCE == {"proxmox": "cluster", "ceph": "ceph", "swarm": "swarm",
                                      "traefik": "traefik", "vrrp": "vrrp", "backups": "guests", "repos": "cluster"}
    assert verdict.TITLES["vrrp"] == "VRRP"


def test_each_report_is_read_through_a_source_into_an_existing_layer():
    assert layers.REPORT_NAMES == ("backups", "repos")
    for spec in layers.REPORTS:
        assert spec.needs in layers.SOURCE_NAMES and spec.layer in layers.LAYER_BY_NAME
        assert spec.name in health.RULES and spec.name not in layers.SOURCE_NAMES
        assert callable(spec.load_fetch()) and 60 <= spec.interval <= 300


def test_views():
    assert layers.VIEWS == ("health", "guests", "ceph", "swarm", "traefik", "vrrp", "maintenance", "events")
    assert layers.view_of("proxmox") == layers.view_of("cluster") == "health"
    assert layers.view_of("ceph") == "ceph" and layers.view_of("backups") == "health"


def test_every_source_class_is_a_source():
    from console.config_model import CephConfig, TraefikConfig
    from console.sources.ceph import CephSource
    from console.sources.traefik import TraefikSource

    assert isinstance(CephSource(CephConfig()), Source)
    assert isinstance(TraefikSource(TraefikConfig(url="https://traefik.example")), Source)
