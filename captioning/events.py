"""The one shared contract: an immutable list of timed sound events plus the media it came from.

Every output (captions, haptics, Foley, audit, API response) is a pure function of an
:class:`Analysis`. Times are float seconds of media time everywhere; loudness is dBFS.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

EventSource = Literal["audio", "visual", "audio+visual"]
EventKind = Literal["abrupt", "sustained"]

SCHEMA_VERSION = "1.0"

#: Sample rate of :attr:`SoundEvent.envelope`, in values per second (one value every 50 ms).
ENVELOPE_RATE_HZ = 20


@dataclass(frozen=True)
class SoundEvent:
    """One sound, located in media time.

    Attributes:
        start: onset in seconds of media time.
        end: offset in seconds of media time (``end > start``).
        label: vocabulary key, e.g. ``"glass_shatter"``.
        caption: caption wording without brackets, e.g. ``"glass shatters"``.
        category: coarse family: impact, footsteps, voice, animal, vehicle, music, ambience, ...
        confidence: 0..1, how sure detection is of the label.
        loudness: RMS level of the event in dBFS.
        source: which modality found it: "audio", "visual" or "audio+visual".
        kind: "abrupt" (door slams) or "sustained" (dog barking); drives wording and haptics.
        audioset: AudioSet display names supporting the label, most specific and confident first.
        audioset_ids: the matching AudioSet machine ids (``/m/...``), same order as ``audioset``.
        background: True for a steady ambience bed (wind, rain, birdsong) rather than a foreground sound.
        id: stable identifier within one analysis, e.g. ``"e0007"``.
        peak_loudness: loudest 50 ms of the event in dBFS.
        centroid_hz: spectral centroid of the event's audio (None for visual-only events).
        envelope: RMS level in dBFS every 1/ENVELOPE_RATE_HZ s from ``start`` (for haptics and Foley).
        pan: -1 (left) .. 1 (right) from the on-screen position, None if unknown.
        material: optional material of an impact ("metal", "wood", ...).
    """

    start: float
    end: float
    label: str
    caption: str
    category: str
    confidence: float
    loudness: float
    source: EventSource = "audio"
    kind: EventKind = "abrupt"
    audioset: tuple[str, ...] = ()
    audioset_ids: tuple[str, ...] = ()
    background: bool = False
    id: str = ""
    peak_loudness: float | None = None
    centroid_hz: float | None = None
    envelope: tuple[float, ...] = ()
    pan: float | None = None
    material: str | None = None

    def __post_init__(self) -> None:
        if not self.end > self.start >= 0.0:
            raise ValueError(f"event needs 0 <= start < end, got start={self.start} end={self.end}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in 0..1, got {self.confidence}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; times rounded to the millisecond, levels to 0.1 dB."""
        d = dataclasses.asdict(self)
        d["start"] = round(self.start, 3)
        d["end"] = round(self.end, 3)
        d["confidence"] = round(self.confidence, 3)
        d["loudness"] = round(self.loudness, 1)
        if self.peak_loudness is not None:
            d["peak_loudness"] = round(self.peak_loudness, 1)
        if self.centroid_hz is not None:
            d["centroid_hz"] = round(self.centroid_hz, 1)
        d["envelope"] = [round(v, 1) for v in self.envelope]
        d["audioset"] = list(self.audioset)
        d["audioset_ids"] = list(self.audioset_ids)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SoundEvent:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("audioset", "audioset_ids", "envelope"):
            if k in kw:
                kw[k] = tuple(kw[k])
        return cls(**kw)


@dataclass(frozen=True)
class StreamInfo:
    """One stream of the input container.

    Attributes:
        index: the stream's index in the container (FFmpeg's ``0:N``; what ``audio_stream`` names).
        type: "audio" | "video" | "subtitle" | "data".
        start: when the stream starts, in seconds of media time (see :class:`MediaInfo`), None if unknown.
        disposition: FFmpeg disposition flags set on the stream, e.g. ``("default",)``, ``("comment",)``,
            ``("attached_pic",)`` for cover art.
        language: ISO 639 language tag, None if unset.
        title: the stream's title (e.g. "Commentary"), None if unset.
    """

    index: int
    type: str
    codec: str
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    start: float | None = None
    disposition: tuple[str, ...] = ()
    language: str | None = None
    title: str | None = None

    @property
    def is_default(self) -> bool:
        return "default" in self.disposition

    @property
    def is_picture(self) -> bool:
        """A still picture (cover art, thumbnails) stored as a video stream: not a video to show."""
        return "attached_pic" in self.disposition or "timed_thumbnails" in self.disposition

    def describe(self) -> str:
        """One line for messages, e.g. ``#1 audio aac "Commentary" (eng, default)``."""
        text = f"#{self.index} {self.type} {self.codec}"
        if self.title:
            text += f' "{self.title}"'
        notes = [n for n in (self.language, *self.disposition) if n]
        return f"{text} ({', '.join(notes)})" if notes else text


@dataclass(frozen=True)
class MediaInfo:
    """What probing the input found.

    Media time: every time soundcue reports (events, captions, haptics) is in seconds on the media's own
    timeline, whose 0 is the earliest start of the streams a player presents (the audio streams and the
    video streams that are not cover art), i.e. the container's start, which players show as 00:00:00.
    A stream that starts later (audio muxed with an offset) or has holes in its timestamps keeps its place
    on that timeline.

    Attributes:
        path: the input (or the name the user gave it).
        duration: seconds from media time 0 to the end the container declares.
        format: FFmpeg's container format name.
        streams: every stream of the container.
        size_bytes: file size.
        audio_stream: index of the audio stream analysed (the default-disposition track unless asked
            otherwise), None when there is none.
        start_time: the container-clock time (s) of media time 0, i.e. the timeline origin.
    """

    path: str
    duration: float
    format: str
    streams: tuple[StreamInfo, ...] = ()
    size_bytes: int | None = None
    audio_stream: int | None = None
    start_time: float = 0.0

    @property
    def audio(self) -> StreamInfo | None:
        """The audio stream analysed (``audio_stream``), else the first audio stream."""
        audio = [s for s in self.streams if s.type == "audio"]
        return next((s for s in audio if s.index == self.audio_stream), audio[0] if audio else None)

    @property
    def video(self) -> StreamInfo | None:
        """The first video stream that is a real video (cover art and thumbnails are not)."""
        return next((s for s in self.streams if s.type == "video" and not s.is_picture), None)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["duration"] = round(self.duration, 3)
        d["start_time"] = round(self.start_time, 6)
        d["streams"] = [{k: list(v) if isinstance(v, tuple) else v for k, v in s.items() if v not in (None, ())}
                        for s in d["streams"]]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MediaInfo:
        streams = tuple(StreamInfo(**{**s, "disposition": tuple(s.get("disposition", ()))})
                        for s in d.get("streams", ()))
        return cls(
            path=d["path"], duration=d["duration"], format=d["format"], streams=streams,
            size_bytes=d.get("size_bytes"), audio_stream=d.get("audio_stream"),
            start_time=d.get("start_time", 0.0),
        )


@dataclass(frozen=True)
class Analysis:
    """The result of analysing one input: media info, the event list, and how it was made.

    Attributes:
        media: what was analysed.
        events: sound events sorted by (start, end).
        models: model name -> version/weights identifier actually used.
        options: the detection options actually used (echoed for reproducibility).
    """

    media: MediaInfo
    events: tuple[SoundEvent, ...] = ()
    models: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[SoundEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "media": self.media.to_dict(),
            "models": dict(self.models),
            "options": dict(self.options),
            "events": [e.to_dict() for e in self.events],
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Analysis:
        return cls(
            media=MediaInfo.from_dict(d["media"]),
            events=tuple(SoundEvent.from_dict(e) for e in d.get("events", ())),
            models=dict(d.get("models", {})),
            options=dict(d.get("options", {})),
        )


def sort_events(events: Sequence[SoundEvent]) -> tuple[SoundEvent, ...]:
    """Events sorted by (start, end, label) with ids ``e0001``.. assigned in that order."""
    ordered = sorted(events, key=lambda e: (e.start, e.end, e.label))
    return tuple(dataclasses.replace(e, id=f"e{i:04d}") for i, e in enumerate(ordered, 1))


#: The quick rise of a sound's envelope (dB within 0.1 s) that starts a new stroke (:func:`envelope_strokes`): a hit
#: that dies away between strokes falls 40-60 dB in the 50 ms envelope between the stick hits of the Greatest Hits
#: clips, while a continuous sound's envelope varies by a few dB.
STROKE_RISE_DB = 12.0


def envelope_strokes(envelope: Sequence[float], rise_db: float = STROKE_RISE_DB, *,
                     floor_db: float = -math.inf) -> list[int]:
    """Where the separate strokes of a sound start in its envelope (a hit rising out of the previous one's decay).

    A stroke is a run of rising values in which some value is at least ``rise_db`` above the lowest of the two
    before it (a quick rise, within 0.1 s, not a slow swell) and at least ``floor_db``; the stroke starts at the
    run's steepest step (where a hit lands when its rise spreads over two or three values). A run rising from the
    first value is the sound's own onset, and strokes are at least two values (0.1 s) apart.

    Parameters:
        envelope: RMS level (dBFS) every 1/ENVELOPE_RATE_HZ s (:attr:`SoundEvent.envelope`).
        rise_db: the quick rise that makes a stroke (dB).
        floor_db: a rise that stays under this level (dBFS) is not a stroke (noise between hits).

    Returns:
        Indices into ``envelope`` of the stroke starts, ``[0]`` first (``[]`` for an empty envelope); a single
        ``[0]`` means no separate strokes.
    """
    env = [float(v) for v in envelope]
    if not env:
        return []
    onsets = [0]
    k = 1
    while k < len(env):
        if env[k] <= env[k - 1]:
            k += 1
            continue
        a, b = k - 1, k  # the run env[a] < env[a + 1] < ... < env[b]
        while b + 1 < len(env) and env[b + 1] > env[b]:
            b += 1
        quick = any(env[j] - min(env[max(0, j - 2):j]) >= rise_db and env[j] >= floor_db for j in range(a + 1, b + 1))
        if a > 0 and quick:
            steepest = max(range(a + 1, b + 1), key=lambda j: env[j] - env[j - 1])
            if steepest - onsets[-1] >= 2:
                onsets.append(steepest)
        k = b + 1
    return onsets
