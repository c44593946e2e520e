"""Foley profiles and background music on whole tracks (issue 11)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from foley_factory import analysis, opts

from captioning.events import SoundEvent
from captioning.foley.music import MusicBed, choose_mood
from captioning.foley.render import foley_report, render_foley
from captioning.foley.tables import load_tables
from captioning.vocabulary import load_vocabulary

SR = 48000


def event(start: float, label: str, dur: float = 0.2, *, loudness: float = -20.0, kind: str = "abrupt",
          background: bool = False) -> SoundEvent:
    entry = load_vocabulary()[label]
    return SoundEvent(start=start, end=start + dur, label=label, caption=entry.caption_abrupt,
                      category=entry.category, confidence=0.9, loudness=loudness, kind=kind,  # type: ignore[arg-type]
                      background=background)


def rms_db(x: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(x.astype(np.float64) ** 2)) + 1e-30)


def test_the_scene_chooses_the_mood() -> None:
    tables, vocab = load_tables(), load_vocabulary()
    assert choose_mood(analysis([event(0, "stream", 8.0, kind="sustained")], 10), tables, vocab).name == "calm"
    assert choose_mood(analysis([event(1, "gunshot"), event(2, "explosion")], 10), tables, vocab).name == "tense"
    assert choose_mood(analysis([event(0, "car", 6.0, kind="sustained")], 10), tables, vocab).name == "urban"
    assert choose_mood(analysis([], 10), tables, vocab).name == "neutral"
    assert choose_mood(analysis([event(1, "speech", 3.0)], 10), tables, vocab).name == "neutral"


def test_music_fills_a_track_without_events() -> None:
    x = render_foley(analysis([], 12.0), opts(music=True))
    assert rms_db(x[:SR]) > -60 and rms_db(x[-2 * SR:-SR]) > -60
    assert not render_foley(analysis([], 12.0), opts(music=False)).any()


def test_music_level_follows_the_intensity() -> None:
    mood = load_tables().moods["calm"]
    levels = []
    for intensity in (0.1, 0.9):
        bed = MusicBed(mood, SR, 2, seed=3, intensity=intensity)
        levels.append(rms_db(np.concatenate([bed.render(np.zeros((16384, 2))) for _ in range(12)])))
    assert levels[1] - levels[0] == pytest.approx(20 * math.log10(9), abs=0.5)


def test_louder_music_stands_higher_against_the_same_hits() -> None:
    events = [event(t, "knock", loudness=-12.0) for t in (1.0, 4.0, 7.0)]

    def music_to_hits(intensity: float) -> float:
        x = render_foley(analysis(events, 9.0), opts(music=True, music_intensity=intensity, loudness_lufs=-30.0))
        return rms_db(x[int(2.2 * SR):int(3.8 * SR)]) - rms_db(x[int(1.0 * SR):int(1.05 * SR)])

    assert music_to_hits(0.9) > music_to_hits(0.1) + 3.0


def test_music_ducks_under_the_effects() -> None:
    mood = load_tables().moods["neutral"]
    quiet = MusicBed(mood, SR, 2, seed=1, intensity=0.5)
    ducked = MusicBed(mood, SR, 2, seed=1, intensity=0.5)
    n = 16384
    for _ in range(4):  # past the first bar's attack
        quiet.render(np.zeros((n, 2)))
        ducked.render(np.zeros((n, 2)))
    a = quiet.render(np.zeros((n, 2)))
    loud = np.full((n, 2), 0.3)  # effects far above the music
    b = ducked.render(loud)
    assert rms_db(a) - rms_db(b[n // 4:]) > 6.0
    # and it comes back once the effects stop (release 0.4 s)
    for _ in range(3):
        ducked.render(np.zeros((n, 2)))
        quiet.render(np.zeros((n, 2)))
    assert rms_db(quiet.render(np.zeros((n, 2)))) - rms_db(ducked.render(np.zeros((n, 2)))) < 0.5


def test_profiles_add_their_layers() -> None:
    events = [event(1.0, "thud"), event(2.5, "knock")]
    realistic = foley_report_recipes(events, "realistic")
    assert "boing" not in realistic and "sub_hit" not in realistic
    assert "boing" in foley_report_recipes(events, "cartoon")
    assert "sub_hit" in foley_report_recipes(events, "dramatic")


def foley_report_recipes(events: list[SoundEvent], profile: str) -> dict[str, int]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        return foley_report(analysis(events, 4.0), Path(d) / "f.wav", opts(profile=profile)).recipes


def test_dramatic_is_bigger_and_longer_than_realistic() -> None:
    events = [event(1.0, "hammer", loudness=-12.0)]
    real = render_foley(analysis(events, 6.0), opts(loudness_lufs=-30.0)).astype(np.float64)
    drama = render_foley(analysis(events, 6.0), opts(profile="dramatic", loudness_lufs=-30.0)).astype(np.float64)

    def tail_s(x: np.ndarray) -> float:  # time from the onset until the level stays 40 dB under its peak
        env = np.abs(x).max(axis=1)
        return float(np.flatnonzero(env > env.max() * 0.01)[-1] / SR - 1.0)

    def low_share(x: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(x.mean(axis=1))) ** 2
        f = np.fft.rfftfreq(x.shape[0], 1 / SR)
        return float(spec[f < 150].sum() / spec.sum())

    assert tail_s(drama) > 1.3 * tail_s(real)
    assert low_share(drama) > 2 * low_share(real)
