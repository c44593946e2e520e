"""The score: which sound plays where. Turns an event list into voices placed on exact samples.

Rules (issue 11):

* an event's recipe is its vocabulary entry's ``foley`` column; ``none`` (speech, music) and labels the
  vocabulary does not know render nothing; a sound heard but not named that sight confirms as a hit plays as a
  hit on its material (:func:`recipe_for`);
* onset sample = ``round(start * sample_rate)``; with ``sync="second"`` the onset snaps to the nearest whole
  second first (the event keeps its length);
* one-shot recipes play on the strokes heard in the event's envelope (:func:`strokes`: the onset, then every
  quick rise of ``captioning.events.STROKE_RISE_DB``, each at its stroke's level); when the envelope shows no
  separate strokes (one hit, a continuous sound, or an event seen but not heard) they play once at the onset, or
  through a sustained event (``kind == "sustained"`` or longer than :data:`SUSTAINED_S`) every ``repeat_s``
  (jittered) until the offset, each hit following the envelope; stream recipes last from onset to offset (at
  least ``min_s``) with fades;
* level: the event's loudness (dBFS; ``peak_loudness`` for one-shots when known) relative to the loudest
  rendered event, times the profile's ``dynamics``, floored at :data:`FLOOR_DB`, plus the recipe trim and a
  per-hit jitter;
* pan: the event's ``pan`` times the profile's width (None: centre);
* variation: a one-shot hit picks one of the recipe's ``variants`` takes (never the same take twice running), and
  every random choice is seeded from ``(options.seed, event index, hit)``, so a render is reproducible.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from captioning.detection.fusion import material_hits
from captioning.events import ENVELOPE_RATE_HZ, Analysis, SoundEvent, envelope_strokes
from captioning.foley.options import FoleyOptions
from captioning.foley.synth import Shape
from captioning.foley.tables import Param, Profile, Recipe, Tables
from captioning.vocabulary import GENERIC_LABEL, Vocabulary

#: What a sound heard but not named, that sight shows as a hit on an unknown material, plays as.
SEEN_HIT_LABEL = "thud"
#: An event at least this long is sustained for the purpose of repeating one-shots.
SUSTAINED_S = 1.5
#: Quietest relative level an event is rendered at (dB below the loudest).
FLOOR_DB = -40.0
#: Depth of a stream's loudness envelope that is kept (dB range below its own maximum).
ENVELOPE_RANGE_DB = 24.0


def strokes(envelope: Sequence[float]) -> list[tuple[float, float]]:
    """The strokes of a sound, read from its envelope (:func:`captioning.events.envelope_strokes` with its quick
    rise of ``STROKE_RISE_DB``, ignoring rises that stay more than :data:`ENVELOPE_RANGE_DB` under the loudest
    value: the noise between hits).

    Parameters:
        envelope: RMS level (dBFS) every 1/ENVELOPE_RATE_HZ s from the event's start.

    Returns:
        ``(time, level)`` per stroke: time in seconds from the event's start (0.0 for the first, else the middle of
        the 50 ms envelope value where the level jumps, so within 25 ms of the hit), level in dB relative to the
        envelope's maximum (the stroke's loudest value). Fewer than two strokes means the envelope shows no
        separate hits (an empty envelope gives ``[]``).
    """
    if not envelope:
        return []
    top = max(envelope)
    starts = envelope_strokes(envelope, floor_db=top - ENVELOPE_RANGE_DB)
    ends = [*starts[1:], len(envelope)]
    cell = 1.0 / ENVELOPE_RATE_HZ
    return [(0.0 if a == 0 else (a + 0.5) * cell, max(envelope[a:b]) - top)
            for a, b in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class Voice:
    """One sound of the score.

    Attributes:
        start: onset, in samples of media time (may be negative only for a layer before its event; clipped).
        recipe: the recipe.
        params: the family's parameters after material overlay.
        shape: the profile's (and the take's) multipliers.
        seed: seed of the sound itself (a one-shot take, or a stream's noise).
        gain_db: level relative to the reference.
        pan: -1..1, None for centre.
        length: samples for a stream (onset to offset), None for a one-shot (its own length).
        envelope_db: a stream's level envelope relative to its maximum, one value per 1/ENVELOPE_RATE_HZ s.
        event_index: index of the event in ``analysis.events`` (-1 for none).
        bed: the event is a background bed (mixed on the bed bus, not the compressed effects bus).
    """

    start: int
    recipe: Recipe
    params: Mapping[str, Param]
    shape: Shape
    seed: int
    gain_db: float
    pan: float | None
    length: int | None
    envelope_db: tuple[float, ...] = ()
    event_index: int = -1
    bed: bool = False


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from ``parts`` that is the same on every run and machine (SHA-256 of their repr)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little") >> 1


def resolve_params(recipe: Recipe, material: str | None, tables: Tables) -> dict[str, Param]:
    """The recipe's parameters over its material's; an event ``material`` the tables know overrides both."""
    own = recipe.params.get("material")
    params: dict[str, Param] = {}
    if isinstance(own, str) and own in tables.materials:
        params.update(tables.materials[own].params)
    params.update(recipe.params)
    if material and material in tables.materials and material != own:
        params.update(tables.materials[material].params)
        params["material"] = material
    return params


def profile_shape(profile: Profile) -> Shape:
    """The multipliers a profile applies to every sound (pitch, decay, attack, onset bend, width)."""
    return Shape(pitch=profile.pitch, decay=profile.decay, attack=profile.attack, glide_st=profile.glide_st,
                 width=profile.width)


def recipe_for(event: SoundEvent, vocabulary: Vocabulary, tables: Tables) -> Recipe | None:
    """The recipe an event renders with, or None (``none``, or a label the vocabulary does not know).

    A sound heard but not named (the generic :data:`GENERIC_LABEL`) that sight confirms as a hit
    (``source == "audio+visual"``, abrupt) plays as a hit on its material: the label
    ``captioning/data/material_hits.csv`` gives the material, :data:`SEEN_HIT_LABEL` when the material is
    unknown or names no hit.
    """
    entry = vocabulary.get(event.label)
    if entry is None:
        return None
    recipe = tables.recipes.get(entry.foley)
    if recipe is None and entry.label == GENERIC_LABEL and event.source == "audio+visual" and event.kind == "abrupt":
        hit = vocabulary.get(material_hits().get(event.material or "", "")) or vocabulary.get(SEEN_HIT_LABEL)
        recipe = tables.recipes.get(hit.foley) if hit is not None else None
    return recipe


def onset_time(start_s: float, sync: str) -> float:
    """Media time of an onset after the sync rule: ``frame`` keeps it, ``second`` rounds to the nearest second."""
    return float(math.floor(start_s + 0.5)) if sync == "second" else start_s


def _envelope_gain_db(event: SoundEvent, t_rel: float) -> float:
    env = event.envelope
    if not env:
        return 0.0
    i = min(len(env) - 1, max(0, int(t_rel * ENVELOPE_RATE_HZ)))
    return max(-ENVELOPE_RANGE_DB, env[i] - max(env))


def plan(analysis: Analysis, options: FoleyOptions, tables: Tables, vocabulary: Vocabulary) -> list[Voice]:
    """The voices of ``analysis``, sorted by onset sample (see the module docstring for the rules)."""
    sr = options.sample_rate
    profile = tables.profiles[options.profile]
    base_shape = profile_shape(profile)
    chosen: list[tuple[int, SoundEvent, Recipe]] = []
    for i, ev in enumerate(analysis.events):
        recipe = recipe_for(ev, vocabulary, tables)
        if recipe is not None:
            chosen.append((i, ev, recipe))

    def level(ev: SoundEvent, recipe: Recipe) -> float:
        if recipe.mode == "oneshot" and ev.peak_loudness is not None:
            return ev.peak_loudness
        return ev.loudness

    finite = [level(ev, r) for _, ev, r in chosen if math.isfinite(level(ev, r))]
    ref = max(finite) if finite else 0.0
    layers: dict[str, list[tuple[str, float, float]]] = {}
    for layer in profile.layers:
        layers.setdefault(layer.recipe, []).append((layer.layer, layer.offset_s, layer.gain_db))
    last_take: dict[str, int] = {}
    voices: list[Voice] = []
    n_total = int(round(analysis.media.duration * sr))
    for i, ev, recipe in chosen:
        lvl = level(ev, recipe)
        rel = 0.0 if not math.isfinite(lvl) else lvl - ref
        gain_db = max(FLOOR_DB, rel * profile.dynamics) + recipe.level_db
        pan = None if ev.pan is None else float(np.clip(ev.pan * profile.width, -1.0, 1.0))
        onset = onset_time(ev.start, options.sync)
        params = resolve_params(recipe, ev.material, tables)
        rng = np.random.default_rng(stable_seed(options.seed, i, ev.id, recipe.name))
        if recipe.mode == "stream":
            length_s = max(ev.duration, recipe.min_s)
            env = ev.envelope
            env_db = tuple(max(-ENVELOPE_RANGE_DB, v - max(env)) for v in env) if env else ()
            voices.append(Voice(start=int(round(onset * sr)), recipe=recipe, params=params, shape=base_shape,
                                seed=stable_seed(options.seed, i, ev.id, recipe.name, "stream"),
                                gain_db=gain_db, pan=pan, length=int(round(length_s * sr)), envelope_db=env_db,
                                event_index=i))
            continue
        hits = [(onset, 0.0)]
        sustained = ev.kind == "sustained" or ev.duration >= SUSTAINED_S
        heard = strokes(ev.envelope)
        if len(heard) >= 2:
            hits = [(onset + t, max(-ENVELOPE_RANGE_DB, level)) for t, level in heard]
        elif sustained and recipe.repeat_s > 0:
            t = onset
            while True:
                t += recipe.repeat_s * max(0.2, 1.0 + recipe.repeat_jitter * float(rng.uniform(-1, 1)))
                if t >= onset + ev.duration - 0.05:
                    break
                hits.append((t, _envelope_gain_db(ev, t - onset)))
        for t, level_db in hits:
            hit_gain = gain_db + level_db + recipe.level_jitter_db * float(rng.standard_normal())
            voices.extend(_takes(recipe, params, base_shape, options.seed, t, sr, hit_gain, pan, i, rng,
                                 last_take, tables, layers.get(recipe.name, ()), ev.material))
    voices = [dataclasses.replace(v, bed=bool(analysis.events[v.event_index].background))
              if v.event_index >= 0 else v for v in voices if v.start < n_total]
    voices.sort(key=lambda v: (v.start, v.event_index))
    return voices


def _takes(recipe: Recipe, params: Mapping[str, Param], shape: Shape, seed: int, t: float, sr: int,
           gain_db: float, pan: float | None, index: int, rng: np.random.Generator, last_take: dict[str, int],
           tables: Tables, layers: Sequence[tuple[str, float, float]], material: str | None) -> list[Voice]:
    """The one-shot voice of one hit (a take other than the recipe's previous one) and its profile layers."""
    out: list[Voice] = []
    for name, offset, extra_db in [(recipe.name, 0.0, 0.0), *layers]:
        r = recipe if name == recipe.name else tables.recipes[name]
        p = params if name == recipe.name else resolve_params(r, material, tables)
        take = int(rng.integers(0, r.variants))
        if r.variants > 1 and take == last_take.get(name):
            take = (take + 1) % r.variants
        last_take[name] = take
        take_rng = np.random.default_rng(stable_seed(seed, r.name, p.get("material"), take, "pitch"))
        cents = r.pitch_cents * float(take_rng.standard_normal()) if r.pitch_cents else 0.0
        take_shape = Shape(pitch=shape.pitch * 2 ** (cents / 1200), decay=shape.decay, attack=shape.attack,
                           glide_st=shape.glide_st, width=shape.width)
        start = int(round(max(0.0, t + offset) * sr))
        out.append(Voice(start=start, recipe=r, params=p, shape=take_shape,
                         seed=stable_seed(seed, r.name, p.get("material"), take), gain_db=gain_db + extra_db,
                         pan=pan, length=None, event_index=index))
    return out
