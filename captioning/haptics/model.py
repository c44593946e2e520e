"""Haptic cues: the platform-neutral result of haptic rendering, and the options that shape it.

A :class:`HapticTrack` is a pure function of an :class:`~captioning.events.Analysis` plus
:class:`HapticOptions` (see :func:`captioning.haptics.render_haptics`). Each platform renderer (cue JSON,
Apple AHAP, Android, Web Vibration) reads only the track. Times are float seconds of media time,
intensity and sharpness are 0..1 (Core Haptics' scale: 0 weak/dull .. 1 strong/crisp).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from captioning.errors import InvalidOptionsError
from captioning.options import option

CueKind = Literal["transient", "continuous"]
Profile = Literal["standard", "calm"]
PROFILES: tuple[str, ...] = ("standard", "calm")

#: Version of soundcue's own cue format (``haptics.json``, ``data/haptics.schema.json``).
CUE_FORMAT_VERSION = "1.0"


@dataclass(frozen=True)
class HapticOptions:
    """How events become haptic cues. Units are in the field names; levels are 0..1 unless stated.

    Attributes:
        profile: ``"standard"`` renders every event; ``"calm"`` keeps only salient events (foreground,
            confident, loud relative to the loudest) and softens continuous cues, for long viewing.
        ceiling: global intensity ceiling: no cue is stronger than this (cues are clipped, 0 < c <= 1).
        min_pulse_ms: shortest pulse the motor is asked to play (shorter pulses are not felt).
        merge_gap_ms: transients whose gap (end of one to onset of the next) is shorter than this fuse in
            touch, so they are merged into one transient at the first onset.
        transient_ms: length of a transient pulse on motors that need a duration (Android, Web);
            never shorter than ``min_pulse_ms``.
        dynamic_range_db: loudness range mapped to intensity: a sound this many dB below the reference
            level gets intensity 0.
        min_reference_dbfs: the reference level (0 dB relative) is the loudest event's peak in dBFS, but
            never below this, so a quiet recording is not boosted to full strength.
        background_scale: intensity factor for steady ambience beds (rain, wind) in the standard profile.
        min_intensity: cues weaker than this are dropped (not felt, only drain the battery).
        salient_confidence: an event is salient only if its confidence is at least this.
        salient_range_db: an event is salient only if its peak is within this many dB of the reference.
        calm_continuous_scale: intensity factor for continuous cues in the calm profile.
        envelope_tolerance: largest intensity error allowed when thinning a continuous cue's envelope.
        tail_min_s: an abrupt sound whose level stays within ``tail_drop_db`` of its peak for at least this
            long after the onset (an explosion's rumble) also gets a continuous tail cue.
        tail_drop_db: how far below the peak the tail of an abrupt sound may fall and still be felt.
    """

    profile: Profile = option("standard", flag="--haptic-profile", help="Haptic profile: standard renders every "
                              "event; calm keeps only the salient ones and softens continuous cues, for long viewing.")
    ceiling: float = option(1.0, flag="--haptic-ceiling",
                            help="Global haptic intensity ceiling (0 < c <= 1): no cue is stronger.")
    min_pulse_ms: int = 30
    merge_gap_ms: int = 100
    transient_ms: int = 40
    dynamic_range_db: float = 50.0
    min_reference_dbfs: float = -30.0
    background_scale: float = 0.35
    min_intensity: float = 0.05
    salient_confidence: float = 0.5
    salient_range_db: float = 20.0
    calm_continuous_scale: float = 0.5
    envelope_tolerance: float = 0.03
    tail_min_s: float = 0.4
    tail_drop_db: float = 12.0

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise InvalidOptionsError(f"haptic profile must be one of {list(PROFILES)}, got {self.profile!r}")
        if not 0.0 < self.ceiling <= 1.0:
            raise InvalidOptionsError(f"haptic ceiling must be within (0, 1], got {self.ceiling}")
        for name in ("min_pulse_ms", "transient_ms"):
            if getattr(self, name) < 1:
                raise InvalidOptionsError(f"{name} must be at least 1 ms, got {getattr(self, name)}")
        if self.merge_gap_ms < 0:
            raise InvalidOptionsError(f"merge_gap_ms must be >= 0, got {self.merge_gap_ms}")
        if self.dynamic_range_db <= 0 or self.salient_range_db <= 0 or self.tail_drop_db <= 0:
            raise InvalidOptionsError("dynamic_range_db, salient_range_db and tail_drop_db must be positive")
        for name in ("background_scale", "min_intensity", "salient_confidence", "calm_continuous_scale"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidOptionsError(f"{name} must be within 0..1, got {getattr(self, name)}")
        if self.ceiling < self.min_intensity:
            raise InvalidOptionsError(
                f"ceiling {self.ceiling} is below min_intensity {self.min_intensity}: every cue would be dropped"
            )
        if not 0.0 <= self.envelope_tolerance < 0.5:
            raise InvalidOptionsError(
                f"envelope_tolerance must be within [0, 0.5), got {self.envelope_tolerance}"
            )
        if self.tail_min_s < 0:
            raise InvalidOptionsError(f"tail_min_s must be >= 0, got {self.tail_min_s}")

    @property
    def pulse_s(self) -> float:
        """Length of a transient pulse in seconds (``max(transient_ms, min_pulse_ms)``)."""
        return max(self.transient_ms, self.min_pulse_ms) / 1000.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def coerce(cls, options: HapticOptions | Mapping[str, Any] | None) -> HapticOptions:
        """Accept an instance, a dict of field overrides (e.g. from JSON or the API) or None."""
        if options is None:
            return cls()
        if isinstance(options, HapticOptions):
            return options
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(options) - names
        if unknown:
            raise InvalidOptionsError(
                f"unknown haptic options {sorted(unknown)}; choose from {sorted(names)}"
            )
        return cls(**options)


@dataclass(frozen=True)
class HapticCue:
    """One haptic cue in media time.

    Attributes:
        time: onset in seconds of media time.
        duration: seconds; for a transient, the pulse length a duration-based motor should play.
        kind: ``"transient"`` (a tap) or ``"continuous"`` (a buzz following the sound's envelope).
        intensity: 0..1 strength; for a continuous cue, its peak (the envelope never exceeds it).
        sharpness: 0..1, dull thud (0) .. crisp click (1).
        event_id: id of the sound event the cue comes from (the first one if several were merged).
        label: vocabulary label of that event.
        caption: caption wording of that event.
        envelope: continuous cues only: ``(offset_s, intensity)`` control points, offsets from ``time``,
            first at 0 and last at ``duration``, linear in between.
        merged_ids: ids of further events whose transients were merged into this one.
    """

    time: float
    duration: float
    kind: CueKind
    intensity: float
    sharpness: float
    event_id: str = ""
    label: str = ""
    caption: str = ""
    envelope: tuple[tuple[float, float], ...] = ()
    merged_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.time < 0 or self.duration <= 0:
            raise ValueError(f"cue needs time >= 0 and duration > 0, got {self.time}, {self.duration}")
        if not (0.0 <= self.intensity <= 1.0 and 0.0 <= self.sharpness <= 1.0):
            raise ValueError(
                f"cue intensity and sharpness must be in 0..1: {self.intensity}, {self.sharpness}"
            )

    @property
    def end(self) -> float:
        return self.time + self.duration

    @property
    def event_ids(self) -> tuple[str, ...]:
        """Every event this cue stands for (its own first)."""
        return (self.event_id, *self.merged_ids)

    def level_at(self, t: float) -> float:
        """Intensity at media time ``t`` (0 outside the cue); linear between envelope points."""
        if not self.time <= t < self.end:
            return 0.0
        if self.kind == "transient" or not self.envelope:
            return self.intensity
        offset = t - self.time
        prev = self.envelope[0]
        for point in self.envelope[1:]:
            if offset <= point[0]:
                span = point[0] - prev[0]
                frac = 0.0 if span <= 0 else (offset - prev[0]) / span
                return prev[1] + frac * (point[1] - prev[1])
            prev = point
        return prev[1]


@dataclass(frozen=True)
class HapticTrack:
    """Every haptic cue of one analysis, sorted by (time, kind).

    Attributes:
        cues: the cues; continuous cues may overlap each other and transients.
        duration: media duration in seconds.
        options: the options actually used (echoed into every output for reproducibility).
        source: the analysed media path (for metadata only).
    """

    cues: tuple[HapticCue, ...]
    duration: float
    options: HapticOptions = HapticOptions()
    source: str = ""

    def __iter__(self) -> Iterator[HapticCue]:
        return iter(self.cues)

    def __len__(self) -> int:
        return len(self.cues)

    @property
    def transients(self) -> tuple[HapticCue, ...]:
        return tuple(c for c in self.cues if c.kind == "transient")

    @property
    def continuous(self) -> tuple[HapticCue, ...]:
        return tuple(c for c in self.cues if c.kind == "continuous")

    @property
    def end(self) -> float:
        """Media duration, or the end of the last cue if that is later (seconds)."""
        return max([self.duration, *(c.end for c in self.cues)])
