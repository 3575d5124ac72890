"""Hostile text in the widgets: nothing reaches the terminal as a control, markup in data is
shown literally, tables stay aligned, the log view keeps SGR colours as styles only."""

from __future__ import annotations

from dataclasses import replace

from rich.cells import cell_len
from textual.app import App, ComposeResult

from console.hostile_corpus import CORPUS, OSC_TITLE
from widgets.fast_table import FastTable
from widgets.log_view import LogView
from widgets.table_columns import Column, Row

from .helpers import poll, screen_text

COLUMNS = (
    Column("id", "ID", width=4, align="right"),
    Column("name", "NAME", min_width=6, max_width=24),
    Column("state", "STATE", min_width=7, max_width=10),
    Column("note", "NOTE", min_width=4, max_width=30, stretch=True),
)


def _controls(text: str) -> list[str]:
    return sorted({hex(ord(c)) for c in text if not c.isprintable() and c != "\n"})


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield FastTable(COLUMNS, title="t", id="t")


class LogApp(App):
    def compose(self) -> ComposeResult:
        yield LogView(id="logs", classes="-open")


async def test_table_with_the_corpus_stays_aligned_and_inert():
    app = TableApp()
    async with app.run_test(size=(90, 30)) as pilot:
        table = app.query_one(FastTable)
        rows = [Row(f"r{i}", (str(i), text, "running", text)) for i, text in enumerate(CORPUS)]
        rows.append(Row("wide", ("99", "🦄" * 30, "running", "全角文字" * 10)))
        table.set_rows(rows)
        await pilot.pause()
        strips = [table.render_line(y) for y in range(1, len(rows) + 1)]
        lines = ["".join(seg.text for seg in strip) for strip in strips]
        for line in lines:
            assert _controls(line) == [], line
        widths = {cell_len(line) for line in lines}
        assert widths == {table.layout_width}, widths
        # the STATE column starts at the same cell in every row
        starts = {cell_len(line[:line.index("running")]) for line in lines}
        assert len(starts) == 1, lines


async def test_log_view_shows_sgr_colours_as_styles_and_nothing_else():
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(LogView)
        view.show_lines("svc", ["\x1b[31mred\x1b[0m plain", f"title{OSC_TITLE} after", "[bold red]x[/] literal",
                                "nul\x00 bell\x07 cr\rend"])
        await pilot.pause()
        strips = [view.render_line(y) for y in range(4)]
        text = ["".join(seg.text for seg in strip) for strip in strips]
        assert text[0].startswith("red plain")
        red = next(seg for seg in strips[0] if seg.text == "red")
        assert red.style.color is not None and red.style.color.number == 1  # ANSI red
        assert text[1].startswith("title after")  # other escape sequences are dropped whole
        assert text[2].startswith("[bold red]x[/] literal")
        for line in text:
            assert _controls(line) == [], line
        assert view.border_title and "svc" in view.border_title


async def test_guest_detail_and_vrrp_banner_show_markup_literally(make_app, lab):
    px = lab.data["proxmox"]
    evil = replace(px.guests[0], name="[bold red]x[/] [link=https://evil.example]y[/link] [/]",
                   tags=("[/]", f"t{OSC_TITLE}"))
    lab.update("proxmox", guests=(evil, *px.guests[1:]))
    vrrp = lab.data["vrrp"]
    fws = tuple(replace(fw, instances=tuple(replace(i, name="VI_[/]1[b]") for i in fw.instances))
                for fw in vrrp.firewalls)
    lab.update("vrrp", firewalls=fws)
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        shown = screen_text(app)
        detail = [line.split("│")[-1] for line in shown.splitlines()]  # the pane right of the table
        assert any(line.startswith(" [bold red]x[/]") for line in detail), shown
        assert any("[/], t␛]0;PWNED␇" in line for line in detail), shown  # tags, inert
        assert _controls(shown) == []
        await pilot.press("6")
        await pilot.pause()
        assert "VI_[/]1[b]" in screen_text(app)
