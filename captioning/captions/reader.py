"""Read any WebVTT or SRT file into :class:`~captioning.captions.model.Cue` values.

WebVTT is parsed by webvtt-py, SRT by pysrt. Cue text comes back plain: markup tags removed, character
references (``&amp;``) decoded, a line wrapped whole in ``<i>`` marked italic.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Literal

import pysrt
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from captioning.captions.model import Cue, CueKind, CueLine
from captioning.errors import CaptionFormatError

CaptionFormat = Literal["vtt", "srt"]

_TAG = re.compile(r"<[^>]*>")
_ITALIC = re.compile(r"^\s*<i(?:\.[^>\s]*)?>.*</i>\s*$")


def detect_format(text: str, name: str = "") -> CaptionFormat:
    """``"vtt"`` or ``"srt"`` from the content (the WEBVTT signature) or the file name.

    Raises:
        CaptionFormatError: the text is neither (e.g. SSA or TTML).
    """
    if text.lstrip("\ufeff").startswith("WEBVTT"):
        return "vtt"
    suffix = Path(name).suffix.lower()
    if suffix == ".vtt":
        raise CaptionFormatError(f"{name}: not a WebVTT file (it must start with WEBVTT)")
    if suffix == ".srt" or re.search(r"^\d+\s*\r?\n\s*\d+:\d\d:\d\d[,.]\d+\s*-->", text, re.MULTILINE):
        return "srt"
    raise CaptionFormatError(f"{name or 'text'}: not a WebVTT or SRT caption file")


def _line(raw: str) -> CueLine:
    return CueLine(html.unescape(_TAG.sub("", raw)), italic=bool(_ITALIC.match(raw)))


def _cue(index: int, start_ms: int, end_ms: int, raw_lines: list[str], where: str, **kw: str) -> Cue:
    if end_ms <= start_ms:
        raise CaptionFormatError(f"{where}: cue {index} ends at or before it starts ({start_ms} ms)")
    return Cue(start_ms, end_ms, tuple(_line(r) for r in raw_lines if r.strip()), **kw)  # type: ignore[arg-type]


def parse_captions(
    text: str, fmt: CaptionFormat | None = None, *, name: str = "", kind: CueKind = "sound"
) -> list[Cue]:
    """Parse caption text into cues, in file order.

    Parameters
    ----------
    text : the whole file as text.
    fmt : ``"vtt"``, ``"srt"``, or None to detect it.
    name : file name for messages and format detection.
    kind : the ``kind`` given to every cue.

    Raises
    ------
    CaptionFormatError
        The text is not WebVTT/SRT, a timestamp is malformed, or a cue ends before it starts.
    """
    fmt = fmt or detect_format(text, name)
    where = name or "captions"
    if fmt == "vtt":
        try:
            doc = webvtt.from_string(text.lstrip("\ufeff"))
        except (MalformedFileError, MalformedCaptionError) as e:
            raise CaptionFormatError(f"{where}: not valid WebVTT: {e}") from e
        if not doc.captions and "-->" in text:
            raise CaptionFormatError(f"{where}: no readable cue in a file that has cue timings")
        return [
            _cue(i, c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.lines, where,
                 identifier=c.identifier or "", settings=str(c.settings), kind=kind)
            for i, c in enumerate(doc.captions, 1)
        ]
    try:
        subs = pysrt.from_string(text.lstrip("\ufeff"), error_handling=pysrt.ERROR_RAISE)
    except pysrt.Error as e:
        raise CaptionFormatError(f"{where}: not valid SRT: {_srt_error(e)}") from e
    if not len(subs) and "-->" in text:
        raise CaptionFormatError(f"{where}: no readable cue in a file that has cue timings")
    return [
        _cue(i, item.start.ordinal, item.end.ordinal, item.text.split("\n"), where, kind=kind)
        for i, item in enumerate(subs, 1)
    ]


def _srt_error(e: Exception) -> str:
    # pysrt raises e.g. InvalidTimeString((line_no, block_text)) in its error-raising mode
    arg = e.args[0] if e.args else None
    if isinstance(arg, tuple) and len(arg) == 2 and isinstance(arg[0], int):
        first = str(arg[1]).strip().splitlines()
        return f"{type(e).__name__} at line {arg[0]}" + (f" ({first[0][:60]!r})" if first else "")
    return f"{type(e).__name__} {e}".strip()


def read_text(path: Path) -> str:
    """A caption file's text (UTF-8, with or without BOM); CaptionFormatError if unreadable."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CaptionFormatError(f"cannot read {path}: {e.strerror or e}") from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CaptionFormatError(f"{path}: not UTF-8 text: {e}") from e


def read_captions(
    path: Path | str, fmt: CaptionFormat | None = None, *, kind: CueKind = "sound"
) -> list[Cue]:
    """Read a WebVTT or SRT file into cues (see :func:`parse_captions`)."""
    path = Path(path)
    return parse_captions(read_text(path), fmt, name=str(path), kind=kind)
