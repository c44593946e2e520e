"""The Foley mastering compressor (captioning/foley/master.py): streaming, static curve, time constants."""

from __future__ import annotations

import numpy as np
import pytest

from captioning.foley.master import Compressor

SR = 48000


def _hits(seed: int = 3) -> np.ndarray:
    """Two seconds of stereo: decaying noise bursts at different levels over quiet noise."""
    rng = np.random.default_rng(seed)
    x = 0.001 * rng.standard_normal((2 * SR, 2))
    for onset, level in ((0.1, 0.9), (0.55, 0.1), (0.9, 0.5), (1.4, 0.03)):
        n = int(0.3 * SR)
        i = int(onset * SR)
        x[i:i + n] += level * rng.standard_normal((n, 2)) * np.exp(-np.arange(n) / (0.04 * SR))[:, None]
    return x


def _make() -> Compressor:
    return Compressor(SR, 2, threshold_db=-20.0, ratio=4.0, knee_db=6.0, attack_ms=3.0, release_ms=100.0)


def test_streaming_output_equals_one_block_output() -> None:
    x = _hits()
    whole = _make().process(x)
    c = _make()
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.integers(1, x.shape[0], 40))
    parts = [c.process(p) for p in np.split(x, cuts)]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12, atol=1e-15)


def test_loud_passages_are_turned_down_and_quiet_ones_left_alone() -> None:
    x = _hits()
    c = _make()
    y = c.process(x)
    loud = slice(int(0.11 * SR), int(0.15 * SR))  # body of the 0.9 burst, past the attack
    quiet = slice(0, int(0.09 * SR))  # noise floor before the first burst, far below the threshold
    gain_loud = np.sqrt(np.mean(y[loud] ** 2) / np.mean(x[loud] ** 2))
    assert 20 * np.log10(gain_loud) < -6.0
    np.testing.assert_allclose(y[quiet], x[quiet], rtol=1e-3)  # under 0.01 dB
    assert c.max_reduction_db > 6.0


def test_the_click_of_a_transient_gets_through_the_attack() -> None:
    x = np.zeros((SR // 10, 1))
    x[1000:1000 + SR // 20, 0] = 0.9  # a step far over the threshold
    y = _make().process(x)
    assert y[1000, 0] > 0.85  # the first sample is barely touched (3 ms attack)
    assert y[1000 + int(0.03 * SR), 0] < 0.3  # 30 ms later it is held down


def test_static_curve_has_the_ratio_above_the_knee() -> None:
    c = _make()
    r = c.static_reduction_db(np.array([-40.0, -20.0, 0.0]))
    assert r[0] == 0.0
    assert 0.0 < r[1] < 3.0  # inside the soft knee
    assert r[2] == pytest.approx(20.0 * (1 - 1 / 4.0))


def test_bad_parameters_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="ratio"):
        Compressor(SR, 2, threshold_db=-20.0, ratio=0.5)
