"""What a program wrote to its terminal, taken apart at the byte level.

`split(raw)` separates escape sequences from text. `problems(raw, allowed)`
lists everything a terminal would act on that is not in `allowed` (the exact
sequences a run on clean data produced), plus dangerous bytes in the text:

- any OSC / DCS / SOS / PM / APC string (ESC ] / P / X / ^ / _), 8-bit C1 controls;
- CSI sequences: SGR (CSI digits;... m) and cursor moves (CSI row;col H) are
  always Textual's own; any other CSI must be one the clean run produced;
- in the text: C0 controls other than CR LF (which Textual uses), DEL,
  bidi overrides/isolates and zero-width joiners.
"""

from __future__ import annotations

import re

ESC = b"\x1b"
# CSI: ESC [ params intermediates final; string sequences to their BEL/ST; other two-byte forms
_SEQ = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_].*?(?:\x07|\x1b\\)|[ -/]*[0-~])", re.S)
SGR = re.compile(rb"\x1b\[[0-9;:]*m\Z")
CUP = re.compile(rb"\x1b\[[0-9]*(?:;[0-9]*)?H\Z")

DANGEROUS_TEXT = {
    "\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x0b": "VT", "\x0c": "FF", "\x7f": "DEL",
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO (RTL override)",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
    "\u200d": "ZWJ", "\u200c": "ZWNJ", "\u200b": "ZWSP", "\ufeff": "BOM",
}


def split(raw: bytes) -> tuple[list[bytes], bytes]:
    """(escape sequences in order, the text between them joined)."""
    seqs: list[bytes] = []
    text = bytearray()
    pos = 0
    for m in _SEQ.finditer(raw):
        text += raw[pos:m.start()]
        seqs.append(m.group(0))
        pos = m.end()
    text += raw[pos:]
    return seqs, bytes(text)


def textual_own(seq: bytes) -> bool:
    """SGR and absolute cursor moves: Textual draws every cell with these."""
    return bool(SGR.match(seq) or CUP.match(seq))


def learn(raw: bytes) -> set[bytes]:
    """The exact non-SGR, non-cursor sequences a run produced (the whitelist for another run)."""
    return {s for s in split(raw)[0] if not textual_own(s)}


def problems(raw: bytes, allowed: set[bytes]) -> list[str]:
    seqs, text = split(raw)
    found: list[str] = []
    for s in sorted(set(seqs)):
        if textual_own(s) or s in allowed:
            continue
        found.append(f"escape sequence {s[:60]!r}")
    if ESC in text:  # an ESC that starts no complete sequence
        at = text.index(ESC)
        found.append(f"stray ESC in text near {text[max(0, at - 20):at + 20]!r}")
    decoded = text.decode("utf-8", errors="replace")
    for ch, name in DANGEROUS_TEXT.items():
        if ch in decoded:
            at = decoded.index(ch)
            found.append(f"{name} in text near {decoded[max(0, at - 30):at + 30]!r}")
    c1 = [c for c in decoded if 0x80 <= ord(c) < 0xA0]
    if c1:
        found.append(f"C1 control characters in text: {sorted(set(map(hex, map(ord, c1))))}")
    bare_cr = re.findall(r"\r(?!\n)", decoded)
    if bare_cr:
        found.append(f"{len(bare_cr)} carriage returns not followed by a line feed")
    return found
