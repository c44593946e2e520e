"""Apple Core Haptics: an AHAP pattern (``haptics.ahap``), within Core Haptics' limits.

Transients become ``HapticTransient`` events; continuous cues become ``HapticContinuous`` events (at
most :data:`MAX_CONTINUOUS_S` each, so longer cues are split) whose loudness envelope is carried by
``HapticIntensityControl`` parameter curves of at most :data:`MAX_CONTROL_POINTS` points (longer curves are
chunked, consecutive chunks sharing their boundary point so the interpolation is unbroken).

A parameter curve scales *every* event playing while it is active, and its last value persists. So the
continuous cues that overlap are played as one *passage*: each of its events has the passage's peak
intensity, the curve follows the combined envelope divided by that peak, and is reset to 1 right after
the passage ends. The curve scales taps as well: for the length of each tap inside a passage it is raised to
at least the tap's intensity, and the tap's intensity is divided by the curve's value there, so the tap is
felt as strong as intended (the buzz under it swells for those few ms). The format is described in
``captioning/data/ahap.schema.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
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
#: Offset of the extra control points that make a step (a cue starting or stopping) sharp (s).
EPS_S = 0.001
#: Decimal places of times and values in the file (0.1 ms).
DECIMALS = 4


def to_ahap(track: HapticTrack) -> dict[str, Any]:
    """Render ``track`` as an AHAP pattern (a JSON-ready dict; write it with ``json.dump``).

    Returns:
        ``{"Version": 1.0, "Metadata": {...}, "Pattern": [...]}`` with entries sorted by time.
    """
    passages = _passages(track)
    entries: list[tuple[float, int, dict[str, Any]]] = []
    for passage in passages:
        for cue in passage.cues:
            for t, d in _split(cue.time, cue.duration):
                entries.append((t, 1, _continuous(t, d, passage.peak, cue.sharpness)))
        for chunk in _curve_chunks(passage.curve):
            entries.append((chunk[0][0], 2, _curve(chunk)))
    for cue in track.transients:
        control = next((p.control_at(cue.time) for p in passages if p.start <= cue.time <= p.end), 1.0)
        # Written x control = felt; the control was raised to at least the tap's intensity (see _Passage).
        intensity = 1.0 if control < 1e-3 else min(1.0, cue.intensity / control)
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


@dataclass(frozen=True)
class _Passage:
    """Overlapping continuous cues played together under one intensity curve.

    Attributes:
        cues: the continuous cues.
        peak: the strongest combined level: every event of the passage is written at this intensity.
        curve: ``(absolute time s, multiplier 0..1)``: the combined envelope divided by ``peak``, raised to
            at least a tap's intensity for the length of each tap inside the passage (the curve scales
            taps too, and a tap can only be felt as strong as the curve lets it).
    """

    cues: list[HapticCue]
    peak: float
    curve: list[tuple[float, float]]

    @property
    def start(self) -> float:
        return self.curve[0][0]

    @property
    def end(self) -> float:
        return self.curve[-1][0]

    def control_at(self, t: float) -> float:
        return float(np.interp(t, [p[0] for p in self.curve], [p[1] for p in self.curve]))


def _passages(track: HapticTrack) -> list[_Passage]:
    groups: list[list[HapticCue]] = []
    for cue in sorted(track.continuous, key=lambda c: c.time):
        if groups and cue.time <= max(c.end for c in groups[-1]) + 2 * RESET_S:
            groups[-1].append(cue)
        else:
            groups.append([cue])
    out = []
    for group in groups:
        start, end = min(c.time for c in group), max(c.end for c in group)
        times = {c.time + t for c in group for t, _ in _points(c)}
        # Steps where a cue starts or stops inside the passage.
        times |= {t for c in group for t in (c.time - EPS_S, c.end + EPS_S) if start < t < end}
        ordered = sorted(round(t, 6) for t in times)
        levels = [max(_value(c, t) for c in group) for t in ordered]
        tol = min(c.intensity for c in group) * 0.01
        combined = simplify_envelope(list(zip(ordered, levels, strict=True)), tol)
        peak = max(v for _, v in combined) or 1.0
        ct, cv = [p[0] for p in combined], [p[1] / peak for p in combined]
        boosts = [(c.time, min(c.time + track.options.pulse_s, end), c.intensity)
                  for c in track.transients if start <= c.time <= end]
        boosts = [(a, b, level) for a, b, level in boosts
                  if level > min(float(np.interp(a, ct, cv)), float(np.interp(b, ct, cv)))]
        sample = {t for t, _ in combined}
        sample |= {t for a, b, _ in boosts for t in (a - EPS_S, a, b, b + EPS_S) if start <= t <= end}
        curve = []
        for t in sorted(sample):
            boost = max((level for a, b, level in boosts if a <= t <= b), default=0.0)
            curve.append((t, min(1.0, max(float(np.interp(t, ct, cv)), boost))))
        out.append(_Passage(cues=group, peak=peak, curve=curve))
    return out


def _points(cue: HapticCue) -> tuple[tuple[float, float], ...]:
    return cue.envelope or ((0.0, cue.intensity), (cue.duration, cue.intensity))


def _value(cue: HapticCue, t: float) -> float:
    """Level of a continuous cue at absolute time ``t``, end point included (0 outside)."""
    if not cue.time - 1e-9 <= t <= cue.end + 1e-9:
        return 0.0
    pts = _points(cue)
    return float(np.interp(t - cue.time, [p[0] for p in pts], [p[1] for p in pts]))


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
