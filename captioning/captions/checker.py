"""Check a caption track against a style's rules: usable on any WebVTT/SRT file, ours or not.

Rules reported (``Violation.rule``):
    empty            a cue with no text
    line_count       more lines than the style allows
    line_length      a line longer than the style allows (characters, spaces and brackets included)
    min_duration     on screen shorter than the style's minimum
    max_duration     on screen longer than the style's maximum
    reading_speed    more characters per second than the style allows (line breaks not counted)
    order            a cue starting before the previous one
    overlap          a cue starting before the previous one has ended
    gap              a gap shorter than ``min_gap_frames`` frames between two cues
    chaining         a gap longer than the minimum but at most ``chain_gap_s``: it should be closed
    duplicate_id     a WebVTT cue identifier used twice
    unreadable       a cue block players skip: its timing line cannot be read, or it ends at or before it
                     starts (zero length); named by its number and time like the others
    past_media_end   (only given the media's duration) a cue that ends after the media does: a caption cannot
                     outlast the programme. A cue ending with the media is not held to ``min_duration`` and
                     ``reading_speed``: those yield to the media's end (the caption builder cuts its last cue
                     there)

Cues are numbered by their position among the file's cue blocks (skipped blocks count), so a number points
at the same block in an editor whatever else is wrong. Text is measured as shown: markup, SSA override tags
(``{\\an8}``) and character references are not counted. Times in files are whole milliseconds, so
comparisons allow 1 ms of rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from captioning.captions.model import Cue, media_end_ms
from captioning.captions.reader import CaptionFile, parse_caption_file, read_caption_file
from captioning.captions.styles import StyleProfile, get_style
from captioning.errors import InvalidOptionsError

#: Rounding allowance in ms (files carry milliseconds; frame-based limits are not whole ms).
TOLERANCE_MS = 1


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes:
        rule: rule name (see the module docstring).
        index: 1-based position of the cue in the file (SRT numbering).
        start: the cue's start in seconds.
        message: what is wrong, for a person.
    """

    rule: str
    index: int
    start: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "index": self.index, "start": self.start, "message": self.message}


@dataclass(frozen=True)
class CheckReport:
    """What checking a caption file found.

    Attributes:
        violations: the broken rules, in cue order.
        format: ``"vtt"`` or ``"srt"``.
        encoding: the text encoding the file was read in, e.g. ``"Windows-1252"``.
        n_cues: cues players show.
        notes: what was read but is not applied or not kept (see
            :attr:`~captioning.captions.reader.CaptionFile.notes`); not violations.
    """

    violations: tuple[Violation, ...]
    format: str
    encoding: str
    n_cues: int
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "encoding": self.encoding, "cues": self.n_cues, "notes": list(self.notes),
                "violations": [v.to_dict() for v in self.violations]}


def check_cues(cues: Sequence[Cue], style: str | StyleProfile = "netflix", *,
               frame_rate: float = 25.0, numbers: Sequence[int] | None = None,
               media_duration: float | None = None) -> list[Violation]:
    """Every rule of ``style`` that ``cues`` (in file order) break, in cue order.

    Parameters
    ----------
    cues : the track, in file order.
    style : style profile or its name.
    frame_rate : video frames per second, for the minimum gap of ``min_gap_frames`` frames.
    numbers : each cue's number in its file for messages (default: 1, 2, ...).
    media_duration : the media's duration in seconds (:attr:`~captioning.events.MediaInfo.duration`, from
        media time 0), for ``past_media_end``; None (or 0, unknown) checks the track alone.
    """
    s = get_style(style)
    if not frame_rate > 0:
        raise InvalidOptionsError(f"frame_rate must be above 0 frames per second, got {frame_rate}")
    gap_min = s.min_gap_frames * 1000 / frame_rate
    end_ms = media_end_ms(media_duration)
    out: list[Violation] = []
    ids: set[str] = set()
    numbers = numbers or range(1, len(cues) + 1)
    for i, cue in enumerate(cues):
        n = numbers[i]

        def add(rule: str, msg: str, cue: Cue = cue, n: int = n) -> None:
            out.append(Violation(rule, n, cue.start, f"cue {n} at {cue.start:.3f} s: {msg}"))

        if cue.identifier:
            if cue.identifier in ids:
                add("duplicate_id", f"identifier {cue.identifier!r} used before")
            ids.add(cue.identifier)
        if not cue.text.strip():
            add("empty", "no text")
        if len(cue.lines) > s.max_lines:
            add("line_count", f"{len(cue.lines)} lines (at most {s.max_lines})")
        for line in cue.lines:
            if len(line.text) > s.max_chars_per_line:
                add("line_length",
                    f"{len(line.text)} characters in {line.text!r} (at most {s.max_chars_per_line})")
        dur = cue.duration_ms
        # a cue ending with the media could not stay longer: its minimum duration and reading time yield
        cut_by_end = end_ms is not None and abs(cue.end_ms - end_ms) <= TOLERANCE_MS
        if end_ms is not None and cue.end_ms > end_ms + TOLERANCE_MS:
            where = "starts at or after" if cue.start_ms >= end_ms else f"ends at {cue.end:.3f} s, after"
            add("past_media_end", f"{where} the media's end ({end_ms / 1000:.3f} s)")
        if dur + TOLERANCE_MS < s.min_duration_s * 1000 and not cut_by_end:
            add("min_duration", f"on screen {dur / 1000:.3f} s (at least {s.min_duration_s:.3f} s)")
        if dur - TOLERANCE_MS > s.max_duration_s * 1000:
            add("max_duration", f"on screen {dur / 1000:.3f} s (at most {s.max_duration_s:.3f} s)")
        cps = cue.n_chars * 1000 / dur
        if cue.n_chars > s.max_chars_per_s * (dur + TOLERANCE_MS) / 1000 and not cut_by_end:
            add("reading_speed", f"{cps:.1f} characters/s (at most {s.max_chars_per_s:g})")
        if i == 0:
            continue
        prev, p = cues[i - 1], numbers[i - 1]
        g = cue.start_ms - prev.end_ms
        if cue.start_ms < prev.start_ms:
            add("order", f"starts before cue {p} ({prev.start:.3f} s)")
        elif g < 0:
            add("overlap", f"starts {-g / 1000:.3f} s before cue {p} ends")
        elif g + TOLERANCE_MS < gap_min:
            add("gap", f"{g} ms after cue {p} (at least {s.min_gap_frames} frames, {gap_min:.0f} ms)")
        elif gap_min + TOLERANCE_MS < g <= s.chain_gap_s * 1000:
            add("chaining", f"{g} ms after cue {p}: gaps up to {s.chain_gap_s:g} s should be closed "
                            f"to {s.min_gap_frames} frames")
    return out


def check_file(source: Path | str, style: str | StyleProfile = "netflix", *, frame_rate: float = 25.0,
               encoding: str | None = None) -> CheckReport:
    """Check a caption file (a :class:`~pathlib.Path`, or a ``str`` path) or caption text.

    A ``str`` holding ``-->`` or starting with ``WEBVTT`` is taken as caption text, any other ``str`` as
    a path. The file is read as players read it: each cue block they skip is an ``unreadable`` violation
    naming the cue, and the rest is checked.

    Parameters
    ----------
    source : the file or the text.
    style : style profile or its name.
    frame_rate : video frames per second, for the minimum gap of ``min_gap_frames`` frames.
    encoding : a Python codec name for the file, or None to detect it.

    Raises
    ------
    CaptionFormatError
        The file cannot be read or is not WebVTT/SRT.
    InvalidOptionsError
        Unknown style or bad frame rate.
    """
    get_style(style)
    doc: CaptionFile
    if isinstance(source, str) and ("-->" in source or source.lstrip("\ufeff").startswith("WEBVTT")):
        doc = parse_caption_file(source)
    else:
        doc = read_caption_file(Path(source), encoding=encoding)
    found = check_cues(doc.cues, style, frame_rate=frame_rate, numbers=doc.numbers)
    found += [Violation("unreadable", s.number, (s.start_ms or 0) / 1000,
                        f"{s}; players skip it") for s in doc.skipped]
    found.sort(key=lambda v: v.index)
    return CheckReport(tuple(found), doc.format, doc.encoding, len(doc.cues), doc.notes)


def check_captions(source: Path | str, style: str | StyleProfile = "netflix", *,
                   frame_rate: float = 25.0) -> list[Violation]:
    """The violations :func:`check_file` finds in a caption file or caption text.

    Raises:
        CaptionFormatError: the file cannot be read or is not WebVTT/SRT.
        InvalidOptionsError: unknown style.
    """
    return list(check_file(source, style, frame_rate=frame_rate).violations)
