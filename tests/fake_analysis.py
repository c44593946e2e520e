"""Stand-in models for the service tests, which are about jobs, not about detection.

The real pipeline runs (probe, decode, features, detection rules, outputs); only the two networks are
replaced by rules any reader can check, so the service tests give the same events on every CPU:

* the tagger scores "Knock" 0.8 on a patch whose loudest frame stands 1.5 nepers (13 dB) above the
  patch's median frame, and 0.01 elsewhere; every other class scores 0.01;
* the VAD hears no speech.

Selected by ``SOUNDCUE_ANALYZER=fake_analysis:analyze`` (tests/api_server.py sets it by default).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from captioning.events import Analysis, MediaInfo
from captioning.pipeline import AnalysisOptions, Analyzers
from captioning.pipeline import analyze as real_analyze
from captioning.vocabulary import load_vocabulary
from models import vad as vad_model
from models import yamnet as yam


class RuleTagger:
    version = "rule-tagger (tests)"

    def __init__(self) -> None:
        self.classes = yam._read_classes(yam.class_map_path())
        self.class_names = tuple(c.name for c in self.classes)
        self._knock = self.class_names.index("Knock")

    def __call__(self, patches: np.ndarray) -> np.ndarray:
        out = np.full((patches.shape[0], yam.N_CLASSES), 0.01, np.float32)
        if patches.shape[0]:
            frame_level = patches.astype(np.float32).mean(axis=2)  # (n, 96)
            jump = frame_level.max(axis=1) - np.median(frame_level, axis=1)
            out[:, self._knock] = np.where(jump > 1.5, 0.8, 0.01)
        return out


class _SilentStream:
    def __init__(self) -> None:
        self._pending = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        self._pending += samples.shape[0]
        n, self._pending = divmod(self._pending, vad_model.CHUNK)
        return np.zeros(n, np.float32)

    def flush(self) -> np.ndarray:
        out = np.zeros(1 if self._pending else 0, np.float32)
        self._pending = 0
        return out


class NoSpeechVAD:
    version = "no-speech-vad (tests)"

    def stream(self) -> _SilentStream:
        return _SilentStream()


@functools.lru_cache(maxsize=1)
def fake_analyzers() -> Analyzers:
    return Analyzers(tagger=RuleTagger(), vad=NoSpeechVAD(), vocabulary=load_vocabulary())


def analyze(source: str | Path | MediaInfo, options: AnalysisOptions | None = None, *, hook: Any = None,
            name: str | None = None) -> Analysis:
    """:func:`captioning.pipeline.analyze` with the rule tagger and the silent VAD."""
    return real_analyze(source, options, analyzers=fake_analyzers(), hook=hook, name=name)
