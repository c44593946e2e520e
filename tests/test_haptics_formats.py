"""Each haptic output against its platform's rules: AHAP (JSON Schema + Core Haptics limits), Android
waveform/composition arrays, Web Vibration API pattern limits, soundcue's own cue format."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from haptics_cases import VOCAB, abrupt, analysis, known_events, sustained, wobble

from captioning.haptics import (
    HapticOptions,
    HapticTrack,
    get_writer,
    render_haptics,
    to_ahap,
    to_android,
    to_cue_json,
    to_web,
    write_haptics,
)
from captioning.haptics.android import PRIMITIVES


def schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("captioning").joinpath(f"data/{name}").read_text(encoding="utf-8"))


def validator(name: str) -> jsonschema.Draft202012Validator:
    s = schema(name)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def track_of(events: list[Any], duration: float = 20.0, **options: Any) -> HapticTrack:
    return render_haptics(analysis(events, duration), HapticOptions(**options), vocabulary=VOCAB)


@pytest.fixture(scope="module")
def known() -> HapticTrack:
    return render_haptics(known_events(), vocabulary=VOCAB)


@pytest.fixture(scope="module")
def long_track() -> HapticTrack:
    """75 s of wobbling music (split events, chunked curves) with shots inside, and 600 taps after it."""
    taps = [abrupt(80.0 + 0.2 * i, peak=-12.0) for i in range(600)]
    shots = [abrupt(t, "gunshot", peak=-3.0, centroid=3000.0) for t in (10.0, 40.0, 70.0)]
    music = sustained(0.0, 75.0, "music", envelope=wobble(-20, 8, 2.0, 75.0), category="music")
    return track_of([music, *shots, *taps], duration=210.0)


# -- AHAP ---------------------------------------------------------------------------------------------


def test_ahap_validates_against_schema(known: HapticTrack, long_track: HapticTrack) -> None:
    v = validator("ahap.schema.json")
    for track in (known, long_track, track_of([])):
        errors = list(v.iter_errors(to_ahap(track)))
        assert not errors, errors[0].message


@pytest.mark.parametrize("breakage", ["long_continuous", "many_points", "intensity_range", "typo"])
def test_ahap_schema_rejects_what_core_haptics_cannot_play(known: HapticTrack, breakage: str) -> None:
    doc = to_ahap(known)
    entries = doc["Pattern"]
    if breakage == "long_continuous":
        next(e for e in entries if e.get("Event", {}).get("EventType") == "HapticContinuous")["Event"][
            "EventDuration"] = 30.5
    elif breakage == "many_points":
        curve = next(e for e in entries if "ParameterCurve" in e)["ParameterCurve"]
        curve["ParameterCurveControlPoints"] = [{"Time": i * 0.1, "ParameterValue": 0.5} for i in range(17)]
    elif breakage == "intensity_range":
        entries[0]["Event"]["EventParameters"][0]["ParameterValue"] = 1.5
    else:
        doc["Patern"] = doc.pop("Pattern")
    assert list(validator("ahap.schema.json").iter_errors(doc))


def test_ahap_splits_long_continuous_cues_into_30s_events(long_track: HapticTrack) -> None:
    events = [e["Event"] for e in to_ahap(long_track)["Pattern"] if "Event" in e]
    cont = sorted((e for e in events if e["EventType"] == "HapticContinuous"), key=lambda e: e["Time"])
    assert all(e["EventDuration"] <= 30.0 for e in cont)
    assert len(cont) == 3
    # The parts tile the 75 s cue without gap or overlap.
    assert cont[0]["Time"] == 0.0
    for a, b in zip(cont, cont[1:], strict=False):
        assert b["Time"] == pytest.approx(a["Time"] + a["EventDuration"], abs=1e-4)
    assert cont[-1]["Time"] + cont[-1]["EventDuration"] == pytest.approx(75.0, abs=1e-3)


def test_ahap_curves_are_chunked_contiguous_and_follow_the_envelope(long_track: HapticTrack) -> None:
    curves = [e["ParameterCurve"] for e in to_ahap(long_track)["Pattern"] if "ParameterCurve" in e]
    assert len(curves) > 3
    assert all(len(c["ParameterCurveControlPoints"]) <= 16 for c in curves)
    # Absolute points; each chunk starts where the previous one ended, so interpolation is unbroken.
    chunks = [[(c["Time"] + p["Time"], p["ParameterValue"]) for p in c["ParameterCurveControlPoints"]]
              for c in curves]
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt[0][0] == pytest.approx(prev[-1][0], abs=1e-4) and nxt[0][1] == prev[-1][1]
    # Felt intensity = event intensity x curve: it tracks the music cue's envelope.
    music = long_track.continuous[0]
    first = next(e["Event"] for e in to_ahap(long_track)["Pattern"]
                 if e.get("Event", {}).get("EventType") == "HapticContinuous")
    peak = first["EventParameters"][0]["ParameterValue"]
    pts = [p for chunk in chunks for p in chunk]
    for t in np.arange(0.5, 74.5, 1.7):
        felt = peak * float(np.interp(t, [p[0] for p in pts], [p[1] for p in pts]))
        assert felt == pytest.approx(music.level_at(float(t)), abs=0.03)
    # The control returns to 1 after the passage, so later taps are not scaled down.
    assert pts[-1][1] == 1.0 and pts[-1][0] > 75.0


def _curve_points(doc: dict[str, Any]) -> list[tuple[float, float]]:
    return [(c["ParameterCurve"]["Time"] + p["Time"], p["ParameterValue"]) for c in doc["Pattern"]
            if "ParameterCurve" in c for p in c["ParameterCurve"]["ParameterCurveControlPoints"]]


@pytest.mark.parametrize("t", [10.0, 40.0, 70.0])
def test_ahap_transient_inside_a_passage_is_felt_as_intended(long_track: HapticTrack, t: float) -> None:
    # The intensity curve scales taps too: written intensity x curve must give the tap's intensity.
    doc = to_ahap(long_track)
    pts = _curve_points(doc)
    shot = next(c for c in long_track.transients if c.time == t)
    written = next(e["Event"] for e in doc["Pattern"]
                   if e.get("Event", {}).get("EventType") == "HapticTransient" and e["Event"]["Time"] == t)
    for dt in (0.0, 0.02, 0.039):  # throughout the pulse
        control = float(np.interp(t + dt, [p[0] for p in pts], [p[1] for p in pts]))
        felt = written["EventParameters"][0]["ParameterValue"] * control
        assert felt == pytest.approx(shot.intensity, abs=0.01)


def test_ahap_tap_in_a_quiet_moment_of_a_loud_passage() -> None:
    # A shot while an engine idles quietly, the engine roaring later: the shot is not scaled down.
    engine = sustained(0.0, 6.0, envelope=(-40.0,) * 60 + (-6.0,) * 60, loudness=-10.0)
    track = track_of([engine, abrupt(2.0, "gunshot", peak=-6.0)])
    doc = to_ahap(track)
    pts = _curve_points(doc)
    control = float(np.interp(2.0, [p[0] for p in pts], [p[1] for p in pts]))
    written = next(e["Event"] for e in doc["Pattern"]
                   if e.get("Event", {}).get("EventType") == "HapticTransient")
    assert written["EventParameters"][0]["ParameterValue"] * control == pytest.approx(1.0, abs=0.01)
    # ... and right after the tap the engine is back to its quiet level.
    after = float(np.interp(2.2, [p[0] for p in pts], [p[1] for p in pts]))
    assert after == pytest.approx(engine_level(track, 2.2), abs=0.02)


def engine_level(track: HapticTrack, t: float) -> float:
    return track.continuous[0].level_at(t) / track.continuous[0].intensity


def test_ahap_has_a_transient_at_every_transient_cue(known: HapticTrack) -> None:
    events = [e["Event"] for e in to_ahap(known)["Pattern"] if "Event" in e]
    times = [e["Time"] for e in events if e["EventType"] == "HapticTransient"]
    assert times == [round(c.time, 4) for c in known.transients]
    assert to_ahap(known)["Version"] == 1.0


# -- Android --------------------------------------------------------------------------------------------


def test_android_waveforms_obey_create_waveform_rules(known: HapticTrack, long_track: HapticTrack) -> None:
    for track in (known, long_track):
        out = to_android(track)
        assert out["waveforms"]
        for w in out["waveforms"]:
            assert len(w["timings"]) == len(w["amplitudes"]) > 0
            assert all(isinstance(t, int) and t > 0 for t in w["timings"])
            assert all(isinstance(a, int) and 0 <= a <= 255 for a in w["amplitudes"])
            assert w["amplitudes"][0] > 0 and w["amplitudes"][-1] > 0  # starts and ends vibrating
            assert w["repeat"] == -1
            assert all(t >= 0 for t in w["on_off"]) and len(w["on_off"]) % 2 == 0


def test_android_never_stops_the_motor_inside_a_continuous_passage() -> None:
    # An engine whose level drops to nothing in the middle: the motor ducks to 1, it is not stopped.
    env = (-10.0,) * 20 + (-90.0,) * 20 + (-10.0,) * 20
    track = track_of([sustained(1.0, 4.0, envelope=env, loudness=-15.0)])
    [w] = to_android(track)["waveforms"]
    assert w["start_ms"] == 1000 and sum(w["timings"]) == 3000
    assert 0 not in w["amplitudes"] and 1 in w["amplitudes"]


def test_android_waveform_places_taps_at_their_onsets(known: HapticTrack) -> None:
    out = to_android(known)
    onsets_ms: set[int] = set()
    for w in out["waveforms"]:
        pos = w["start_ms"]
        for t, a in zip(w["timings"], w["amplitudes"], strict=True):
            if a > 0:
                onsets_ms.add(pos)
            pos += t
    # Every tap either starts a vibration entry or rises within one (on top of a continuous cue).
    for cue in known.transients:
        t = round(cue.time * 1000)
        assert t in onsets_ms or any(abs(t - o) <= 1 for o in onsets_ms), cue


def test_android_composition_uses_known_primitives(known: HapticTrack) -> None:
    comps = to_android(known)["compositions"]
    prims = [p for c in comps for p in c["primitives"]]
    assert {p["primitive"] for p in prims} <= set(PRIMITIVES)
    assert all(0 < p["scale"] <= 1 and p["delay_ms"] >= 0 and p["offset_ms"] >= 0 for p in prims)
    starts = sorted(c["start_ms"] + p["offset_ms"] for c in comps for p in c["primitives"])
    for cue in known.transients:
        assert round(cue.time * 1000) in starts
    strong_sharp = next(p for c in comps for p in c["primitives"] if c["start_ms"] + p["offset_ms"] == 4000)
    assert strong_sharp["primitive"] == "CLICK"  # the gunshot


# -- Web ------------------------------------------------------------------------------------------------


def test_web_patterns_respect_browser_limits(known: HapticTrack, long_track: HapticTrack) -> None:
    for track in (known, long_track):
        chunks = to_web(track)["chunks"]
        assert chunks
        for c in chunks:
            p = c["pattern"]
            assert 1 <= len(p) <= 99 and len(p) % 2 == 1
            assert all(isinstance(x, int) and 0 <= x <= 10_000 for x in p)
            assert p[0] >= 30 and p[-1] >= 30  # a vibration at each end, never shorter than a pulse
        starts = [c["start_ms"] for c in chunks]
        assert starts == sorted(starts)


def test_web_splits_a_long_track_into_timed_chunks(long_track: HapticTrack) -> None:
    chunks = to_web(long_track)["chunks"]
    taps = [c for c in chunks if c["start_ms"] >= 80_000]
    assert len(taps) >= 12  # 99 entries hold 50 taps: 600 taps need 12 chunks
    on_times = _on_times(taps)
    for cue in long_track.transients:
        if cue.time >= 80.0:
            assert round(cue.time * 1000) in on_times


def test_web_long_vibration_is_cut_into_10s_entries() -> None:
    track = track_of([sustained(0.0, 25.0, envelope=(-6.0,) * 500, loudness=-6.0)], duration=30.0)
    [chunk] = to_web(track)["chunks"]
    assert chunk == {"start_ms": 0, "pattern": [10_000, 0, 10_000, 0, 5_000]}


def test_web_skips_faint_continuous_cues_but_not_taps() -> None:
    faint = sustained(0.0, 5.0, "rain", envelope=(-30.0,) * 100, category="weather", background=True)
    track = track_of([faint, abrupt(2.0, peak=-6.0)])
    chunks = to_web(track)["chunks"]
    assert chunks == [{"start_ms": 2000, "pattern": [40]}]


def _on_times(chunks: list[dict[str, Any]]) -> set[int]:
    out = set()
    for c in chunks:
        pos = c["start_ms"]
        for i, d in enumerate(c["pattern"]):
            if i % 2 == 0:
                out.add(pos)
            pos += d
    return out


# -- soundcue cue format and writers ------------------------------------------------------------------------


def test_cue_json_validates_against_its_schema(known: HapticTrack, long_track: HapticTrack) -> None:
    v = validator("haptics.schema.json")
    for track in (known, long_track, track_of([])):
        doc = to_cue_json(track)
        errors = list(v.iter_errors(doc))
        assert not errors, errors[0].message
        assert doc["version"] == "1.0" and len(doc["cues"]) == len(track)


def test_cue_json_schema_rejects_a_continuous_cue_without_envelope(known: HapticTrack) -> None:
    doc = to_cue_json(known)
    next(c for c in doc["cues"] if c["kind"] == "continuous").pop("envelope")
    assert list(validator("haptics.schema.json").iter_errors(doc))


def test_write_haptics_writes_four_parseable_files(tmp_path: Path) -> None:
    paths = write_haptics(known_events(), tmp_path / "out")
    assert [p.name for p in paths] == ["haptics.json", "haptics.ahap", "haptics.android.json",
                                       "haptics.web.json"]
    for p in paths:
        assert isinstance(json.loads(p.read_text(encoding="utf-8")), dict)
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


def test_get_writer_refuses_unknown_format() -> None:
    from captioning.errors import InvalidOptionsError

    with pytest.raises(InvalidOptionsError):
        get_writer("midi")
