"""traefik_parse with malformed API answers: one readable ShapeError naming the endpoint."""

import math

import pytest

from console.sources import traefik_parse as tp
from console.sources.shape import ShapeError


def _error(fn, *args) -> str:
    with pytest.raises(ShapeError) as err:
        fn(*args)
    text = str(err.value)
    assert "Error" not in text.split(":", 1)[1], text
    return text


@pytest.mark.parametrize("items,message", [
    (None, "expected a list of objects in the answer, got null"),
    ({"r": {}}, "expected a list of objects in the answer, got an object"),
    ([{"rule": "Host(`a`)"}], "item 0 has no `name` string"),
    ([{"name": "r", "priority": math.inf}], "`priority` must be a finite number, got Infinity"),
    ([{"name": "r", "priorityStr": "high"}], "`priorityStr` must be a number, got the string 'high'"),
    ([{"name": "r", "entryPoints": "web"}], "expected a list in `entryPoints`, got a string"),
    ([{"name": "r", "rule": ["x"]}], "`rule` must be a string, got a list"),
])
def test_router_shapes(items, message):
    assert _error(tp.parse_routers, items, "http") == f"traefik /api/http/routers: {message}"


def test_service_middleware_entrypoint_shapes():
    assert _error(tp.parse_services, [{"name": "s", "serverStatus": ["UP"]}], "tcp") == \
        "traefik /api/tcp/services: expected an object in `serverStatus`, got a list"
    assert _error(tp.parse_services, [{"name": "s", "loadBalancer": {"servers": [1]}}], "http") == \
        "traefik /api/http/services: expected a list of objects in `loadBalancer.servers`, got a number at item 0"
    assert _error(tp.parse_middlewares, 7, "http") == \
        "traefik /api/http/middlewares: expected a list of objects in the answer, got a number"
    assert _error(tp.parse_entrypoints, [{"name": "web", "address": {"port": 80}}]) == \
        "traefik /api/entrypoints: `address` must be a string, got an object"


def test_good_and_unknown_fields():
    (r,) = tp.parse_routers([{"name": "r@docker", "rule": "Host(`a`)", "priority": "12", "novel": [math.nan]}], "http")
    assert r.priority == 12 and r.status == "enabled" and r.rule == "Host(`a`)"
