"""The one check of a Swarm node availability (console/sources/swarm_writes.py): the wrong
value is named, inert and capped (it is typed by the user and echoed in a toast or on stderr)."""

from __future__ import annotations

import pytest

from console.errors import ConsoleError
from console.sources.swarm_writes import AVAILABILITIES, check_availability


def test_every_availability_passes():
    for value in AVAILABILITIES:
        check_availability(value)


def test_a_wrong_value_is_named_inert_and_capped():
    with pytest.raises(ConsoleError) as e:
        check_availability("sleepy")
    assert "'sleepy' is not one of active, pause, drain" in str(e.value)
    hostile = "\x1b]0;PWNED\x07" + "x" * 10_000
    with pytest.raises(ConsoleError) as e:
        check_availability(hostile)
    text = str(e.value)
    assert "\x1b" not in text and "\x07" not in text and len(text) < 200, text
    assert "chars)" in text and text.endswith("is not one of active, pause, drain")
