"""Event lists and options for the Foley engine tests (issue 11)."""

from __future__ import annotations

from collections.abc import Sequence

from captioning.events import Analysis, MediaInfo, SoundEvent, sort_events
from captioning.foley import FoleyOptions


def analysis(events: Sequence[SoundEvent], duration: float) -> Analysis:
    """An analysis of a ``duration`` s clip holding ``events`` (sorted, ids assigned)."""
    return Analysis(media=MediaInfo(path="/media/clip.mp4", duration=duration, format="mp4"),
                    events=sort_events(events))


def opts(**kw: object) -> FoleyOptions:
    """Foley options for a test: the one-shot cache off (every take synthesized) unless asked for."""
    kw.setdefault("enable_cache", False)
    return FoleyOptions(**kw)  # type: ignore[arg-type]
