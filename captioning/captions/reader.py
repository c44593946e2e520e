"""Read any WebVTT or SRT file into :class:`~captioning.captions.model.Cue` values, as players read it.

:func:`read_caption_file` and :func:`parse_caption_file` give a :class:`CaptionFile`: the cues with their
numbers in the file, the text encoding (detected, see :mod:`captioning.captions.decoding`), the cue blocks a
player skips, each named by number and time (a timing line that cannot be read, a zero-length cue, a cue
that ends before it starts), notes on what was read but is not kept (formatting with no WebVTT equivalent,
comments), and the WebVTT STYLE and REGION blocks, kept for writing. :func:`parse_captions` and
:func:`read_captions` return the cues alone and by default refuse a file with any skipped block.

Cue text: see :mod:`captioning.captions.cuetext` (SSA override tags such as ``{\\an8}``, HTML and WebVTT tags,
character references). SRT is split into cues at its timing lines, as players do (text after a blank line
inside a cue stays with that cue, and is noted), with pysrt reading the timestamps; WebVTT is parsed by
webvtt-py.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pysrt
import webvtt
from webvtt import CueSettings
from webvtt.errors import MalformedCaptionError, MalformedFileError
from webvtt.models import Timestamp
from webvtt.vtt import WebVTTCueBlock

from captioning.captions.cuetext import parse_cue_text
from captioning.captions.decoding import MAX_CAPTION_BYTES, decode_caption_bytes
from captioning.captions.model import Cue, CueKind
from captioning.errors import CaptionFormatError
from captioning.paths import input_problem

CaptionFormat = Literal["vtt", "srt"]

logger = logging.getLogger("captioning")

_SRT_TIMING = re.compile(r"^\s*\d+:\d\d:\d\d[,.]\d+\s*-->", re.MULTILINE)
_STARTS_WITH_NUMBER = re.compile(r"\s*-?\d")
_TIMING = re.compile(r"^\s*(\S+?)\s*-->\s*(\S+)")


@dataclass(frozen=True)
class SkippedCue:
    """A cue block players do not show.

    Attributes:
        number: its position among the file's cue blocks (timing lines), from 1.
        line_no: the line of its timing line, from 1.
        start_ms: its start in ms, None when the timing line cannot be read.
        reason: what is wrong, for a person.
    """

    number: int
    line_no: int
    start_ms: int | None
    reason: str

    def __str__(self) -> str:
        where = f"at {self.start_ms / 1000:.3f} s" if self.start_ms is not None else f"(line {self.line_no})"
        return f"cue {self.number} {where}: {self.reason}"


@dataclass(frozen=True)
class CaptionFile:
    """A caption file as read.

    Attributes:
        cues: the cues players show, in file order.
        numbers: each cue's position among the file's cue blocks, from 1 (skipped blocks count).
        format: ``"vtt"`` or ``"srt"``.
        encoding: the text encoding used, e.g. ``"UTF-8"``, ``"Windows-1252"``, ``"UTF-16LE with BOM"``.
        skipped: cue blocks players do not show (see :class:`SkippedCue`).
        notes: what was read but is not kept or not applied, one sentence each.
        styles: WebVTT STYLE block bodies (CSS), to write with the cues.
        regions: WebVTT REGION block settings (``id:fred width:40% ...``), to write with the cues.
    """

    cues: tuple[Cue, ...]
    numbers: tuple[int, ...]
    format: CaptionFormat
    encoding: str = "UTF-8"
    skipped: tuple[SkippedCue, ...] = ()
    notes: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Block:
    """One cue block as found: its timing (or why it cannot be read) and raw text."""

    number: int
    line_no: int
    start_ms: int | None
    end_ms: int | None
    text: str = ""
    identifier: str = ""
    settings: str = ""
    error: str = ""


def detect_format(text: str, name: str = "") -> CaptionFormat:
    """``"vtt"`` or ``"srt"`` from the content (the WEBVTT signature) or the file name.

    Raises:
        CaptionFormatError: the text is neither (e.g. SSA or TTML).
    """
    body = text.lstrip("\ufeff")
    if body.startswith("WEBVTT"):
        return "vtt"
    where = name or "text"
    empty = "" if body.strip() else " (the file is empty)"
    head = body.lstrip()[:200].lower()
    if head.startswith("[script info]"):
        raise CaptionFormatError(f"{where}: not a WebVTT or SRT caption file but SSA/ASS; convert it to SRT or WebVTT "
                                 "(e.g. ffmpeg -i subs.ass subs.srt)")
    if head.startswith(("<?xml", "<tt")):
        raise CaptionFormatError(f"{where}: not a WebVTT or SRT caption file but XML (TTML/DFXP?); convert it "
                                 "to SRT or WebVTT")
    suffix = Path(name).suffix.lower()
    if suffix == ".vtt":
        hint = " (its cues look like SRT: rename it .srt)" if _SRT_TIMING.search(body) else ""
        raise CaptionFormatError(f"{name}: not a WebVTT file: it must start with WEBVTT{hint or empty}")
    if suffix == ".srt" or _SRT_TIMING.search(body):
        return "srt"
    raise CaptionFormatError(f"{where}: not a WebVTT or SRT caption file{empty}")


# ------------------------------------------------------------------------------------------------ blocks
def _srt_time(value: str) -> int:
    return int(pysrt.SubRipTime.from_string(value).ordinal)


def _vtt_time(value: str) -> int:
    return int(Timestamp.from_string(value).in_milliseconds())


def _timing(line: str, fmt: CaptionFormat) -> tuple[int, int] | str:
    """(start ms, end ms) of a timing line, or why it cannot be read (the parsers' own patterns decide)."""
    m = _TIMING.match(line)
    try:
        if m is None:
            raise ValueError("no start and end time around -->")
        if fmt == "srt":
            return _srt_time(m[1]), _srt_time(m[2])
        vtt = WebVTTCueBlock.CUE_TIMINGS_PATTERN.match(line)  # what webvtt-py accepts
        return (_vtt_time(vtt[1]), _vtt_time(vtt[2])) if vtt else (_vtt_time(m[1]), _vtt_time(m[2]))
    except (ValueError, pysrt.Error, MalformedCaptionError) as e:
        detail = f" ({e})" if str(e) else ""
        hint = "; WebVTT times take a full stop before the milliseconds" if fmt == "vtt" and "," in line else ""
        return f"timing line {line.strip()[:60]!r} cannot be read{detail}{hint}"


def _srt_blocks(body: str, notes: list[str]) -> list[_Block]:
    """Cue blocks of SRT text: each timing line and the text up to the next cue's number (or timing line)."""
    lines = body.splitlines()
    # a timing line starts with a time (even a broken one); "-->" inside dialogue text is text
    timing = [i for i, line in enumerate(lines) if "-->" in line and _STARTS_WITH_NUMBER.match(line)]
    if not timing and body.strip():
        raise CaptionFormatError("no cue timing line (00:00:01,000 --> 00:00:02,000) in the file")
    if timing and any(line.strip() and not line.strip().isdigit() for line in lines[: timing[0]]):
        notes.append(f"text before the first cue (line 1 to {timing[0]}) is not part of any cue: left out")
    blocks: list[_Block] = []
    for k, i in enumerate(timing):
        stop = timing[k + 1] if k + 1 < len(timing) else len(lines)
        text = lines[i + 1: stop]
        while text and not text[-1].strip():
            text.pop()
        if k + 1 < len(timing) and text and text[-1].strip().isdigit() and (len(text) == 1 or not text[-2].strip()):
            text.pop()  # the next cue's number
            while text and not text[-1].strip():
                text.pop()
        if any(not t.strip() for t in text):
            gap = next(j for j, t in enumerate(text) if not t.strip())
            notes.append(f"cue {k + 1}: text after a blank line (line {i + gap + 3}) is kept as part of the cue")
        parsed = _timing(lines[i], "srt")
        if isinstance(parsed, str):
            blocks.append(_Block(k + 1, i + 1, None, None, error=parsed))
        else:
            blocks.append(_Block(k + 1, i + 1, parsed[0], parsed[1], "\n".join(text)))
    return blocks


def _vtt_blocks(body: str, where: str, notes: list[str]) -> tuple[list[_Block], webvtt.WebVTT]:
    """Cue blocks of WebVTT text (webvtt-py reads them; blocks it skips are found by their timing lines)."""
    try:
        doc = webvtt.from_string(body)
    except (MalformedFileError, MalformedCaptionError) as e:
        raise CaptionFormatError(f"{where}: not valid WebVTT: {e}") from e
    captions = list(doc.captions)
    blocks: list[_Block] = []
    j = 0
    timing = [(i, line) for i, line in enumerate(body.splitlines()) if "-->" in line]
    for k, (i, line) in enumerate(timing, 1):
        parsed = _timing(line, "vtt")
        if isinstance(parsed, str):
            blocks.append(_Block(k, i + 1, None, None, error=parsed))
            continue
        c = captions[j] if j < len(captions) else None
        if c is None or (c.start_time.in_milliseconds(), c.end_time.in_milliseconds()) != parsed:
            blocks.append(_Block(k, i + 1, parsed[0], parsed[1], error="cue block cannot be read"))
            continue
        j += 1
        blocks.append(_Block(k, i + 1, parsed[0], parsed[1], "\n".join(c.lines), c.identifier or "",
                             str(c.settings)))
    n_notes = len(doc.header_comments) + len(doc.footer_comments) + sum(len(c.comments) for c in captions)
    if n_notes:
        notes.append(f"{n_notes} NOTE block(s) (comments) are not kept")
    notes.extend(f"header line {m!r} is not kept" for m in doc.metadata)
    return blocks, doc


def _settings_notes(cues: list[Cue], numbers: list[int], regions: set[str], notes: list[str]) -> None:
    """Note cue settings players ignore: not valid WebVTT, or naming an undefined region."""
    bad: dict[str, list[int]] = defaultdict(list)
    for cue, n in zip(cues, numbers, strict=True):
        for setting in cue.settings.split():
            try:
                CueSettings.from_string(setting, strict=True)
            except MalformedCaptionError:
                bad[f"cue setting {setting!r} is not valid WebVTT; players ignore it"].append(n)
                continue
            name, _, value = setting.partition(":")
            if name == "region" and value not in regions:
                bad[f"region {value!r} is not defined by a REGION block; players ignore the setting"].append(n)
    notes.extend(f"{_cue_list(nums)}: {msg}" for msg, nums in bad.items())


def _cue_list(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:5])) + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")
    return f"cue{'s' if len(numbers) > 1 else ''} {shown}"


def _with_settings(settings: str, extra: dict[str, str]) -> str:
    """``settings`` plus ``extra`` (from SSA alignment) for names it does not set itself."""
    have = {s.partition(":")[0] for s in settings.split()}
    return " ".join([*settings.split(), *(f"{k}:{v}" for k, v in extra.items() if k not in have)])


# -------------------------------------------------------------------------------------------------- parse
def parse_caption_file(
    text: str, fmt: CaptionFormat | None = None, *, name: str = "", kind: CueKind = "sound",
    encoding: str = "UTF-8",
) -> CaptionFile:
    """Parse caption text as players read it (see the module docstring).

    Parameters
    ----------
    text : the whole file as text.
    fmt : ``"vtt"``, ``"srt"``, or None to detect it.
    name : file name for messages and format detection.
    kind : the ``kind`` given to every cue.
    encoding : the encoding the text was decoded from, recorded in the result.

    Raises
    ------
    CaptionFormatError
        The text is not WebVTT/SRT at all.
    """
    fmt = fmt or detect_format(text, name)
    where = name or "captions"
    body = text.lstrip("\ufeff")
    notes: list[str] = []
    styles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    if fmt == "vtt":
        blocks, doc = _vtt_blocks(body, where, notes)
        styles = tuple(s.text for s in doc.styles)
        regions = tuple(str(r) for r in doc.regions)
    else:
        try:
            blocks = _srt_blocks(body, notes)
        except CaptionFormatError as e:
            raise CaptionFormatError(f"{where}: not valid SRT: {e}") from None
    cues: list[Cue] = []
    numbers: list[int] = []
    skipped: list[SkippedCue] = []
    dropped: dict[str, list[int]] = defaultdict(list)
    for b in blocks:
        if b.error or b.start_ms is None or b.end_ms is None:
            skipped.append(SkippedCue(b.number, b.line_no, b.start_ms, b.error))
            continue
        if b.end_ms <= b.start_ms:
            how = "zero length" if b.end_ms == b.start_ms else f"{(b.start_ms - b.end_ms) / 1000:.3f} s before"
            skipped.append(SkippedCue(b.number, b.line_no, b.start_ms, f"ends at or before it starts ({how})"))
            continue
        ct = parse_cue_text(b.text, fmt)
        cues.append(Cue(b.start_ms, b.end_ms, ct.lines, identifier=b.identifier,
                        settings=_with_settings(b.settings, ct.settings), kind=kind, markup=ct.markup))
        numbers.append(b.number)
        for what in ct.dropped:
            dropped[what].append(b.number)
    notes.extend(f"{_cue_list(nums)}: {what} removed (no WebVTT equivalent)" for what, nums in sorted(dropped.items()))
    if fmt == "vtt":
        _settings_notes(cues, numbers, {r.partition("id:")[2].split()[0] for r in regions if "id:" in r}, notes)
    return CaptionFile(tuple(cues), tuple(numbers), fmt, encoding, tuple(skipped), tuple(notes), styles, regions)


def parse_captions(
    text: str, fmt: CaptionFormat | None = None, *, name: str = "", kind: CueKind = "sound",
    strict: bool = True,
) -> list[Cue]:
    """Parse caption text into cues, in file order (parameters as :func:`parse_caption_file`).

    Parameters
    ----------
    strict : raise on any cue block players would skip; False leaves such blocks out with a logged warning
        naming each.

    Raises
    ------
    CaptionFormatError
        The text is not WebVTT/SRT, or (strict) a cue block cannot be read or ends at or before it starts.
    """
    doc = parse_caption_file(text, fmt, name=name, kind=kind)
    return _checked(doc, name or "captions", strict)


def _checked(doc: CaptionFile, where: str, strict: bool) -> list[Cue]:
    if doc.skipped and strict:
        raise CaptionFormatError(f"{where}: not valid {'WebVTT' if doc.format == 'vtt' else 'SRT'}: {doc.skipped[0]}")
    for s in doc.skipped:
        logger.warning("%s: %s; left out", where, s)
    return list(doc.cues)


# --------------------------------------------------------------------------------------------------- files
def read_caption_bytes(path: Path) -> bytes:
    """The bytes of a caption file; CaptionFormatError naming the problem if it is not a readable file.

    A FIFO or device is refused without opening it (reading one could wait forever), see
    :func:`captioning.paths.input_problem`.
    """
    problem = input_problem(path, "caption file")
    if problem is not None:
        raise CaptionFormatError(f"cannot read {path}: {problem}")
    try:
        size = path.stat().st_size
        if size > MAX_CAPTION_BYTES:
            raise CaptionFormatError(f"cannot read {path}: {size / 2**20:.0f} MB is too large for a caption file "
                                     f"(at most {MAX_CAPTION_BYTES // 2**20} MB)")
        return path.read_bytes()
    except OSError as e:  # it changed since it was checked
        raise CaptionFormatError(f"cannot read {path}: {e.strerror or e}") from e


def read_text(path: Path, encoding: str | None = None) -> str:
    """A caption file's text, in its detected encoding (see :func:`read_caption_file`)."""
    return decode_caption_bytes(read_caption_bytes(path), str(path), encoding)[0]


def read_caption_file(
    path: Path | str, fmt: CaptionFormat | None = None, *, kind: CueKind = "sound", encoding: str | None = None
) -> CaptionFile:
    """Read a WebVTT or SRT file as players read it (see :func:`parse_caption_file`).

    Parameters
    ----------
    path : the file.
    fmt : ``"vtt"``, ``"srt"``, or None to detect it.
    kind : the ``kind`` given to every cue.
    encoding : a Python codec name, or None to detect it (BOM, UTF-8, else charset-normalizer).

    Raises
    ------
    CaptionFormatError
        The file cannot be read, is not text, or is not WebVTT/SRT.
    """
    path = Path(path)
    text, used = decode_caption_bytes(read_caption_bytes(path), str(path), encoding)
    return parse_caption_file(text, fmt, name=str(path), kind=kind, encoding=used)


def read_captions(
    path: Path | str, fmt: CaptionFormat | None = None, *, kind: CueKind = "sound", strict: bool = True
) -> list[Cue]:
    """Read a WebVTT or SRT file into cues (see :func:`parse_captions`)."""
    return _checked(read_caption_file(path, fmt, kind=kind), str(path), strict)
