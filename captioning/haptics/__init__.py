"""Haptic cues: feel the sounds on a phone (issue 5).

``render_haptics(analysis)`` turns the event list into a platform-neutral :class:`HapticTrack`; the
renderers turn a track into soundcue's cue JSON, an Apple AHAP pattern, Android vibration waveforms and
compositions, and Web Vibration API patterns; ``write_haptics`` writes all four files.
"""

from captioning.haptics.ahap import to_ahap
from captioning.haptics.android import to_android
from captioning.haptics.cuejson import to_cue_json
from captioning.haptics.mapping import is_salient, reference_level, render_haptics
from captioning.haptics.model import HapticCue, HapticOptions, HapticTrack
from captioning.haptics.web import to_web
from captioning.haptics.writers import WRITERS, get_writer, write_haptics

__all__ = [
    "WRITERS",
    "HapticCue",
    "HapticOptions",
    "HapticTrack",
    "get_writer",
    "is_salient",
    "reference_level",
    "render_haptics",
    "to_ahap",
    "to_android",
    "to_cue_json",
    "to_web",
    "write_haptics",
]
