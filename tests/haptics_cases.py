"""Known event lists for the haptics tests (hand-made Analysis objects, no media, no models)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from captioning.events import ENVELOPE_RATE_HZ, Analysis, MediaInfo, SoundEvent, sort_events
from captioning.vocabulary import Vocabulary, VocabularyEntry


def entry(label: str, category: str, kind: str, intensity: float, sharpness: float) -> VocabularyEntry:
    return VocabularyEntry(
        label=label, category=category, kind=kind,  # type: ignore[arg-type]
        caption_abrupt=label.replace("_", " "), caption_sustained=label.replace("_", " "),
        caption_continues=f"{label} continues", role="sound", specificity=3, audioset=(),
        haptic_intensity=intensity, haptic_sharpness=sharpness, foley="none",
    )


#: A small fixed vocabulary, so the golden files do not move when the packaged vocabulary grows.
VOCAB = Vocabulary([
    entry("door_slam", "impact", "abrupt", 0.9, 0.6),
    entry("footsteps", "footsteps", "abrupt", 0.5, 0.4),
    entry("engine", "vehicle", "sustained", 0.6, 0.2),
    entry("gunshot", "impact", "abrupt", 1.0, 0.8),
    entry("knock", "impact", "abrupt", 0.8, 0.7),
    entry("rain", "weather", "sustained", 0.4, 0.3),
])


def ramp(start_db: float, end_db: float, seconds: float) -> tuple[float, ...]:
    """A linear dB envelope sampled at ENVELOPE_RATE_HZ."""
    n = max(1, int(round(seconds * ENVELOPE_RATE_HZ)))
    return tuple(round(start_db + (end_db - start_db) * i / max(1, n - 1), 2) for i in range(n))


def wobble(mean_db: float, depth_db: float, period_s: float, seconds: float) -> tuple[float, ...]:
    """A sinusoidally varying dB envelope (many control points survive thinning)."""
    n = int(round(seconds * ENVELOPE_RATE_HZ))
    phase = 2 * math.pi / ENVELOPE_RATE_HZ / period_s
    return tuple(round(mean_db + depth_db * math.sin(phase * i), 2) for i in range(n))


def analysis(events: Sequence[SoundEvent], duration: float = 20.0) -> Analysis:
    return Analysis(media=MediaInfo(path="/media/known.mp4", duration=duration, format="mp4"),
                    events=sort_events(events))


def abrupt(start: float, label: str = "door_slam", *, peak: float = -8.0, centroid: float | None = 900.0,
           duration: float = 0.3, **kw: object) -> SoundEvent:
    cat = kw.pop("category", "impact")
    return SoundEvent(start=start, end=start + duration, label=label, caption=label.replace("_", " "),
                      category=str(cat), confidence=float(kw.pop("confidence", 0.9)),  # type: ignore[arg-type]
                      loudness=peak - 8.0, peak_loudness=peak, centroid_hz=centroid, kind="abrupt",
                      **kw)  # type: ignore[arg-type]


def sustained(start: float, end: float, label: str = "engine", *, envelope: tuple[float, ...] = (),
              loudness: float = -25.0, centroid: float | None = 250.0, **kw: object) -> SoundEvent:
    cat = kw.pop("category", "vehicle")
    return SoundEvent(start=start, end=end, label=label, caption=label.replace("_", " "), category=str(cat),
                      confidence=float(kw.pop("confidence", 0.8)),  # type: ignore[arg-type]
                      loudness=loudness, peak_loudness=max(envelope) if envelope else loudness,
                      centroid_hz=centroid, kind="sustained", envelope=envelope, **kw)  # type: ignore[arg-type]


def known_events() -> Analysis:
    """The golden case: one of every situation the mapping handles, 20 s."""
    return analysis([
        abrupt(1.0, "door_slam", peak=-6.0, centroid=900.0, envelope=ramp(-6, -40, 0.3)),
        abrupt(2.0, "footsteps", peak=-24.0, centroid=400.0, category="footsteps"),
        abrupt(2.06, "footsteps", peak=-22.0, centroid=400.0, category="footsteps"),
        abrupt(2.5, "footsteps", peak=-23.0, centroid=420.0, category="footsteps"),
        sustained(3.0, 6.0, "engine", envelope=ramp(-40, -18, 1.0) + (-18.0,) * 40, loudness=-22.0),
        # A shot with a rumbling tail, inside the engine passage.
        abrupt(4.0, "gunshot", peak=-3.0, centroid=3000.0, duration=1.0,
               envelope=(-3.0, -5.0, -6.0) + ramp(-7, -12, 0.6) + ramp(-20, -45, 0.25)),
        # Visual-only knock (no level, no centroid): the vocabulary recipe.
        SoundEvent(start=8.0, end=8.2, label="knock", caption="knocking", category="impact", confidence=0.7,
                   loudness=float("-inf"), source="visual", kind="abrupt"),
        # A label the vocabulary does not know, without a centroid: the category recipe for sharpness.
        abrupt(9.0, "anvil_strike", peak=-10.0, centroid=None, category="tools"),
        # A quiet, low-confidence sound: left out by the calm profile.
        abrupt(11.0, "door_slam", peak=-35.0, centroid=700.0, confidence=0.4),
        # A steady rain bed under the second half.
        sustained(10.0, 20.0, "rain", envelope=wobble(-30, 2, 3.0, 10.0), loudness=-30.0, centroid=5000.0,
                  category="weather", background=True),
    ])
