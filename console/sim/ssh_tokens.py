"""Tokens of the sim's tiny shell: words (with quoting and command substitution
parts), operators (&& || ; | &) and redirections (> >> < N>&M &>)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class ShellSyntaxError(Exception):
    pass


@dataclass
class Part:
    text: str
    quoted: bool
    subst: bool = False  # text is a command line to run, its output substituted
    param: bool = False  # text is a special parameter name ("?": the last exit status)


@dataclass
class Word:
    parts: list[Part] = field(default_factory=list)

    def literal(self) -> str | None:
        """The word's text if it has no substitution (for operators, assignments)."""
        if any(p.subst or p.param for p in self.parts):
            return None
        return "".join(p.text for p in self.parts)


@dataclass
class Op:
    op: str  # "&&" "||" ";" "|" "&"


@dataclass
class Redir:
    fd: int
    mode: str  # ">" ">>" "<" "dup" "&>"
    target: Word | None = None
    dup_fd: int = 0


def _matching_paren(s: str, i: int) -> int:
    """Index of the ')' closing the '(' at s[i], skipping quotes."""
    depth = 0
    quote = ""
    while i < len(s):
        c = s[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"':
                i += 1
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellSyntaxError("unexpected EOF while looking for matching `)'")


def tokenize(s: str) -> list[Word | Op | Redir]:
    tokens: list[Word | Op | Redir] = []
    word: Word | None = None
    pending_redir: Redir | None = None
    i = 0

    def flush() -> None:
        nonlocal word, pending_redir
        if word is None:
            return
        if pending_redir is not None:
            pending_redir.target = word
            tokens.append(pending_redir)
            pending_redir = None
        else:
            tokens.append(word)
        word = None

    def add(text: str, quoted: bool, subst: bool = False, param: bool = False) -> None:
        nonlocal word
        if word is None:
            word = Word()
        word.parts.append(Part(text, quoted, subst, param))

    while i < len(s):
        c = s[i]
        if c in " \t\n":
            flush()
            i += 1
        elif c == "#" and word is None:
            break
        elif s.startswith(("&&", "||"), i):
            flush()
            tokens.append(Op(s[i : i + 2]))
            i += 2
        elif c in ";|" or (c == "&" and not s.startswith("&>", i)):
            flush()
            tokens.append(Op(c))
            i += 1
        elif c in "<>" or s.startswith("&>", i):
            fd = 1 if c != "<" else 0
            if word is not None:
                lit = word.literal()
                if lit is not None and lit.isdigit() and not any(p.quoted for p in word.parts):
                    fd = int(lit)
                    word = None
                else:
                    flush()
            if pending_redir is not None:
                raise ShellSyntaxError(f"syntax error near unexpected token `{c}'")
            if s.startswith("&>", i):
                mode, i = "&>", i + 2
            elif s.startswith(">>", i):
                mode, i = ">>", i + 2
            elif s.startswith(">&", i):
                m = re.match(r">&(\d)", s[i:])
                if not m:
                    raise ShellSyntaxError("syntax error near unexpected token `&'")
                tokens.append(Redir(fd, "dup", dup_fd=int(m.group(1))))
                i += m.end()
                continue
            else:
                mode, i = c, i + 1
            pending_redir = Redir(fd, mode)
        elif c == "'":
            j = s.find("'", i + 1)
            if j < 0:
                raise ShellSyntaxError("unexpected EOF while looking for matching `''")
            add(s[i + 1 : j], True)
            i = j + 1
        elif c == '"':
            i += 1
            buf = ""
            while True:
                if i >= len(s):
                    raise ShellSyntaxError('unexpected EOF while looking for matching `"\'')
                ch = s[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\" and i + 1 < len(s) and s[i + 1] in '"\\$`':
                    buf += s[i + 1]
                    i += 2
                elif s.startswith("$(", i):
                    j = _matching_paren(s, i + 1)
                    add(buf, True)
                    buf = ""
                    add(s[i + 2 : j], True, subst=True)
                    i = j + 1
                elif s.startswith("$?", i):
                    add(buf, True)
                    buf = ""
                    add("?", True, param=True)
                    i += 2
                else:
                    buf += ch
                    i += 1
            add(buf, True)
        elif c == "\\":
            if i + 1 < len(s) and s[i + 1] != "\n":
                add(s[i + 1], True)
            i += 2
        elif s.startswith("$(", i):
            j = _matching_paren(s, i + 1)
            add(s[i + 2 : j], False, subst=True)
            i = j + 1
        elif s.startswith("$?", i):
            add("?", False, param=True)
            i += 2
        elif c == "`":
            j = s.find("`", i + 1)
            if j < 0:
                raise ShellSyntaxError("unexpected EOF while looking for matching ``'")
            add(s[i + 1 : j], False, subst=True)
            i = j + 1
        else:
            add(c, False)
            i += 1
    flush()
    if pending_redir is not None:
        raise ShellSyntaxError("syntax error near unexpected token `newline'")
    return tokens
