"""Render an Analysis into a Foley track (issue 11). Interface fixed; the synthesis engine fills it in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from captioning.events import Analysis
from captioning.foley.options import FoleyOptions


def write_foley(analysis: Analysis, path: Path, options: FoleyOptions | None = None, *,
                progress: Callable[[float], None] | None = None) -> Path:
    """Render ``analysis`` into an audio file at ``path``, exactly ``analysis.media.duration`` seconds long.

    Parameters:
        analysis: the event list and media info (the track spans media time 0 .. ``media.duration``).
        path: where to write (atomically); its suffix should match ``options.audio_format``
            (``.wav``, ``.mp3``, ``.m4a`` for AAC).
        options: Foley options (None: defaults: 48 kHz stereo 16-bit WAV, realistic, -16 LUFS, -1 dBTP).
        progress: called with the fraction of media time rendered, 0..1.

    Returns:
        ``path``.
    """
    raise NotImplementedError("the Foley synthesis engine is being built (issue 11)")
