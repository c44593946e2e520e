"""Apple Core Haptics: an AHAP pattern (``haptics.ahap``), within Core Haptics' limits.

Transients become ``HapticTransient`` events; continuous cues become ``HapticContinuous`` events (at
most :data:`MAX_CONTINUOUS_S` each, so longer cues are split) whose loudness envelope is carried by
``HapticIntensityControl`` parameter curves of at most :data:`MAX_CONTROL_POINTS` points (longer curves are
chunked, consecutive chunks sharing their boundary point so the interpolation is unbroken).

A parameter curve scales *every* event playing while it is active, and its last value persists. So the
continuous cues that overlap are played as one *passage*: each of its events has the passage's peak
intensity, the curve follows the combined envelope divided by that peak, and is reset to 1 right after
the passage ends; a transient inside a passage has its intensity divided by the curve's value there, so it
is felt as strong as intended. The format is described in ``captioning/data/ahap.schema.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from captioning.haptics.mapping import simplify_envelope
from captioning.haptics.model import HapticCue, HapticTrack

#: Longest HapticContinuous event Core Haptics plays (s).
MAX_CONTINUOUS_S = 30.0
#: Most control points in one parameter curve.
MAX_CONTROL_POINTS = 16
#: The intensity control returns to 1 this long after a passage ends (s).
RESET_S = 0.001
#: Decimal places of times and values in the file (0.1 ms).
DECIMALS = 4


def to_ahap(track: HapticTrack) -> dict[str, Any]:
    """Render ``track`` as an AHAP pattern (a JSON-ready dict; write it with ``json.dump``).

    Returns:
        ``{"Version": 1.0, "Metadata": {...}, "Pattern": [...]}`` with entries sorted by time.
    """
    passages = _passages(track.continuous)
    entries: list[tuple[float, int, dict[str, Any]]] = []
    for cues, points in passages:
        peak = max(v for _, v in points) or 1.0
        for cue in cues:
            for t, d in _split(cue.time, cue.duration):
                entries.append((t, 1, _continuous(t, d, peak, cue.sharpness)))
        ratio = [(t, v / peak) for t, v in points]
        for chunk in _curve_chunks(ratio):
            entries.append((chunk[0][0], 2, _curve(chunk)))
    for cue in track.transients:
        intensity = _compensate(cue.intensity, cue.time, passages)
        entries.append((cue.time, 0, _event(cue.time, "HapticTransient", intensity, cue.sharpness)))
        if cue.duration > 2 * track.options.pulse_s:
            # Merged pulses fuse into a buzz: hold it for the cue's length after the tap.
            for t, d in _split(cue.time, cue.duration):
                entries.append((t, 1, _continuous(t, d, intensity, cue.sharpness)))
    entries.sort(key=lambda e: (e[0], e[1]))
    name = Path(track.source).name if track.source else "media"
    return {
        "Version": 1.0,
        "Metadata": {
            "Project": "soundcue",
            "Description": (
                f"Haptic cues for {name}: {len(track.transients)} transient, {len(track.continuous)} "
                f"continuous ({track.options.profile} profile)"
            ),
        },
        "Pattern": [e for _, _, e in entries],
    }


def _passages(cues: tuple[HapticCue, ...]) -> list[tuple[list[HapticCue], list[tuple[float, float]]]]:
    """Group overlapping continuous cues; each group with its combined envelope ``(abs time, level)``."""
    groups: list[list[HapticCue]] = []
    for cue in sorted(cues, key=lambda c: c.time):
        if groups and cue.time <= max(c.end for c in groups[-1]):
            groups[-1].append(cue)
        else:
            groups.append([cue])
    out = []
    for group in groups:
        times = sorted({round(c.time + t, 6) for c in group for t, _ in _points(c)})
        levels = [max(_value(c, t) for c in group) for t in times]
        tol = min(c.intensity for c in group) * 0.01
        out.append((group, list(simplify_envelope(list(zip(times, levels, strict=True)), tol))))
    return out


def _points(cue: HapticCue) -> tuple[tuple[float, float], ...]:
    return cue.envelope or ((0.0, cue.intensity), (cue.duration, cue.intensity))


def _value(cue: HapticCue, t: float) -> float:
    """Level of a continuous cue at absolute time ``t``, end point included (0 outside)."""
    if not cue.time - 1e-9 <= t <= cue.end + 1e-9:
        return 0.0
    pts = _points(cue)
    return float(np.interp(t - cue.time, [p[0] for p in pts], [p[1] for p in pts]))


def _compensate(
    intensity: float, t: float, passages: list[tuple[list[HapticCue], list[tuple[float, float]]]]
) -> float:
    """Transient intensity to write so that, scaled by the intensity curve active at ``t``, it is felt as
    ``intensity``."""
    for _cues, points in passages:
        start, end = points[0][0], points[-1][0]
        if start <= t <= end:
            peak = max(v for _, v in points) or 1.0
            ratio = float(np.interp(t, [p[0] for p in points], [p[1] for p in points])) / peak
            return 1.0 if ratio < 1e-3 else min(1.0, intensity / ratio)
    return intensity


def _split(time: float, duration: float) -> list[tuple[float, float]]:
    """``(start, duration)`` parts of at most MAX_CONTINUOUS_S seconds covering the span."""
    parts = []
    pos, end = time, time + duration
    while end - pos > 1e-9:
        d = min(MAX_CONTINUOUS_S, end - pos)
        parts.append((pos, d))
        pos += d
    return parts


def _curve_chunks(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Chunks of at most MAX_CONTROL_POINTS points, sharing boundary points, plus the reset to 1."""
    points = [*points, (points[-1][0] + RESET_S, 1.0)]
    chunks = []
    i = 0
    step = MAX_CONTROL_POINTS - 1
    while True:
        chunks.append(points[i:i + MAX_CONTROL_POINTS])
        if i + MAX_CONTROL_POINTS >= len(points):
            break
        i += step
    return chunks


def _param(pid: str, value: float) -> dict[str, Any]:
    return {"ParameterID": pid, "ParameterValue": round(min(1.0, max(0.0, value)), DECIMALS)}


def _event(time: float, kind: str, intensity: float, sharpness: float) -> dict[str, Any]:
    return {"Event": {
        "Time": round(time, DECIMALS),
        "EventType": kind,
        "EventParameters": [_param("HapticIntensity", intensity), _param("HapticSharpness", sharpness)],
    }}


def _continuous(time: float, duration: float, intensity: float, sharpness: float) -> dict[str, Any]:
    entry = _event(time, "HapticContinuous", intensity, sharpness)
    entry["Event"]["EventDuration"] = round(duration, DECIMALS)
    return entry


def _curve(points: list[tuple[float, float]]) -> dict[str, Any]:
    t0 = points[0][0]
    return {"ParameterCurve": {
        "ParameterID": "HapticIntensityControl",
        "Time": round(t0, DECIMALS),
        "ParameterCurveControlPoints": [
            {"Time": round(t - t0, DECIMALS), "ParameterValue": round(min(1.0, max(0.0, v)), DECIMALS)}
            for t, v in points
        ],
    }}
