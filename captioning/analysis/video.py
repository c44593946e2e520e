"""The visual side of the one decode pass: route each decoded frame to the frame analyzers that want it.

Each analyzer declares the frame rate it wants (``fps``; None: every decoded frame). It gets the first frame
at or after each tick of a regular ``1 / fps`` schedule (restarted after a gap in the frames), so a 30 fps
video gives a 2 fps classifier every 15th frame and a 25 fps one every 12th or 13th.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from captioning.analysis.types import FrameAnalyzer, SceneContext, ShotCut, VideoFrame, VisualOnset


@dataclass(frozen=True)
class VisualObservations:
    """What the frame analyzers saw in one video, times in media seconds.

    Attributes:
        cuts: shot cuts, in time order.
        onsets: visual sound onsets (impacts, footsteps, claps), in time order.
        scenes: one context per shot (or per stretch), in time order.
        frames: decoded frames seen.
    """

    cuts: tuple[ShotCut, ...] = ()
    onsets: tuple[VisualOnset, ...] = ()
    scenes: tuple[SceneContext, ...] = ()
    frames: int = 0

    def scene_at(self, t: float) -> SceneContext | None:
        """The scene context whose span holds ``t`` (None if there is none)."""
        return next((s for s in self.scenes if s.start <= t < s.end), self.scenes[-1] if self.scenes and
                    t >= self.scenes[-1].start else None)

    def shot_bounds(self, t: float) -> tuple[float, float]:
        """(start, end) of the shot holding ``t``, from the cuts (end inf after the last cut)."""
        start, end = 0.0, float("inf")
        for cut in self.cuts:
            if cut.t <= t:
                start = cut.t
            else:
                end = cut.t
                break
        return start, end


class FrameRouter:
    """Feeds frames to analyzers at their rates and gathers their observations by type."""

    def __init__(self, analyzers: Sequence[FrameAnalyzer[Any]]) -> None:
        self.analyzers = list(analyzers)
        self._due = [float("-inf")] * len(self.analyzers)
        self.frames = 0

    def push(self, frame: VideoFrame) -> None:
        self.frames += 1
        for k, a in enumerate(self.analyzers):
            if a.fps is None:
                a.push(frame)
                continue
            if frame.t + 1e-6 < self._due[k]:
                continue
            interval = 1.0 / a.fps
            # a regular schedule (0, 1/fps, 2/fps, ...), restarted after a gap in the frames
            due = self._due[k]
            self._due[k] = (due if frame.t - due < interval else frame.t) + interval
            a.push(frame)

    def close(self) -> None:
        """Stop the analyzers' threads without results (the input failed part way)."""
        for a in self.analyzers:
            if isinstance(a, ThreadedAnalyzer):
                a.close()

    def finish(self) -> VisualObservations:
        cuts: list[ShotCut] = []
        onsets: list[VisualOnset] = []
        scenes: list[SceneContext] = []
        for a in self.analyzers:
            for item in a.finish() or ():
                if isinstance(item, ShotCut):
                    cuts.append(item)
                elif isinstance(item, VisualOnset):
                    onsets.append(item)
                elif isinstance(item, SceneContext):
                    scenes.append(item)
        return VisualObservations(
            cuts=tuple(sorted(cuts, key=lambda c: c.t)), onsets=tuple(sorted(onsets, key=lambda o: o.t)),
            scenes=tuple(sorted(scenes, key=lambda s: s.start)), frames=self.frames)


T = TypeVar("T")
_DONE = object()


class ThreadedAnalyzer(Generic[T]):
    """Runs a slow frame analyzer (a network per frame) on its own thread, so the decode pass and the
    other analyzers use the second core meanwhile. Frames wait in a queue of at most ``backlog`` (memory stays
    bounded: a full queue makes the decoder wait). Results and errors come out of :meth:`finish`.
    """

    def __init__(self, inner: FrameAnalyzer[T], backlog: int = 16) -> None:
        self.inner = inner
        self.name = inner.name
        self.fps = inner.fps
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=backlog)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"analyzer-{inner.name}", daemon=True)
        self._thread.start()

    @property
    def version(self) -> str | None:
        return getattr(self.inner, "version", None)

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is _DONE:
                return
            if self._error is None:
                try:
                    self.inner.push(frame)
                except BaseException as e:  # handed to the caller in finish()
                    self._error = e

    def push(self, frame: VideoFrame) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(frame)

    def close(self) -> None:
        """Let the thread end once it has taken the frames already queued (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()

    def finish(self) -> T:
        self.close()
        if self._error is not None:
            raise self._error
        return self.inner.finish()
