"""Cue text as real files carry it -> the plain lines a viewer reads, plus the placement and markup to keep.

Both formats get the same treatment (SRT files and WebVTT files converted from them carry the same things):

- SSA/ASS override blocks, which a large share of real SRT files carry (``{\\an8}``, ``{\\i1}``, ``{\\pos(..)}``,
  ``{\\c&H00FFFF&}``): removed from the text. ``\\an``/``\\a`` alignment becomes WebVTT cue settings (top:
  ``line:0``, middle: ``line:50%,center``, left/right: ``position:10% align:left``/``position:90%
  align:right``); ``\\i``, ``\\b``, ``\\u`` become italics, bold, underline; anything else (position, colour,
  font, fades, karaoke) has no WebVTT equivalent and is listed in :attr:`CueText.dropped`. ``\\N`` is a line
  break, ``\\h`` a no-break space.
- Tags: in WebVTT every ``<...>`` is a tag (``<v Alba>``, ``<c.loud>``, ``<ruby>``, ``<00:00:02.000>``), as the
  spec says; in SRT only the HTML-ish tags players read (``<i> <b> <u> <s> <font ..>``), so "I <3 you" stays
  text. ``<font>`` colour, face and size and ``<s>`` are dropped (and listed).
- Character references (``&amp;``) are decoded in the plain text.

A line counts as italic when all its visible text is. When the plain lines lose something (bold, underline,
partial italics, voice/class/language/ruby spans, karaoke timestamps), :attr:`CueText.markup` keeps the
cue's text as WebVTT cue text, one string per kept line, for the writers.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Literal

from captioning.captions.model import CueLine

_SSA_BLOCK = r"\{\\[^{}]*\}"
#: WebVTT: any "<...>" is a tag; SRT: the tags players read. Plus SSA override blocks in both.
_TOKENS = {
    "vtt": re.compile(rf"{_SSA_BLOCK}|<[^<>]*>"),
    "srt": re.compile(rf"{_SSA_BLOCK}|</?(?:i|b|u|s|font)(?:[\s.][^<>]*)?>", re.IGNORECASE),
}
_TAG = re.compile(r"<(/?)\s*([A-Za-z]+|\d)([^<>]*)>")
_SSA_COMMAND = re.compile(r"(\d?[a-zA-Z]+)(.*)", re.DOTALL)
#: WebVTT spans kept only in markup (the plain text cannot carry them).
_SPANS = {"b", "u", "c", "v", "lang", "ruby", "rt"}
#: SSA legacy ``\a`` alignment (1-3 bottom, 5-7 top, 9-11 middle) -> numpad ``\an``.
_LEGACY_ALIGN = {1: 1, 2: 2, 3: 3, 5: 7, 6: 8, 7: 9, 9: 4, 10: 5, 11: 6}
#: SSA override commands without a WebVTT equivalent, by what they do (for the report).
_SSA_NAMES = {"c": "colour", "1c": "colour", "2c": "colour", "3c": "colour", "4c": "colour",
              "alpha": "transparency", "1a": "transparency", "2a": "transparency", "3a": "transparency",
              "4a": "transparency", "pos": "position", "move": "position", "org": "position",
              "fn": "font", "fs": "font size", "fad": "fade", "fade": "fade", "k": "karaoke", "kf": "karaoke",
              "ko": "karaoke", "K": "karaoke", "t": "animation", "s": "strike-through"}


@dataclass(frozen=True)
class CueText:
    """One cue's text, read.

    Attributes:
        lines: the visible lines (empty ones dropped), plain text.
        markup: the same lines as WebVTT cue text when the plain lines lose formatting, else ``()``.
        settings: WebVTT cue settings for the SSA alignment (``{"line": "0"}`` for ``{\\an8}``), else empty.
        dropped: formatting with no WebVTT equivalent that was removed, e.g. ``"{\\pos} position"``.
    """

    lines: tuple[CueLine, ...]
    markup: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)
    dropped: frozenset[str] = frozenset()


def alignment_settings(an: int) -> dict[str, str]:
    """WebVTT cue settings for SSA numpad alignment ``an`` (1..9: 1 bottom left, 8 top centre, 9 top right)."""
    row, col = divmod(an - 1, 3)  # row 0 bottom, 1 middle, 2 top; col 0 left, 1 centre, 2 right
    kw = {2: {"line": "0"}, 1: {"line": "50%,center"}}.get(row, {})
    kw |= {0: {"position": "10%", "align": "left"}, 2: {"position": "90%", "align": "right"}}.get(col, {})
    return kw


def numpad_alignment(line: str | None, align: str | None) -> int:
    """The SSA ``\\an`` number (1..9) closest to WebVTT ``line`` and ``align`` settings (2: the default)."""
    row = 0
    if line:
        value = line.partition(",")[0]
        if value.endswith("%"):
            pct = float(value[:-1])
            row = 2 if pct < 34 else 1 if pct <= 66 else 0
        else:
            row = 2 if int(value) >= 0 else 0
    col = 0 if align in ("left", "start") else 2 if align in ("right", "end") else 1
    return 3 * row + col + 1


@dataclass
class _Reader:
    """Walks one cue's tokens, keeping the formatting state and building plain and markup lines."""

    fmt: Literal["vtt", "srt"]
    chunks: list[list[tuple[str, bool]]] = field(default_factory=lambda: [[]])  # per line: (text, italic)
    markup: list[str] = field(default_factory=lambda: [""])
    italic_tags: int = 0  # open <i> tags
    ssa: dict[str, bool] = field(default_factory=lambda: {"i": False, "b": False, "u": False})
    ruby_text: int = 0  # open <rt>: annotation, not counted as line text
    rich: bool = False  # the plain lines lose formatting
    an: int | None = None
    dropped: set[str] = field(default_factory=set)

    def text(self, raw: str) -> None:
        for k, piece in enumerate(raw.split("\n")):
            if k:
                self.chunks.append([])
                self.markup.append("")
            visible = html.unescape(piece)
            if visible and not self.ruby_text:
                self.chunks[-1].append((visible, self.italic_tags > 0 or self.ssa["i"]))
                if self.ssa["b"] or self.ssa["u"]:
                    self.rich = True
            self.markup[-1] += piece if self.fmt == "vtt" else html.escape(visible, quote=False)

    def tag(self, raw: str) -> None:
        m = _TAG.fullmatch(raw)
        if m is None or m[2].isdigit():  # a karaoke timestamp <00:00:02.000> (or not a tag at all)
            self.rich = self.rich or m is not None
            self.markup[-1] += raw
            return
        closing, name, rest = m[1] == "/", m[2].lower(), m[3]
        if name == "i":
            self.italic_tags = max(self.italic_tags + (-1 if closing else 1), 0)
        elif name == "rt":
            self.ruby_text = max(self.ruby_text + (-1 if closing else 1), 0)
        if name == "font":
            self.dropped.update(f"<font {a}>" for a in re.findall(r"(color|face|size)\s*=", rest.lower()))
            return
        if name not in _SPANS and name != "i":
            self.dropped.add(f"<{name}>")
            return
        self.rich = self.rich or name in _SPANS
        self.markup[-1] += raw if self.fmt == "vtt" else f"<{'/' if closing else ''}{name}>"

    def override(self, block: str) -> None:
        """An SSA override block ``{\\cmd\\cmd..}``."""
        for command in block[2:-1].split("\\"):
            m = _SSA_COMMAND.match(command.strip())
            if m is None:
                continue
            name, arg = m[1], m[2].strip()
            if name == "an" and arg[:1].isdigit() and 1 <= int(arg[:1]) <= 9:
                self.an = self.an or int(arg[:1])
            elif name == "a" and arg.isdigit() and int(arg) in _LEGACY_ALIGN:
                self.an = self.an or _LEGACY_ALIGN[int(arg)]
            elif name in ("i", "b", "u"):  # \i1 on, \i0 or \i off; \b also takes a weight (700 bold)
                self._toggle(name, arg == "1" or (name == "b" and arg.isdigit() and int(arg) >= 600))
            elif name.startswith("r") and name not in _SSA_NAMES:  # \r, \rStyleName: back to the style
                for key in ("i", "b", "u"):
                    self._toggle(key, False)
            else:
                self.dropped.add(f"{{\\{name}}} {_SSA_NAMES.get(name, 'override')}")

    def _toggle(self, key: str, on: bool) -> None:
        if self.ssa[key] != on:
            self.ssa[key] = on
            self.markup[-1] += f"<{'' if on else '/'}{key}>"

    def result(self) -> CueText:
        lines: list[CueLine] = []
        markup: list[str] = []
        pending = ""  # markup of dropped (empty) lines, carried to the next line
        for chunks, mk in zip(self.chunks, self.markup, strict=True):
            text = "".join(t for t, _ in chunks)
            if not text.strip():
                pending += mk
                continue
            shown = [it for t, it in chunks if t.strip()]
            if any(shown) and not all(shown):
                self.rich = True  # partial italics
            lines.append(CueLine(text, italic=all(shown)))
            markup.append(pending + mk)
            pending = ""
        if markup and pending:
            markup[-1] += pending
        settings = alignment_settings(self.an) if self.an else {}
        return CueText(tuple(lines), tuple(markup) if self.rich else (), settings, frozenset(self.dropped))


def parse_cue_text(raw: str, fmt: Literal["vtt", "srt"]) -> CueText:
    """Read one cue's text (lines joined with ``\\n``) as it appears in a ``fmt`` file (see the module doc)."""
    reader = _Reader(fmt)
    raw = raw.replace("\\N", "\n").replace("\\h", "\u00a0")
    pos = 0
    for m in _TOKENS[fmt].finditer(raw):
        reader.text(raw[pos:m.start()])
        pos = m.end()
        token = m.group()
        if token.startswith("{"):
            reader.override(token)
        else:
            reader.tag(token)
    reader.text(raw[pos:])
    return reader.result()
