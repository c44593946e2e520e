"""Background music: a generated bed in the scene's mood, ducked under the effects (issue 11).

Nothing is sampled. A mood (``captioning/data/foley_music.csv``) gives a key, a chord progression (one chord a bar)
and a tempo; each bar is rendered from its index alone (seeded), so the music streams block by block and is the
same in every pass:

* pad: the chord's triad (stacked thirds of the scale) as detuned additive saws, low-passed by weighting the
  partials, slow attack and a release that overlaps the next bar;
* arpeggio: plucked chord tones in eighth notes (decaying sine with a soft second harmonic), order seeded;
* bass: the root on beats 1 and 3; kick (a falling sine) and hi-hat (a short high-passed noise) if the mood has
  them.

Ducking is sidechain-style: the effects' level (RMS over 10 ms frames, instant attack, 400 ms release) above
the music's own level pulls the music down by 70 % of the excess, at most :data:`MAX_DUCK_DB`.
"""

from __future__ import annotations

import math

import numpy as np

from captioning.events import Analysis
from captioning.foley.mixer import REF_RMS
from captioning.foley.score import recipe_for, stable_seed
from captioning.foley.tables import Mood, Tables
from captioning.vocabulary import Vocabulary

#: Music level at intensity 1, dB relative to the effects' reference level (the loudest event).
LEVEL_AT_FULL_DB = -8.0
#: Deepest ducking (dB) and its ratio (dB of reduction per dB the effects stand above the music).
MAX_DUCK_DB = 12.0
DUCK_RATIO = 0.7
DUCK_RELEASE_S = 0.4
_FRAME_S = 0.01


def choose_mood(analysis: Analysis, tables: Tables, vocabulary: Vocabulary) -> Mood:
    """The mood whose categories cover the most event-seconds (events that render sound or are ambience beds);
    ``neutral`` when none does."""
    weight: dict[str, float] = {}
    for ev in analysis.events:
        entry = vocabulary.get(ev.label)
        if entry is None or (recipe_for(ev, vocabulary, tables) is None and entry.role != "ambience"):
            continue
        weight[entry.category] = weight.get(entry.category, 0.0) + max(ev.duration, 0.5)
    best, best_w = tables.moods["neutral"], 0.0
    for mood in tables.moods.values():
        w = sum(weight.get(c, 0.0) for c in mood.categories)
        if w > best_w:
            best, best_w = mood, w
    return best


def _midi_hz(note: float) -> float:
    return float(440.0 * 2.0 ** ((note - 69) / 12.0))


class MusicBed:
    """The music of one render: ``render(effects)`` returns the ducked music for the next block.

    Parameters:
        mood: harmony and tempo.
        sr, channels: of the track.
        seed: seeds the arpeggio order and detuning.
        intensity: 0..1 level (0 is silence).
    """

    def __init__(self, mood: Mood, sr: int, channels: int, *, seed: int, intensity: float) -> None:
        self.mood = mood
        self.sr = sr
        self.channels = channels
        self.seed = seed
        self.intensity = intensity
        self.bar = int(round(4 * 60.0 / mood.bpm * sr))
        self.tail = int(1.5 * sr)
        self.buf = np.zeros((0, 2))  # music from self.pos on (bars already rendered)
        self.pos = 0
        self.next_bar = 0  # sample where the next bar to render starts
        self.env_db = -120.0
        self.gain_db = 0.0
        probe = self._render_bar(0)[:self.bar]
        rms = math.sqrt(float(np.mean(probe * probe))) or 1.0
        self.level = REF_RMS * 10 ** (LEVEL_AT_FULL_DB / 20) * intensity / rms
        self.level_db = 20 * math.log10(REF_RMS * 10 ** (LEVEL_AT_FULL_DB / 20) * max(intensity, 1e-6))

    def _chord(self, j: int) -> list[float]:
        scale = self.mood.scale
        degree = self.mood.progression[j % len(self.mood.progression)] - 1
        notes = []
        for step in (0, 2, 4):
            d = degree + step
            notes.append(self.mood.root_midi + scale[d % len(scale)] + 12 * (d // len(scale)))
        return [float(n) for n in notes]

    def _render_bar(self, j: int) -> np.ndarray:
        sr, m = self.sr, self.mood
        rng = np.random.default_rng(stable_seed(self.seed, "music", m.name, j))
        n = self.bar + self.tail
        t = np.arange(n) / sr
        out = np.zeros((n, 2))
        chord = self._chord(j)
        beat = self.bar // 4
        # pad
        if m.pad_gain:
            env = np.minimum(1.0, t / 0.6) * np.where(t < self.bar / sr, 1.0,
                                                       np.exp(-(t - self.bar / sr) / 0.35))
            for note in chord:
                for detune, pan in ((-7.0, -0.6), (0.0, 0.0), (7.0, 0.6)):
                    f = _midi_hz(note + detune / 100)
                    ph = 2 * np.pi * f * t + rng.uniform(0, 6.28)
                    wave = np.zeros(n)
                    s_prev, s_cur, c2 = np.zeros(n), np.sin(ph), 2 * np.cos(ph)  # sin(k ph) by recursion
                    for k in range(1, 7):
                        if k * f > 0.4 * sr:
                            break
                        wave += s_cur / k / (1 + (k * f / m.pad_lp_hz) ** 2)
                        s_prev, s_cur = s_cur, c2 * s_cur - s_prev
                    theta = (pan + 1) * math.pi / 4
                    out[:, 0] += m.pad_gain * 0.2 * math.cos(theta) * wave * env
                    out[:, 1] += m.pad_gain * 0.2 * math.sin(theta) * wave * env
        # arpeggio: eighth notes over the chord an octave up
        if m.arp_gain:
            order = rng.permutation(np.tile(chord, 3))[:8] + 12
            for i, note in enumerate(order):
                s = i * beat // 2
                d = np.arange(n - s) / sr
                f = _midi_hz(note)
                pluck = (np.sin(2 * np.pi * f * d) + 0.3 * np.sin(4 * np.pi * f * d)) * np.exp(-d / 0.3)
                pluck *= np.minimum(1.0, d / 0.004)
                pan = 0.4 if i % 2 else -0.4
                theta = (pan + 1) * math.pi / 4
                out[s:, 0] += m.arp_gain * 0.35 * math.cos(theta) * pluck
                out[s:, 1] += m.arp_gain * 0.35 * math.sin(theta) * pluck
        # bass, kick, hat
        for b in (0, 2):
            s = int(b * beat)
            d = np.arange(n - s) / sr
            if m.bass_gain:
                f = _midi_hz(chord[0] - 24)
                bass = (np.sin(2 * np.pi * f * d) + 0.25 * np.sin(4 * np.pi * f * d)) * np.exp(-d / 0.6)
                out[s:] += m.bass_gain * 0.5 * (bass * np.minimum(1.0, d / 0.01))[:, None]
            if m.kick_gain:
                drop = 20.0  # 1/s: the kick falls from 110 Hz to 45 Hz
                phase = 2 * np.pi * (45 * d + (110 - 45) / drop * (1 - np.exp(-drop * d)))
                out[s:] += m.kick_gain * 0.6 * (np.sin(phase) * np.exp(-d / 0.15))[:, None]
        if m.hat_gain:
            for b in range(4):
                s = b * beat + beat // 2
                h = int(0.03 * sr)
                noise = np.diff(rng.standard_normal(h + 1)) * np.exp(-np.arange(h) / (0.008 * sr))
                out[s:s + h] += m.hat_gain * 0.15 * noise[:, None]
        return out

    def _music(self, n: int) -> np.ndarray:
        """The next ``n`` samples of the music before ducking, shape (n, 2)."""
        while self.next_bar < self.pos + n:
            bar = self._render_bar(self.next_bar // self.bar)
            at = self.next_bar - self.pos
            if self.buf.shape[0] < at + bar.shape[0]:
                self.buf = np.vstack([self.buf, np.zeros((at + bar.shape[0] - self.buf.shape[0], 2))])
            self.buf[at:at + bar.shape[0]] += bar
            self.next_bar += self.bar
        out = self.buf[:n]
        self.buf = self.buf[n:]
        self.pos += n
        return out

    def _duck(self, effects: np.ndarray) -> np.ndarray:
        """Gain (linear, per sample) that ducks the music under ``effects`` (shape (n, channels))."""
        n = effects.shape[0]
        frame = max(1, int(_FRAME_S * self.sr))
        release = 20.0 * _FRAME_S / DUCK_RELEASE_S  # dB the envelope may fall per frame (20 dB per release time)
        power = np.mean(effects * effects, axis=1)
        gains = np.empty(-(-n // frame))
        for i in range(gains.shape[0]):
            p = float(power[i * frame:(i + 1) * frame].mean())
            level = 10 * math.log10(p) if p > 1e-15 else -150.0
            self.env_db = max(level, self.env_db - release)
            excess = self.env_db - self.level_db
            gains[i] = -min(MAX_DUCK_DB, DUCK_RATIO * max(0.0, excess))
        centres = (np.arange(gains.shape[0]) + 0.5) * frame
        prev = self.gain_db
        self.gain_db = float(gains[-1])
        g = np.interp(np.arange(n), np.concatenate([[-0.5 * frame], centres]), np.concatenate([[prev], gains]))
        out: np.ndarray = 10 ** (g / 20)
        return out

    def render(self, effects: np.ndarray) -> np.ndarray:
        """The music for the block whose effects are ``effects`` (shape (n, channels)), ducked under them."""
        n = effects.shape[0]
        music = self._music(n) * self.level
        if self.channels == 1:
            music = music.mean(axis=1, keepdims=True) * math.sqrt(2.0)
        out: np.ndarray = music * self._duck(effects)[:, None]
        return out
