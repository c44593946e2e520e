"""The frame analyzers one video gets, built fresh per input (they hold per-video state)."""

from __future__ import annotations

import logging
from typing import Any

from captioning.analysis.types import FrameAnalyzer

logger = logging.getLogger("captioning")


def build(analysis_fps: float) -> list[FrameAnalyzer[Any]]:
    """Shot cuts, motion onsets, pose (footsteps, claps) at ``analysis_fps``, scene classes.

    Raises:
        ModelLoadError: a visual model's package is missing.
    """
    analyzers: list[FrameAnalyzer[Any]] = []
    try:
        from captioning.analysis.shots import ShotDetector

        analyzers.append(ShotDetector())
    except ImportError:
        logger.debug("shot detector not available")
    try:
        from captioning.analysis.motion import MotionOnsetDetector

        analyzers.append(MotionOnsetDetector())
    except ImportError:
        logger.debug("motion onsets not available")
    try:
        from captioning.analysis.pose import PoseStepDetector

        analyzers.append(PoseStepDetector(fps=analysis_fps))
    except ImportError:
        logger.debug("pose not available")
    try:
        from captioning.analysis.scene import SceneClassifier

        analyzers.append(SceneClassifier())
    except ImportError:
        logger.debug("scene classifier not available")
    return analyzers
