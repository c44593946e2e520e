"""Web Vibration API: timed ``navigator.vibrate(pattern)`` chunks.

A pattern alternates vibrate/pause durations in ms, starting with a vibration. Browsers cap a pattern at
:data:`MAX_ENTRIES` entries and each entry at :data:`MAX_ENTRY_MS` (Chromium truncates longer ones), so the
track is split into chunks, each to be started at its ``start_ms`` of media time; a vibration longer than
10 s is written as 10 s pieces joined by 0 ms pauses. The API has no amplitude: transients always vibrate,
continuous cues only where their level reaches
:data:`~captioning.haptics.motor.MIN_LEVEL`. A player calls ``navigator.vibrate(0)``
on pause or seek and restarts from the next chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from captioning.haptics.model import CUE_FORMAT_VERSION, HapticTrack
from captioning.haptics.motor import chunk_runs, motor_grid, on_mask, run_lengths

#: Most entries a pattern may have.
MAX_ENTRIES = 99
#: Longest single entry (ms).
MAX_ENTRY_MS = 10_000
#: Silent gaps at least this long (ms) start a new chunk.
CHUNK_GAP_MS = 1000


def to_web(track: HapticTrack) -> dict[str, Any]:
    """Render ``track`` as ``navigator.vibrate`` pattern chunks.

    Returns:
        JSON-ready dict; ``chunks`` is a list of ``{"start_ms", "pattern"}`` with an odd number of at most
        99 entries, each at most 10 000 ms, starting and ending with a vibration.
    """
    on = on_mask(motor_grid(track), track.options.min_pulse_ms)
    runs: list[tuple[int, int, int]] = []
    for start, length, value in run_lengths(on.astype(np.int8)):
        if value == 0:
            runs.append((start, length, 0))
            continue
        # Split long vibrations into MAX_ENTRY_MS pieces joined by 0 ms pauses.
        pos = start
        while pos < start + length:
            piece = min(MAX_ENTRY_MS, start + length - pos)
            if pos > start:
                runs.append((pos, 0, 0))
            runs.append((pos, piece, 1))
            pos += piece
    chunks = chunk_runs(runs, gap_ms=CHUNK_GAP_MS, max_entries=MAX_ENTRIES)
    return {
        "format": "soundcue-haptics-web",
        "version": CUE_FORMAT_VERSION,
        "duration_ms": int(round(track.duration * 1000)),
        "limits": {"max_entries": MAX_ENTRIES, "max_entry_ms": MAX_ENTRY_MS},
        "chunks": [{"start_ms": c.start_ms, "pattern": [d for d, _ in c.entries]} for c in chunks],
    }
