"""swarm_parse with malformed Engine API answers: one readable ShapeError naming the
endpoint, never "nodes 0/0 ready" from an answer that was not a list."""

import math

import pytest

from console.sources.shape import ShapeError
from console.sources.swarm_parse import parse_state

NODE = {"ID": "n1", "Description": {"Hostname": "swarm1"}, "Spec": {"Role": "manager", "Availability": "active"},
        "Status": {"State": "ready"}, "ManagerStatus": {"Leader": True}, "Version": {"Index": 3}}
SERVICE = {"ID": "s1", "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 1}},
                                "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1@sha256:ab"}}}}
TASK = {"ID": "t1", "ServiceID": "s1", "NodeID": "n1", "Slot": 1, "DesiredState": "running",
        "Status": {"State": "running"}}
CLASS_NAMES = ("TypeError", "ValueError", "KeyError", "OverflowError", "AttributeError")


def _error(nodes=(NODE,), services=(SERVICE,), tasks=(TASK,)) -> str:
    with pytest.raises(ShapeError) as err:
        parse_state(*(list(x) if isinstance(x, tuple) else x for x in (nodes, services, tasks)), "unix:///m1.sock")
    text = str(err.value)
    assert not any(name in text for name in CLASS_NAMES), text
    return text


def test_good_answers_parse():
    s = parse_state([NODE], [SERVICE], [TASK], "m1")
    assert [n.hostname for n in s.nodes] == ["swarm1"] and s.services[0].image == "nginx:1"
    assert s.services[0].replicas_running == 1


@pytest.mark.parametrize("nodes,message", [
    ({"a": 1}, "expected a list of objects in the answer, got an object"),
    (None, "expected a list of objects in the answer, got null"),
    ([NODE, 3], "expected a list of objects in the answer, got a number at item 1"),
    ([{**NODE, "Spec": [1]}], "expected an object in `Spec`, got a list"),
    ([{**NODE, "Version": {"Index": math.inf}}], "`Version.Index` must be a finite number, got Infinity"),
    ([{**NODE, "Description": {"Hostname": {"x": 1}}}], "`Hostname` must be a string, got an object"),
])
def test_nodes_shapes(nodes, message):
    assert _error(nodes=nodes) == f"swarm /nodes on unix:///m1.sock: {message}"


@pytest.mark.parametrize("services,message", [
    ("web", "expected a list of objects in the answer, got a string"),
    ([{**SERVICE, "Spec": {"Mode": {"Replicated": {"Replicas": 1e400}}}}],
     "`Replicas` must be a finite number, got Infinity"),
    ([{**SERVICE, "Spec": {"Mode": {"Replicated": {"Replicas": -2}}}}], "`Replicas` must be at least 0, got -2"),
])
def test_services_shapes(services, message):
    assert _error(services=services) == f"swarm /services on unix:///m1.sock: {message}"


@pytest.mark.parametrize("tasks,message", [
    ({"t1": TASK}, "expected a list of objects in the answer, got an object"),
    ([{**TASK, "Slot": math.nan}], "`Slot` must be a finite number, got NaN"),
    ([{**TASK, "Status": "running"}], "expected an object in `Status`, got a string"),
])
def test_tasks_shapes(tasks, message):
    assert _error(tasks=tasks) == f"swarm /tasks on unix:///m1.sock: {message}"


def test_unknown_fields_ignored_missing_optional_ones_default():
    s = parse_state([{"ID": "n9", "Novel": {"x": [math.inf]}}], [], [], None)
    assert s.nodes[0].hostname == "n9" and s.nodes[0].state == "unknown" and s.nodes[0].role == "worker"
