"""Android vibration: ``VibrationEffect.createWaveform`` chunks and a primitives composition.

``waveforms``: each chunk is ``createWaveform(timings, amplitudes, -1)`` to start at ``start_ms`` of media
time; timings in ms, amplitudes 0..255 (0 = motor off). Inside a continuous passage the amplitude never
drops to 0, only ducks to 1: restarting a stopped motor costs latency, and a continuous sound does not stop.
``on_off`` is each chunk as ``createWaveform(timings, -1)`` (off, on, off, ... ms) for motors without
amplitude control, where weak continuous cues are left out (see :func:`~captioning.haptics.motor.on_mask`).

``compositions``: for devices that support primitives (API 30+, ``Vibrator.arePrimitivesSupported``),
``VibrationEffect.startComposition().addPrimitive(id, scale, delay_ms)`` per entry. Android's delay counts
from the end of the previous primitive, and primitive durations vary by device: ``delay_ms`` assumes
:data:`ASSUMED_PRIMITIVE_MS` (echoed in the output), and ``offset_ms`` (from the chunk start) lets a player
recompute delays with ``Vibrator.getPrimitiveDurations``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from captioning.haptics.model import CUE_FORMAT_VERSION, HapticCue, HapticTrack
from captioning.haptics.motor import Chunk, chunk_runs, motor_grid, on_mask, run_lengths

#: Silent gaps at least this long (ms) start a new chunk.
CHUNK_GAP_MS = 1000
#: Largest amplitude ``VibrationEffect`` accepts.
MAX_AMPLITUDE = 255
#: The composition primitives we use (``VibrationEffect.Composition.PRIMITIVE_*``).
PRIMITIVES: tuple[str, ...] = ("CLICK", "THUD", "TICK", "LOW_TICK", "QUICK_RISE", "SLOW_RISE", "QUICK_FALL",
                               "SPIN")
#: Nominal primitive durations in ms assumed for ``delay_ms``; real ones come from the device.
ASSUMED_PRIMITIVE_MS: dict[str, int] = {
    "CLICK": 20, "THUD": 60, "TICK": 10, "LOW_TICK": 15,
    "QUICK_RISE": 150, "SLOW_RISE": 500, "QUICK_FALL": 100, "SPIN": 150,
}
#: Transients at least this strong use the heavier primitives (CLICK, THUD), weaker ones the ticks.
STRONG = 0.5
#: Transients at least this sharp use CLICK/TICK, duller ones THUD/LOW_TICK.
SHARP = 0.5


def to_android(track: HapticTrack) -> dict[str, Any]:
    """Render ``track`` for Android's Vibrator API (see the module docstring for how to play it).

    Returns:
        JSON-ready dict with ``waveforms`` (chunks of ``timings``/``amplitudes``/``on_off``) and
        ``compositions`` (chunks of primitives with ``scale`` 0..1 and ``delay_ms``).
    """
    grid = motor_grid(track)
    amplitudes = np.rint(grid.level * MAX_AMPLITUDE).astype(np.int32)
    amplitudes[(grid.level > 0) & (amplitudes == 0)] = 1
    # Duck, never stop, inside a continuous passage (issue 5).
    amplitudes[grid.passage & (amplitudes == 0)] = 1
    chunks = chunk_runs(run_lengths(amplitudes), gap_ms=CHUNK_GAP_MS)
    on = on_mask(grid, track.options.min_pulse_ms)
    return {
        "format": "soundcue-haptics-android",
        "version": CUE_FORMAT_VERSION,
        "duration_ms": int(round(track.duration * 1000)),
        "waveforms": [_waveform(c, on) for c in chunks],
        "compositions": _compositions(track.cues, chunks),
        "assumed_primitive_ms": dict(ASSUMED_PRIMITIVE_MS),
    }


def _waveform(chunk: Chunk, on: np.ndarray) -> dict[str, Any]:
    timings = [d for d, _ in chunk.entries]
    amplitudes = [a for _, a in chunk.entries]
    # Without amplitude control: createWaveform(timings, repeat) alternates off, on, off, ... from an
    # initial off entry, so lead with the wait before the first vibration (often 0 ms).
    on_off: list[int] = []
    span = on[chunk.start_ms:chunk.start_ms + chunk.duration_ms].astype(np.int8)
    for _, length, value in run_lengths(span):
        if not on_off and value == 1:
            on_off.append(0)
        on_off.append(length)
    if len(on_off) % 2 == 1:
        on_off.pop()  # a trailing pause plays nothing
    return {"start_ms": chunk.start_ms, "timings": timings, "amplitudes": amplitudes, "repeat": -1,
            "on_off": on_off}


def primitive_for(cue: HapticCue) -> str:
    """The composition primitive that best renders a cue's onset."""
    if cue.kind == "continuous":
        rise_s = next((t for t, v in cue.envelope if v >= 0.9 * cue.intensity), 0.0)
        return "QUICK_RISE" if rise_s < 0.2 else "SLOW_RISE"
    if cue.intensity >= STRONG:
        return "CLICK" if cue.sharpness >= SHARP else "THUD"
    return "TICK" if cue.sharpness >= SHARP else "LOW_TICK"


def _compositions(cues: tuple[HapticCue, ...], chunks: list[Chunk]) -> list[dict[str, Any]]:
    """One composition per waveform chunk: each cue's onset primitive (and a fall at a long cue's end)."""
    out = []
    for chunk in chunks:
        lo, hi = chunk.start_ms, chunk.start_ms + chunk.duration_ms
        items: list[tuple[int, str, float]] = []
        for cue in cues:
            t = int(round(cue.time * 1000))
            if not lo <= t < hi:
                continue
            items.append((t, primitive_for(cue), cue.intensity))
            if cue.kind == "continuous" and cue.duration >= 1.0:
                end_value = cue.envelope[-1][1] if cue.envelope else cue.intensity
                fall_t = int(round(cue.end * 1000)) - ASSUMED_PRIMITIVE_MS["QUICK_FALL"]
                items.append((fall_t, "QUICK_FALL", max(end_value, 0.1)))
        items.sort()
        prims = []
        cursor = lo
        for t, name, scale in items:
            prims.append({"primitive": name, "scale": round(min(1.0, scale), 3), "offset_ms": t - lo,
                          "delay_ms": max(0, t - cursor)})
            cursor = max(cursor, t) + ASSUMED_PRIMITIVE_MS[name]
        out.append({"start_ms": lo, "primitives": prims})
    return out
