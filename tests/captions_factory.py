"""Event lists for the caption tests: a small vocabulary, a hand-made scene and seeded random lists."""

from __future__ import annotations

import random
from pathlib import Path

import typer

from captioning.captions.cli import register
from captioning.events import Analysis, MediaInfo, SoundEvent, sort_events
from captioning.vocabulary import Vocabulary, VocabularyEntry

JS_DIR = Path(__file__).parent / "js"


def _entry(label: str, category: str, kind: str, abrupt: str, sustained: str, continues: str,
           role: str = "sound") -> VocabularyEntry:
    return VocabularyEntry(label, category, kind, abrupt, sustained, continues, role, 3, (label,),  # type: ignore[arg-type]
                           0.5, 0.5, "none")


VOCAB = Vocabulary([
    _entry("dog_bark", "animal", "sustained", "dog barks", "dog barking", "barking continues"),
    _entry("door_slam", "impact", "abrupt", "door slams", "door slamming", "slamming continues"),
    _entry("glass_shatter", "impact", "abrupt", "glass shatters", "glass shattering", "shattering continues"),
    _entry("thunder", "weather", "sustained", "thunder rumbles", "thunder rumbling", "rumbling continues"),
    _entry("rain", "weather", "sustained", "rain pours", "rain pouring", "rain continues"),
    _entry("floorboard_creak", "household", "abrupt", "floorboards creak", "floorboards creaking",
           "creaking continues"),
    _entry("music", "music", "sustained", "music plays", "music playing", "music continues", "music"),
    _entry("alarm", "alarm", "sustained", "alarm rings", "alarm ringing", "ringing continues"),
    _entry("speech", "voice", "sustained", "person speaks", "person speaking", "speaking continues",
           "dialogue"),
    _entry("room_tone", "ambience", "sustained", "room tone", "room tone", "room tone continues", "ignore"),
])


def event(start: float, end: float, label: str, caption: str = "", category: str = "impact", *,
          confidence: float = 0.9, **kw: object) -> SoundEvent:
    return SoundEvent(start, end, label, caption or label.replace("_", " "), category, confidence, -20.0,
                      **kw)  # type: ignore[arg-type]


def analysis(events: list[SoundEvent], duration: float = 60.0) -> Analysis:
    return Analysis(MediaInfo("clip.mp4", duration, "mp4"), sort_events(events))


def scene() -> Analysis:
    """A short scene with simultaneous, panned, low-confidence, unknown-label and long events."""
    return analysis([
        event(1.0, 1.3, "door_slam", "door slams", pan=0.9),
        event(3.0, 9.0, "thunder", "thunder rumbling", "weather", kind="sustained"),
        event(3.1, 12.0, "rain", "rain pouring", "weather", kind="sustained", background=True),
        event(14.0, 14.2, "glass_shatter", "glass shatters", pan=-0.9),
        event(16.0, 16.4, "kettle_whistle", "kettle whistles & <hisses>", "household"),
        event(18.0, 18.3, "door_slam", "door slams", confidence=0.2),
        event(20.0, 21.0, "speech", "speech", "voice"),
        event(22.0, 45.0, "music", "music", "music", kind="sustained"),
        event(50.0, 50.5, "floorboard_creak", "floorboards creak", "household", source="visual"),
    ], duration=60.0)


LABELS = [
    ("dog_bark", "dog barking", "animal", "sustained"),
    ("door_slam", "door slams", "impact", "abrupt"),
    ("glass_shatter", "glass shatters", "impact", "abrupt"),
    ("thunder", "thunder rumbling", "weather", "sustained"),
    ("rain", "rain pouring", "weather", "sustained"),
    ("music", "music", "music", "sustained"),
    ("alarm", "alarm ringing", "alarm", "sustained"),
    ("speech", "speech", "voice", "sustained"),
    ("unknown_a", "heavy machinery grinding & <clanking> --> loudly in the distance", "mechanical",
     "sustained"),
    ("unknown_b", "café bell dings", "household", "abrupt"),
]


def random_analysis(seed: int, n: int = 400, duration: float = 300.0) -> Analysis:
    """``n`` events in ``duration`` s: dense bursts, overlaps, 10 ms blips, minute-long beds, any
    confidence."""
    rng = random.Random(seed)
    events = []
    t = 0.0
    for _ in range(n):
        t += rng.choice([0.0, 0.01, 0.05, 0.2, 0.5, 1.0, 3.0]) * rng.random()
        if t >= duration - 0.05:
            break
        label, caption, category, kind = rng.choice(LABELS)
        length = rng.choice([0.01, 0.05, 0.3, 1.0, 4.0, 25.0, 70.0]) * (0.5 + rng.random())
        events.append(event(
            round(t, 3), round(min(t + max(length, 0.01), duration), 3), label, caption, category,
            confidence=rng.random(), kind=kind, pan=rng.choice([None, -1.0, -0.3, 0.0, 0.7, 1.0]),
            source=rng.choice(["audio", "visual", "audio+visual"]), background=rng.random() < 0.1,
        ))
    return analysis(events, duration)


def check_captions_app() -> typer.Typer:
    """A Typer app with only the ``check-captions`` command, for ``CliRunner`` tests."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """soundcue (test shell)."""

    register(app)
    return app
