"""The mixer: plays the score's voices into fixed-size blocks, with the profile's EQ and reverb and the music.

Every block is a pure function of the score and the block's position (voices are stateful only along the track,
and the block size is fixed), so the measuring pass and the final pass produce the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import scipy.fft
import scipy.signal

from captioning.foley.cache import OneShotCache, SoundKey
from captioning.foley.master import Compressor
from captioning.foley.score import Voice, stable_seed
from captioning.foley.synth import FAMILIES, LN1000, Params, Stream
from captioning.foley.tables import Profile

if TYPE_CHECKING:
    from captioning.foley.music import MusicBed

#: Level of a sound at gain 0 dB before loudness normalisation: its loudest 50 ms (one-shots) or its RMS
#: (streams) at -20 dBFS.
REF_RMS = 0.1
#: Samples per mixing block (fixed: the reverb's partition size and the streams' state depend on it).
BLOCK = 16384


def _db(x: float) -> float:
    return float(10.0 ** (x / 20.0))


def pan_gains(pan: float | None) -> tuple[float, float]:
    """Constant-power pan law: (cos theta, sin theta) with theta = (pan + 1) * pi / 4; None is the centre."""
    theta = (0.0 if pan is None else min(max(pan, -1.0), 1.0)) * math.pi / 4 + math.pi / 4
    return math.cos(theta), math.sin(theta)


def _max_short_rms(y: np.ndarray, sr: int, window_s: float = 0.05) -> float:
    """Largest RMS over ``window_s`` windows (hop half a window); the whole sound if shorter."""
    x = (y * y).reshape(y.shape[0], -1).mean(axis=1)
    w = max(1, int(window_s * sr))
    if x.shape[0] <= w:
        return math.sqrt(float(x.mean())) if x.size else 0.0
    c = np.concatenate([[0.0], np.cumsum(x)])
    means = (c[w:] - c[:-w])[:: max(1, w // 2)] / w
    return math.sqrt(float(means.max()))


def _key(voice: Voice, sr: int, family: str | None = None, seed: int | None = None) -> SoundKey:
    return SoundKey(family=family or voice.recipe.family, params=voice.params, shape=asdict(voice.shape),
                    sample_rate=sr, seed=voice.seed if seed is None else seed)


def render_oneshot(voice: Voice, sr: int, cache: OneShotCache) -> np.ndarray:
    """The voice's take, loudest 50 ms at REF_RMS, float32 of shape (n,) or (n, 2) (from the cache if there)."""
    family = FAMILIES[voice.recipe.family]
    oneshot = family.oneshot
    assert oneshot is not None

    def make() -> np.ndarray:
        y = oneshot(Params(family.defaults, voice.params), sr, np.random.default_rng(voice.seed), voice.shape)
        level = _max_short_rms(y, sr)
        out: np.ndarray = y * (REF_RMS / level) if level > 0 else y
        return out

    return cache.get_or_render(_key(voice, sr), make)


#: Seconds of a stream rendered (after a warm-up) to calibrate its level.
_CALIBRATION_S = (0.25, 1.5)


def stream_scale(voice: Voice, sr: int, cache: OneShotCache) -> float:
    """Gain bringing the stream's RMS to REF_RMS, measured once on a calibration render (cached)."""
    family = FAMILIES[voice.recipe.family]
    assert family.stream is not None
    factory = family.stream

    def make() -> np.ndarray:
        s = factory(Params(family.defaults, voice.params), sr, np.random.default_rng(12345), voice.shape)
        x = s.render(int(sum(_CALIBRATION_S) * sr))[int(_CALIBRATION_S[0] * sr):]
        rms = math.sqrt(float(np.mean(x * x)))
        return np.array([REF_RMS / rms if rms > 0 else 1.0], np.float32)

    return float(cache.get_or_render(_key(voice, sr, "calibration:" + voice.recipe.family, 0), make)[0])


#: A texture stream plays from a cached pool of this many seconds, re-cut into crossfaded segments.
POOL_S = 10.0
SEGMENT_S = 3.0
CROSSFADE_S = 1.0


def texture_pool(voice: Voice, sr: int, cache: OneShotCache) -> np.ndarray:
    """A texture stream's pool, float32 (n, channels), rendered once per voice seed and cached: POOL_S seconds,
    or just the voice's length (plus the calibration's warm-up) when it is shorter."""
    family = FAMILIES[voice.recipe.family]
    assert family.stream is not None
    factory = family.stream
    length = voice.length or 0
    n = min(int(POOL_S * sr), max(length, int(sum(_CALIBRATION_S) * sr)))

    def make() -> np.ndarray:
        s = factory(Params(family.defaults, voice.params), sr, np.random.default_rng(voice.seed), voice.shape)
        return s.render(n)

    return cache.get_or_render(_key(voice, sr, f"pool{n}:" + voice.recipe.family), make)


class LoopedPool:
    """A texture played from its pool: segments of SEGMENT_S seconds taken at random offsets (seeded), joined
    by equal-power crossfades of CROSSFADE_S (uncorrelated noise keeps its power through them). A stationary
    bed of any length then costs a copy per block; the first segment starts at the pool's start."""

    def __init__(self, pool: np.ndarray, sr: int, seed: int, length: int) -> None:
        self.pool = pool
        self.length = length
        self.seg = int(SEGMENT_S * sr)
        self.xf = int(CROSSFADE_S * sr)
        self.hop = self.seg - self.xf
        u = np.arange(self.seg, dtype=np.float64)
        self.rise = np.sin(0.5 * np.pi * np.clip(u / self.xf, 0, 1))  # window of a segment after the first
        self.whole = self.rise * np.cos(0.5 * np.pi * np.clip((u - self.hop) / self.xf, 0, 1))
        self.first = np.cos(0.5 * np.pi * np.clip((u - self.hop) / self.xf, 0, 1))
        self.seed = seed
        self.pos = 0
        self._offsets: dict[int, int] = {}

    def _offset(self, j: int) -> int:
        if j == 0:
            return 0
        if j not in self._offsets:
            rng = np.random.default_rng([self.seed, j])
            room = self.pool.shape[0] - self.seg
            prev = self._offset(j - 1) + self.hop
            o = int(rng.integers(0, room + 1))
            if abs(o - prev) < self.xf:  # too close to continuing the previous one: correlated crossfade
                o = (o + room // 2) % (room + 1)
            self._offsets = {k: v for k, v in self._offsets.items() if k >= j - 2}
            self._offsets[j] = o
        return self._offsets[j]

    def render(self, n: int) -> np.ndarray:
        k0, k1 = self.pos, self.pos + n
        if self.length <= self.pool.shape[0]:  # a bed no longer than its pool: play it straight
            self.pos = k1
            direct: np.ndarray = self.pool[k0:k1].astype(np.float64)
            return direct
        out = np.zeros((n, self.pool.shape[1]))
        for j in range(max(0, (k0 - self.seg) // self.hop), k1 // self.hop + 1):
            s0 = j * self.hop
            lo, hi = max(k0, s0), min(k1, s0 + self.seg)
            if lo >= hi:
                continue
            w = (self.whole if j > 0 else self.first)[lo - s0:hi - s0]
            o = self._offset(j)
            out[lo - k0:hi - k0] += self.pool[o + lo - s0:o + hi - s0] * w[:, None]
        self.pos = k1
        return out


def _fade(u: np.ndarray) -> np.ndarray:
    """Equal-power fade gain sin(pi/2 u) for u in 0..1 (1 beyond)."""
    out: np.ndarray = np.sin(0.5 * np.pi * np.clip(u, 0.0, 1.0))
    return out


class _Playing:
    """A voice being played: position along it and its sound source."""

    def __init__(self, voice: Voice, sr: int, channels: int, cache: OneShotCache) -> None:
        self.voice = voice
        self.sr = sr
        self.pos = 0
        gl, gr = pan_gains(voice.pan)
        self.gains = np.array([gl, gr]) if channels == 2 else np.array([1.0])
        self.channels = channels
        self.buffer: np.ndarray | None = None
        self.stream: Stream | None = None
        if voice.length is None:
            self.buffer = render_oneshot(voice, sr, cache)
            self.length = self.buffer.shape[0]
            self.scale = _db(voice.gain_db)
        else:
            family = FAMILIES[voice.recipe.family]
            assert family.stream is not None
            if family.loop:
                pool = texture_pool(voice, sr, cache)
                self.stream = LoopedPool(pool, sr, voice.seed, voice.length or 0)
                tail = pool[int(_CALIBRATION_S[0] * sr):]
                rms = math.sqrt(float(np.mean(np.square(tail, dtype=np.float64))))
                level = REF_RMS / rms if rms > 0 else 1.0
            else:
                self.stream = family.stream(Params(family.defaults, voice.params), sr,
                                            np.random.default_rng(voice.seed), voice.shape)
                level = stream_scale(voice, sr, cache)
            self.length = voice.length
            self.scale = _db(voice.gain_db) * level
            self.fade_in = max(1, int(voice.recipe.fade_in_ms / 1000 * sr))
            self.fade_out = max(1, min(int(voice.recipe.fade_out_ms / 1000 * sr), self.length // 2))
            env = np.asarray(voice.envelope_db, np.float64)
            self.env = _db_array(env) if env.size else None

    @property
    def done(self) -> bool:
        return bool(self.pos >= self.length)

    def _next(self, n: int) -> np.ndarray:
        """The next ``n`` samples (n <= remaining), shape (n, 1) or (n, 2), before panning."""
        if self.buffer is not None:
            seg = self.buffer[self.pos:self.pos + n]
            return seg[:, None] if seg.ndim == 1 else seg
        assert self.stream is not None
        x = self.stream.render(n)
        k = self.pos + np.arange(n)
        if self.pos + 1 >= self.fade_in and self.length - (self.pos + n) >= self.fade_out:
            g = np.ones(n)
        else:
            g = _fade((k + 1) / self.fade_in) * _fade((self.length - k) / self.fade_out)
        if self.env is not None:
            t = k / self.sr * 20.0  # ENVELOPE_RATE_HZ
            g = g * np.interp(t, np.arange(self.env.shape[0]), self.env)
        out: np.ndarray = x * g[:, None]
        return out

    def add_into(self, out: np.ndarray, offset: int) -> None:
        """Add the voice's samples to ``out`` from ``offset`` (within the block) onwards."""
        n = min(out.shape[0] - offset, self.length - self.pos)
        if n <= 0:
            return
        x = self._next(n) * self.scale
        self.pos += n
        if self.channels == 1:
            out[offset:offset + n, 0] += x[:, 0] if x.shape[1] == 1 else (x[:, 0] + x[:, 1]) / math.sqrt(2.0)
        elif x.shape[1] == 1:
            out[offset:offset + n] += x * self.gains[None, :]
        else:
            out[offset:offset + n] += x * self.gains[None, :]


def _db_array(db: np.ndarray) -> np.ndarray:
    out: np.ndarray = 10.0 ** (db / 20.0)
    return out


def _shelf(kind: str, freq: float, gain_db: float, sr: int) -> np.ndarray:
    """An RBJ shelving biquad (slope 1) as one SOS row (R. Bristow-Johnson, "Cookbook formulae for audio EQ
    biquad filter coefficients")."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * freq / sr
    alpha = math.sin(w0) / 2 * math.sqrt(2.0)
    cw, sa = math.cos(w0), 2 * math.sqrt(a) * alpha
    if kind == "low":
        b = [a * ((a + 1) - (a - 1) * cw + sa), 2 * a * ((a - 1) - (a + 1) * cw), a * ((a + 1) - (a - 1) * cw - sa)]
        den = [(a + 1) + (a - 1) * cw + sa, -2 * ((a - 1) + (a + 1) * cw), (a + 1) + (a - 1) * cw - sa]
    else:
        b = [a * ((a + 1) + (a - 1) * cw + sa), -2 * a * ((a - 1) + (a + 1) * cw), a * ((a + 1) + (a - 1) * cw - sa)]
        den = [(a + 1) - (a - 1) * cw + sa, 2 * ((a - 1) - (a + 1) * cw), (a + 1) - (a - 1) * cw - sa]
    return np.array([[*(v / den[0] for v in b), 1.0, den[1] / den[0], den[2] / den[0]]])


class Reverb:
    """Stereo convolution reverb by uniformly partitioned overlap-save (blocks of BLOCK samples).

    The impulse response: a 12 ms pre-delay, then independent noise per channel decaying 60 dB over ``rt60_s``,
    darkened by a one-pole low-pass, each channel scaled to unit energy (so a panned source keeps its balance).
    """

    def __init__(self, rt60_s: float, sr: int, channels: int, seed: int, block: int = BLOCK) -> None:
        rng = np.random.default_rng(seed)
        pre = int(0.012 * sr)
        n = pre + int(rt60_s * sr)
        t = np.arange(n - pre) / sr
        ir = np.zeros((n, channels))
        noise = rng.standard_normal((n - pre, channels)) * np.exp(-LN1000 * t / rt60_s)[:, None]
        ir[pre:] = scipy.signal.lfilter([0.35], [1.0, -0.65], noise, axis=0)
        ir /= np.sqrt((ir * ir).sum(axis=0, keepdims=True))
        self.block = block
        parts = -(-n // block)
        padded = np.zeros((parts * block, channels))
        padded[:n] = ir
        self.h = scipy.fft.rfft(padded.reshape(parts, block, channels), n=2 * block, axis=1)
        self.fdl = np.zeros_like(self.h)
        self.prev = np.zeros((block, channels))

    def process(self, x: np.ndarray) -> np.ndarray:
        """Reverb of one block of exactly ``block`` samples (shape (block, channels))."""
        spec = scipy.fft.rfft(np.concatenate([self.prev, x]), axis=0)
        self.prev = x
        self.fdl = np.roll(self.fdl, 1, axis=0)
        self.fdl[0] = spec
        out: np.ndarray = scipy.fft.irfft((self.fdl * self.h).sum(axis=0), n=2 * self.block, axis=0)[self.block:]
        return out


class _RowFilter:
    """A stateful SOS filter run along contiguous rows (channels, n): faster than along axis 0."""

    def __init__(self, sos: np.ndarray, channels: int) -> None:
        self.sos = sos
        self.zi = np.zeros((sos.shape[0], channels, 2))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self.zi = scipy.signal.sosfilt(self.sos, np.ascontiguousarray(x.T), axis=-1, zi=self.zi)
        out: np.ndarray = y.T
        return out


def has_beds_bus(voices: Sequence[Voice], music: bool) -> bool:
    """Whether :func:`mix_blocks` gives a beds bus with sound in it: a background bed among ``voices``, or music."""
    return music or any(v.bed for v in voices)


def band_limiter(sample_rate: int, channels: int) -> Callable[[np.ndarray], np.ndarray]:
    """A stateful 6th-order Butterworth low-pass at 0.4 x the sample rate (19.2 kHz at 48 kHz) for blocks of shape
    (n, channels): the master's last filter before the true-peak limiter, so nothing near Nyquist makes the 4x
    interpolator read peaks the limiter cannot hold."""
    return _RowFilter(scipy.signal.butter(6, 0.4 * sample_rate, fs=sample_rate, output="sos"), channels)


class _Chain:
    """The profile's master EQ and reverb (``reverb`` False: none) for one bus (each bus keeps its own filter
    states)."""

    def __init__(self, profile: Profile, sr: int, channels: int, *, reverb: bool = True) -> None:
        eq_rows = [_shelf(k, f, g, sr) for k, f, g in (("low", 120.0, profile.low_shelf_db),
                                                       ("high", 6000.0, profile.high_shelf_db)) if g]
        self.eq = _RowFilter(np.vstack(eq_rows), channels) if eq_rows else None
        self.reverb = Reverb(profile.reverb_s, sr, channels, stable_seed("reverb", profile.name)) \
            if reverb and profile.reverb_mix > 0 else None
        self.reverb_mix = profile.reverb_mix

    def room(self, x: np.ndarray) -> np.ndarray:
        """EQ and reverb of one block of BLOCK samples."""
        if self.eq is not None:
            x = self.eq(x)
        if self.reverb is not None:
            x = x + self.reverb_mix * self.reverb.process(x)
        return x


def mix_blocks(voices: Sequence[Voice], n_total: int, *, sample_rate: int, channels: int, profile: Profile,
               cache: OneShotCache, music: MusicBed | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The mix before loudness normalisation, in blocks of BLOCK samples (the last one shorter), ``n_total``
    samples in all, as two buses: ``(effects, beds)``, each float64 shape (n, channels), the mix being their sum
    (not yet band-limited: see :func:`band_limiter`).

    The effects bus holds the events' sounds (through the profile's compressor); the beds bus the background beds
    (room tone, rain) and the music, so loudness normalisation can make up what the limiter takes from the effects
    without raising the beds (:mod:`captioning.foley.render`). Both pass through the profile's EQ; the effects
    through its reverb too (a bed is diffuse sound already: the room is in it). A track without beds or music has
    an all-zero beds bus.
    """
    sr = sample_rate
    fx_chain = _Chain(profile, sr, channels)
    beds_chain = _Chain(profile, sr, channels, reverb=False) if has_beds_bus(voices, music is not None) else None
    compressor = Compressor(sr, channels, threshold_db=profile.comp_threshold_db, ratio=profile.comp_ratio,
                            knee_db=profile.comp_knee_db, attack_ms=profile.comp_attack_ms,
                            release_ms=profile.comp_release_ms) if profile.comp_ratio > 1.0 else None
    pending = list(voices)
    nxt = 0
    playing: list[_Playing] = []
    for b0 in range(0, max(n_total, 1), BLOCK):
        if b0 >= n_total:
            break
        fx = np.zeros((BLOCK, channels))
        beds = np.zeros((BLOCK, channels))
        b1 = b0 + BLOCK
        for p in playing:
            p.add_into(beds if p.voice.bed else fx, 0)
        while nxt < len(pending) and pending[nxt].start < b1:
            p = _Playing(pending[nxt], sr, channels, cache)
            p.add_into(beds if p.voice.bed else fx, max(0, pending[nxt].start - b0))
            playing.append(p)
            nxt += 1
        playing = [p for p in playing if not p.done]
        n = min(BLOCK, n_total - b0)
        fx = fx_chain.room(compressor.process(fx) if compressor is not None else fx)
        if beds_chain is None:
            yield fx[:n], np.zeros((n, channels))
            continue
        beds = beds_chain.room(beds)
        if music is not None:
            beds = beds + music.render(fx + beds)
        yield fx[:n], beds[:n]
