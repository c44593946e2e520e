"""The Foley engine (issue 11) on hand-built event lists: placement, pan, loudness, peaks, variation, files."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest
import scipy.signal
from foley_factory import analysis, opts

from captioning.errors import InvalidOptionsError
from captioning.events import SoundEvent
from captioning.foley import FoleyOptions, foley_blocks, suffix_for, write_foley
from captioning.foley.render import foley_report, render_foley

SR = 48000


def event(start: float, label: str, *, dur: float = 0.2, loudness: float = -20.0, pan: float | None = None,
          kind: str = "abrupt", **kw: object) -> SoundEvent:
    return SoundEvent(start=start, end=start + dur, label=label, caption=label.replace("_", " "),
                      category="impact", confidence=0.9, loudness=loudness, pan=pan, kind=kind,  # type: ignore[arg-type]
                      **kw)  # type: ignore[arg-type]


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode a file with PyAV: float64 (samples, channels) and the sample rate."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        rate = stream.rate
        frames = []
        for frame in c.decode(stream):
            a = frame.to_ndarray()
            a = a.T if frame.format.is_planar else a.reshape(-1, frame.layout.nb_channels)
            if a.dtype == np.int16:
                a = a / 32768.0
            frames.append(a.astype(np.float64))
    return np.concatenate(frames), rate


def first_loud_sample(x: np.ndarray, threshold: float = 1e-5) -> int:
    return int(np.flatnonzero(np.abs(x).max(axis=1) > threshold)[0])


# ------------------------------------------------------------------------------------------------- placement

# each sound (and its room reverb, 0.41 s) has died away before the next onset
SPACED = [event(0.5, "knock"), event(1.234567, "clapping"), event(2.0001, "mouse_click"),
          event(2.777, "dog_bark", pan=0.4), event(4.0125, "footsteps"), event(5.1, "glass_shatter"),
          event(7.31, "car_horn", dur=0.5)]


def test_every_onset_lands_on_its_exact_sample() -> None:
    x = render_foley(analysis(SPACED, 9.0), opts())
    for ev in SPACED:
        onset = round(ev.start * SR)
        before = x[onset - int(0.05 * SR):onset]
        assert np.abs(before).max() < 1e-6, f"{ev.label}: sound before its onset"  # -120 dBFS: silence
        assert np.abs(x[onset]).max() > 1e-6, f"{ev.label}: silent at its onset sample {onset}"


def test_a_bed_starts_fading_in_on_its_onset_sample() -> None:
    x = render_foley(analysis([event(1.2345, "rain", dur=3.0, kind="sustained", background=True)], 5.0), opts())
    # FFT convolution (the room reverb) leaves rounding noise near 1e-16 before the onset; -180 dB is silence
    assert np.flatnonzero(np.abs(x).max(axis=1) > 1e-9)[0] == round(1.2345 * SR)


def test_sync_second_snaps_onsets_to_whole_seconds() -> None:
    events = [event(1.37, "knock"), event(2.61, "knock"), event(4.49, "hammer")]
    x = render_foley(analysis(events, 7.0), opts(sync="second"))
    gaps = [(0, 1 * SR), (int(1.6 * SR), 3 * SR), (int(3.5 * SR), 4 * SR)]
    for lo, hi in gaps:
        assert np.abs(x[lo:hi]).max() < 1e-5
    for second in (1, 3, 4):
        assert np.abs(x[second * SR]).max() > 1e-5


def test_track_is_exactly_as_long_as_the_media() -> None:
    for duration in (2.0, 2.00001, 3.3333):
        x = render_foley(analysis([event(0.2, "knock")], duration), opts())
        assert x.shape == (round(duration * SR), 2)


# ------------------------------------------------------------------------------------------------------- pan

def _energies(pan: float | None) -> tuple[float, float]:
    x = render_foley(analysis([event(0.3, "mouse_click", pan=pan)], 1.5), opts(loudness_lufs=-40.0))
    x = x.astype(np.float64)
    return float((x[:, 0] ** 2).sum()), float((x[:, 1] ** 2).sum())


@pytest.mark.parametrize("pan", [-0.6, 0.25, 0.8])
def test_pan_follows_the_constant_power_law(pan: float) -> None:
    left, right = _energies(pan)
    theta = (pan + 1) * math.pi / 4
    expected_db = 20 * math.log10(math.tan(theta))  # energy ratio R/L = tan^2
    assert 10 * math.log10(right / left) == pytest.approx(expected_db, abs=0.3)


def test_centre_and_unknown_pan_are_equal_left_and_right() -> None:
    for pan in (0.0, None):
        left, right = _energies(pan)
        assert 10 * math.log10(right / left) == pytest.approx(0.0, abs=0.3)


def test_hard_left_is_silent_on_the_right() -> None:
    left, right = _energies(-1.0)
    assert right < left * 1e-6


def test_mono_output_has_one_channel() -> None:
    x = render_foley(analysis([event(0.3, "knock", pan=0.9)], 1.0), opts(channels=1, loudness_lufs=-30.0))
    assert x.shape == (SR, 1) and np.abs(x).max() > 0.1


# ------------------------------------------------------------------------------------------ loudness, peaks

BUSY = [event(0.4, "knock", loudness=-18), event(1.1, "hammer", loudness=-14, pan=-0.5),
        event(2.0, "dog_bark", loudness=-16, pan=0.6), event(2.5, "footsteps", dur=3.0, kind="sustained"),
        event(0.0, "rain", dur=8.0, loudness=-32, kind="sustained", background=True),
        event(5.5, "explosion", loudness=-10), event(6.8, "car_horn", dur=0.6)]


@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_written_wav_meets_the_loudness_target_under_the_true_peak_ceiling(tmp_path: Path, target: float) -> None:
    path = write_foley(analysis(BUSY, 8.0), tmp_path / "foley.wav", opts(loudness_lufs=target))
    x, rate = read_audio(path)
    assert rate == SR and x.shape == (8 * SR, 2)
    assert pyloudnorm.Meter(SR).integrated_loudness(x) == pytest.approx(target, abs=0.5)
    ceiling = 10 ** (-1.0 / 20)
    assert np.abs(x).max() <= ceiling
    oversampled = scipy.signal.resample_poly(x, 4, 1, axis=0)  # an independent 4x interpolator
    assert np.abs(oversampled).max() <= ceiling


def test_a_lower_ceiling_is_kept(tmp_path: Path) -> None:
    path = write_foley(analysis(BUSY, 8.0), tmp_path / "foley.wav", opts(true_peak_dbtp=-6.0, loudness_lufs=-23))
    x, _ = read_audio(path)
    assert np.abs(scipy.signal.resample_poly(x, 4, 1, axis=0)).max() <= 10 ** (-6.0 / 20)


def test_a_target_the_ceiling_forbids_is_missed_and_reported_with_its_reason(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # one 3 ms click in 10 s: even peaking at the ceiling its 400 ms block stays far below -16 LUFS
    with caplog.at_level("WARNING", logger="captioning"):
        report = foley_report(analysis([event(1.0, "mouse_click")], 10.0), tmp_path / "f.wav", opts())
    x, _ = read_audio(tmp_path / "f.wav")
    assert np.abs(x).max() <= 10 ** (-1.0 / 20)
    d = report.to_dict()
    assert d["target_met"] is False and "limiting" in str(d["shortfall"])
    assert d["loudness_lufs"] == pytest.approx(pyloudnorm.Meter(SR).integrated_loudness(x), abs=0.3)
    assert d["loudness_lufs"] < -16.5 and -3.0 < d["true_peak_dbtp"] <= -1.0  # type: ignore[operator]
    [record] = [r for r in caplog.records if "misses" in r.getMessage()]
    assert record.name == "captioning" and "limiting" in record.getMessage()


def test_a_met_target_is_reported_with_its_true_peak(tmp_path: Path) -> None:
    report = foley_report(analysis(BUSY, 8.0), tmp_path / "f.wav", opts(loudness_lufs=-23.0)).to_dict()
    assert report["target_met"] is True and report["shortfall"] is None and report["target_lufs"] == -23.0
    assert isinstance(report["true_peak_dbtp"], float) and report["true_peak_dbtp"] <= -1.0


def test_a_bed_alone_keeps_its_natural_level_and_says_so(tmp_path: Path) -> None:
    bed = [event(0.0, "rain", dur=8.0, loudness=-40, kind="sustained", background=True)]
    with_hit = bed + [event(2.0, "explosion", loudness=-10)]
    alone = foley_report(analysis(bed, 8.0), tmp_path / "a.wav", opts())
    mixed = foley_report(analysis(with_hit, 8.0), tmp_path / "b.wav", opts())
    assert mixed.shortfall is None
    assert alone.loudness_lufs < -16.0 - 3.0 and alone.shortfall is not None and "beds alone" in alone.shortfall
    assert alone.gain_db <= mixed.gain_db + 1e-9  # never pushed up further than the bed under real sounds


def test_empty_event_list_gives_silence_of_the_right_length(tmp_path: Path) -> None:
    a = analysis([], 3.0)
    x = render_foley(a, opts())
    assert x.shape == (3 * SR, 2) and not x.any()
    report = foley_report(a, tmp_path / "silent.wav", opts())
    assert report.voices == 0 and report.loudness_lufs == -math.inf
    y, _ = read_audio(tmp_path / "silent.wav")
    assert y.shape == (3 * SR, 2) and not y.any()


def test_events_without_a_recipe_are_silent() -> None:
    events = [event(0.5, "speech", dur=1.0), event(1.0, "music", dur=1.0), event(1.5, "no_such_label")]
    x = render_foley(analysis(events, 3.0), opts())
    assert not x.any()


def test_quieter_events_stay_quieter() -> None:
    events = [event(0.5, "knock", loudness=-10.0), event(2.0, "knock", loudness=-30.0)]
    x = render_foley(analysis(events, 3.5), opts(loudness_lufs=-40.0)).astype(np.float64)  # no limiting
    loud = np.abs(x[int(0.5 * SR):int(1.0 * SR)]).max()
    quiet = np.abs(x[int(2.0 * SR):int(2.5 * SR)]).max()
    assert 20 * math.log10(loud / quiet) == pytest.approx(20.0, abs=4.0)  # per-hit level jitter aside


# --------------------------------------------------------------------------------------------- variation

def test_same_seed_same_track_other_seed_other_track() -> None:
    a = analysis(BUSY, 8.0)
    one = render_foley(a, opts(seed=7))
    assert np.array_equal(one, render_foley(a, opts(seed=7)))
    assert not np.array_equal(one, render_foley(a, opts(seed=8)))


def test_repeated_footsteps_are_not_identical() -> None:
    x = render_foley(analysis([event(0.5, "footsteps", dur=4.0, kind="sustained")], 5.0), opts())[:, 0]
    envelope = np.abs(x) > 1e-5
    starts = np.flatnonzero(envelope[1:] & ~envelope[:-1]) + 1
    starts = [s for s in [int(0.5 * SR), *starts] if s >= int(0.5 * SR)]
    steps = [x[s:s + int(0.05 * SR)] for s in sorted(set(starts))][:6]
    assert len(steps) >= 4
    for a, b in zip(steps, steps[1:], strict=False):
        assert not np.allclose(a, b, atol=1e-4)


# ---------------------------------------------------------------------------------------------- formats

@pytest.mark.parametrize(("fmt", "suffix"), [("mp3", ".mp3"), ("aac", ".m4a")])
def test_lossy_formats_decode_at_about_the_media_duration(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = write_foley(analysis(BUSY, 8.0), tmp_path / f"foley{suffix}", opts(audio_format=fmt))
    x, rate = read_audio(path)
    assert rate == SR and x.shape[1] == 2
    assert x.shape[0] / rate == pytest.approx(8.0, abs=0.1)
    assert pyloudnorm.Meter(SR).integrated_loudness(x) == pytest.approx(-16.0, abs=1.0)


def test_blocks_for_a_remux_are_the_written_track(tmp_path: Path) -> None:
    a = analysis(BUSY, 8.0)
    blocks = list(foley_blocks(a, opts()))
    assert all(b.dtype == np.float32 and b.ndim == 2 and b.shape[1] == 2 for b in blocks)
    floats = np.concatenate(blocks)
    wav, _ = read_audio(write_foley(a, tmp_path / "foley.wav", opts()))
    assert floats.shape == wav.shape
    assert np.abs(floats - wav).max() <= 1.0 / 32768  # 16-bit rounding only
    assert suffix_for("wav") == ".wav" and suffix_for("mp3") == ".mp3" and suffix_for("aac") == ".m4a"


def test_other_rates_and_mono_files(tmp_path: Path) -> None:
    path = write_foley(analysis(BUSY, 8.0), tmp_path / "foley.wav", opts(sample_rate=22050, channels=1))
    x, rate = read_audio(path)
    assert rate == 22050 and x.shape == (8 * 22050, 1)


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "foley.wav"
    target.write_bytes(b"earlier result")

    def boom(fraction: float) -> None:
        if fraction > 0.3:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        write_foley(analysis(BUSY, 8.0), target, opts(), progress=boom)
    assert target.read_bytes() == b"earlier result"
    assert [p.name for p in tmp_path.iterdir()] == ["foley.wav"]


def test_progress_rises_to_one() -> None:
    seen: list[float] = []
    render_foley(analysis(BUSY, 8.0), opts(), progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in zip(seen, seen[1:], strict=False))


# --------------------------------------------------------------------------------------------- bad options

@pytest.mark.parametrize(("kw", "words"), [({"profile": "loud"}, "profile"),
                                           ({"music_intensity": 2.0}, "music intensity"),
                                           ({"sample_rate": 7}, "sample rate"),
                                           ({"channels": 6}, "channels"),
                                           ({"audio_format": "ogg"}, "audio format")])
def test_bad_options_are_rejected_with_a_clear_error(kw: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidOptionsError, match=words):
        FoleyOptions(**kw)  # type: ignore[arg-type]


def _rms_db(x: np.ndarray) -> float:
    return 10.0 * math.log10(float(np.mean(x * x)))


def test_a_bed_under_sparse_knocks_follows_the_target_not_the_limiters_make_up(tmp_path: Path) -> None:
    """A bed under two short knocks: at -40 LUFS nothing is limited; at -23 LUFS the limiter takes the knocks'
    clicks down and the knocks get make-up gain for it, but the bed only rises by the 17 dB the target rose (with
    the make-up it would ride up some 13 dB more under the knocks)."""
    bed = event(0.0, "rain", dur=8.0, loudness=-40.0, kind="sustained", background=True)
    knocks = [event(2.0, "knock", loudness=-20.0, peak_loudness=-20.0),
              event(5.0, "knock", loudness=-20.0, peak_loudness=-20.0)]
    a = analysis([bed, *knocks], 8.0)
    quiet = foley_report(a, tmp_path / "quiet.wav", opts(loudness_lufs=-40.0))
    loud = foley_report(a, tmp_path / "loud.wav", opts(loudness_lufs=-23.0))
    assert quiet.limiter_db > -0.5 and loud.limiter_db < -6.0
    assert loud.shortfall is None and loud.gain_db - quiet.gain_db > 17.0 + 6.0  # the knocks' make-up
    gap = slice(int(3.5 * SR), int(4.5 * SR))  # the bed alone: each knock and its reverb have died away
    rise = _rms_db(read_audio(tmp_path / "loud.wav")[0][gap]) - _rms_db(read_audio(tmp_path / "quiet.wav")[0][gap])
    assert rise == pytest.approx(17.0, abs=0.3)


def test_a_clip_shorter_than_400_ms_still_meets_the_target(tmp_path: Path) -> None:
    report = foley_report(analysis([event(0.05, "knock", loudness=-20.0)], 0.3), tmp_path / "f.wav", opts())
    assert report.shortfall is None and report.loudness_lufs == pytest.approx(-16.0, abs=0.5)
    x, _ = read_audio(tmp_path / "f.wav")
    assert x.shape[0] == round(0.3 * SR) and np.abs(x).max() <= 10 ** (-1.0 / 20)


def test_a_silent_track_does_not_claim_the_target(tmp_path: Path) -> None:
    report = foley_report(analysis([event(0.5, "speech", dur=1.0)], 3.0), tmp_path / "f.wav", opts()).to_dict()
    assert report["target_met"] is False and "silent" in str(report["shortfall"])
    assert report["loudness_lufs"] is None
