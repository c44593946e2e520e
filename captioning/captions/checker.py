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
    unreadable       cue blocks a player would skip (malformed timing, end before start); index 0

Times in files are whole milliseconds, so comparisons allow 1 ms of rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from captioning.captions.model import Cue
from captioning.captions.reader import parse_lenient, read_text
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


def check_cues(cues: list[Cue] | tuple[Cue, ...], style: str | StyleProfile = "netflix", *,
               frame_rate: float = 25.0) -> list[Violation]:
    """Every rule of ``style`` that ``cues`` (in file order) break, in cue order.

    Parameters
    ----------
    cues : the track, in file order.
    style : style profile or its name.
    frame_rate : video frames per second, for the minimum gap of ``min_gap_frames`` frames.
    """
    s = get_style(style)
    if not frame_rate > 0:
        raise InvalidOptionsError(f"frame_rate must be above 0 frames per second, got {frame_rate}")
    gap_min = s.min_gap_frames * 1000 / frame_rate
    out: list[Violation] = []
    ids: set[str] = set()
    for i, cue in enumerate(cues):
        n = i + 1

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
        if dur + TOLERANCE_MS < s.min_duration_s * 1000:
            add("min_duration", f"on screen {dur / 1000:.3f} s (at least {s.min_duration_s:.3f} s)")
        if dur - TOLERANCE_MS > s.max_duration_s * 1000:
            add("max_duration", f"on screen {dur / 1000:.3f} s (at most {s.max_duration_s:.3f} s)")
        cps = cue.n_chars * 1000 / dur
        if cue.n_chars > s.max_chars_per_s * (dur + TOLERANCE_MS) / 1000:
            add("reading_speed", f"{cps:.1f} characters/s (at most {s.max_chars_per_s:g})")
        if i == 0:
            continue
        prev = cues[i - 1]
        g = cue.start_ms - prev.end_ms
        if cue.start_ms < prev.start_ms:
            add("order", f"starts before cue {n - 1} ({prev.start:.3f} s)")
        elif g < 0:
            add("overlap", f"starts {-g / 1000:.3f} s before cue {n - 1} ends")
        elif g + TOLERANCE_MS < gap_min:
            add("gap", f"{g} ms after cue {n - 1} (at least {s.min_gap_frames} frames, {gap_min:.0f} ms)")
        elif gap_min + TOLERANCE_MS < g <= s.chain_gap_s * 1000:
            add("chaining", f"{g} ms after cue {n - 1}: gaps up to {s.chain_gap_s:g} s should be closed "
                            f"to {s.min_gap_frames} frames")
    return out


def check_captions(source: Path | str, style: str | StyleProfile = "netflix", *,
                   frame_rate: float = 25.0) -> list[Violation]:
    """Check a caption file (a :class:`~pathlib.Path`, or a ``str`` path) or caption text.

    A ``str`` holding ``-->`` or starting with ``WEBVTT`` is taken as caption text, any other ``str`` as
    a path.

    Cue blocks a player would skip are reported as one ``unreadable`` violation; the rest is checked.

    Raises:
        CaptionFormatError: the file cannot be read or is not WebVTT/SRT.
        InvalidOptionsError: unknown style.
    """
    get_style(style)
    if isinstance(source, str) and ("-->" in source or source.lstrip("\ufeff").startswith("WEBVTT")):
        cues, skipped = parse_lenient(source)
    else:
        cues, skipped = parse_lenient(read_text(Path(source)), name=str(source))
    found = check_cues(cues, style, frame_rate=frame_rate)
    if skipped:
        msg = f"{skipped} cue block(s) cannot be read (malformed timing or end before start)"
        found.insert(0, Violation("unreadable", 0, 0.0, msg))
    return found
