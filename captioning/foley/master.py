"""Mastering stage of the Foley mix: a feed-forward compressor on the effects bus (issue 11).

A sparse track of short hits has a high crest factor: its true peak reaches the ceiling long before its
integrated loudness reaches the target. A compressor with a few milliseconds of attack lets the click of each
transient through (the true-peak limiter then shaves it) and holds the body and the ring of the hit down, so
the make-up gain that meets the loudness target needs far less limiting.

Design after D. Giannoulis, M. Massberg, J. D. Reiss, "Digital Dynamic Range Compressor Design - A Tutorial and
Analysis", JAES 60(6), 2012: a stereo-linked peak level (max |x| over channels, in dBFS), a soft-knee static
gain computer (section 2.2, eq. 4), and the gain reduction smoothed in the dB domain by a decoupled detector
(release by an exponential max-hold, then a one-pole attack; section 3.2). Both recursions are evaluated with
numpy (a cumulative maximum and ``scipy.signal.lfilter``) and carry their state across blocks, so any split of
the stream into blocks gives the same samples.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

#: Samples per vectorised step of the release recursion (bounds a ** -n, so no overflow for releases >= 1 ms).
_CHUNK = 2048


class Compressor:
    """A streaming, deterministic, stereo-linked feed-forward compressor.

    Parameters:
        sample_rate: Hz.
        channels: 1 or 2.
        threshold_db: level (dBFS, sample peak) above which the gain is reduced.
        ratio: compression ratio above the knee (>= 1; 1 leaves the signal as is).
        knee_db: width of the soft knee around the threshold (dB, >= 0).
        attack_ms: time constant of the gain reduction's rise (ms, > 0).
        release_ms: time constant of its fall (ms, > 0).

    Raises:
        ValueError: a ratio under 1, a negative knee or a non-positive time constant.

    ``process(block)`` takes and returns shape ``(n, channels)`` float arrays with no delay;
    :attr:`max_reduction_db` is the deepest gain reduction applied so far (>= 0).
    """

    def __init__(self, sample_rate: int, channels: int, *, threshold_db: float, ratio: float,
                 knee_db: float = 6.0, attack_ms: float = 3.0, release_ms: float = 100.0) -> None:
        if ratio < 1.0 or knee_db < 0.0 or attack_ms <= 0.0 or release_ms <= 0.0:
            raise ValueError(f"compressor needs ratio >= 1, knee >= 0 and positive times, got ratio {ratio}, "
                             f"knee {knee_db} dB, attack {attack_ms} ms, release {release_ms} ms")
        self.channels = channels
        self.threshold_db = threshold_db
        self.ratio = ratio
        self.knee_db = knee_db
        self._a_att = math.exp(-1.0 / (attack_ms / 1000.0 * sample_rate))
        self._a_rel = math.exp(-1.0 / (release_ms / 1000.0 * sample_rate))
        self._hold = 0.0  # released gain reduction (dB) at the last sample
        self._zi = np.zeros(1)  # attack one-pole state
        self.max_reduction_db = 0.0

    def static_reduction_db(self, level_db: np.ndarray) -> np.ndarray:
        """Gain reduction (dB, >= 0) the static curve asks for at each input level (dBFS)."""
        over = level_db - self.threshold_db
        slope = 1.0 - 1.0 / self.ratio
        out = np.where(over > self.knee_db / 2, slope * over, 0.0)
        if self.knee_db > 0:
            in_knee = np.abs(over) <= self.knee_db / 2
            out = np.where(in_knee, slope * (over + self.knee_db / 2) ** 2 / (2 * self.knee_db), out)
        result: np.ndarray = out
        return result

    def _release(self, x: np.ndarray) -> np.ndarray:
        """y[n] = max(x[n], a * y[n-1]) with y[-1] = self._hold, as a cumulative maximum per chunk."""
        out = np.empty_like(x)
        a = self._a_rel
        for lo in range(0, x.shape[0], _CHUNK):
            seg = x[lo:lo + _CHUNK]
            k = np.arange(1, seg.shape[0] + 1, dtype=np.float64)
            decay = a ** k
            # y[k] = a^k * max(hold, max_{j<=k} x[j] / a^j)
            scaled = np.maximum.accumulate(seg / decay)
            y = decay * np.maximum(scaled, self._hold)
            out[lo:lo + seg.shape[0]] = y
            self._hold = float(y[-1])
        return out

    def gain_db(self, block: np.ndarray) -> np.ndarray:
        """The smoothed gain (dB, <= 0) for each sample of ``block`` (advances the state)."""
        peak = np.abs(block).max(axis=1)
        with np.errstate(divide="ignore"):
            level = 20.0 * np.log10(peak)
        reduction = self._release(self.static_reduction_db(level))
        a = self._a_att
        smoothed, self._zi = scipy.signal.lfilter([1.0 - a], [1.0, -a], reduction, zi=self._zi)
        if smoothed.size:
            self.max_reduction_db = max(self.max_reduction_db, float(smoothed.max()))
        out: np.ndarray = -smoothed
        return out

    def process(self, block: np.ndarray) -> np.ndarray:
        """Compress ``block`` (shape ``(n, channels)``); returns the same shape, no delay."""
        x = np.asarray(block, np.float64)
        if x.shape[0] == 0:
            return x
        g = 10.0 ** (self.gain_db(x) / 20.0)
        out: np.ndarray = x * g[:, None]
        return out
