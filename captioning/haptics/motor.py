"""The single vibration motor's view of a track: cues mixed onto a millisecond grid, then run-length coded.

Android's waveform and the Web Vibration API drive one motor with a list of durations, so overlapping
cues are mixed by taking the strongest at each millisecond. Long tracks are split into chunks that start
at a given media time, at silent gaps only, so a player can schedule (and re-schedule after a seek) each
chunk on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from captioning.events import ENVELOPE_RATE_HZ
from captioning.haptics.model import HapticCue, HapticTrack

#: Grid rate of the motor timeline (one sample per millisecond).
GRID_HZ = 1000
#: Continuous envelopes are held for this long between updates (ms), the rate of the event envelopes.
HOLD_MS = 1000 // ENVELOPE_RATE_HZ
#: On motors without amplitude control, continuous cues vibrate only where their level reaches this.
MIN_LEVEL = 0.2


@dataclass(frozen=True)
class MotorGrid:
    """Cues mixed per millisecond. Arrays have shape ``(n_ms,)``; index ``k`` is media time ``k`` ms.

    Attributes:
        level: float32 0..1, the strongest cue (transient or continuous) at each millisecond.
        continuous: float32 0..1, the strongest continuous cue.
        transient: bool, inside a transient pulse.
        passage: bool, inside a continuous cue (where the motor should duck, never stop).
    """

    level: np.ndarray
    continuous: np.ndarray
    transient: np.ndarray
    passage: np.ndarray

    @property
    def n_ms(self) -> int:
        return int(self.level.size)


@dataclass(frozen=True)
class Chunk:
    """A piece of the motor timeline to start at ``start_ms`` of media time.

    Attributes:
        start_ms: media time of the first entry (always an "on" entry).
        entries: ``(duration_ms, value)`` pairs; value 0 is "off".
    """

    start_ms: int
    entries: tuple[tuple[int, int], ...]

    @property
    def duration_ms(self) -> int:
        return sum(d for d, _ in self.entries)


def motor_grid(track: HapticTrack) -> MotorGrid:
    """Mix every cue of ``track`` onto a 1 ms grid spanning ``track.end``."""
    n = int(np.ceil(track.end * GRID_HZ)) + 1
    level = np.zeros(n, dtype=np.float32)
    continuous = np.zeros(n, dtype=np.float32)
    transient = np.zeros(n, dtype=bool)
    passage = np.zeros(n, dtype=bool)
    for cue in track.cues:
        lo, hi = _span_ms(cue)
        if hi <= lo:
            continue
        if cue.kind == "transient":
            transient[lo:hi] = True
            np.maximum(level[lo:hi], cue.intensity, out=level[lo:hi])
            continue
        passage[lo:hi] = True
        values = _held_envelope(cue, hi - lo)
        np.maximum(continuous[lo:hi], values, out=continuous[lo:hi])
        np.maximum(level[lo:hi], values, out=level[lo:hi])
    return MotorGrid(level=level, continuous=continuous, transient=transient, passage=passage)


def on_mask(grid: MotorGrid, min_pulse_ms: int) -> np.ndarray:
    """On/off view for motors without amplitude control: shape ``(n_ms,)`` bool.

    Transients always vibrate; continuous cues only where their level is at least :data:`MIN_LEVEL` (a
    faint rain bed at full strength would be a nuisance). Pauses shorter than ``min_pulse_ms`` between
    vibrations are filled and vibrations are stretched to at least ``min_pulse_ms``.
    """
    out: np.ndarray = grid.transient | (grid.continuous >= MIN_LEVEL)
    runs = run_lengths(out.astype(np.int8))
    for i, (start, length, value) in enumerate(runs):
        if value == 0 and 0 < i < len(runs) - 1 and length < min_pulse_ms:
            out[start:start + length] = True
    for start, length, value in run_lengths(out.astype(np.int8)):
        if value == 1 and length < min_pulse_ms:
            out[start:start + min_pulse_ms] = True
    return out


def run_lengths(values: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal integer values: ``(start_index, length, value)``, covering the whole array."""
    if values.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [values.size]])
    return [(int(s), int(e - s), int(values[s])) for s, e in zip(starts, ends, strict=True)]


def chunk_runs(
    runs: Sequence[tuple[int, int, int]], *, gap_ms: int, max_entries: int | None = None
) -> list[Chunk]:
    """Group runs into chunks that start with an "on" run and end with one.

    A new chunk starts after any "off" run of at least ``gap_ms`` and whenever the next "on" run would
    make the chunk longer than ``max_entries`` entries (the off run before it is then dropped: the next
    chunk's ``start_ms`` carries the timing instead).
    """
    chunks: list[Chunk] = []
    start: int | None = None
    entries: list[tuple[int, int]] = []

    def close() -> None:
        while entries and entries[-1][1] == 0:
            entries.pop()
        if start is not None and entries:
            chunks.append(Chunk(start_ms=start, entries=tuple(entries)))
        entries.clear()

    for run_start, length, value in runs:
        if value == 0:
            if start is None:
                continue
            if length >= gap_ms:
                close()
                start = None
                continue
            entries.append((length, 0))
            continue
        if start is not None and max_entries is not None and len(entries) + 1 > max_entries:
            close()
            start = None
        if start is None:
            start = run_start
        entries.append((length, value))
    close()
    return chunks


def _span_ms(cue: HapticCue) -> tuple[int, int]:
    lo = int(round(cue.time * GRID_HZ))
    return lo, lo + max(1, int(round(cue.duration * GRID_HZ)))


def _held_envelope(cue: HapticCue, n_ms: int) -> np.ndarray:
    """The cue's envelope sampled every HOLD_MS ms and held in between: shape ``(n_ms,)`` float32."""
    if not cue.envelope:
        return np.full(n_ms, cue.intensity, dtype=np.float32)
    t_s = np.asarray([p[0] for p in cue.envelope])
    v = np.asarray([p[1] for p in cue.envelope])
    held_ms = (np.arange(n_ms) // HOLD_MS) * HOLD_MS
    out: np.ndarray = np.interp(held_ms / GRID_HZ, t_s, v).astype(np.float32)
    return out
