"""The Foley track's meters and limiter (issue 11): BS.1770-4 loudness streamed in blocks, 4x true peak, limiter."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
import scipy.signal

from captioning.foley.loudness import LoudnessMeter, TruePeakLimiter, true_peak_dbtp


def _program(rate: int, seconds: float, channels: int, seed: int) -> np.ndarray:
    """Noise whose level jumps every 0.3 s over 40 dB (so both gates matter), with silent stretches."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    steps = -(-n // int(0.3 * rate))
    level = np.repeat(10 ** (rng.uniform(-50, -5, (steps, channels)) / 20), int(0.3 * rate), axis=0)[:n]
    level[int(0.2 * n):int(0.3 * n)] = 0.0
    return rng.standard_normal((n, channels)) * level


@pytest.mark.parametrize(("rate", "channels", "block"), [(48000, 2, 4096), (44100, 2, 1000), (22050, 1, 7777),
                                                         (48000, 1, 48000)])
def test_streamed_loudness_equals_pyloudnorm(rate: int, channels: int, block: int) -> None:
    x = _program(rate, 7.37, channels, seed=rate + channels)
    meter = LoudnessMeter(rate, channels)
    for i in range(0, x.shape[0], block):
        meter.push(x[i:i + block])
    expected = pyloudnorm.Meter(rate).integrated_loudness(x if channels == 2 else x[:, 0])
    assert meter.integrated() == pytest.approx(expected, abs=1e-6)


def test_silence_and_too_short_input_have_no_loudness() -> None:
    meter = LoudnessMeter(48000, 2)
    meter.push(np.zeros((48000, 2)))
    assert meter.integrated() == -math.inf
    short = LoudnessMeter(48000, 2)
    short.push(np.ones((1000, 2)) * 0.1)  # shorter than one 400 ms gating block
    assert short.integrated() == -math.inf


def test_true_peak_sees_the_peak_between_samples() -> None:
    # a sine at a quarter of the sample rate, sampled 45 degrees off its crests: every sample is at 0.707
    # of the peak, the waveform between them reaches 1.0 (the classic inter-sample over)
    rate = 48000
    n = np.arange(rate)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-3.01, abs=0.02)
    assert true_peak_dbtp(x, rate) == pytest.approx(0.0, abs=0.1)
    assert true_peak_dbtp(np.zeros(100), rate) == -math.inf


def _limited(x: np.ndarray, rate: int, ceiling: float, block: int) -> np.ndarray:
    lim = TruePeakLimiter(rate, x.shape[1], ceiling)
    parts = [lim.process(x[i:i + block]) for i in range(0, x.shape[0], block)]
    return np.concatenate([*parts, lim.flush()])


def _band_limited_bursts(rate: int) -> np.ndarray:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((rate * 3, 2)) * 0.05
    for t in (0.5, 1.2, 2.0):
        i = int(t * rate)
        x[i:i + 2000] += rng.standard_normal((2000, 2)) * 3.0 * np.exp(-np.arange(2000) / 400)[:, None]
    sos = scipy.signal.butter(8, 0.4 * rate, fs=rate, output="sos")  # the mixer band-limits like this
    out: np.ndarray = scipy.signal.sosfilt(sos, x, axis=0)
    return out


@pytest.mark.parametrize("ceiling", [-1.0, -6.0])
def test_limiter_keeps_every_true_peak_under_the_ceiling(ceiling: float) -> None:
    rate = 48000
    x = _band_limited_bursts(rate)
    y = _limited(x, rate, ceiling, 5000)
    assert y.shape == x.shape
    limit = 10 ** (ceiling / 20)
    assert np.abs(y).max() <= limit
    assert np.abs(scipy.signal.resample_poly(y, 8, 1, axis=0)).max() <= limit  # an independent, finer look


def test_limiter_leaves_quiet_passages_alone_and_does_not_depend_on_block_size() -> None:
    rate = 48000
    x = _band_limited_bursts(rate)
    a = _limited(x, rate, -1.0, 4096)
    b = _limited(x, rate, -1.0, 999)
    assert np.allclose(a, b, atol=1e-12)
    quiet = slice(int(1.7 * rate), int(1.95 * rate))  # long after the burst at 1.2 s has been released
    assert np.allclose(a[quiet], x[quiet], rtol=1e-9, atol=1e-12)


def test_limiter_delay_is_compensated() -> None:
    rate = 48000
    x = np.zeros((rate, 1))
    x[12345, 0] = 0.5  # under the ceiling: passes untouched, at the same sample
    y = _limited(x, rate, -1.0, 1000)
    assert np.flatnonzero(y[:, 0])[0] == 12345 and y[12345, 0] == pytest.approx(0.5)


def _sine(rate: int, hz: float, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    out: np.ndarray = amplitude * np.sin(2 * np.pi * hz * t)
    return out


def _thd_percent(y: np.ndarray, rate: int, hz: float) -> float:
    """Total harmonic distortion (harmonics 2..20 over the fundamental) of ``y``, in percent."""
    spec = np.abs(np.fft.rfft(y * np.hanning(y.shape[0])))
    f = np.fft.rfftfreq(y.shape[0], 1 / rate)
    fund = spec[np.abs(f - hz) < hz / 4].max()
    harm = math.sqrt(sum(float(spec[np.abs(f - k * hz) < hz / 4].max()) ** 2 for k in range(2, 21)))
    return 100.0 * harm / float(fund)


@pytest.mark.parametrize("hz", [40.0, 60.0, 100.0])
def test_limiter_does_not_waveshape_a_loud_low_tone(hz: float) -> None:
    """A boom 6 dB over the ceiling is turned down as a whole, not clipped cycle by cycle (a fast release would
    move the gain between the peaks of every half cycle and add harmonics)."""
    rate = 48000
    x = _sine(rate, hz, 1.5, 2.0)[:, None]
    y = _limited(x, rate, -1.0, 4096)[:, 0]
    steady = y[int(0.5 * rate):int(1.3 * rate)]
    assert _thd_percent(steady, rate, hz) < 0.5
    assert true_peak_dbtp(y, rate) <= -1.0


def test_limiter_takes_a_click_down_without_holding_down_the_sound_after_it() -> None:
    """A hit's click needs 24 dB of reduction; the low body after it needs none: 15 ms after the click the body is
    back within 1 dB of its level (a fixed 100 dB/s release would hold it some 20 dB down)."""
    rate = 48000
    body = _sine(rate, 85.0, 0.3, 0.5) * np.exp(-np.arange(int(0.3 * rate)) / (0.1 * rate))
    x = np.zeros(rate // 2)
    start = rate // 10
    x[start:start + body.shape[0]] = body
    x[start + 2] += 8.0  # the click: 18 dB over full scale
    y = _limited(x[:, None], rate, -1.0, 2048)[:, 0]
    assert true_peak_dbtp(y, rate) <= -1.0
    after = slice(start + int(0.015 * rate), start + int(0.1 * rate))
    level = 20 * np.log10(np.sqrt(np.mean(y[after] ** 2)) / np.sqrt(np.mean(x[after] ** 2)))
    assert level > -1.0


def test_limiter_lets_a_long_loud_passage_come_back_slowly() -> None:
    """After a second of sound 10 dB over the ceiling drops to a quiet level, the gain comes back at the slow rate
    (no jump: pumping), and fully within half a second."""
    rate = 48000
    loud = _sine(rate, 300.0, 1.0, 3.0)
    quiet = _sine(rate, 300.0, 1.0, 0.1)
    x = np.concatenate([loud, quiet])[:, None]
    y = _limited(x, rate, -1.0, 4096)[:, 0]
    gain_db = 20 * np.log10(np.abs(y[rate:]).reshape(-1, 480).max(axis=1) / 0.1)  # per 10 ms after the drop
    assert gain_db[4] < -3.0  # 50 ms after: still well down
    assert np.all(np.diff(gain_db[1:60]) < 2.0)  # rising at most 2 dB per 10 ms
    assert gain_db[60:].min() > -0.1  # back to unity within 0.6 s


def test_a_clip_shorter_than_one_gating_block_is_measured_as_that_block() -> None:
    """BS.1770-4 has no integrated loudness under 400 ms; such a clip gets the loudness of one 400 ms block holding
    it (what pyloudnorm says of the clip padded with silence to 400 ms)."""
    rate = 48000
    x = _program(rate, 0.25, 2, seed=3)
    meter = LoudnessMeter(rate, 2)
    meter.push(x)
    assert meter.integrated() == -math.inf
    padded = np.vstack([x, np.zeros((int(0.4 * rate) - x.shape[0], 2))])
    # (pyloudnorm's filters also ring on into the padding: 1e-4 LU here)
    assert meter.loudness() == pytest.approx(pyloudnorm.Meter(rate).integrated_loudness(padded), abs=1e-3)
    quiet = LoudnessMeter(rate, 2)
    quiet.push(x * 1e-5)  # under the -70 LUFS absolute gate
    assert quiet.loudness() == -math.inf
