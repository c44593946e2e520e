"""Detection: observations of the analyzers -> one sorted list of SoundEvents.

    segments.py  class-agnostic audio segments (background model, hysteresis, onsets)
    audio.py     audio events: labelling with the tagger, merging, music and ambience beds
"""

from captioning.detection.audio import Labeller, detect_events
from captioning.detection.segments import DetectionOptions

__all__ = ["DetectionOptions", "Labeller", "detect_events"]
