"""Options of the Foley stage (issue 11): how the event list becomes a 48 kHz stereo sound track.

One frozen dataclass, declared with :func:`captioning.options.option` like the other families, so the CLI
flags and the API schema are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from captioning.errors import InvalidOptionsError
from captioning.options import option

AudioFormat = Literal["wav", "mp3", "aac"]
Profile = Literal["realistic", "dramatic", "cartoon"]
Sync = Literal["frame", "second"]

AUDIO_FORMATS: tuple[str, ...] = ("wav", "mp3", "aac")
PROFILES: tuple[str, ...] = ("realistic", "dramatic", "cartoon")
SYNCS: tuple[str, ...] = ("frame", "second")
SAMPLE_RATES: tuple[int, ...] = (22050, 44100, 48000)


#: Accepted loudness targets (LUFS) and true-peak ceilings (dBTP).
LOUDNESS_RANGE_LUFS = (-70.0, -5.0)
TRUE_PEAK_RANGE_DBTP = (-20.0, 0.0)


@dataclass(frozen=True)
class FoleyOptions:
    """How the Foley track is rendered and encoded.

    Attributes:
        audio_format: container/codec of the track: ``wav`` (16-bit PCM), ``mp3`` or ``aac`` (in .m4a).
        sample_rate: output sample rate in Hz (one of :data:`SAMPLE_RATES`).
        channels: 1 (mono) or 2 (stereo, events panned by their ``pan``).
        profile: effect profile: ``realistic``, ``dramatic`` (bigger, wider, longer tails) or ``cartoon``.
        sync: ``frame`` places each event on its onset, sample-accurate; ``second`` snaps onsets to whole seconds.
        music: mix generated background music under the effects (ducked under them).
        music_intensity: background music level, 0..1.
        loudness_lufs: integrated loudness target in LUFS (EBU R128 / ITU-R BS.1770-4), e.g. -16 web, -23 broadcast.
        true_peak_dbtp: true-peak ceiling in dBTP (EBU R128 recommends -1 dBTP for delivery).
        enable_cache: reuse rendered one-shot sounds from memory and disk.
        seed: seed of the per-hit variation, so a render is reproducible.
    """

    audio_format: AudioFormat = option("wav", help="Foley track format: wav (16-bit PCM), mp3 or aac.")
    sample_rate: int = option(48000, help="Foley track sample rate in Hz (22050, 44100 or 48000).")
    channels: int = option(2, help="Foley track channels: 1 (mono) or 2 (stereo, events panned).")
    profile: Profile = option("realistic", flag="--foley-profile",
                              help="Foley effect profile: realistic, dramatic (bigger, wider, longer tails) or "
                                   "cartoon (exaggerated pitch and envelopes).")
    sync: Sync = option("frame", help="Foley alignment: frame puts each sound on its onset (sample-accurate); "
                                      "second snaps onsets to whole seconds.")
    music: bool = option(False, help="Mix generated background music under the Foley effects (ducked under them).")
    music_intensity: float = option(0.3, help="Background music level, 0..1.")
    loudness_lufs: float = option(-16.0, help="Integrated loudness target of the Foley track in LUFS "
                                              "(e.g. -16 for web, -23 for broadcast).")
    true_peak_dbtp: float = option(-1.0, help="True-peak ceiling of the Foley track in dBTP.")
    enable_cache: bool = option(True, help="Reuse rendered one-shot sounds (memory and disk cache).")
    seed: int = 0

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (self.audio_format in AUDIO_FORMATS, f"audio format must be one of {list(AUDIO_FORMATS)}, "
                                                 f"got {self.audio_format!r}"),
            (self.sample_rate in SAMPLE_RATES, f"sample rate must be one of {list(SAMPLE_RATES)} Hz, "
                                               f"got {self.sample_rate}"),
            (self.channels in (1, 2), f"channels must be 1 or 2, got {self.channels}"),
            (self.profile in PROFILES, f"Foley profile must be one of {list(PROFILES)}, got {self.profile!r}"),
            (self.sync in SYNCS, f"sync must be one of {list(SYNCS)}, got {self.sync!r}"),
            (0.0 <= self.music_intensity <= 1.0, f"music intensity must be within 0..1, got {self.music_intensity}"),
            (LOUDNESS_RANGE_LUFS[0] <= self.loudness_lufs <= LOUDNESS_RANGE_LUFS[1],
             f"loudness target must be within {LOUDNESS_RANGE_LUFS[0]:g}..{LOUDNESS_RANGE_LUFS[1]:g} LUFS, "
             f"got {self.loudness_lufs}"),
            (TRUE_PEAK_RANGE_DBTP[0] <= self.true_peak_dbtp <= TRUE_PEAK_RANGE_DBTP[1],
             f"true-peak ceiling must be within {TRUE_PEAK_RANGE_DBTP[0]:g}..{TRUE_PEAK_RANGE_DBTP[1]:g} dBTP, "
             f"got {self.true_peak_dbtp}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidOptionsError(message)
