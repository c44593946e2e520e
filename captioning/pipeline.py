"""Source -> media -> analyzers -> detection -> Analysis. (Work in progress: see issue 2.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from captioning.events import Analysis
from captioning.progress import ProgressHook


@dataclass(frozen=True)
class AnalysisOptions:
    """What to detect. Units are in the field names.

    Attributes:
        min_confidence: events below this confidence are dropped from the result (0 keeps all).
        ambience: report steady backgrounds (wind, rain, birdsong) as one background event each.
        visual: detect sounds from the pictures (not implemented yet; True raises InvalidOptionsError).
        max_duration_s: refuse media longer than this (None: no limit).
    """

    min_confidence: float = 0.0
    ambience: bool = True
    visual: bool = False
    max_duration_s: float | None = None


def analyze(
    source: str | Path,
    options: AnalysisOptions | None = None,
    *,
    hook: ProgressHook | None = None,
) -> Analysis:
    """Analyse one media file into an :class:`Analysis` (events sorted by start).

    Raises:
        MediaError: the file is missing, not media, truncated, or has no audio stream.
        InvalidOptionsError: an option is out of range or not implemented.
    """
    raise NotImplementedError
