"""console.inert on a corpus of hostile strings: nothing a terminal acts on survives."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len
from rich.text import Text

from console.hostile_corpus import CORPUS
from console.inert import cap, inert, inert_block, inert_sgr, inert_tree, strip_escapes, strip_sgr

# Anything a terminal would act on: C0 (incl. ESC, CR, LF, BEL, NUL), DEL, C1,
# bidi embeddings/overrides/isolates, and other invisible format characters.
DANGEROUS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u2028\u2029]")


@pytest.mark.parametrize("s", CORPUS, ids=lambda s: repr(s[:20]))
def test_inert_leaves_nothing_a_terminal_acts_on(s):
    out = inert(s)
    assert not DANGEROUS.search(out), repr(out)
    assert "\n" not in out and "\r" not in out


@pytest.mark.parametrize("s", CORPUS, ids=lambda s: repr(s[:20]))
def test_block_and_sgr_forms_too(s):
    assert not DANGEROUS.search(inert_block(s).replace("\n", ""))
    out = inert_sgr(s)
    assert not DANGEROUS.search(re.sub(r"\x1b\[[0-9;:]*m", "", out))
    assert not DANGEROUS.search(strip_escapes(s))


def test_controls_become_visible_pictures():
    assert inert("x\x1b]0;PWNED\x07") == "x␛]0;PWNED␇"
    assert inert("nul\x00byte") == "nul␀byte"
    assert inert("del\x7f") == "del␡"
    assert inert("a\r\nb") == "a b"
    assert inert("a\nb\tc") == "a b c"


def test_invisible_format_characters_are_dropped():
    assert inert("\u202egnp.exe") == "gnp.exe"
    assert inert("a\u200db\u2066c\u2069\ufeff") == "abc"


def test_width_is_what_it_looks_like():
    # every character left has a definite width, so a table column stays aligned
    for s in CORPUS:
        out = inert(s)
        assert cell_len(out) >= len(out.replace("\u200d", "")) // 2


def test_plain_text_is_untouched_and_cheap():
    s = "pve1 web-01 HEALTH_OK 42%"
    assert inert(s) is s
    assert inert(None) == ""
    assert inert(12) == "12"


def test_markup_stays_literal_text():
    # Rich markup in data is data: it reaches a Text object unchanged and is never parsed
    for s in ("[bold red]x[/]", "unbalanced [/] close", "[link=https://evil.example]click[/link]"):
        assert inert(s) == s
        assert Text(inert(s)).plain == s


def test_block_keeps_lines_and_collapses_progress():
    assert inert_block("one\ntwo\r\nthree") == "one\ntwo\nthree"
    assert inert_block("Progress 10%\rProgress 50%\rProgress 100%\ndone") == "Progress 100%\ndone"
    assert inert_block("a\x1b[2Jb\n") == "a␛[2Jb\n"


def test_sgr_colours_survive_everything_else_goes():
    line = "\x1b[31merror\x1b[0m \x1b]0;PWNED\x07 \x1b[2J\x1b[1;32mok\x1b[m"
    out = inert_sgr(line)
    assert out == "\x1b[31merror\x1b[0m  \x1b[1;32mok\x1b[m"
    text = Text.from_ansi(out)
    assert text.plain == "error  ok"
    assert strip_sgr(out) == "error  ok"
    assert inert_sgr("a\x00\x1b[31mb") == "a␀\x1b[31mb"
    assert inert_sgr("x\x9b31my") == "xy"


def test_tree_cleans_keys_and_values():
    tree = {"data": [{"name": "x\x1b]0;T\x07", "tags": ["a\nb"], "n\x07": 1, "ok": True, "v": 1.5}]}
    assert inert_tree(tree) == {"data": [{"name": "x␛]0;T␇", "tags": ["a b"], "n␇": 1, "ok": True, "v": 1.5}]}


def test_tree_is_cleaned_in_place_without_a_copy():
    clean = {"data": [{"name": "vm1", "tags": ["a", "b"]}], "n": 3}
    before = repr(clean)
    assert inert_tree(clean) is clean and repr(clean) == before  # a clean answer is not copied
    rows = [{"name": "ok"}, {"bad\x1bkey": {"deep": ["x", "y\x07"]}}, "z\u202e"]
    inner = rows[1]["bad\x1bkey"]
    out = inert_tree(rows)
    assert out is rows and rows[0] == {"name": "ok"}
    assert rows[1] == {"bad␛key": {"deep": ["x", "y␇"]}}  # the dict with a hostile key was replaced ...
    assert rows[1]["bad␛key"] is inner  # ... its values were not copied
    assert rows[2] == "z"
    assert inert_tree("a\x1b[2J") == "a␛[2J"


def test_cap_notes_the_full_length():
    assert cap("short") == "short"
    long = cap("A" * 10_000)
    assert long.startswith("A" * 200) and long.endswith("… (10000 chars)")
    assert len(long) < 220
    assert cap("x\x1b" * 300, 10).startswith("x␛x␛x␛")
