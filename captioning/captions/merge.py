"""Merge sound cues into an existing dialogue track: one SDH track where no sound cue overlaps dialogue.

Dialogue cues keep their text and their timing, unless a sound interrupts them or chaining (below) keeps
them up a little longer. Each sound cue is placed, in order of preference:

1. where it is, if it touches no dialogue cue (keeping the style's minimum gap);
2. in the first free time after its sound, no later than the style's ``max_delay_s``, shortened to what
   it needs (minimum duration, reading speed) if the next dialogue comes soon;
3. interrupting the dialogue cue it falls into: that cue is cut at the sound (if it has been up long
   enough to be read), the sound gets its own cue, and the dialogue comes back after it if enough of it
   remains;
4. else it is left out of the combined track (it stays in the sounds-only track).

Then the whole track is chained as the style asks (:func:`_chain`): a gap of ``chain_gap_s`` or less after
any cue, dialogue or sound, is closed to the minimum gap by keeping the earlier cue up longer (or widened
past ``chain_gap_s`` where that would pass ``max_duration_s``). Dialogue keeps its text, its start and its
WebVTT identifier (made unique if an interrupted cue is split), so the combined track passes the style's
checker wherever the dialogue file itself does (its own short gaps get chained too).

Given the media's duration, no cue of the combined track ends after the media does, as in the sound track
(:func:`~captioning.captions.cues.build_cues`): a sound cue placed near the end keeps what is left of the
media rather than its minimum duration, one that could only start at or after the end is left out, and a
dialogue cue running past the end is cut there (one starting at or after it is left out, with a warning).

:func:`read_dialogue` reads the dialogue file as players do: cue blocks they skip (a zero-length cue, say)
are left out with a warning naming each, and the encoding is logged.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

from captioning.captions.model import Cue, cue_end_limit_ms
from captioning.captions.options import CaptionOptions
from captioning.captions.reader import CaptionFile, read_caption_file
from captioning.captions.styles import StyleProfile

logger = logging.getLogger("captioning")


def _free(t0: int, t1: int, busy: list[Cue], gap: int) -> bool:
    return all(c.end_ms + gap <= t0 or c.start_ms >= t1 + gap for c in busy)


def _next_start(t: int, busy: list[Cue]) -> int | None:
    later = [c.start_ms for c in busy if c.start_ms >= t]
    return min(later) if later else None


def _place(sound: Cue, busy: list[Cue], style: StyleProfile, gap: int, end_ms: int) -> Cue | None:
    latest = min(sound.start_ms + round(style.max_delay_s * 1000), end_ms - 1)
    after = sorted(c.end_ms + gap for c in busy if sound.start_ms < c.end_ms + gap <= latest)
    candidates = [sound.start_ms, *after] if sound.start_ms < end_ms else []
    for t in candidates:
        need_end = min(t + style.need_ms(sound.n_chars), end_ms)  # the media's end cuts the need short
        if not _free(t, need_end, busy, gap):
            continue
        want = max(need_end, min(sound.end_ms, t + style.max_duration_ms, end_ms))
        nxt = _next_start(need_end, busy)
        end = want if nxt is None else max(need_end, min(want, nxt - gap))
        return dataclasses.replace(sound, start_ms=t, end_ms=end)
    return None


def _interrupt(sound: Cue, busy: list[Cue], style: StyleProfile, gap: int,
               end_ms: int) -> tuple[Cue, list[Cue]] | None:
    """Cut the dialogue cue the sound falls into; returns (sound cue, new busy list) or None."""
    t = sound.start_ms
    if t >= end_ms:
        return None
    need = min(style.need_ms(sound.n_chars), end_ms - t)  # the media's end cuts the need short
    host = next((c for c in busy if c.kind == "dialogue" and c.start_ms < t < c.end_ms), None)
    if host is None:
        return None
    host_need = min(style.need_ms(host.n_chars), host.duration_ms)
    if host.start_ms + host_need + gap > t:
        return None  # the dialogue has not been up long enough to be read
    others = [c for c in busy if c is not host]
    if not _free(t, t + need, others, gap):
        return None
    placed = dataclasses.replace(sound, end_ms=t + need)
    new_busy = [*others, dataclasses.replace(host, end_ms=t - gap)]
    rest = t + need + gap
    if host.end_ms - rest >= style.min_duration_ms and _free(rest, host.end_ms, others, gap):
        new_busy.append(dataclasses.replace(host, start_ms=rest))
    return placed, new_busy


def merge_dialogue(
    dialogue: Sequence[Cue], sounds: Sequence[Cue], options: CaptionOptions | None = None, *,
    media_duration: float | None = None,
) -> list[Cue]:
    """One SDH track: ``dialogue`` cues plus the ``sounds`` cues placed so they never overlap dialogue.

    Parameters
    ----------
    dialogue : cues read from the dialogue file (any order; they may overlap each other).
    sounds : the sound-caption cues (from :func:`~captioning.captions.cues.build_cues`).
    options : the style and frame rate (minimum gap) to follow.
    media_duration : the media's duration in seconds (:attr:`~captioning.events.MediaInfo.duration`): no
        cue ends after it (see the module docstring); None (or 0, unknown) for no limit.

    Returns
    -------
    list[Cue]
        Sorted by start and chained (see the module docstring); dialogue cues keep their identifiers, others
        are numbered ``d0001``/``s0002``..; every identifier is unique.
    """
    options = options or CaptionOptions()
    style = options.profile
    gap = style.min_gap_ms(options.fps)
    end_ms = cue_end_limit_ms(media_duration)
    late = sum(c.start_ms >= end_ms for c in dialogue)
    cut = sum(c.start_ms < end_ms < c.end_ms for c in dialogue)
    if late or cut:
        logger.warning("dialogue: %d cue(s) run past the media's end (%.3f s): %d cut there, %d starting at or "
                       "after it left out of the SDH track", late + cut, end_ms / 1000, cut, late)
    busy = [dataclasses.replace(c, kind="dialogue", end_ms=min(c.end_ms, end_ms))
            for c in dialogue if c.start_ms < end_ms]
    for sound in sorted(sounds, key=lambda c: c.start_ms):
        placed = _place(sound, busy, style, gap, end_ms)
        if placed is None:
            result = _interrupt(sound, busy, style, gap, end_ms)
            if result is None:
                continue
            placed, busy = result
        busy.append(placed)
    merged = _chain(sorted(busy, key=lambda c: (c.start_ms, c.end_ms)), style, gap)
    return _identify(merged)


def _chain(cues: list[Cue], style: StyleProfile, gap: int) -> list[Cue]:
    """Close (or widen) gaps of ``chain_gap_s`` or less after every cue, as the builder does for its own.

    The sound builder chains its cues, but in the combined track dialogue cues sit between them: a sound
    starting 0.1-0.5 s after a line of dialogue, or a "continues" cue landing on the first frame after it,
    left a gap the checker reports as ``chaining``. The earlier cue (dialogue or sound) stays up until the
    minimum gap before the next; where that would pass ``max_duration_s`` it ends just over ``chain_gap_s``
    before it instead, if it keeps its reading time (else the gap stays, as in the dialogue file).
    """
    out = list(cues)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        if not gap < b.start_ms - a.end_ms <= style.chain_gap_ms:
            continue
        if b.start_ms - gap - a.start_ms <= style.max_duration_ms:
            out[i] = dataclasses.replace(a, end_ms=b.start_ms - gap)
        elif b.start_ms - style.chain_gap_ms - 1 - a.start_ms >= style.need_ms(a.n_chars):
            out[i] = dataclasses.replace(a, end_ms=b.start_ms - style.chain_gap_ms - 1)
    return out


def _identify(cues: list[Cue]) -> list[Cue]:
    """Unique identifiers: a dialogue cue keeps its own (``intro``, then ``intro-2`` for its second part)."""
    used: set[str] = set()
    out = []
    for i, c in enumerate(cues, 1):
        base = c.identifier if c.kind == "dialogue" and c.identifier else f"{c.kind[0]}{i:04d}"
        ident, k = base, 2
        while ident in used:
            ident, k = f"{base}-{k}", k + 1
        used.add(ident)
        out.append(dataclasses.replace(c, identifier=ident))
    return out


def read_dialogue(path: Path | str) -> CaptionFile:
    """Read a dialogue WebVTT/SRT file to merge, logging what the merge leaves out or cannot apply.

    The encoding is logged (as a warning unless the file is UTF-8: a detected code page is a guess); each
    cue block players skip (zero length, ends before it starts, unreadable timing) gets a warning naming
    its number and time and is left out, as is a cue with no visible text; so does each note (formatting
    with no WebVTT equivalent...).

    Raises:
        CaptionFormatError: the file cannot be read, is not text or is not WebVTT/SRT.
    """
    doc = read_caption_file(path, kind="dialogue")
    plain = doc.encoding in ("UTF-8", "UTF-8 with BOM")
    (logger.info if plain else logger.warning)(
        "%s: dialogue read as %s%s (%d cues)", path, doc.encoding, "" if plain else " (detected, not UTF-8)",
        len(doc.cues))
    for skipped in doc.skipped:
        logger.warning("%s: %s; left out of the SDH track", path, skipped)
    for note in doc.notes:
        logger.warning("%s: %s", path, note)
    kept = []
    for cue, n in zip(doc.cues, doc.numbers, strict=True):
        if cue.text.strip():
            kept.append((cue, n))
        else:  # e.g. a cue holding only "{\an8}": it would take screen time and show nothing
            logger.warning("%s: cue %d at %.3f s: no text; left out of the SDH track", path, n, cue.start)
    if len(kept) < len(doc.cues):
        doc = dataclasses.replace(doc, cues=tuple(c for c, _ in kept), numbers=tuple(n for _, n in kept))
    if not doc.cues:
        logger.warning("%s: no dialogue cue to merge; the SDH track has the sound cues only", path)
    return doc
