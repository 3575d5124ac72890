"""console.sources.shape: the typed accessors every parser uses, and their messages."""

import math

import pytest

from console.sources import shape as sh
from console.sources.shape import ShapeError

W = "proxmox /cluster/resources"


def _msg(fn, *args, **kwargs) -> str:
    with pytest.raises(ShapeError) as err:
        fn(*args, **kwargs)
    return str(err.value)


@pytest.mark.parametrize("value,got", [
    (None, "null"), ({"a": 1}, "an object"), ("x", "a string"), (3, "a number"), (True, "a boolean"),
])
def test_objects_names_what_it_got(value, got):
    assert _msg(sh.objects, value, W) == f"{W}: expected a list of objects in data, got {got}"


def test_objects_names_the_bad_item_and_obj_the_bad_value():
    assert _msg(sh.objects, [{}, [1]], W) == f"{W}: expected a list of objects in data, got a list at item 1"
    assert _msg(sh.obj, [1, 2], "ceph status", "the answer") == \
        "ceph status: expected an object in the answer, got a list"
    assert sh.objects([], W) == [] and sh.obj({"a": 1}, W) == {"a": 1}


@pytest.mark.parametrize("value,message", [
    (math.inf, "`cpu` must be a finite number, got Infinity"),
    (-math.inf, "`cpu` must be a finite number, got -Infinity"),
    (math.nan, "`cpu` must be a finite number, got NaN"),
    ("Infinity", "`cpu` must be a finite number, got 'Infinity'"),
    ("NaN", "`cpu` must be a finite number, got 'NaN'"),
    ("lots", "`cpu` must be a number, got the string 'lots'"),
    ([1], "`cpu` must be a number, got a list"),
    ({"v": 1}, "`cpu` must be a number, got an object"),
    (10 ** 400, "`cpu` is out of range (100000000000… (401 digits))"),
    (1e300, "`cpu` is out of range (1e+300)"),
])
def test_numbers_must_be_finite_and_in_range(value, message):
    assert _msg(sh.num, value, W, "cpu") == f"{W}: {message}"
    assert "Error" not in message


def test_numbers_accept_numeric_strings_and_default_when_absent():
    assert sh.integer("42", W, "vmid") == 42 and sh.integer(None, W, "vmid", -1) == -1
    assert sh.num("0.5", W, "cpu") == 0.5 and sh.num(2, W, "cpu") == 2.0
    assert sh.integer(True, W, "x") == 1
    assert _msg(sh.integer, 300, W, "vrid", lo=0, hi=255) == f"{W}: `vrid` must be at most 255, got 300"
    assert _msg(sh.integer, -1, W, "size", lo=0) == f"{W}: `size` must be at least 0, got -1"


def test_text_flag_and_need():
    assert sh.text(None, W, "name", "dflt") == "dflt" and sh.text(5, W, "name") == "5"
    assert sh.opt_text("", W, "lock") is None
    assert _msg(sh.text, {"x": 1}, W, "name") == f"{W}: `name` must be a string, got an object"
    assert _msg(sh.text, math.inf, W, "name") == f"{W}: `name` must be a string, got Infinity"
    assert sh.flag("0", W, "online") is False and sh.flag(1, W, "online") is True and sh.flag(None, W, "x") is False
    assert _msg(sh.flag, "maybe", W, "online") == f"{W}: `online` must be true or false, got a string"
    assert _msg(sh.need, {}, "health", "ceph status", "the status") == "ceph status: missing `health` in the status"
    assert _msg(sh.need, {"health": None}, "health", "ceph status") == "ceph status: `health` in data is null"


def test_at_and_parser_name_the_endpoint():
    @sh.parser("swarm /nodes")
    def parse(raw):
        return sh.integer(raw, sh.HERE, "Index")

    assert _msg(parse, "x") == "swarm /nodes: `Index` must be a number, got the string 'x'"
    assert _msg(parse, "x", where="swarm /nodes on m2") == "swarm /nodes on m2: `Index` must be a number, got the string 'x'"
    with pytest.raises(ShapeError, match="^other: "):  # an error naming its own place keeps it
        with sh.at("ignored"):
            raise ShapeError("other", "x")


def test_hostile_values_in_messages_are_inert():
    from console.hostile_corpus import CORPUS

    for bad in CORPUS:
        text = _msg(sh.num, bad, W, "cpu")
        assert "\x1b" not in text and "\x07" not in text and "\x00" not in text and "\n" not in text
        assert len(text) < 200
