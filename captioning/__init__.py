"""soundcue's domain core: find a video's sound events and render them (captions, haptics, ...).

    from captioning import analyze
    analysis = analyze("clip.mp4")          # Analysis: media info + SoundEvents + model versions
"""

from captioning.errors import (
    CaptioningError,
    InvalidOptionsError,
    MediaDecodeError,
    MediaError,
    MediaNotFoundError,
    ModelLoadError,
    NoAudioStreamError,
)
from captioning.events import Analysis, MediaInfo, SoundEvent, StreamInfo
from captioning.outputs import OutputOptions, write_outputs
from captioning.pipeline import AnalysisOptions, analyze, load_analyzers

__all__ = [
    "Analysis",
    "AnalysisOptions",
    "CaptioningError",
    "InvalidOptionsError",
    "MediaDecodeError",
    "MediaError",
    "MediaInfo",
    "MediaNotFoundError",
    "ModelLoadError",
    "NoAudioStreamError",
    "OutputOptions",
    "SoundEvent",
    "StreamInfo",
    "analyze",
    "load_analyzers",
    "write_outputs",
]
