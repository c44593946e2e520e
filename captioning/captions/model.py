"""Caption cues as frozen values: what the builder makes, the writers write and the reader returns."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from captioning.events import SoundEvent

CueKind = Literal["sound", "dialogue"]
ReviewReason = Literal["low_confidence", "crowded", "after_end"]


def media_end_ms(duration_s: float | None) -> int | None:
    """The media's end in whole ms of media time, the latest a cue may end (no caption outlasts the programme).

    ``duration_s`` is :attr:`~captioning.events.MediaInfo.duration`: seconds from media time 0, where cue times
    count from, to the media's end. Rounded down, so a cue ending on it never ends after the media does. None
    when the duration is unknown (None, 0 or less, not finite).
    """
    if duration_s is None or not math.isfinite(duration_s) or duration_s <= 0:
        return None
    return math.floor(duration_s * 1000 + 1e-6)


#: A time after any media, ms: the limit on cue ends when the media's duration is unknown.
NEVER_MS = 2**62


def cue_end_limit_ms(duration_s: float | None) -> int:
    """:func:`media_end_ms`, or :data:`NEVER_MS` (no limit) when the duration is unknown."""
    end = media_end_ms(duration_s)
    return NEVER_MS if end is None else end


@dataclass(frozen=True)
class CueLine:
    """One line of cue text, plain (no markup, no entities).

    Attributes:
        text: the characters shown.
        italic: shown in italics (``<i>`` in WebVTT and SRT).
    """

    text: str
    italic: bool = False


@dataclass(frozen=True)
class Cue:
    """One caption cue. Times are whole milliseconds of media time, as caption files carry them.

    Attributes:
        start_ms: when the cue appears, ms.
        end_ms: when it disappears, ms (``end_ms > start_ms``).
        lines: the text lines, top to bottom.
        identifier: WebVTT cue identifier (unique within a track), "" for none.
        settings: WebVTT cue settings, e.g. ``"position:10% align:left"``, "" for none.
        event_ids: ids of the sound events the cue describes.
        kind: ``"sound"`` or ``"dialogue"`` (cues read from a dialogue track).
        markup: the lines as WebVTT cue text, when a file's cue carries formatting the plain ``lines`` lose
            (voice, class, bold, partial italics); ``()`` to write ``lines``. Only the reader sets it.
    """

    start_ms: int
    end_ms: int
    lines: tuple[CueLine, ...]
    identifier: str = ""
    settings: str = ""
    event_ids: tuple[str, ...] = ()
    kind: CueKind = "sound"
    markup: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.start_ms < self.end_ms:
            raise ValueError(f"cue needs 0 <= start_ms < end_ms, got {self.start_ms}..{self.end_ms}")

    @property
    def start(self) -> float:
        """Start in seconds."""
        return self.start_ms / 1000

    @property
    def end(self) -> float:
        """End in seconds."""
        return self.end_ms / 1000

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def text(self) -> str:
        """Plain text, lines joined with ``\\n``."""
        return "\n".join(line.text for line in self.lines)

    @property
    def n_chars(self) -> int:
        """Characters shown, spaces and brackets included, line breaks not (as reading speed counts)."""
        return sum(len(line.text) for line in self.lines)


@dataclass(frozen=True)
class ReviewItem:
    """An event a person should look at: left out of the track, or included despite low confidence.

    Attributes:
        event: the sound event.
        reason: ``"low_confidence"`` (below ``min_confidence``), ``"crowded"`` (no room on screen within
            the style's delay limit, or none before the media ends) or ``"after_end"`` (its cue would start at or
            after the media's end).
        included: True if the event is in the caption track anyway.
    """

    event: SoundEvent
    reason: ReviewReason
    included: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "included": self.included, "event": self.event.to_dict()}


@dataclass(frozen=True)
class CueTrack:
    """A built sound-caption track plus its review list.

    Attributes:
        cues: sorted by start, non-overlapping.
        review: events for a person to check, sorted by start.
        style: the style profile name the track follows.
    """

    cues: tuple[Cue, ...]
    review: tuple[ReviewItem, ...] = ()
    style: str = "netflix"
