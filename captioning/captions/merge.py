"""Merge sound cues into an existing dialogue track: one SDH track where no sound cue overlaps dialogue.

Dialogue cues keep their text and (unless a sound interrupts them) their timing. Each sound cue is placed,
in order of preference:

1. where it is, if it touches no dialogue cue (keeping the style's minimum gap);
2. in the first free time after its sound, no later than the style's ``max_delay_s``, shortened to what
   it needs (minimum duration, reading speed) if the next dialogue comes soon;
3. interrupting the dialogue cue it falls into: that cue is cut at the sound (if it has been up long
   enough to be read), the sound gets its own cue, and the dialogue comes back after it if enough of it
   remains;
4. else it is left out of the combined track (it stays in the sounds-only track).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from captioning.captions.model import Cue
from captioning.captions.options import CaptionOptions
from captioning.captions.styles import StyleProfile


def _free(t0: int, t1: int, busy: list[Cue], gap: int) -> bool:
    return all(c.end_ms + gap <= t0 or c.start_ms >= t1 + gap for c in busy)


def _next_start(t: int, busy: list[Cue]) -> int | None:
    later = [c.start_ms for c in busy if c.start_ms >= t]
    return min(later) if later else None


def _place(sound: Cue, busy: list[Cue], style: StyleProfile, gap: int) -> Cue | None:
    need = style.need_ms(sound.n_chars)
    latest = sound.start_ms + round(style.max_delay_s * 1000)
    after = sorted(c.end_ms + gap for c in busy if sound.start_ms < c.end_ms + gap <= latest)
    candidates = [sound.start_ms, *after]
    for t in candidates:
        if not _free(t, t + need, busy, gap):
            continue
        want = max(t + need, min(sound.end_ms, t + style.max_duration_ms))
        nxt = _next_start(t + need, busy)
        end = want if nxt is None else max(t + need, min(want, nxt - gap))
        return dataclasses.replace(sound, start_ms=t, end_ms=end)
    return None


def _interrupt(sound: Cue, busy: list[Cue], style: StyleProfile, gap: int) -> tuple[Cue, list[Cue]] | None:
    """Cut the dialogue cue the sound falls into; returns (sound cue, new busy list) or None."""
    t = sound.start_ms
    need = style.need_ms(sound.n_chars)
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
    dialogue: Sequence[Cue], sounds: Sequence[Cue], options: CaptionOptions | None = None
) -> list[Cue]:
    """One SDH track: ``dialogue`` cues plus the ``sounds`` cues placed so they never overlap dialogue.

    Parameters
    ----------
    dialogue : cues read from the dialogue file (any order; they may overlap each other).
    sounds : the sound-caption cues (from :func:`~captioning.captions.cues.build_cues`).
    options : the style and frame rate (minimum gap) to follow.

    Returns
    -------
    list[Cue]
        Sorted by start; identifiers renumbered ``d0001``/``s0002``.. so they stay unique.
    """
    options = options or CaptionOptions()
    style = options.profile
    gap = style.min_gap_ms(options.frame_rate)
    busy = [dataclasses.replace(c, kind="dialogue") for c in dialogue]
    for sound in sorted(sounds, key=lambda c: c.start_ms):
        placed = _place(sound, busy, style, gap)
        if placed is None:
            result = _interrupt(sound, busy, style, gap)
            if result is None:
                continue
            placed, busy = result
        busy.append(placed)
    merged = sorted(busy, key=lambda c: (c.start_ms, c.end_ms))
    merged = _chain_sounds(merged, style, gap)
    return [dataclasses.replace(c, identifier=f"{c.kind[0]}{i:04d}") for i, c in enumerate(merged, 1)]


def _chain_sounds(cues: list[Cue], style: StyleProfile, gap: int) -> list[Cue]:
    """Close (or widen) short gaps after sound cues, as the builder does; dialogue timing is left alone."""
    out = list(cues)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        g = b.start_ms - a.end_ms
        if a.kind != "sound" or not gap < g <= style.chain_gap_ms:
            continue
        if b.start_ms - gap - a.start_ms <= style.max_duration_ms:
            out[i] = dataclasses.replace(a, end_ms=b.start_ms - gap)
        elif b.start_ms - style.chain_gap_ms - 1 - a.start_ms >= style.need_ms(a.n_chars):
            out[i] = dataclasses.replace(a, end_ms=b.start_ms - style.chain_gap_ms - 1)
    return out
