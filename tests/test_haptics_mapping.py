"""Event list -> haptic cues: the mapping rules of issue 5, on hand-made event lists."""

from __future__ import annotations

import dataclasses
import math

import pytest
from haptics_cases import VOCAB, abrupt, analysis, known_events, ramp, sustained

from captioning.errors import InvalidOptionsError
from captioning.events import SoundEvent
from captioning.haptics import HapticOptions, render_haptics
from captioning.haptics.mapping import centroid_to_sharpness, loudness_to_intensity, simplify_envelope


def render(events: list[SoundEvent], **options: object) -> list:  # type: ignore[type-arg]
    return list(render_haptics(analysis(events), HapticOptions(**options), vocabulary=VOCAB))  # type: ignore[arg-type]


def test_abrupt_sound_is_a_transient_at_its_onset() -> None:
    [cue] = render([abrupt(1.234)])
    assert cue.kind == "transient"
    assert cue.time == pytest.approx(1.234, abs=1e-9)
    assert cue.event_id == "e0001" and cue.caption == "door slam"


def test_sustained_sound_is_a_continuous_cue_over_its_span() -> None:
    [cue] = render([sustained(3.0, 6.5, envelope=ramp(-30, -20, 3.5))])
    assert cue.kind == "continuous"
    assert cue.time == 3.0 and cue.end == pytest.approx(6.5)
    assert cue.envelope[0][0] == 0.0 and cue.envelope[-1][0] == pytest.approx(3.5)


def test_continuous_cue_follows_the_loudness_envelope() -> None:
    # Quiet for a second, loud for a second, quiet again.
    env = (-40.0,) * 20 + (-10.0,) * 20 + (-40.0,) * 20
    [cue] = render([sustained(0.0, 3.0, envelope=env, loudness=-15.0)])
    quiet, loud, quiet_again = cue.level_at(0.5), cue.level_at(1.5), cue.level_at(2.5)
    assert loud > 3 * quiet and loud > 3 * quiet_again
    assert cue.intensity == pytest.approx(max(v for _, v in cue.envelope))


def test_intensity_is_perceptual_square_root_of_amplitude() -> None:
    # Reference -6 dBFS, range 50 dB: 20 dB below the reference is amplitude 0.1 -> about sqrt(0.1).
    floor = 10 ** (-50 / 20)
    expected = math.sqrt((0.1 - floor) / (1 - floor))
    cues = render([abrupt(1.0, peak=-6.0), abrupt(3.0, peak=-26.0)])
    assert cues[0].intensity == pytest.approx(1.0)
    assert cues[1].intensity == pytest.approx(expected, abs=1e-6)
    assert loudness_to_intensity(-80.0, -6.0, 50.0) == 0.0


def test_louder_sounds_feel_stronger() -> None:
    cues = render([abrupt(float(i), peak=p) for i, p in enumerate((-40.0, -30.0, -20.0, -10.0))])
    intensities = [c.intensity for c in cues]
    assert intensities == sorted(intensities) and len(set(intensities)) == 4


def test_quiet_recording_is_not_boosted_to_full_strength() -> None:
    # The reference never drops below -30 dBFS: a -45 dBFS peak stays 15 dB down, not full strength.
    [cue] = render([abrupt(1.0, peak=-45.0)])
    assert cue.intensity == pytest.approx(loudness_to_intensity(-45.0, -30.0, 50.0))
    assert cue.intensity < 0.5


def test_sharpness_from_spectral_centroid() -> None:
    cues = render([abrupt(1.0, centroid=150.0), abrupt(2.0, centroid=1000.0), abrupt(3.0, centroid=6000.0)])
    s = [c.sharpness for c in cues]
    assert s[0] < 0.2 < s[1] < 0.8 < s[2]
    assert centroid_to_sharpness(20.0) == 0.0 and centroid_to_sharpness(20000.0) == 1.0


def test_sharpness_and_intensity_from_vocabulary_without_audio() -> None:
    knock = SoundEvent(start=1.0, end=1.2, label="knock", caption="knocking", category="impact",
                       confidence=0.8, loudness=float("-inf"), source="visual")
    [cue] = render([knock])
    assert (cue.intensity, cue.sharpness) == (0.8, 0.7)  # the "knock" row of VOCAB


def test_unknown_label_falls_back_to_category_then_kind() -> None:
    cues = render([abrupt(1.0, "anvil_strike", centroid=None, category="tools"),
                   abrupt(2.0, "mystery", centroid=None, category="nothing_known")])
    assert cues[0].sharpness == 0.7  # tools recipe
    assert cues[1].sharpness == 0.6  # abrupt recipe


def test_close_pulses_are_merged_far_ones_kept() -> None:
    cues = render([abrupt(1.0, peak=-20.0), abrupt(1.06, peak=-10.0), abrupt(1.3), abrupt(3.0)])
    assert [c.time for c in cues] == [1.0, 1.3, 3.0]
    merged = cues[0]
    assert merged.merged_ids == ("e0002",)
    alone = render([abrupt(1.06, peak=-10.0), abrupt(1.3), abrupt(3.0)])[0]
    assert merged.intensity == pytest.approx(alone.intensity)  # the stronger of the two
    assert merged.end == pytest.approx(1.06 + 0.04)


def test_merge_gap_is_an_option() -> None:
    events = [abrupt(1.0), abrupt(1.06)]
    assert len(render(events, merge_gap_ms=50)) == 2
    assert len(render(events, merge_gap_ms=100)) == 1


def test_no_pulse_is_shorter_than_the_minimum() -> None:
    tiny = sustained(2.0, 2.01, envelope=(-20.0,), loudness=-20.0)
    cues = render([abrupt(1.0), tiny], transient_ms=10)
    assert all(c.duration >= 0.030 - 1e-9 for c in cues)
    assert all(c.duration >= 0.050 - 1e-9 for c in render([abrupt(1.0), tiny], min_pulse_ms=50))


def test_global_ceiling_clips_every_intensity() -> None:
    track = render_haptics(known_events(), HapticOptions(ceiling=0.5), vocabulary=VOCAB)
    assert max(c.intensity for c in track) == pytest.approx(0.5)
    assert all(v <= 0.5 for c in track.continuous for _, v in c.envelope)


def test_calm_profile_keeps_only_salient_events() -> None:
    a = known_events()
    standard = render_haptics(a, vocabulary=VOCAB)
    calm = render_haptics(a, {"profile": "calm"}, vocabulary=VOCAB)
    ids = {i for c in calm for i in c.event_ids}
    by_label = {e.id: e for e in a.events}
    assert "rain" not in {by_label[i].label for i in ids}  # background bed
    assert not any(by_label[i].start == 11.0 for i in ids)  # quiet, unsure door
    assert any(by_label[i].label == "gunshot" for i in ids)
    assert len(calm) < len(standard)
    engine = [c for c in standard.continuous if c.label == "engine"][0]
    calm_engine = [c for c in calm.continuous if c.label == "engine"][0]
    assert calm_engine.intensity == pytest.approx(engine.intensity * 0.5, abs=1e-3)


def test_background_bed_is_softer_than_the_same_foreground_sound() -> None:
    env = ramp(-20, -20, 2.0)
    fg = render([sustained(0.0, 2.0, "rain", envelope=env, category="weather")])[0]
    bg = render([sustained(0.0, 2.0, "rain", envelope=env, category="weather", background=True)])[0]
    assert bg.intensity == pytest.approx(fg.intensity * 0.35, abs=1e-3)


def test_abrupt_sound_with_a_long_loud_tail_also_buzzes() -> None:
    rumble = abrupt(1.0, "explosion", peak=-3.0, duration=2.0,
                    envelope=ramp(-3, -10, 1.5) + ramp(-30, -50, 0.5))
    short = abrupt(5.0, "door_slam", peak=-3.0, duration=0.5, envelope=ramp(-3, -40, 0.5))
    cues = render([rumble, short])
    kinds = [(c.kind, c.time) for c in cues]
    assert ("transient", 1.0) in kinds and ("transient", 5.0) in kinds
    tails = [c for c in cues if c.kind == "continuous"]
    assert len(tails) == 1 and tails[0].label == "explosion"
    assert tails[0].time == pytest.approx(1.04) and tails[0].end == pytest.approx(2.5, abs=0.06)


def test_envelope_thinning_stays_within_tolerance() -> None:
    points = [(i / 20, 0.5 + 0.4 * math.sin(i / 5)) for i in range(200)]
    thin = simplify_envelope(points, 0.03)
    assert len(thin) < len(points) / 3
    assert thin[0] == points[0] and thin[-1] == points[-1]
    for t, v in points:
        assert abs(v - _interp(thin, t)) <= 0.03 + 1e-9


def _interp(points: tuple[tuple[float, float], ...], t: float) -> float:
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    raise AssertionError(t)


def test_rendering_is_pure_and_sorted() -> None:
    a = known_events()
    first, second = render_haptics(a, vocabulary=VOCAB), render_haptics(a, vocabulary=VOCAB)
    assert first == second
    times = [c.time for c in first]
    assert times == sorted(times)


def test_empty_event_list_gives_an_empty_track() -> None:
    track = render_haptics(analysis([]), vocabulary=VOCAB)
    assert len(track) == 0 and track.duration == 20.0


def test_packaged_vocabulary_is_used_by_default() -> None:
    # Whatever the packaged table holds, an event with audio renders from its sound alone.
    track = render_haptics(analysis([abrupt(1.0, "glass_shatter", category="impact")]))
    assert [c.time for c in track] == [1.0]


@pytest.mark.parametrize(
    "overrides",
    [{"profile": "loud"}, {"ceiling": 0.0}, {"ceiling": 1.5}, {"min_pulse_ms": 0}, {"merge_gap_ms": -1},
     {"dynamic_range_db": 0}, {"background_scale": 2.0}, {"envelope_tolerance": 0.6}, {"nonsense": 1},
     {"ceiling": 0.04}],
)
def test_invalid_options_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionsError):
        render_haptics(analysis([abrupt(1.0)]), overrides, vocabulary=VOCAB)


def test_options_accept_dict_and_are_echoed() -> None:
    track = render_haptics(analysis([abrupt(1.0)]), {"ceiling": 0.7}, vocabulary=VOCAB)
    assert track.options == dataclasses.replace(HapticOptions(), ceiling=0.7)


def test_public_names_are_exported() -> None:
    import captioning.haptics as h

    # The names the CLI, the service and the timeline call.
    expected = {"HapticCue", "HapticOptions", "HapticTrack", "WRITERS", "get_writer", "is_salient",
                "reference_level", "render_haptics", "to_ahap", "to_android", "to_cue_json", "to_web",
                "write_haptics"}
    assert set(h.__all__) == expected
    assert all(callable(getattr(h, n)) or n == "WRITERS" for n in h.__all__)
