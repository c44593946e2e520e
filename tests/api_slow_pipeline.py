"""The pipeline with the rule-based stand-in models (fake_analysis.py), slowed down (sleeps in its progress
hook) so tests can act while a job runs.

Used by the durability tests through ``SOUNDCUE_ANALYZER=api_slow_pipeline:analyze``; the delay in seconds
comes from ``SOUNDCUE_TEST_SLOW_S``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from fake_analysis import analyze as rule_analyze

from captioning.events import Analysis, MediaInfo
from captioning.pipeline import AnalysisOptions


def analyze(source: str | Path | MediaInfo, options: AnalysisOptions | None = None, *, hook: Any = None,
            name: str | None = None) -> Analysis:
    delay = float(os.environ.get("SOUNDCUE_TEST_SLOW_S", "3"))
    steps = 20

    def slow_hook(stage: str, *, completed: float, total: float) -> None:
        if hook is not None:
            hook(stage, completed=completed, total=total)

    for i in range(steps):  # a slow "stage" before the real work, reporting progress like one
        slow_hook("slow", completed=i / steps, total=1.0)
        time.sleep(delay / steps)
    return rule_analyze(source, options, hook=slow_hook, name=name)
