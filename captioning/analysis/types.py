"""The typed observations that analyzers yield and detection reads. Times are seconds of media time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

#: Frames reach the analyzers downscaled so that their short side is at most this many pixels.
ANALYSIS_SHORT_SIDE = 256

D = TypeVar("D")


@dataclass(frozen=True)
class VideoFrame:
    """One decoded picture on the media timeline.

    Attributes:
        index: position in the decoded sequence (0, 1, ...), not a container frame number.
        t: presentation time of the frame, seconds of media time (see :class:`captioning.events.MediaInfo`).
        rgb: shape=(height, width, 3) uint8, downscaled so the short side is <= ANALYSIS_SHORT_SIDE, upright
            (the stream's rotation already applied).

    Pictures derived from ``rgb`` that several analyzers read (a smaller copy, a shot signature) are made once
    per frame through :meth:`derived`.
    """

    index: int
    t: float
    rgb: np.ndarray
    _derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def derived(self, key: str, make: Callable[[VideoFrame], D]) -> D:
        """``make(self)``, computed on the first call for ``key`` and shared by later callers (the frame's
        analyzers on one thread; a second thread asking at the same moment computes it once more)."""
        if key not in self._derived:
            self._derived[key] = make(self)
        value: D = self._derived[key]
        return value


@dataclass(frozen=True)
class ShotCut:
    """A cut between two shots at ``t`` (the first frame of the new shot); ``strength`` 0..1."""

    t: float
    strength: float


@dataclass(frozen=True)
class VisualOnset:
    """A moment the pictures show a sound being made.

    Attributes:
        t: media time of the contact (s), interpolated between frames where the motion allows.
        kind: "impact" (a moving region stops or reverses abruptly: a hit, a drop, a slam), "footstep"
            (a heel strike), "clap" (two hands meet), "contact" (a hand meets an object).
        x: horizontal position of the contact on screen, 0 (left edge) .. 1 (right edge).
        y: vertical position, 0 (top) .. 1 (bottom).
        strength: how hard, 0..1 (from the speed lost at the contact).
        confidence: 0..1, how sure the analyzer is that this is a contact.
        analyzer: name of the analyzer that saw it ("motion", "pose").
        track: an identifier of the moving thing (a person, a region) when the analyzer tracks one, else None.
    """

    t: float
    kind: str
    x: float
    y: float
    strength: float
    confidence: float
    analyzer: str
    track: int | None = None


@dataclass(frozen=True)
class SceneContext:
    """What a shot shows, from frame classification.

    Attributes:
        start, end: the shot's span (s).
        classes: the best ImageNet classes over the shot, (name, mean probability), best first.
        labels: vocabulary labels the picture makes likely (e.g. "weights_drop", "chopping"), (label, weight
            0..1), best first; from the ImageNet -> vocabulary table.
        materials: likely materials of what is hit ("metal", "wood", "glass", ...), (material, weight).
        ambience: the vocabulary label of the ambience bed that fits the scene ("street", "forest", ...), or
            None.
        ambience_weight: the score of that bed, 0..1 (0 when ``ambience`` is None).
    """

    start: float
    end: float
    classes: tuple[tuple[str, float], ...]
    labels: tuple[tuple[str, float], ...] = ()
    materials: tuple[tuple[str, float], ...] = ()
    ambience: str | None = None
    ambience_weight: float = 0.0


T_co = TypeVar("T_co", covariant=True)


class FrameAnalyzer(Protocol[T_co]):
    """An analyzer of video frames. ``fps``: the frame rate it wants (None: every decoded frame)."""

    name: str
    fps: float | None

    def push(self, frame: VideoFrame) -> None: ...

    def finish(self) -> T_co: ...
