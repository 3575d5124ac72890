"""Image references as Docker normalises them, and the upgrade's update_config per service shape."""

from __future__ import annotations

import pytest

from console.errors import ConsoleError
from console.ops.swarm import ServiceInfo, ServiceSpec
from console.ops.swarm_images import CANNOT, NEWER, UP_TO_DATE, compare
from console.ops.swarm_upgrade import safe_configs
from console.sources.registry import RegistryClient, parse_reference

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.mark.parametrize("text, registry, repo, tag, digest, name", [
    ("nginx", "docker.io", "library/nginx", "latest", None, "nginx:latest"),
    ("nginx:1.27", "docker.io", "library/nginx", "1.27", None, "nginx:1.27"),
    (f"traefik/whoami:v1.10.3@{D1}", "docker.io", "traefik/whoami", "v1.10.3", D1, "traefik/whoami:v1.10.3"),
    (f"nginx@{D1}", "docker.io", "library/nginx", None, D1, "nginx"),
    ("index.docker.io/library/redis:7", "docker.io", "library/redis", "7", None, "redis:7"),
    ("ghcr.io/team/app:2", "ghcr.io", "team/app", "2", None, "ghcr.io/team/app:2"),
    ("127.0.0.1:5055/lab/app:stable", "127.0.0.1:5055", "lab/app", "stable", None, "127.0.0.1:5055/lab/app:stable"),
    ("localhost/app", "localhost", "app", "latest", None, "localhost/app:latest"),
])
def test_parse_reference(text, registry, repo, tag, digest, name):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest, ref.name) == (registry, repo, tag, digest, name)


@pytest.mark.parametrize("text, words", [("", "not an image reference"), ("Nginx:1", "not an image reference"),
                                         ("nginx@sha256:abc", "not a sha256 digest"), ("a/b:-x", "not a valid tag"),
                                         ("a//b", "not an image reference")])
def test_bad_references_say_what_is_wrong(text, words):
    with pytest.raises(ConsoleError, match=words):
        parse_reference(text)


def test_where_the_client_asks():
    client = RegistryClient(mirrors={"docker.io": "http://127.0.0.1:9/"})
    assert client.bases("docker.io") == ["http://127.0.0.1:9"]
    assert client.bases("ghcr.io") == ["https://ghcr.io"]
    assert client.bases("127.0.0.1:5000") == ["https://127.0.0.1:5000", "http://127.0.0.1:5000"]
    assert RegistryClient().bases("docker.io") == ["https://registry-1.docker.io"]


def test_compare_rows():
    assert compare("s", "a:1", D1, D1, None).status == UP_TO_DATE
    row = compare("s", "a:1", D1, D2, None)
    assert row.status == NEWER and row.pending and "sha256:111111111111 -> sha256:222222222222" in row.text
    assert compare("s", "a:1", D1, None, "registry x is not reachable").text == \
        "cannot check: registry x is not reachable"
    unpinned = compare("s", "a:1", None, D2, None)
    assert unpinned.status == CANNOT and "does not pin a digest" in unpinned.reason


def _info(mode: str, replicas: int | None) -> ServiceInfo:
    return ServiceInfo("id", "svc", 1, ServiceSpec("a:1", None, mode, replicas), None)


def test_safe_update_config_orders_by_replicas():
    update, rollback = safe_configs(_info("replicated", 2), monitor=3)
    assert update == {"Parallelism": 1, "Delay": 0, "Monitor": 3_000_000_000, "MaxFailureRatio": 0,
                      "Order": "start-first", "FailureAction": "rollback"}
    assert rollback["FailureAction"] == "pause" and rollback["Order"] == "start-first"
    assert safe_configs(_info("replicated", 1))[0]["Order"] == "stop-first"
    assert safe_configs(_info("global", None))[0]["Order"] == "stop-first"


def test_docker_login_credentials_are_read_and_never_shown(tmp_path, monkeypatch):
    import base64
    import json

    from console.sources.registry import docker_credentials

    def auth(text: str) -> dict:
        return {"auth": base64.b64encode(text.encode()).decode()}

    (tmp_path / "config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": auth("hub:pw1"), "ghcr.io": auth("me:pw:with:colons"),
        "broken.example": {"auth": "%%%"}, "empty.example": {}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert docker_credentials() == {"docker.io": ("hub", "pw1"), "ghcr.io": ("me", "pw:with:colons")}
    (tmp_path / "config.json").write_text("not json")
    assert docker_credentials() == {}
    assert docker_credentials(str(tmp_path / "absent.json")) == {}
