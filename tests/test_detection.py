"""Detection with the real models on signals with known answers, and the invariants every event list keeps.

Rule-by-rule tests on hand-built inputs (no model) are in test_detection_rules.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import KNOCK_TIMES
from media_factory import SR, knock, noise_floor, place, write_audio

from captioning.errors import InvalidOptionsError
from captioning.pipeline import AnalysisOptions, analyze

pytestmark = pytest.mark.slow  # the real models: assertions hold for any correct tagger


def test_knock_onsets_land_within_one_hop(knocks_wav: Path) -> None:
    events = [e for e in analyze(knocks_wav).events if not e.background]
    assert len(events) == len(KNOCK_TIMES)
    for ev, t in zip(events, KNOCK_TIMES, strict=True):
        assert abs(ev.start - t) <= 0.02, (ev.start, t)
        assert ev.end - ev.start < 0.6  # a knock is short: the event ends where the sound ends
        assert ev.kind == "abrupt"


def test_knocks_are_labelled_as_impacts(knocks_wav: Path) -> None:
    events = [e for e in analyze(knocks_wav).events if not e.background]
    assert any({"Knock", "Tap", "Thump, thud", "Wood block", "Whack, thwack"} & set(e.audioset[:3]) for e in events)
    # what is named is named as an impact family (a knock may also stay unnamed, "sound", for review)
    named = [e for e in events if e.label != "sound"]
    assert named and all(e.category in {"impact", "door", "household", "tools", "music"} for e in named), events


def test_invariants(knocks_wav: Path) -> None:
    a = analyze(knocks_wav)
    starts = [e.start for e in a.events]
    assert starts == sorted(starts)
    assert all(0 <= e.start < e.end <= a.media.duration + 1e-6 for e in a.events)
    assert len({e.id for e in a.events}) == len(a.events)
    assert all(0 <= e.confidence <= 1 for e in a.events)
    for label in {e.label for e in a.events if not e.background}:
        same = [e for e in a.events if e.label == label and not e.background]
        assert all(x.end <= y.start for x, y in zip(same, same[1:], strict=False))


def test_silence_has_no_events(silence_wav: Path) -> None:
    assert analyze(silence_wav).events == ()


def test_steady_noise_is_not_a_stream_of_events(tmp_path: Path) -> None:
    """A steady background (here: broadband noise 40 dB above the floor) is at most one background event."""
    path = write_audio(tmp_path / "steady.wav", noise_floor(12.0, level_db=-25.0, seed=3))
    fg = [e for e in analyze(path).events if not e.background]
    assert fg == []


def test_loud_knock_over_background_is_found(tmp_path: Path) -> None:
    base = noise_floor(8.0, level_db=-35.0, seed=5)
    path = write_audio(tmp_path / "knock_on_noise.wav", place(base, knock(), [3.3], gain=0.8))
    fg = [e for e in analyze(path).events if not e.background]
    assert len(fg) == 1 and abs(fg[0].start - 3.3) <= 0.02


def test_progress_hook_reaches_the_end(knocks_wav: Path) -> None:
    seen: list[tuple[str, float, float]] = []
    analyze(knocks_wav, hook=lambda stage, *, completed, total: seen.append((stage, completed, total)))
    assert seen[-1][1] == pytest.approx(seen[-1][2])
    fractions = [c / t for _, c, t in seen]
    assert fractions == sorted(fractions)


def test_min_confidence_filters(knocks_wav: Path) -> None:
    assert analyze(knocks_wav, AnalysisOptions(min_confidence=1.0)).events == ()


@pytest.mark.parametrize("kw", [{"min_confidence": 2.0}, {"audio": False, "visual": False}, {"analysis_fps": 0.5},
                                {"max_duration_s": -1.0}])
def test_invalid_options(kw: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionsError):
        AnalysisOptions(**kw)  # type: ignore[arg-type]


def test_envelope_and_levels_describe_the_sound(knocks_wav: Path) -> None:
    ev = [e for e in analyze(knocks_wav).events if not e.background][0]
    assert ev.envelope and ev.peak_loudness is not None and ev.peak_loudness >= ev.loudness
    assert ev.centroid_hz is not None and 100 < ev.centroid_hz < 8000
    assert -60 < ev.loudness < 0
    assert np.isfinite(ev.envelope).all()


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (scripts/install_test_deps.sh installs it)")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    text = ("Good morning. I went to the market today and bought some apples, some bread and a little cheese. "
            "Then I walked home along the river and talked with my neighbour about the weather.")
    subprocess.run([espeak, "-w", str(path), text], check=True, capture_output=True)
    return path


def test_speech_is_dialogue_not_a_sound_caption(speech_wav: Path) -> None:
    a = analyze(speech_wav)
    assert a.media.duration > 5
    assert [e for e in a.events if not e.background] == []


def test_a_tune_is_one_music_event(tmp_path: Path) -> None:
    """Plucked harmonic notes for 9.6 s: one sustained music event, not a caption per note."""
    t = np.arange(int(0.4 * SR)) / SR
    notes = [261.6, 329.6, 392.0, 523.3, 392.0, 329.6] * 4
    tune = np.concatenate([0.3 * np.exp(-t / 0.25) * sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 6))
                           for f in notes]).astype(np.float32)
    path = write_audio(tmp_path / "tune.wav", tune + noise_floor(tune.size / SR))
    events = analyze(path).events
    assert len(events) == 1
    ev = events[0]
    assert ev.category == "music" and ev.kind == "sustained"
    assert ev.start < 0.5 and ev.end > 9.0


def test_pan_follows_the_stereo_side(tmp_path: Path) -> None:
    floor = noise_floor(6.0)
    right = place(floor, knock(), [1.0])
    centre = place(floor, knock(), [3.5])
    stereo = np.stack([centre, right + (centre - floor)])  # knock 1: right only; knock 2: both sides
    path = write_audio(tmp_path / "stereo.flac", stereo)
    events = [e for e in analyze(path).events if not e.background]
    assert len(events) == 2
    assert events[0].pan is not None and events[0].pan > 0.8
    assert events[1].pan is not None and abs(events[1].pan) < 0.1


def test_mono_sources_have_no_pan(knocks_wav: Path) -> None:
    assert all(e.pan is None for e in analyze(knocks_wav).events)


@pytest.mark.parametrize("seconds", [0.002, 0.05, 0.3])
def test_very_short_clips_give_valid_results(tmp_path: Path, seconds: float) -> None:
    path = write_audio(tmp_path / "short.wav", place(noise_floor(seconds), knock()[: int(seconds * SR)], [0.0]))
    a = analyze(path)
    assert all(0 <= e.start < e.end <= a.media.duration + 1e-6 for e in a.events)
