"""Read any WebVTT or SRT file into :class:`~captioning.captions.model.Cue` values.

WebVTT is parsed by webvtt-py, SRT by pysrt. Cue text comes back plain: markup tags removed, character
references (``&amp;``) decoded, a line wrapped whole in ``<i>`` marked italic. :func:`parse_captions` is
strict by default (a malformed cue block is an error); :func:`parse_lenient` reads what players would,
counting the blocks it had to skip (the checker reports them).
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Literal

import pysrt
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from captioning.captions.model import Cue, CueKind, CueLine
from captioning.errors import CaptionFormatError

CaptionFormat = Literal["vtt", "srt"]

logger = logging.getLogger("captioning")

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


def parse_lenient(
    text: str, fmt: CaptionFormat | None = None, *, name: str = "", kind: CueKind = "sound"
) -> tuple[list[Cue], int]:
    """Parse caption text as players do, skipping what cannot be read; returns (cues, blocks skipped).

    A block is skipped when its timing line cannot be read or it ends before it starts; the count is the
    number of ``-->`` timing lines that gave no cue.

    Raises:
        CaptionFormatError: the text is not WebVTT/SRT at all.
    """
    fmt = fmt or detect_format(text, name)
    where = name or "captions"
    body = text.lstrip("\ufeff")
    raw: list[tuple[int, int, list[str], str, str]] = []
    if fmt == "vtt":
        try:
            doc = webvtt.from_string(body)
        except (MalformedFileError, MalformedCaptionError) as e:
            raise CaptionFormatError(f"{where}: not valid WebVTT: {e}") from e
        raw = [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.lines, c.identifier or "",
                str(c.settings)) for c in doc.captions]
    else:
        subs = pysrt.from_string(body, error_handling=pysrt.ERROR_PASS)
        raw = [(item.start.ordinal, item.end.ordinal, item.text.split("\n"), "", "") for item in subs]
    cues = [_cue(i, a, b, lines, where, identifier=ident, settings=settings, kind=kind)
            for i, (a, b, lines, ident, settings) in enumerate(raw, 1) if b > a]
    timing_lines = sum("-->" in line for line in body.splitlines())
    return cues, max(timing_lines - len(cues), 0)


def parse_captions(
    text: str, fmt: CaptionFormat | None = None, *, name: str = "", kind: CueKind = "sound",
    strict: bool = True,
) -> list[Cue]:
    """Parse caption text into cues, in file order.

    Parameters
    ----------
    text : the whole file as text.
    fmt : ``"vtt"``, ``"srt"``, or None to detect it.
    name : file name for messages and format detection.
    kind : the ``kind`` given to every cue.
    strict : raise on any cue block that cannot be read; False skips such blocks with a logged warning
        (see :func:`parse_lenient`).

    Raises
    ------
    CaptionFormatError
        The text is not WebVTT/SRT, or (strict) a cue block is malformed or ends before it starts.
    """
    fmt = fmt or detect_format(text, name)
    where = name or "captions"
    if not strict:
        cues, skipped = parse_lenient(text, fmt, name=name, kind=kind)
        if skipped:
            logger.warning("%s: skipped %d cue block(s) that could not be read", where, skipped)
        return cues
    body = text.lstrip("\ufeff")
    if fmt == "vtt":
        try:
            doc = webvtt.from_string(body, strict=True)
        except (MalformedFileError, MalformedCaptionError) as e:
            raise CaptionFormatError(f"{where}: not valid WebVTT: {e}") from e
        return [
            _cue(i, c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.lines, where,
                 identifier=c.identifier or "", settings=str(c.settings), kind=kind)
            for i, c in enumerate(doc.captions, 1)
        ]
    try:
        subs = pysrt.from_string(body, error_handling=pysrt.ERROR_RAISE)
    except pysrt.Error as e:
        raise CaptionFormatError(f"{where}: not valid SRT: {_srt_error(e)}") from e
    if not len(subs) and "-->" in text:
        raise CaptionFormatError(f"{where}: no readable cue in a file that has cue timings")
    return [
        _cue(i, item.start.ordinal, item.end.ordinal, item.text.split("\n"), where, kind=kind)
        for i, item in enumerate(subs, 1)
    ]


def _srt_error(e: Exception) -> str:
    # pysrt raises e.g. InvalidTimeString(line_no, block_text) in its error-raising mode
    if len(e.args) == 2 and isinstance(e.args[0], int):
        lines = str(e.args[1]).strip().splitlines()
        bad = next((line for line in lines if "-->" in line), lines[0] if lines else "")
        return f"{type(e).__name__} at line {e.args[0]}" + (f" ({bad[:60]!r})" if bad else "")
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
    path: Path | str, fmt: CaptionFormat | None = None, *, kind: CueKind = "sound", strict: bool = True
) -> list[Cue]:
    """Read a WebVTT or SRT file into cues (see :func:`parse_captions`)."""
    path = Path(path)
    return parse_captions(read_text(path), fmt, name=str(path), kind=kind, strict=strict)
