"""Analyzers: each reads one decoded stream (audio chunks or video frames) and yields timestamped observations.

One decode pass (:mod:`captioning.media`) feeds every analyzer at once; detection (:mod:`captioning.detection`)
reads the observations, never the media. Frame analyzers follow :class:`FrameAnalyzer`: the pipeline calls
``push`` for each frame at (about) the analyzer's ``fps`` and ``finish`` once at the end. They keep bounded
state (a few frames, running statistics): a 1-hour video must not be held in memory.

Observation types live in :mod:`captioning.analysis.types`.
"""

from captioning.analysis.types import FrameAnalyzer, SceneContext, ShotCut, VideoFrame, VisualOnset

__all__ = ["FrameAnalyzer", "SceneContext", "ShotCut", "VideoFrame", "VisualOnset"]
