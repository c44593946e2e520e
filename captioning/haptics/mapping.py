"""Event list -> haptic cues, from the sound itself (loudness, envelope, spectral centroid).

Rules (issue 5):

* Abrupt sounds (slams, shots, claps, footsteps) become transients at the event onset; an abrupt sound
  whose level stays up (an explosion's rumble) also gets a continuous tail cue.
* Sustained sounds (engine, rain, music, alarm) become continuous cues following the event's loudness
  envelope (one value every 50 ms), thinned to the few control points that keep its shape.
* Intensity is perceptual: the square root of the amplitude normalised between a floor
  (``dynamic_range_db`` below the reference) and the reference (the loudest event's peak).
* Sharpness comes from the spectral centroid of the event's audio (log-frequency, 100 Hz dull .. 8 kHz
  crisp); visual-only events fall back to the vocabulary's haptic recipe, then to their category/kind.
* Transients whose onsets are closer than ``merge_gap_ms`` fuse in touch and are merged; no pulse is
  shorter than ``min_pulse_ms``; a global ceiling clips every intensity; the "calm" profile keeps only
  salient events.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from captioning.events import ENVELOPE_RATE_HZ, Analysis, SoundEvent
from captioning.haptics.model import HapticCue, HapticOptions, HapticTrack
from captioning.vocabulary import Vocabulary, load_vocabulary

logger = logging.getLogger("captioning")

#: Spectral centroids mapped to sharpness 0 and 1 (Hz); log-frequency in between.
DULL_HZ = 100.0
CRISP_HZ = 8000.0

#: (intensity, sharpness) recipe per category for labels missing from the vocabulary.
CATEGORY_RECIPES: Mapping[str, tuple[float, float]] = {
    "impact": (0.9, 0.6),
    "explosion": (1.0, 0.2),
    "footsteps": (0.5, 0.4),
    "tools": (0.6, 0.7),
    "household": (0.5, 0.6),
    "mechanical": (0.5, 0.6),
    "vehicle": (0.6, 0.2),
    "alarm": (0.7, 0.9),
    "music": (0.4, 0.4),
    "ambience": (0.3, 0.3),
    "weather": (0.4, 0.3),
    "water": (0.4, 0.4),
    "animal": (0.5, 0.5),
    "voice": (0.5, 0.5),
    "human": (0.5, 0.5),
}
#: Last resort (intensity, sharpness) by event kind.
KIND_RECIPES: Mapping[str, tuple[float, float]] = {"abrupt": (0.7, 0.6), "sustained": (0.4, 0.4)}


def render_haptics(
    analysis: Analysis,
    options: HapticOptions | Mapping[str, Any] | None = None,
    *,
    vocabulary: Vocabulary | None = None,
) -> HapticTrack:
    """Render the haptic cues of an analysis (pure: same input, same track).

    Parameters:
        analysis: the analysed media and its sound events.
        options: :class:`HapticOptions` or a dict of overrides (None: defaults).
        vocabulary: haptic recipes for events without audio (None: the packaged vocabulary).

    Returns:
        The track, cues sorted by time; transients start exactly at their event's onset.

    Raises:
        InvalidOptionsError: an option is out of range.
    """
    opts = HapticOptions.coerce(options)
    vocab = vocabulary if vocabulary is not None else _packaged_vocabulary()
    ref_db = reference_level(analysis.events, opts)
    transients: list[HapticCue] = []
    continuous: list[HapticCue] = []
    for event in analysis.events:
        if opts.profile == "calm" and not is_salient(event, ref_db, opts):
            continue
        for cue in _event_cues(event, ref_db, opts, vocab):
            (transients if cue.kind == "transient" else continuous).append(cue)
    cues = [*merge_transients(transients, opts), *continuous]
    cues.sort(key=lambda c: (c.time, c.kind != "transient", c.event_id))
    return HapticTrack(cues=tuple(cues), duration=analysis.media.duration, options=opts,
                       source=analysis.media.path)


def reference_level(events: Sequence[SoundEvent], options: HapticOptions) -> float:
    """The level (dBFS) that maps to full intensity: the loudest audio event's peak, floored."""
    levels = [_event_peak_db(e) for e in events if _has_audio(e)]
    finite = [v for v in levels if math.isfinite(v)]
    return max([options.min_reference_dbfs, *finite])


def is_salient(event: SoundEvent, ref_db: float, options: HapticOptions) -> bool:
    """A foreground, confident event whose peak is within ``salient_range_db`` of the reference.

    Visual-only events have no level and are judged on confidence alone.
    """
    if event.background or event.confidence < options.salient_confidence:
        return False
    if not _has_audio(event):
        return True
    return _event_peak_db(event) >= ref_db - options.salient_range_db


def loudness_to_intensity(level_db: Any, ref_db: float, dynamic_range_db: float) -> Any:
    """Perceptual intensity 0..1 of a level in dBFS: ``sqrt`` of the amplitude normalised to the range.

    Parameters:
        level_db: scalar or array of levels in dBFS.
        ref_db: level mapped to 1.0 (dBFS).
        dynamic_range_db: levels this far below ``ref_db`` (or lower) map to 0.

    Returns:
        float or ``np.ndarray`` (same shape as ``level_db``) in 0..1.
    """
    floor = 10.0 ** (-dynamic_range_db / 20.0)
    with np.errstate(invalid="ignore", over="ignore"):
        amp = np.power(10.0, (np.asarray(level_db, dtype=np.float64) - ref_db) / 20.0)
    norm = np.clip((np.nan_to_num(amp, nan=0.0) - floor) / (1.0 - floor), 0.0, 1.0)
    out = np.sqrt(norm)
    return float(out) if out.ndim == 0 else out


def centroid_to_sharpness(centroid_hz: float) -> float:
    """Sharpness 0..1 from a spectral centroid: log-frequency between DULL_HZ and CRISP_HZ."""
    pos = math.log(max(centroid_hz, 1.0) / DULL_HZ) / math.log(CRISP_HZ / DULL_HZ)
    return min(1.0, max(0.0, pos))


def merge_transients(transients: Sequence[HapticCue], options: HapticOptions) -> list[HapticCue]:
    """Merge transients whose onsets are closer than ``merge_gap_ms`` (they fuse in touch).

    A merged cue keeps the first onset and the first event, takes the strongest intensity (and that
    pulse's sharpness), lists the other events in ``merged_ids`` and lasts until the last pulse ends.
    """
    gap_s = options.merge_gap_ms / 1000.0
    out: list[HapticCue] = []
    group: list[HapticCue] = []

    def flush() -> None:
        if not group:
            return
        first, strongest = group[0], max(group, key=lambda c: c.intensity)
        end = max(c.end for c in group)
        out.append(HapticCue(
            time=first.time, duration=end - first.time, kind="transient", intensity=strongest.intensity,
            sharpness=strongest.sharpness, event_id=first.event_id, label=first.label,
            caption=first.caption, merged_ids=tuple(i for c in group for i in c.event_ids)[1:],
        ))
        group.clear()

    for cue in sorted(transients, key=lambda c: c.time):
        if group and cue.time - group[-1].time >= gap_s:
            flush()
        group.append(cue)
    flush()
    return out


# -- one event ----------------------------------------------------------------------------------------


def _event_cues(event: SoundEvent, ref_db: float, opts: HapticOptions, vocab: Vocabulary) -> list[HapticCue]:
    recipe_intensity, recipe_sharpness = _recipe(event, vocab)
    sharpness = centroid_to_sharpness(event.centroid_hz) if event.centroid_hz else recipe_sharpness
    scale = opts.background_scale if event.background else 1.0
    cont_scale = scale * (opts.calm_continuous_scale if opts.profile == "calm" else 1.0)
    audio = _has_audio(event)
    cues: list[HapticCue] = []
    if event.kind == "abrupt":
        level = (
            loudness_to_intensity(_event_peak_db(event), ref_db, opts.dynamic_range_db)
            if audio else recipe_intensity
        )
        intensity = min(opts.ceiling, level * scale)
        if intensity >= opts.min_intensity:
            cues.append(HapticCue(time=event.start, duration=opts.pulse_s, kind="transient",
                                  intensity=intensity, sharpness=sharpness, event_id=event.id,
                                  label=event.label, caption=event.caption))
        tail = _tail(event, ref_db, opts, cont_scale, sharpness) if audio else None
        if tail is not None:
            cues.append(tail)
        return cues
    if audio and event.envelope:
        points = _envelope_points(event, ref_db, opts, cont_scale, offset_s=0.0)
    else:
        level = recipe_intensity
        if audio:
            level = loudness_to_intensity(event.loudness, ref_db, opts.dynamic_range_db)
        value = min(opts.ceiling, level * cont_scale)
        duration = max(event.duration, opts.min_pulse_ms / 1000.0)
        points = ((0.0, value), (duration, value))
    peak = max(v for _, v in points)
    if peak < opts.min_intensity:
        return cues
    cues.append(HapticCue(time=event.start, duration=points[-1][0], kind="continuous", intensity=peak,
                          sharpness=sharpness, envelope=points, event_id=event.id, label=event.label,
                          caption=event.caption))
    return cues


def _tail(
    event: SoundEvent, ref_db: float, opts: HapticOptions, scale: float, sharpness: float
) -> HapticCue | None:
    """A continuous cue for the part of an abrupt sound that stays loud after its onset pulse."""
    env = np.asarray(event.envelope, dtype=np.float64)
    if env.size == 0:
        return None
    peak_idx = int(np.argmax(env))
    loud = env >= env[peak_idx] - opts.tail_drop_db
    last = peak_idx
    while last + 1 < env.size and loud[last + 1]:
        last += 1
    tail_end = min(event.duration, (last + 1) / ENVELOPE_RATE_HZ)
    start = opts.pulse_s
    if tail_end - start < opts.tail_min_s:
        return None
    points = _envelope_points(event, ref_db, opts, scale, offset_s=start, end_s=tail_end)
    peak = max(v for _, v in points)
    if peak < opts.min_intensity:
        return None
    return HapticCue(time=event.start + start, duration=points[-1][0], kind="continuous", intensity=peak,
                     sharpness=sharpness, event_id=event.id, label=event.label, caption=event.caption,
                     envelope=points)


def _envelope_points(
    event: SoundEvent, ref_db: float, opts: HapticOptions, scale: float, *, offset_s: float,
    end_s: float | None = None,
) -> tuple[tuple[float, float], ...]:
    """Envelope control points ``(offset from offset_s, intensity)`` from ``offset_s`` to ``end_s``."""
    end = event.duration if end_s is None else end_s
    end = max(end, offset_s + opts.min_pulse_ms / 1000.0)
    env = np.asarray(event.envelope, dtype=np.float64)  # (n,) dBFS every 1/ENVELOPE_RATE_HZ s
    times = np.arange(env.size) / ENVELOPE_RATE_HZ
    levels = np.minimum(opts.ceiling, loudness_to_intensity(env, ref_db, opts.dynamic_range_db) * scale)
    grid = np.concatenate([[offset_s], times[(times > offset_s) & (times < end)], [end]])
    values = np.interp(grid, times, levels)
    return simplify_envelope(
        [(round(float(t - offset_s), 4), round(float(v), 4)) for t, v in zip(grid, values, strict=True)],
        opts.envelope_tolerance,
    )


def simplify_envelope(
    points: Sequence[tuple[float, float]], tolerance: float
) -> tuple[tuple[float, float], ...]:
    """Drop control points that linear interpolation recovers within ``tolerance`` (Douglas-Peucker).

    The first and last points are always kept, so the envelope still spans the whole cue.
    """
    if len(points) <= 2:
        return tuple(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        lo, hi = stack.pop()
        (t0, v0), (t1, v1) = points[lo], points[hi]
        worst, worst_err = -1, tolerance
        for i in range(lo + 1, hi):
            t, v = points[i]
            expected = v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
            if abs(v - expected) > worst_err:
                worst, worst_err = i, abs(v - expected)
        if worst >= 0:
            keep[worst] = True
            stack += [(lo, worst), (worst, hi)]
    return tuple(p for p, k in zip(points, keep, strict=True) if k)


def _recipe(event: SoundEvent, vocab: Vocabulary) -> tuple[float, float]:
    if event.label in vocab:
        entry = vocab[event.label]
        return entry.haptic_intensity, entry.haptic_sharpness
    return CATEGORY_RECIPES.get(event.category, KIND_RECIPES.get(event.kind, (0.5, 0.5)))


def _has_audio(event: SoundEvent) -> bool:
    return event.source != "visual" and math.isfinite(event.loudness)


def _event_peak_db(event: SoundEvent) -> float:
    if event.peak_loudness is not None and math.isfinite(event.peak_loudness):
        return event.peak_loudness
    if event.envelope:
        return max(event.loudness, max(event.envelope))
    return event.loudness


def _packaged_vocabulary() -> Vocabulary:
    try:
        return load_vocabulary()
    except (OSError, ValueError) as e:
        # Tolerated: events then fall back to category/kind recipes (and most have audio anyway).
        logger.warning("haptics: vocabulary unavailable (%s); using category recipes", e)
        return Vocabulary([])
