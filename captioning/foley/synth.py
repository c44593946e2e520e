"""The synthesis families: one physically informed model per family, its parameters from a recipe row.

Families (parameters and defaults in each ``*_DEFAULTS``; recipes in ``captioning/data/foley_recipes.csv``):

=========  ==========================================================================================
modal      struck objects: a sum of exponentially decaying modes (frequency ratios, amplitudes and decay of
           the material), weighted by the spectrum of the contact force (a half-sine of the contact time:
           hard contacts excite high modes), plus contact noise (van den Doel & Pai's modal synthesis).
burst      filtered noise bursts (claps, clicks, cracks), with optional low "boom" (a falling sine), a
           reverberant noise tail and debris crackle (gunshots, explosions).
footstep   heel then toe: two filtered noise contacts shaped by the surface (material) and the shoe, a low
           body thump, optional grit (gravel, snow) grains.
shatter    glass: a bright modal hit, a broadband crack, then many small shard modes falling off in time.
whoosh     air rushing past: noise through a band-pass sweeping with the loudness.
liquid     splashes: a noise burst, then Minnaert bubbles (pitch rising as they decay) and drops.
vocal      source-filter voices: a harmonic source with a pitch contour and roughness, shaped by formant
           resonances (optionally gliding), plus breath noise (barks, calls, chirps).
tone       oscillators: band-limited sine/square/saw/triangle, chords, sweeps (sirens), on/off patterns
           (beeps), vibrato, drive and a band-pass (horns, buzzes, squeaks). Streams.
texture    noise beds and granular layers: coloured noise, gusts and band resonances (wind), drop grains
           (rain), Minnaert bubbles (water), crackle (fire, rustle, scrape). Streams, stereo.
rotor      engines and motors: a firing pulse train at the rpm through exhaust resonances, half-order
           harmonics, pulse-synchronous noise and an electric whine. Streams.
=========  ==========================================================================================

One-shot families are functions ``(params, sample_rate, rng, shape) -> mono float64 array`` whose first sample is
the onset (never zero); stream families are classes whose ``render(n)`` returns the next ``n`` samples, shape
``(n, 1)`` or ``(n, 2)``, and can also be rendered to a fixed-length one-shot. Every random draw comes from the
``rng`` given, so a sound is a pure function of (params, sample rate, seed, shape).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.signal

from captioning.foley.tables import Param

#: T60 -> exponent: exp(-LN1000 * t / T60) falls 60 dB at T60.
LN1000 = math.log(1000.0)


@dataclass(frozen=True)
class Shape:
    """What an effect profile does to one sound: frequency and time multipliers, a pitch bend, stereo width."""

    pitch: float = 1.0
    decay: float = 1.0
    attack: float = 1.0
    glide_st: float = 0.0
    width: float = 1.0


class Params:
    """A recipe's parameters over its family's defaults, with typed getters."""

    def __init__(self, defaults: Mapping[str, Param], values: Mapping[str, Param]) -> None:
        self._d = {**defaults, **values}

    def f(self, key: str) -> float:
        v = self._d[key]
        if isinstance(v, tuple):
            return float(v[0])
        if isinstance(v, str):
            raise ValueError(f"parameter {key} must be a number, got {v!r}")
        return float(v)

    def fs(self, key: str) -> np.ndarray:
        v = self._d[key]
        if isinstance(v, str):
            raise ValueError(f"parameter {key} must be numbers, got {v!r}")
        return np.atleast_1d(np.asarray(v, np.float64))

    def s(self, key: str) -> str:
        return str(self._d[key])


class Stream(Protocol):
    def render(self, n: int) -> np.ndarray: ...


OneShotFn = Callable[[Params, int, np.random.Generator, Shape], np.ndarray]
StreamFactory = Callable[[Params, int, np.random.Generator, Shape], Stream]


@dataclass(frozen=True)
class Family:
    defaults: Mapping[str, Param]
    oneshot: OneShotFn | None = None
    stream: StreamFactory | None = None
    loop: bool = False  # a stationary texture: played from a cached pool (captioning.foley.mixer.LoopedPool)


# --------------------------------------------------------------------------------------------------- helpers

#: Julius O. Smith's pink-noise filter (1/f within 0.3 dB from 10 Hz to Nyquist at 44.1 kHz), from
#: "Spectral Audio Signal Processing", section "Example: Synthesis of 1/f Noise (Pink Noise)".
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])

def _sos(kind: str, freq: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    nyq = 0.5 * sr
    if isinstance(freq, tuple):
        lo, hi = max(10.0, freq[0]), min(freq[1], 0.45 * sr)
        if hi <= lo * 1.05:
            lo, hi = hi / 1.5, hi
        sos: np.ndarray = scipy.signal.butter(order, [lo, hi], btype="bandpass", fs=sr, output="sos")
        return sos
    f = min(max(freq, 10.0), 0.95 * nyq)
    sos = scipy.signal.butter(order, f, btype=kind, fs=sr, output="sos")
    return sos


def _filter(x: np.ndarray, *, sr: int, lp: float = 0.0, hp: float = 0.0, order: int = 2) -> np.ndarray:
    y = x
    if lp > 0:
        y = scipy.signal.sosfilt(_sos("lowpass", lp, sr, order), y, axis=0)
    if hp > 0:
        y = scipy.signal.sosfilt(_sos("highpass", hp, sr, order), y, axis=0)
    return y


def _resonance(x: np.ndarray, freq: float, q: float, sr: int) -> np.ndarray:
    b, a = scipy.signal.iirpeak(min(freq, 0.45 * sr), max(q, 0.3), fs=sr)
    out: np.ndarray = scipy.signal.lfilter(b, a, x, axis=0)
    return out


def _attack_decay(n: int, sr: int, attack_s: float, decay_t60_s: float) -> np.ndarray:
    """Linear rise over ``attack_s`` (first sample > 0) then exponential fall reaching -60 dB at ``decay_t60_s``."""
    t = np.arange(n) / sr
    env = np.exp(-LN1000 * t / max(decay_t60_s, 1e-4))
    na = max(1, int(attack_s * sr))
    env[:na] *= np.arange(1, na + 1) / na
    return env


def _fade_tail(x: np.ndarray, sr: int, fade_s: float = 0.005) -> np.ndarray:
    n = min(x.shape[0], max(1, int(fade_s * sr)))
    x[-n:] *= np.linspace(1.0, 0.0, n)[:, None] if x.ndim == 2 else np.linspace(1.0, 0.0, n)
    return x


def _contact_weight(freqs: np.ndarray, contact_s: float) -> np.ndarray:
    """|spectrum| of a half-sine force pulse of duration ``contact_s`` at ``freqs`` (1 at DC)."""
    x = 2.0 * freqs * contact_s
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.abs(np.cos(np.pi * freqs * contact_s) / (1.0 - x * x))
    w = np.where(np.abs(1.0 - x) < 1e-6, np.pi / 4, w)
    out: np.ndarray = np.maximum(w, 1e-4)
    return out


def _pad_amps(amps: np.ndarray, n: int) -> np.ndarray:
    if amps.shape[0] >= n:
        return amps[:n]
    tail = amps[-1] * 0.7 ** np.arange(1, n - amps.shape[0] + 1)
    return np.concatenate([amps, tail])


def _decaying_modes(freqs: np.ndarray, amps: np.ndarray, t60: np.ndarray, phases: np.ndarray, n: int, sr: int,
                    glide_st: float = 0.0, glide_s: float = 0.08) -> np.ndarray:
    """Sum of modes ``amps * exp(-LN1000 t / t60) * sin(2 pi f t + phase)``, optionally bent by ``glide_st``
    semitones at the onset, relaxing with time constant ``glide_s``."""
    t = np.arange(n) / sr
    warp = t
    if glide_st:
        g = 2.0 ** (glide_st / 12.0) - 1.0
        warp = t + g * glide_s * (1.0 - np.exp(-t / glide_s))
    y = np.zeros(n)
    for f, a, d, ph in zip(freqs, amps, t60, phases, strict=True):
        m = min(n, int(d * sr * 1.2) + 1)  # beyond -70 dB the mode is inaudible
        y[:m] += a * np.exp(-LN1000 * t[:m] / d) * np.sin(2 * np.pi * f * warp[:m] + ph)
    return y


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, size: int | None = None) -> np.ndarray:
    out: np.ndarray = np.exp(rng.uniform(math.log(lo), math.log(max(hi, lo * 1.0001)), size))
    return out


# ------------------------------------------------------------------------------------------------------ modal

#: Parameters a material row may set (read by modal and footstep).
MATERIAL_KEYS = ("f0_hz", "ratios", "amps", "decay_s", "decay_slope", "contact_ms", "noise_gain", "noise_lp_hz",
                 "step_lp_hz", "step_hp_hz", "step_decay_ms", "step_grit", "step_body_hz")

MODAL_DEFAULTS: dict[str, Param] = {
    "material": "", "f0_hz": 400.0, "ratios": (1.0,), "amps": (1.0,), "decay_s": 0.3, "decay_slope": 0.5,
    "contact_ms": 1.0, "noise_gain": 0.2, "noise_lp_hz": 6000.0, "max_s": 3.0, "body_hz": 0.0, "body_s": 0.06,
    "body_gain": 0.0, "inharm_jitter": 0.01, "amp_jitter": 0.3, "step_lp_hz": 0.0, "step_hp_hz": 0.0,
    "step_decay_ms": 0.0, "step_grit": 0.0, "step_body_hz": 0.0,
}


def modal(p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """A struck object: modes of the material, excited by a half-sine contact, plus contact noise and body."""
    f0 = p.f("f0_hz") * shape.pitch
    ratios = p.fs("ratios").copy()
    if ratios.shape[0] > 1:
        ratios[1:] *= 1.0 + rng.normal(0.0, p.f("inharm_jitter"), ratios.shape[0] - 1)
    amps = _pad_amps(p.fs("amps"), ratios.shape[0]) * np.exp(rng.normal(0.0, p.f("amp_jitter"), ratios.shape[0]))
    freqs = f0 * ratios
    keep = freqs < 0.45 * sr
    freqs, ratios, amps = freqs[keep], ratios[keep], amps[keep]
    contact_s = p.f("contact_ms") / 1000.0 * shape.attack
    amps = amps * _contact_weight(freqs, contact_s)
    t60 = p.f("decay_s") * shape.decay * np.maximum(ratios, 0.05) ** (-p.f("decay_slope"))
    if p.f("body_gain") > 0:
        freqs = np.append(freqs, p.f("body_hz") * shape.pitch)
        amps = np.append(amps, p.f("body_gain") * amps.max(initial=1.0))
        t60 = np.append(t60, p.f("body_s") * shape.decay)
    length = min(p.f("max_s") * max(shape.decay, 1.0), float(t60.max(initial=0.05)) * 1.1) + contact_s
    n = max(int(length * sr), int(0.03 * sr))
    y = _decaying_modes(freqs, amps, t60, np.asarray(rng.uniform(0.3, 2.8, freqs.shape[0])), n, sr,
                        shape.glide_st)
    peak = float(np.abs(y).max(initial=0.0)) or 1.0
    nn = min(n, int((contact_s * 4 + 0.004) * sr) + 1)
    noise = rng.standard_normal(nn) * _attack_decay(nn, sr, contact_s * 0.5, contact_s * 4 + 0.004)
    noise = _filter(noise, sr=sr, lp=p.f("noise_lp_hz") * shape.pitch)
    y[:nn] += p.f("noise_gain") * peak * noise / (float(np.abs(noise).max(initial=0.0)) or 1.0)
    return _fade_tail(y, sr)


# ------------------------------------------------------------------------------------------------------ burst

BURST_DEFAULTS: dict[str, Param] = {
    "n_bursts": 1.0, "spacing_ms": 10.0, "attack_ms": 0.3, "decay_ms": 20.0, "lp_hz": 0.0, "hp_hz": 0.0,
    "band_hz": 0.0, "band_q": 1.0, "burst_gain": 1.0, "boom_hz": 0.0, "boom_end_hz": 0.0, "boom_s": 0.3,
    "boom_gain": 0.0, "tail_s": 0.0, "tail_lp_hz": 2000.0, "tail_gain": 0.0, "crackle_rate": 0.0,
    "crackle_s": 0.0, "crackle_gain": 0.0, "crackle_hp_hz": 1500.0, "ring_hz": 0.0, "ring_s": 0.03,
    "ring_gain": 0.0, "max_s": 4.0,
}


def burst(p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Noise bursts (claps, clicks, cracks), with optional boom, tail, debris crackle and a resonance."""
    decay = p.f("decay_ms") / 1000.0 * shape.decay
    length = max(decay * 1.2 + p.f("n_bursts") * p.f("spacing_ms") / 1000.0, p.f("boom_s") * shape.decay * 1.1
                 * (p.f("boom_gain") > 0), p.f("tail_s") * shape.decay * 1.1,
                 p.f("crackle_s") * shape.decay, p.f("ring_s") * shape.decay * 1.1 * (p.f("ring_gain") > 0), 0.02)
    n = int(min(length, p.f("max_s") * max(1.0, shape.decay)) * sr) + 1
    y = np.zeros(n)
    t0 = 0
    for i in range(int(p.f("n_bursts"))):
        if i:
            t0 += int(p.f("spacing_ms") / 1000.0 * sr * rng.uniform(0.7, 1.3))
        if t0 >= n:
            break
        m = n - t0
        gain = 1.0 if i == 0 else rng.uniform(0.5, 1.0)
        y[t0:] += gain * rng.standard_normal(m) * _attack_decay(m, sr, p.f("attack_ms") / 1000.0 * shape.attack,
                                                                 decay)
    if p.f("band_hz") > 0:
        y = _resonance(y, p.f("band_hz") * shape.pitch, p.f("band_q"), sr) * 2.0 + 0.25 * y
    y = _filter(y, sr=sr, lp=p.f("lp_hz") * shape.pitch, hp=p.f("hp_hz") * shape.pitch)
    y *= p.f("burst_gain") / (float(np.abs(y).max(initial=0.0)) or 1.0)
    t = np.arange(n) / sr
    if p.f("boom_gain") > 0:
        f_start, f_end = p.f("boom_hz") * shape.pitch, (p.f("boom_end_hz") or p.f("boom_hz") * 0.5) * shape.pitch
        boom_s = p.f("boom_s") * shape.decay
        k = math.log(f_end / f_start) / boom_s
        phase = 2 * np.pi * f_start * (np.expm1(k * t) / k)
        y += p.f("boom_gain") * np.sin(phase + 0.5) * _attack_decay(n, sr, 0.002, boom_s)
    if p.f("tail_gain") > 0:
        tail = rng.standard_normal(n) * _attack_decay(n, sr, 0.004 * shape.attack, p.f("tail_s") * shape.decay)
        tail = _filter(tail, sr=sr, lp=p.f("tail_lp_hz") * shape.pitch, order=1)
        y += p.f("tail_gain") * tail / (float(np.abs(tail).max(initial=0.0)) or 1.0)
    if p.f("crackle_gain") > 0 and p.f("crackle_rate") > 0:
        span = p.f("crackle_s") * shape.decay
        count = rng.poisson(p.f("crackle_rate") * span)
        clicks = np.zeros(n)
        times = np.minimum((rng.exponential(span / 3.0, count) * sr).astype(int), n - 1)
        np.add.at(clicks, times, rng.pareto(2.5, count) * rng.choice((-1.0, 1.0), count)
                  * np.exp(-t[times] / max(span, 1e-3)))
        clicks = _filter(scipy.signal.lfilter([1.0], [1.0, -math.exp(-1.0 / (0.0008 * sr))], clicks), sr=sr,
                         hp=p.f("crackle_hp_hz"))
        y += p.f("crackle_gain") * clicks / (float(np.abs(clicks).max(initial=0.0)) or 1.0)
    if p.f("ring_gain") > 0:
        y += p.f("ring_gain") * _decaying_modes(np.array([p.f("ring_hz") * shape.pitch]), np.array([1.0]),
                                                np.array([p.f("ring_s") * shape.decay]), np.array([0.7]), n, sr,
                                                shape.glide_st)
    return _fade_tail(y, sr)


# --------------------------------------------------------------------------------------------------- footstep

FOOTSTEP_DEFAULTS: dict[str, Param] = {
    **{k: MODAL_DEFAULTS[k] for k in MATERIAL_KEYS}, "material": "",
    "step_lp_hz": 3000.0, "step_hp_hz": 70.0, "step_decay_ms": 35.0, "step_grit": 0.0, "step_body_hz": 90.0,
    "toe_delay_ms": 85.0, "toe_gain": 0.55, "shoe_hardness": 0.5, "body_gain": 0.9, "scuff_gain": 0.12,
}


def _contact(n: int, sr: int, rng: np.random.Generator, p: Params, shape: Shape, *, bright: float,
             decay_s: float) -> np.ndarray:
    hard = p.f("shoe_hardness")
    # the sole meets the floor over a few ms (a soft sole takes longer), the floor's response decays
    y = rng.standard_normal(n) * _attack_decay(n, sr, (0.0015 + 0.004 * (1 - hard)) * shape.attack, decay_s)
    y = _filter(y, sr=sr, lp=p.f("step_lp_hz") * (0.6 + 0.4 * hard) * bright * shape.pitch, hp=p.f("step_hp_hz"))
    y /= float(np.abs(y).max(initial=0.0)) or 1.0
    # the body's weight landing: a heavily damped floor gives a low, untuned thud (low-passed noise), not a ring
    body = _filter(rng.standard_normal(n), sr=sr, lp=p.f("step_body_hz") * 2.0 * shape.pitch, hp=30.0)
    body *= _attack_decay(n, sr, 0.004, decay_s * 2.0) / (float(np.abs(body).max(initial=0.0)) or 1.0)
    y += p.f("body_gain") * 1.5 * (1.0 - 0.3 * hard) * body
    grit = p.f("step_grit")
    if grit > 0:
        count = rng.poisson(grit * 35)
        clicks = np.zeros(n)
        idx = np.minimum((rng.exponential(0.04, count) * sr).astype(int), n - 1)
        np.add.at(clicks, idx, rng.uniform(0.2, 1.0, count) * rng.choice((-1.0, 1.0), count))
        clicks = scipy.signal.lfilter([1.0], [1.0, -math.exp(-1.0 / (0.0015 * sr))], clicks)
        clicks = _filter(clicks, sr=sr, hp=1500.0, lp=min(9000.0, 0.4 * sr))
        y += grit * 1.2 * clicks / (float(np.abs(clicks).max(initial=0.0)) or 1.0)
    return y


def footstep(p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """One step: heel contact, then the toe ``toe_delay_ms`` later, shaped by surface and shoe."""
    decay = p.f("step_decay_ms") / 1000.0 * shape.decay
    toe_at = int(p.f("toe_delay_ms") / 1000.0 * sr * rng.uniform(0.8, 1.2) / max(shape.attack, 0.3))
    n = toe_at + int((decay * 1.6 + 0.06) * sr)
    y = _contact(n, sr, rng, p, shape, bright=1.0, decay_s=decay)
    toe = _contact(n - toe_at, sr, rng, p, shape, bright=1.3, decay_s=decay * 0.7)
    y[toe_at:] += p.f("toe_gain") * rng.uniform(0.8, 1.2) * toe
    if p.f("scuff_gain") > 0:
        scuff = rng.standard_normal(toe_at + 1) * np.hanning(toe_at + 1)
        scuff = _filter(scuff, sr=sr, lp=2500.0, hp=400.0)
        y[:toe_at + 1] += p.f("scuff_gain") * scuff / (float(np.abs(scuff).max(initial=0.0)) or 1.0)
    y[0] = y[0] if y[0] != 0 else 1e-3
    return _fade_tail(y, sr)


# ---------------------------------------------------------------------------------------------------- shatter

SHATTER_DEFAULTS: dict[str, Param] = {
    "impact_f0_hz": 1900.0, "shards": 70.0, "spread_s": 0.35, "shard_lo_hz": 2500.0, "shard_hi_hz": 11000.0,
    "shard_s": 0.08, "crack_gain": 0.9, "crack_s": 0.03, "shard_gain": 0.6, "impact_gain": 0.7, "impact_s": 0.06,
    "tinkle_s": 1.0,
    "max_s": 2.5,
}
_GLASS_RATIOS = np.array([1.0, 2.32, 4.25, 6.63, 9.38])


def shatter(p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Glass breaking: a bright hit and crack, then shards (2-3 small modes each) scattering over ``spread_s``."""
    n = int(min(p.f("max_s"), p.f("tinkle_s") * shape.decay + 0.3) * sr)
    y = np.zeros(n)
    f0 = p.f("impact_f0_hz") * shape.pitch
    freqs = f0 * _GLASS_RATIOS * (1 + rng.normal(0, 0.01, 5))
    ok = freqs < 0.45 * sr
    # the object breaks as it is struck: its modes are cut short (impact_s), it does not ring on like a chime
    y += p.f("impact_gain") * _decaying_modes(freqs[ok], (0.8 ** np.arange(5))[ok], (p.f("impact_s") * shape.decay
                                              * (_GLASS_RATIOS ** -0.6))[ok], rng.uniform(0.3, 2.8, 5)[ok], n, sr)
    crack_s = p.f("crack_s") * shape.decay
    crack_n = min(n, int(crack_s * 1.5 * sr) + 1)
    crack = _filter(rng.standard_normal(crack_n) * _attack_decay(crack_n, sr, 0.0002, crack_s), sr=sr, hp=1200.0)
    y[:crack_n] += p.f("crack_gain") * crack / (float(np.abs(crack).max(initial=0.0)) or 1.0)
    count = int(p.f("shards"))
    spread = p.f("spread_s") * shape.decay
    times = np.concatenate([rng.exponential(spread / 3.0, count - count // 5),
                            rng.uniform(spread * 0.5, p.f("tinkle_s") * shape.decay, count // 5)])
    lo, hi = p.f("shard_lo_hz") * shape.pitch, min(p.f("shard_hi_hz") * shape.pitch, 0.43 * sr)
    for t in times:
        i = int(t * sr)
        if i >= n - 10:
            continue
        m = min(n - i, int(p.f("shard_s") * 1.5 * sr))
        k = int(rng.integers(2, 4))
        f = _log_uniform(rng, lo, hi, k)
        amp = rng.uniform(0.2, 1.0) * math.exp(-t / (spread * 2.0))
        y[i:i + m] += p.f("shard_gain") * amp * _decaying_modes(
            f, rng.uniform(0.3, 1.0, k), p.f("shard_s") * shape.decay * rng.uniform(0.4, 1.4, k),
            rng.uniform(0.0, 6.28, k), m, sr)
    return _fade_tail(y, sr)


# ------------------------------------------------------------------------------------------------------ vocal

VOCAL_DEFAULTS: dict[str, Param] = {
    "dur_s": 0.25, "f0_start": 400.0, "f0_peak": 650.0, "f0_end": 350.0, "peak_at": 0.3,
    "formants": (800.0, 1300.0, 2700.0), "bandwidths": (120.0, 150.0, 250.0), "formants_end": 0.0,
    "noise_gain": 0.3, "attack_ms": 8.0, "release_ms": 60.0, "tilt_db": -9.0, "calls": 1.0, "call_gap_s": 0.15,
    "vibrato_hz": 0.0, "vibrato_cents": 0.0, "rough": 0.0, "max_harmonics": 40.0, "env_decay_s": 0.0,
}


def _one_call(p: Params, sr: int, rng: np.random.Generator, shape: Shape, dur: float) -> np.ndarray:
    n = max(16, int(dur * sr))
    u = np.linspace(0.0, 1.0, n)
    pk = min(max(p.f("peak_at"), 0.01), 0.99)
    s0, s1, s2 = (p.f(k) * shape.pitch * rng.uniform(0.95, 1.05) for k in ("f0_start", "f0_peak", "f0_end"))
    rise = 0.5 - 0.5 * np.cos(np.pi * np.clip(u / pk, 0, 1))
    fall = 0.5 - 0.5 * np.cos(np.pi * np.clip((u - pk) / (1 - pk), 0, 1))
    f0 = np.where(u <= pk, s0 + (s1 - s0) * rise, s1 + (s2 - s1) * fall)
    t = np.arange(n) / sr
    if p.f("vibrato_cents"):
        f0 = f0 * 2 ** (p.f("vibrato_cents") / 1200 * np.sin(2 * np.pi * p.f("vibrato_hz") * t))
    if shape.glide_st:
        f0 = f0 * 2 ** (shape.glide_st / 12 * np.exp(-t / 0.06))
    rough = p.f("rough")
    if rough:
        jit = scipy.signal.sosfilt(_sos("lowpass", 60.0, sr), rng.standard_normal(n))
        f0 = f0 * (1 + rough * 0.15 * jit / (float(np.abs(jit).max(initial=0.0)) or 1.0))
    phase = 2 * np.pi * np.cumsum(f0) / sr + rng.uniform(0.3, 2.8)
    form0, bw = p.fs("formants") * shape.pitch ** 0.5, p.fs("bandwidths")
    bw = _pad_amps(bw, form0.shape[0])
    form1 = p.fs("formants_end") * shape.pitch ** 0.5 if p.fs("formants_end")[0] > 0 else form0
    k_max = int(p.f("max_harmonics"))
    tilt = p.f("tilt_db") / 6.0206  # dB per octave -> exponent of k
    y = np.zeros(n)
    s_prev, s_cur = np.zeros(n), np.sin(phase)
    c2 = 2.0 * np.cos(phase)
    frames = np.linspace(0, 1, 32)
    for k in range(1, k_max + 1):
        fk = k * f0
        if fk.min() > 0.45 * sr:
            break
        # formant gain of harmonic k over time (resonance magnitudes, formants gliding start -> end)
        fk_c = np.interp(frames, u, fk)
        g = np.zeros_like(frames)
        for j in range(form0.shape[0]):
            fj = form0[j] + (form1[j] - form0[j]) * frames
            g += 1.0 / np.sqrt(1.0 + ((fk_c - fj) / (0.5 * bw[j])) ** 2) * (0.8 ** j)
        amp = np.interp(u, frames, g) * k ** tilt * np.clip((0.45 * sr - fk) / (0.05 * sr), 0, 1)
        y += amp * s_cur
        s_prev, s_cur = s_cur, c2 * s_cur - s_prev
    if rough:
        y *= 1.0 + rough * 0.6 * np.sin(phase / 2.0)  # subharmonic: period doubling of a rough voice
    y /= float(np.abs(y).max(initial=0.0)) or 1.0
    if p.f("noise_gain") > 0:
        noise = rng.standard_normal(n)
        shaped = sum(_resonance(noise, float(f), float(f / max(b, 1.0)), sr) * (0.8 ** j)
                     for j, (f, b) in enumerate(zip(form0, bw, strict=True)))
        shaped = np.asarray(shaped)
        y += p.f("noise_gain") * shaped / (float(np.abs(shaped).max(initial=0.0)) or 1.0)
    # a held call (a moo) keeps its level; a bark falls from its attack (env_decay_s: T60 of that fall)
    env = np.exp(-LN1000 * t / p.f("env_decay_s")) if p.f("env_decay_s") > 0 else np.ones(n)
    na = max(1, int(p.f("attack_ms") / 1000 * sr * shape.attack))
    nr = min(n - na, int(p.f("release_ms") / 1000 * sr))
    env[:na] *= np.arange(1, na + 1) / na
    if nr > 0:
        env[n - nr:] *= np.linspace(1.0, 0.0, nr) ** 2
    return y * env


def vocal(p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """One or more calls of a source-filter voice (pitch contour through formants)."""
    parts: list[np.ndarray] = []
    for i in range(int(p.f("calls"))):
        if i:
            gap = int(p.f("call_gap_s") * rng.uniform(0.8, 1.25) * sr)
            parts.append(np.zeros(gap))
        dur = p.f("dur_s") * rng.uniform(0.85, 1.15) * (shape.decay ** 0.5)
        parts.append(_one_call(p, sr, rng, shape, dur) * (1.0 if i == 0 else rng.uniform(0.6, 1.0)))
    y = np.concatenate(parts)
    y[0] = y[0] if y[0] != 0 else 1e-3
    return y


# ----------------------------------------------------------------------------------------- whoosh and liquid

WHOOSH_DEFAULTS: dict[str, Param] = {
    "dur_s": 0.45, "lo_hz": 300.0, "hi_hz": 2500.0, "q": 1.8, "peak_at": 0.55, "rise_power": 2.0,
    "fall_power": 1.5, "color": "white",
}


def whoosh(p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Air rushing past: noise through a band-pass whose centre follows the loudness (up as it nears, down as it
    goes: the Doppler-like sweep a listener hears), with a swelling then fading envelope."""
    n = max(64, int(p.f("dur_s") * shape.decay * sr))
    u = np.arange(1, n + 1) / n
    pk = min(max(p.f("peak_at") * shape.attack, 0.05), 0.95)
    env = np.where(u <= pk, (u / pk) ** p.f("rise_power"), ((1 - u) / (1 - pk)) ** p.f("fall_power"))
    x = rng.standard_normal(n)
    if p.s("color") == "pink":
        x = scipy.signal.lfilter(_PINK_B * 8.0, _PINK_A, x)
    lo, hi = p.f("lo_hz") * shape.pitch, min(p.f("hi_hz") * shape.pitch, 0.4 * sr)
    centre = lo * (hi / lo) ** env
    y = np.zeros(n)
    zi = np.zeros(2)
    seg = 64
    q = p.f("q")
    for i in range(0, n, seg):
        w0 = 2 * np.pi * float(centre[min(n - 1, i + seg // 2)]) / sr
        alpha = math.sin(w0) / (2 * q)
        b = np.array([alpha, 0.0, -alpha]) / (1 + alpha)
        a = np.array([1.0, -2 * math.cos(w0) / (1 + alpha), (1 - alpha) / (1 + alpha)])
        y[i:i + seg], zi = scipy.signal.lfilter(b, a, x[i:i + seg], zi=zi)
    out: np.ndarray = (y + 0.05 * x) * env
    out[0] = out[0] if out[0] != 0 else 1e-4
    return out


def _bubble(t: np.ndarray, f0: float, decay_s: float, rise: float) -> np.ndarray:
    """A Minnaert bubble: a sine whose pitch rises as it decays (van den Doel, "Physically based models for
    liquid sounds", ACM TAP 2005): f(t) = f0 (1 + rise * t / decay)."""
    d = max(decay_s, 1e-3)
    out: np.ndarray = np.exp(-LN1000 * t / d) * np.sin(2 * np.pi * f0 * (t + rise * t * t / (2 * d)))
    return out


LIQUID_DEFAULTS: dict[str, Param] = {
    "burst_decay_ms": 70.0, "lp_hz": 3500.0, "hp_hz": 150.0, "burst_gain": 0.8, "bubbles": 25.0,
    "spread_s": 0.35, "bubble_lo_hz": 350.0, "bubble_hi_hz": 2200.0, "bubble_decay_ms": 30.0, "bubble_rise": 0.3,
    "bubble_gain": 1.0, "drops": 12.0, "drop_lo_hz": 1500.0, "drop_hi_hz": 5000.0, "drop_gain": 0.5,
    "max_s": 1.2,
}


def liquid(p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """A splash: a filtered noise burst as the surface breaks, then bubbles and falling drops."""
    spread = p.f("spread_s") * shape.decay
    n = int(min(p.f("max_s") * max(shape.decay, 1.0), spread * 2.5 + 0.15) * sr)
    y = rng.standard_normal(n) * _attack_decay(n, sr, 0.002 * shape.attack, p.f("burst_decay_ms") / 1000
                                                 * shape.decay)
    y = _filter(y, sr=sr, lp=p.f("lp_hz") * shape.pitch, hp=p.f("hp_hz"))
    y *= p.f("burst_gain") / (float(np.abs(y).max(initial=0.0)) or 1.0)
    layers = (("bubble", p.f("bubbles"), p.f("bubble_lo_hz"), p.f("bubble_hi_hz"), p.f("bubble_gain")),
              ("drop", p.f("drops"), p.f("drop_lo_hz"), p.f("drop_hi_hz"), p.f("drop_gain")))
    for kind, count, lo, hi, gain in layers:
        decay = p.f("bubble_decay_ms") / 1000 * shape.decay * (0.4 if kind == "drop" else 1.0)
        m = int(decay * 1.5 * sr)
        t = np.arange(m) / sr
        for _ in range(int(count)):
            at = rng.exponential(spread / 2.5) + (0.0 if kind == "bubble" else spread * 0.3)
            i = int(at * sr)
            if i >= n - 8:
                continue
            f0 = float(_log_uniform(rng, lo * shape.pitch, min(hi * shape.pitch, 0.4 * sr)))
            b = _bubble(t, f0, decay * rng.uniform(0.5, 1.5) * (600.0 / f0) ** 0.5, p.f("bubble_rise")
                        * rng.uniform(0.5, 1.5))
            k = min(m, n - i)
            y[i:i + k] += gain * rng.uniform(0.2, 1.0) * math.exp(-at / spread) * b[:k]
    return _fade_tail(y, sr)


# ------------------------------------------------------------------------------------------- stream plumbing

class _Chunked:
    """Base of the stream families: renders fixed chunks (so output never depends on the caller's block sizes)
    and serves any ``n``."""

    CHUNK = 4096

    def __init__(self, channels: int) -> None:
        self._buf = np.zeros((0, channels))
        self.channels = channels

    def _chunk(self, n: int) -> np.ndarray:
        raise NotImplementedError

    def render(self, n: int) -> np.ndarray:
        parts = [self._buf]
        have = self._buf.shape[0]
        while have < n:
            c = self._chunk(self.CHUNK)
            parts.append(c)
            have += c.shape[0]
        buf = np.concatenate(parts) if len(parts) > 1 else self._buf
        self._buf = buf[n:]
        return buf[:n]


class _SmoothRandom:
    """A smooth random signal (cosine-interpolated random values ``rate`` times a second), streamed."""

    def __init__(self, rng: np.random.Generator, rate_hz: float, sr: int) -> None:
        self._rng = rng
        self._step = max(rate_hz, 1e-3) / sr
        self._pos = 0.0
        self._a, self._b = float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1))

    def next(self, n: int) -> np.ndarray:
        pos = self._pos + self._step * np.arange(n)
        idx = np.floor(pos).astype(int)
        end = self._pos + self._step * n
        k_end = int(math.floor(end))
        k_max = max(int(idx[-1]) + 1 if n else 1, k_end + 1)
        points = np.concatenate([[self._a, self._b], self._rng.uniform(-1, 1, max(0, k_max - 1))])
        w = 0.5 - 0.5 * np.cos(np.pi * (pos - idx))
        out: np.ndarray = points[idx] * (1 - w) + points[idx + 1] * w
        self._pos = end - k_end
        self._a, self._b = float(points[k_end]), float(points[k_end + 1])
        return out


class _Filter:
    """A stateful SOS filter over ``(n, channels)`` blocks."""

    def __init__(self, sos: np.ndarray, channels: int) -> None:
        self.sos = sos
        self.zi = np.zeros((sos.shape[0], 2, channels))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self.zi = scipy.signal.sosfilt(self.sos, x, axis=0, zi=self.zi)
        out: np.ndarray = y
        return out


class _Lfilter:
    def __init__(self, b: np.ndarray, a: np.ndarray, channels: int) -> None:
        self.b, self.a = b, a
        self.zi = np.zeros((max(len(a), len(b)) - 1, channels))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self.zi = scipy.signal.lfilter(self.b, self.a, x, axis=0, zi=self.zi)
        out: np.ndarray = y
        return out


def _widen(x: np.ndarray, width: float) -> np.ndarray:
    """Mix two independent channels towards identical ones: width 1 keeps them independent, 0 makes mono."""
    phi = (1.0 - min(max(width, 0.0), 1.0)) * np.pi / 4
    a, b = math.cos(phi), math.sin(phi)
    out: np.ndarray = np.stack([a * x[:, 0] + b * x[:, 1], b * x[:, 0] + a * x[:, 1]], axis=1)
    return out


# ------------------------------------------------------------------------------------------------------- tone

TONE_DEFAULTS: dict[str, Param] = {
    "wave": "sine", "freqs": (1000.0,), "harmonics": 12.0, "sweep_lo_hz": 0.0, "sweep_hi_hz": 0.0,
    "sweep_period_s": 4.0, "sweep_shape": "sine", "on_s": 0.0, "off_s": 0.0, "note_sweep": 0.0,
    "vibrato_hz": 0.0, "vibrato_cents": 0.0, "wobble_cents": 0.0, "wobble_hz": 3.0, "jitter_cents": 0.0,
    "drive": 0.0,
    "band_lo_hz": 0.0, "band_hi_hz": 0.0, "noise_gain": 0.0, "am_hz": 0.0, "am_depth": 0.0, "edge_ms": 5.0,
    "length_s": 0.5,
}


def _harmonic_amps(wave: str, k: int) -> float:
    if wave == "sine":
        return 1.0 if k == 1 else 0.0
    if wave == "saw":
        return 1.0 / k
    if wave == "square":
        return 1.0 / k if k % 2 else 0.0
    if wave == "tri":
        return ((-1) ** ((k - 1) // 2)) / (k * k) if k % 2 else 0.0
    raise ValueError(f"tone: unknown wave {wave!r} (sine, saw, square, tri)")


class ToneStream(_Chunked):
    """Band-limited oscillators with sweeps, gating, vibrato, drive and a band-pass."""

    def __init__(self, p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> None:
        super().__init__(1)
        self.p, self.sr, self.rng, self.shape = p, sr, rng, shape
        self.wave = p.s("wave")
        _harmonic_amps(self.wave, 1)
        self.sweep = p.f("sweep_lo_hz") > 0 and p.f("sweep_hi_hz") > 0
        self.freqs = np.array([1.0]) if self.sweep else p.fs("freqs") * shape.pitch
        self.phases: np.ndarray = np.asarray(rng.uniform(0.2, 3.0, self.freqs.shape[0]))
        self.sweep_phase = float(rng.uniform(0, 1)) if self.sweep else 0.0
        self.t = 0  # samples rendered
        self.wobble = _SmoothRandom(rng, p.f("wobble_hz"), sr)
        self.jitter = _SmoothRandom(rng, 150.0, sr) if p.f("jitter_cents") else None
        lo, hi = p.f("band_lo_hz"), p.f("band_hi_hz")
        self.band = _Filter(_sos("bandpass", (lo * shape.pitch, hi * shape.pitch), sr), 1) if lo > 0 and hi > 0 \
            else None
        self.k_max = 1 if self.wave == "sine" else int(p.f("harmonics"))

    def _freq(self, n: int) -> np.ndarray:
        p, sr = self.p, self.sr
        t = (self.t + np.arange(n)) / sr
        if self.sweep:
            u = (self.sweep_phase + t / p.f("sweep_period_s")) % 1.0
            shape = p.s("sweep_shape")
            s = {"sine": 0.5 - 0.5 * np.cos(2 * np.pi * u), "tri": 1 - np.abs(2 * u - 1), "saw": u,
                 "down": 1 - u, "square": (u < 0.5).astype(float)}.get(shape)
            if s is None:
                raise ValueError(f"tone: unknown sweep_shape {shape!r}")
            lo, hi = p.f("sweep_lo_hz") * self.shape.pitch, p.f("sweep_hi_hz") * self.shape.pitch
            f = lo * (hi / lo) ** s
        else:
            f = np.ones(n)
        cents = p.f("vibrato_cents") * np.sin(2 * np.pi * p.f("vibrato_hz") * t)
        if p.f("wobble_cents"):
            cents = cents + p.f("wobble_cents") * self.wobble.next(n)
        if self.jitter is not None:  # cycle-to-cycle irregularity of a living or mechanical source
            cents = cents + p.f("jitter_cents") * self.jitter.next(n)
        on, off = p.f("on_s"), p.f("off_s")
        if p.f("note_sweep") and on > 0:
            pos = np.mod(t, on + off) / on
            cents = cents + 1200 * math.log2(1 + abs(p.f("note_sweep"))) * np.sign(p.f("note_sweep")) \
                * np.clip(1 - pos, 0, 1)
        if self.shape.glide_st:
            cents = cents + 100 * self.shape.glide_st * np.exp(-t / 0.08)
        out: np.ndarray = f * 2.0 ** (cents / 1200.0)
        return out

    def _chunk(self, n: int) -> np.ndarray:
        p, sr = self.p, self.sr
        mult = self._freq(n)
        y = np.zeros(n)
        for i, base in enumerate(self.freqs):
            f = base * mult
            ph = self.phases[i] + 2 * np.pi * np.cumsum(f) / sr
            self.phases[i] = float(ph[-1] % (2 * np.pi))
            s_prev, s_cur = np.zeros(n), np.sin(ph)
            c2 = 2.0 * np.cos(ph)
            for k in range(1, self.k_max + 1):
                a = _harmonic_amps(self.wave, k)
                if a:
                    y += a * np.clip((0.42 * sr - k * f) / (0.05 * sr), 0, 1) * s_cur
                if k * float(f.min()) > 0.45 * sr:
                    break
                s_prev, s_cur = s_cur, c2 * s_cur - s_prev
        y /= self.freqs.shape[0]
        if p.f("noise_gain"):
            y += p.f("noise_gain") * self.rng.standard_normal(n) * 0.3
        if p.f("drive"):
            y = np.tanh(p.f("drive") * y) / math.tanh(p.f("drive"))
        t = (self.t + np.arange(n)) / sr
        if p.f("am_depth"):
            y *= 1 - p.f("am_depth") * (0.5 - 0.5 * np.cos(2 * np.pi * p.f("am_hz") * t))
        on, off = p.f("on_s"), p.f("off_s")
        if on > 0 and off > 0:
            pos = np.mod(t, on + off)
            edge = p.f("edge_ms") / 1000.0
            gate = np.clip(np.minimum((pos + 1.0 / sr) / edge, (on - pos) / edge), 0, 1)
            y *= gate
        self.t += n
        y2 = y[:, None]
        if self.band is not None:
            y2 = self.band(y2) * 1.5
        return y2


# ---------------------------------------------------------------------------------------------------- texture

TEXTURE_DEFAULTS: dict[str, Param] = {
    "color": "pink", "bed_gain": 1.0, "lp_hz": 0.0, "hp_hz": 0.0, "band_hz": 0.0, "band_q": 1.0,
    "band_sweep": 0.0, "gust_hz": 0.0, "gust_depth": 0.0, "gust_power": 1.0, "babble_hz": 0.0,
    "babble_depth": 0.0,
    "grain_rate": 0.0, "grain_lo_hz": 2000.0, "grain_hi_hz": 6000.0, "grain_decay_ms": 6.0, "grain_gain": 0.0,
    "crackle_rate": 0.0, "crackle_gain": 0.0, "crackle_hp_hz": 800.0, "crackle_lp_hz": 0.0,
    "crackle_decay_ms": 1.5, "crackle_cluster": 0.0, "crackle_tail": 2.2, "bubble_rate": 0.0, "bubble_lo_hz": 300.0,
    "bubble_hi_hz": 1500.0, "bubble_rise": 0.15, "bubble_decay_ms": 25.0, "bubble_gain": 0.0, "width": 1.0,
    "length_s": 1.0,
}


class TextureStream(_Chunked):
    """Noise beds with gusts, band resonances, drop grains, bubbles and crackle; stereo."""

    def __init__(self, p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> None:
        super().__init__(2)
        self.p, self.sr, self.rng, self.shape = p, sr, rng, shape
        color = p.s("color")
        if color == "pink":
            self.color: _Lfilter | None = _Lfilter(_PINK_B * 8.0, _PINK_A, 2)
        elif color == "brown":
            self.color = _Lfilter(np.array([0.06]), np.array([1.0, -0.995]), 2)
        elif color == "white":
            self.color = None
        else:
            raise ValueError(f"texture: unknown color {color!r} (white, pink, brown)")
        pitch = shape.pitch
        self.bed: list[_Filter] = []
        if p.f("lp_hz") > 0:
            self.bed.append(_Filter(_sos("lowpass", p.f("lp_hz") * pitch, sr), 2))
        if p.f("hp_hz") > 0:
            self.bed.append(_Filter(_sos("highpass", p.f("hp_hz") * pitch, sr), 2))
        self.bands: list[tuple[_Lfilter, float]] = []
        if p.f("band_hz") > 0:
            spread = (0.65, 1.0, 1.5) if p.f("band_sweep") > 0 else (1.0,)
            for s in spread:
                b, a = scipy.signal.iirpeak(min(p.f("band_hz") * pitch * s, 0.45 * sr), p.f("band_q"), fs=sr)
                self.bands.append((_Lfilter(b, a, 2), s))
        self.gust = _SmoothRandom(rng, p.f("gust_hz"), sr) if p.f("gust_depth") else None
        self.gust2 = _SmoothRandom(rng, p.f("gust_hz") * 1.7, sr) if p.f("band_sweep") else None
        self.babble = _SmoothRandom(rng, p.f("babble_hz"), sr) if p.f("babble_depth") else None
        # drop grains: impulses through a bank of resonators at fixed random pitches
        self.drops: list[_Lfilter] = []
        if p.f("grain_gain") > 0 and p.f("grain_rate") > 0:
            r = math.exp(-LN1000 / (p.f("grain_decay_ms") / 1000 * shape.decay * sr))
            for f in _log_uniform(rng, p.f("grain_lo_hz") * pitch, min(p.f("grain_hi_hz") * pitch, 0.42 * sr), 8):
                w = 2 * np.pi * f / sr
                self.drops.append(_Lfilter(np.array([math.sin(w)]), np.array([1.0, -2 * r * math.cos(w), r * r]),
                                           2))
        self.crackle_filters: list[_Filter] = []
        if p.f("crackle_gain") > 0:
            self.crackle_decay = _Lfilter(np.array([1.0]), np.array(
                [1.0, -math.exp(-1.0 / (p.f("crackle_decay_ms") / 1000 * sr))]), 2)
            self.crackle_filters.append(_Filter(_sos("highpass", p.f("crackle_hp_hz") * pitch, sr), 2))
            if p.f("crackle_lp_hz") > 0:
                self.crackle_filters.append(_Filter(_sos("lowpass", p.f("crackle_lp_hz") * pitch, sr), 2))
            self.cluster = _SmoothRandom(rng, 2.0, sr)
        self.overflow = np.zeros((0, 2))  # bubble tails that run past the chunk

    def _impulses(self, n: int, rate: float, amp: Callable[[int], np.ndarray],
                  density: np.ndarray | None = None) -> np.ndarray:
        count = self.rng.poisson(rate * n / self.sr * (1.0 if density is None else float(density.mean()) + 1e-9))
        x = np.zeros((n, 2))
        if count:
            if density is not None:
                cdf = np.cumsum(density)
                idx = np.searchsorted(cdf, self.rng.uniform(0, cdf[-1], count)).clip(0, n - 1)
            else:
                idx = self.rng.integers(0, n, count)
            pan = self.rng.uniform(-1, 1, count) * min(self.shape.width * self.p.f("width"), 1.0)
            theta = (pan + 1) * np.pi / 4
            a = amp(count)
            np.add.at(x[:, 0], idx, a * np.cos(theta) * 1.414)
            np.add.at(x[:, 1], idx, a * np.sin(theta) * 1.414)
        return x

    def _chunk(self, n: int) -> np.ndarray:
        p, rng = self.p, self.rng
        noise = rng.standard_normal((n, 2))
        if self.color is not None:
            noise = self.color(noise)
        for f in self.bed:
            noise = f(noise)
        gust = None
        if self.gust is not None:
            # gust_power > 1 keeps the level low most of the time with bursts (a hand brushing leaves)
            gust = 1.0 - p.f("gust_depth") * (1.0 - (0.5 + 0.5 * self.gust.next(n)) ** p.f("gust_power"))
        if self.bands:
            mix = np.zeros_like(noise)
            pos = self.gust2.next(n) if self.gust2 is not None else np.zeros(n)
            for i, (flt, _s) in enumerate(self.bands):
                if len(self.bands) == 1:
                    w = np.ones(n)
                else:
                    centre = (pos + 1) * (len(self.bands) - 1) / 2  # 0..2: which band the gust favours
                    w = np.clip(1.0 - np.abs(centre - i), 0, 1) * p.f("band_sweep") + (1 - p.f("band_sweep")) * 0.4
                mix += flt(noise) * w[:, None]
            noise = 0.5 * noise + mix * 3.0
        y = p.f("bed_gain") * _widen(noise, self.shape.width * p.f("width"))
        if self.babble is not None:
            y *= (1.0 - p.f("babble_depth") * (0.5 - 0.5 * self.babble.next(n)))[:, None]
        if self.drops:
            imp = self._impulses(n, p.f("grain_rate"), lambda c: rng.lognormal(0.0, 0.7, c))
            group = rng.integers(0, len(self.drops), n)
            drops = np.zeros((n, 2))
            for i, flt in enumerate(self.drops):
                drops += flt(imp * (group == i)[:, None])
            y += p.f("grain_gain") * 0.25 * drops
        if self.crackle_filters:
            density = np.maximum(0.05, 1.0 + p.f("crackle_cluster") * 2.0 * self.cluster.next(n))
            # Pareto amplitudes: a heavy tail (small crackle_tail) gives fire's occasional loud pops, a light
            # one the even grains of rustling and scraping; capped at 8x the typical grain (a pop, not a blast)
            tail = p.f("crackle_tail")
            imp = self._impulses(n, p.f("crackle_rate"),
                                 lambda c: np.minimum(rng.pareto(tail, c), 8.0) * rng.choice((-1.0, 1.0), c), density)
            c = self.crackle_decay(imp)
            for f in self.crackle_filters:
                c = f(c)
            y += p.f("crackle_gain") * 0.6 * c
        if p.f("bubble_gain") > 0 and p.f("bubble_rate") > 0:
            y += p.f("bubble_gain") * self._bubbles(n)
        if gust is not None:  # the gust (wind speed, a hand's movement) drives the bed and the grains alike
            y *= gust[:, None]
        return y

    def _bubbles(self, n: int) -> np.ndarray:
        """Minnaert bubbles (:func:`_bubble`) at random times, pitches and pans."""
        p, sr, rng = self.p, self.sr, self.rng
        out = np.zeros((n + int(0.2 * sr), 2))
        out[:self.overflow.shape[0]] += self.overflow
        count = rng.poisson(p.f("bubble_rate") * n / sr)
        decay_s = p.f("bubble_decay_ms") / 1000 * self.shape.decay
        m = int(decay_s * 1.2 * sr)
        t = np.arange(m) / sr
        for _ in range(count):
            i = int(rng.integers(0, n))
            f0 = float(_log_uniform(rng, p.f("bubble_lo_hz") * self.shape.pitch,
                                    min(p.f("bubble_hi_hz") * self.shape.pitch, 0.4 * sr)))
            d = decay_s * rng.uniform(0.5, 1.5) * (500.0 / f0) ** 0.5
            g = rng.lognormal(0, 0.5) * _bubble(t, f0, d, p.f("bubble_rise") * rng.uniform(0.5, 1.5))
            theta = (rng.uniform(-1, 1) * min(self.shape.width * p.f("width"), 1.0) + 1) * np.pi / 4
            out[i:i + m, 0] += g * math.cos(theta) * 1.414
            out[i:i + m, 1] += g * math.sin(theta) * 1.414
        self.overflow = out[n:]
        res: np.ndarray = out[:n] * 0.3
        return res


# ------------------------------------------------------------------------------------------------------ rotor

ROTOR_DEFAULTS: dict[str, Param] = {
    "rpm": 900.0, "cylinders": 4.0, "rpm_wobble": 0.03, "wobble_hz": 0.4, "pulse_gain": 1.0,
    "pulse_jitter": 0.25, "res_hz": (110.0, 380.0, 1200.0), "res_q": (4.0, 5.0, 3.0),
    "res_gain": (1.0, 0.6, 0.3), "harm_gain": 0.4, "harmonics": 6.0, "noise_gain": 0.2,
    "noise_lp_hz": 2500.0, "whine_ratio": 0.0, "whine_gain": 0.0, "width": 0.3, "length_s": 1.0,
    "pulse_lp_ratio": 6.0,
}


class RotorStream(_Chunked):
    """An engine or motor: firing pulses at rpm through exhaust resonances, half-order harmonics, noise, whine."""

    def __init__(self, p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> None:
        super().__init__(2)
        self.p, self.sr, self.rng, self.shape = p, sr, rng, shape
        self.fire_hz = p.f("rpm") / 60.0 * p.f("cylinders") / 2.0 * shape.pitch * rng.uniform(0.95, 1.05)
        self.phase = float(rng.uniform(0, 1))  # in firing cycles
        self.wobble = _SmoothRandom(rng, p.f("wobble_hz"), sr)
        gains = _pad_amps(p.fs("res_gain"), p.fs("res_hz").shape[0])
        qs = _pad_amps(p.fs("res_q"), p.fs("res_hz").shape[0])
        self.res: list[tuple[_Lfilter, float]] = []
        for f, q, g in zip(p.fs("res_hz"), qs, gains, strict=True):
            b, a = scipy.signal.iirpeak(min(f * shape.pitch, 0.45 * sr), q, fs=sr)
            self.res.append((_Lfilter(b, a, 1), float(g)))
        self.noise_lp = _Filter(_sos("lowpass", p.f("noise_lp_hz") * shape.pitch, sr), 2)
        # each firing is a smooth pressure pulse (a few ms), not a click: low-pass the impulse train
        self.pulse_lp = _Filter(_sos("lowpass", min(p.f("pulse_lp_ratio") * self.fire_hz, 0.4 * sr), sr), 1)
        self.harm_amp = rng.uniform(0.5, 1.0, int(p.f("harmonics")))
        self.last_amp = 1.0

    def _chunk(self, n: int) -> np.ndarray:
        p, sr, rng = self.p, self.sr, self.rng
        f = self.fire_hz * (1 + p.f("rpm_wobble") * self.wobble.next(n))
        cyc = self.phase + np.cumsum(f) / sr
        self.phase = float(cyc[-1] % 2.0)  # mod 2: the half-order harmonics need the cycle's parity
        whole = np.floor(cyc)
        fires = np.flatnonzero(np.diff(np.concatenate([[np.floor(cyc[0] - f[0] / sr)], whole])) > 0)
        pulses = np.zeros((n, 1))
        pulses[fires, 0] = 1.0 + p.f("pulse_jitter") * rng.standard_normal(fires.shape[0])
        pulses = self.pulse_lp(pulses) * (sr / (p.f("pulse_lp_ratio") * self.fire_hz))
        body = np.zeros((n, 1))
        for flt, g in self.res:
            body += g * flt(pulses)
        body *= p.f("pulse_gain") * 6.0
        ang = 2 * np.pi * (cyc % 2.0) / 2.0  # half-order fundamental (a 4-stroke fires each cylinder every
        harm = np.zeros(n)                    # other revolution, so half orders colour the idle)
        for k, a in enumerate(self.harm_amp, start=1):
            if k * float(f.max()) / 2 < 0.4 * sr:
                harm += a / k * np.sin(k * ang + k)
        y = body + (p.f("harm_gain") * 0.3 * harm)[:, None]
        pulse_env = 0.6 + 0.4 * (0.5 + 0.5 * np.cos(2 * np.pi * (cyc % 1.0)))
        noise = self.noise_lp(rng.standard_normal((n, 2))) * pulse_env[:, None]
        out = np.repeat(y, 2, axis=1) + p.f("noise_gain") * 0.3 * _widen(noise, p.f("width") * self.shape.width)
        if p.f("whine_gain"):
            rot = f / (p.f("cylinders") / 2.0)
            whine = np.sin(2 * np.pi * p.f("whine_ratio") * np.cumsum(rot) / sr + self.last_amp)
            self.last_amp = float((2 * np.pi * p.f("whine_ratio") * np.sum(rot) / sr + self.last_amp) % (2 * np.pi))
            out += p.f("whine_gain") * 0.3 * whine[:, None]
        return out


# -------------------------------------------------------------------------------------------------- registry

def _stream_oneshot(factory: StreamFactory) -> OneShotFn:
    def render(p: Params, sr: int, rng: np.random.Generator, shape: Shape) -> np.ndarray:
        n = max(1, int(p.f("length_s") * shape.decay * sr))
        y = factory(p, sr, rng, shape).render(n).mean(axis=1)
        return _fade_tail(y, sr, 0.02)
    return render


FAMILIES: dict[str, Family] = {
    "modal": Family(MODAL_DEFAULTS, oneshot=modal),
    "burst": Family(BURST_DEFAULTS, oneshot=burst),
    "footstep": Family(FOOTSTEP_DEFAULTS, oneshot=footstep),
    "shatter": Family(SHATTER_DEFAULTS, oneshot=shatter),
    "whoosh": Family(WHOOSH_DEFAULTS, oneshot=whoosh),
    "liquid": Family(LIQUID_DEFAULTS, oneshot=liquid),
    "vocal": Family(VOCAL_DEFAULTS, oneshot=vocal),
    "tone": Family(TONE_DEFAULTS, oneshot=_stream_oneshot(ToneStream), stream=ToneStream),
    "texture": Family(TEXTURE_DEFAULTS, oneshot=_stream_oneshot(TextureStream), stream=TextureStream, loop=True),
    "rotor": Family(ROTOR_DEFAULTS, oneshot=_stream_oneshot(RotorStream), stream=RotorStream),
}
