"""The Foley score (issue 11): where the hits of a sustained sound go, read from its envelope."""

from __future__ import annotations

import pytest
from foley_factory import analysis, opts

from captioning.events import ENVELOPE_RATE_HZ, SoundEvent, envelope_strokes
from captioning.foley.score import plan, strokes
from captioning.foley.tables import load_tables
from captioning.vocabulary import load_vocabulary

SR = 48000
CELL = 1.0 / ENVELOPE_RATE_HZ


def hits_envelope(seconds: float, hits: dict[float, float], floor: float = -88.0) -> list[float]:
    """A 20 Hz envelope (dBFS) of hits at the given times (s -> peak dBFS), each dying away 12 dB per value, over
    a noise floor that wobbles by 14 dB (as between the stick hits of a real recording)."""
    env = [floor + (14.0 if k % 7 == 3 else 0.0) for k in range(int(seconds * ENVELOPE_RATE_HZ))]
    for t, peak in hits.items():
        k0 = int(t * ENVELOPE_RATE_HZ)
        for k in range(k0, len(env)):
            env[k] = max(env[k], peak - 12.0 * (k - k0))
    return env


def test_strokes_are_the_hits_rising_out_of_the_decay_of_the_one_before() -> None:
    env = hits_envelope(3.0, {0.0: -20.0, 0.8: -18.0, 1.65: -30.0})
    found = strokes(env)
    assert [t for t, _ in found] == pytest.approx([0.0, 0.8 + CELL / 2, 1.65 + CELL / 2])
    assert [round(level, 1) for _, level in found] == [-2.0, 0.0, -12.0]


def test_a_rise_spread_over_two_values_is_one_stroke_at_its_steepest_step() -> None:
    env = [-20.0, -35.0, -50.0, -60.0, -52.0, -30.0, -26.0, -40.0, -55.0, -60.0]
    assert envelope_strokes(env, 12.0) == [0, 5]


def test_a_continuous_sound_and_a_slow_swell_have_no_separate_strokes() -> None:
    wobble = [-30.0 + (3.0 if k % 3 else -3.0) for k in range(60)]
    swell = [-50.0 + 0.5 * k for k in range(60)]  # 30 dB over 3 s
    assert len(strokes(wobble)) == 1
    assert len(strokes(swell)) == 1
    assert strokes([]) == []


def _knocks(envelope: list[float]) -> SoundEvent:
    return SoundEvent(start=1.0, end=1.0 + len(envelope) * CELL, label="knock", caption="knocking",
                      category="door", confidence=0.9, loudness=-30.0, kind="abrupt", envelope=tuple(envelope),
                      peak_loudness=max(envelope))


def _onsets(event: SoundEvent) -> list[int]:
    voices = plan(analysis([event], 6.0), opts(), load_tables(), load_vocabulary())
    return sorted({v.start for v in voices if v.recipe.name == "impact_wood"})


def test_a_sustained_hit_sound_plays_on_its_heard_strokes_not_on_a_fixed_beat() -> None:
    """Three knocks 1.0 and 1.2 s apart: three hits, each within half an envelope value of the knock (the recipe's
    fixed 0.35 s beat would put eleven hits, most of them in the silences)."""
    event = _knocks(hits_envelope(3.0, {0.0: -20.0, 1.0: -20.0, 2.2: -25.0}))
    assert _onsets(event) == [SR, round((2.0 + CELL / 2) * SR), round((3.2 + CELL / 2) * SR)]


def test_a_sustained_hit_sound_without_separate_strokes_repeats_on_the_recipe_beat() -> None:
    event = _knocks([-30.0 + (2.0 if k % 2 else 0.0) for k in range(60)])
    onsets = _onsets(event)
    assert onsets[0] == SR
    gaps = [(b - a) / SR for a, b in zip(onsets, onsets[1:], strict=False)]
    assert len(onsets) >= 6 and all(0.1 < g < 0.7 for g in gaps)


@pytest.mark.parametrize("quieter_db", [10.0, 20.0])
def test_each_heard_stroke_keeps_its_own_level(quieter_db: float) -> None:
    event = _knocks(hits_envelope(3.0, {0.0: -20.0, 1.0: -20.0 - quieter_db}))
    voices = [v for v in plan(analysis([event], 6.0), opts(), load_tables(), load_vocabulary())
              if v.recipe.name == "impact_wood"]
    first, second = voices[0].gain_db, voices[-1].gain_db
    assert first - second == pytest.approx(quieter_db, abs=6.0)  # the recipe's per-hit level jitter is 1.5 dB


def test_a_short_sound_with_two_heard_knocks_plays_both() -> None:
    event = _knocks(hits_envelope(0.8, {0.0: -20.0, 0.4: -22.0}))
    assert _onsets(event) == [SR, round((1.4 + CELL / 2) * SR)]


def test_a_single_hit_plays_once() -> None:
    event = _knocks(hits_envelope(0.6, {0.0: -20.0}))
    assert _onsets(event) == [SR]


def _unnamed(source: str, material: str | None, kind: str = "abrupt") -> SoundEvent:
    return SoundEvent(start=1.0, end=1.3, label="sound", caption="sudden noise", category="other", confidence=0.6,
                      loudness=-25.0, kind=kind, source=source, material=material)  # type: ignore[arg-type]


@pytest.mark.parametrize(("material", "recipe"), [("metal", "impact_metal"), ("wood", "impact_wood"),
                                                  (None, "impact_soft"), ("fabric", "impact_soft")])
def test_an_unnamed_sound_that_sight_shows_as_a_hit_plays_as_a_hit_on_its_material(
        material: str | None, recipe: str) -> None:
    voices = plan(analysis([_unnamed("audio+visual", material)], 3.0), opts(), load_tables(), load_vocabulary())
    assert voices and {v.recipe.name for v in voices if v.start == SR} >= {recipe}


@pytest.mark.parametrize(("source", "kind"), [("audio", "abrupt"), ("audio+visual", "sustained")])
def test_an_unnamed_sound_not_seen_as_a_hit_plays_nothing(source: str, kind: str) -> None:
    """Heard only, it may be a beep or a voice: no recipe guesses it. Seen but continuous: no hit to play."""
    assert plan(analysis([_unnamed(source, "metal", kind)], 3.0), opts(), load_tables(), load_vocabulary()) == []
