"""The frame analyzers one video gets, built fresh per input (they hold per-video state)."""

from __future__ import annotations

from typing import Any

from captioning.analysis.motion import MotionOnsetDetector
from captioning.analysis.pose import PoseStepDetector
from captioning.analysis.scene import SceneClassifier
from captioning.analysis.shots import ShotDetector
from captioning.analysis.types import FrameAnalyzer
from captioning.analysis.video import ThreadedAnalyzer


def build(analysis_fps: float, duration_s: float | None = None) -> list[FrameAnalyzer[Any]]:
    """Shot cuts, motion onsets (every frame), pose (footsteps, claps) at ``analysis_fps`` on its own thread,
    scene classes per shot. The models load on first use.

    Raises:
        ModelLoadError: a visual model's package is missing (when its analyzer first needs it).
    """
    return [
        ShotDetector(),
        MotionOnsetDetector(),
        ThreadedAnalyzer(PoseStepDetector(fps=analysis_fps)),
        SceneClassifier(duration_s=duration_s),
    ]
