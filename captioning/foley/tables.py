"""The Foley data tables: recipes, materials, effect profiles and music moods (``captioning/data/foley_*.csv``).

Sounds are data: a recipe row names its synthesis *family* (one function or generator per family, in
:mod:`captioning.foley.synth`) and carries that family's parameters as ``key=value`` pairs; a material row gives
the modal and footstep character of a material; a profile row scales every recipe (pitch, decay, dynamics,
stereo width, reverb, EQ) and adds layers (cartoon boings, dramatic sub hits); a mood row gives the harmony and
tempo of the background music. Every table is parsed once and validated: a bad row raises ``ValueError`` naming
its file and line.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from captioning.datafiles import csv_records, data_text

Param = float | str | tuple[float, ...]
Mode = Literal["oneshot", "stream"]


def parse_value(text: str) -> Param:
    """``"0.5"`` -> 0.5, ``"1|2.7|5.4"`` -> (1.0, 2.7, 5.4), anything else stays a string."""
    text = text.strip()
    if "|" in text:
        return tuple(float(v) for v in text.split("|"))
    try:
        return float(text)
    except ValueError:
        return text


def parse_params(text: str) -> dict[str, Param]:
    """Space-separated ``key=value`` pairs, e.g. ``"f0_hz=420 ratios=1|2.3"``."""
    out: dict[str, Param] = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"parameter {item!r} is not key=value")
        if key in out:
            raise ValueError(f"parameter {key!r} given twice")
        out[key] = parse_value(value)
    return out


@dataclass(frozen=True)
class Recipe:
    """One synthesis recipe (a row of ``foley_recipes.csv``).

    Attributes:
        name: the recipe name the vocabulary's ``foley`` column uses, e.g. ``impact_metal``.
        family: the synthesis family (``modal``, ``burst``, ``footstep``, ``shatter``, ``vocal``, ``tone``,
            ``texture``, ``rotor``).
        mode: ``oneshot`` (a fixed sound placed at the onset, repeated every ``repeat_s`` through a sustained
            event) or ``stream`` (lasts the event, from its onset to its offset, with fades).
        level_db: trim of the recipe's level (dB) against the common reference.
        variants: how many different takes of a one-shot are synthesized (and cached) per run.
        pitch_cents: per-take random pitch spread (standard deviation, cents).
        level_jitter_db: per-hit random level spread (standard deviation, dB).
        repeat_s: interval of the hits of a one-shot through a sustained event (0: one hit).
        repeat_jitter: relative random spread of that interval.
        fade_in_ms, fade_out_ms: fades of a stream at its onset and offset.
        min_s: a stream lasts at least this long (a short horn event still sounds).
        params: the family's parameters.
    """

    name: str
    family: str
    mode: Mode
    level_db: float = 0.0
    variants: int = 1
    pitch_cents: float = 0.0
    level_jitter_db: float = 0.0
    repeat_s: float = 0.0
    repeat_jitter: float = 0.0
    fade_in_ms: float = 10.0
    fade_out_ms: float = 50.0
    min_s: float = 0.0
    params: Mapping[str, Param] = field(default_factory=dict)


@dataclass(frozen=True)
class Material:
    """Modal and footstep character of a material (a row of ``foley_materials.csv``); its fields are parameters
    of the ``modal`` and ``footstep`` families and override a recipe's when an event names the material."""

    name: str
    params: Mapping[str, Param]


@dataclass(frozen=True)
class Layer:
    """An extra sound a profile adds to a recipe: ``recipe`` gets ``layer`` at ``offset_s`` and ``gain_db``."""

    recipe: str
    layer: str
    offset_s: float
    gain_db: float


@dataclass(frozen=True)
class Profile:
    """An effect profile (a row of ``foley_profiles.csv``).

    Attributes:
        name: ``realistic``, ``dramatic`` or ``cartoon``.
        pitch: multiplier of every recipe's frequencies.
        decay: multiplier of decay times and tails.
        attack: multiplier of attack times (< 1 snappier).
        dynamics: multiplier of each event's level below the loudest, in dB (> 1 more contrast).
        width: stereo spread of pans and of textures (1 = as given).
        glide_st: pitch bend of one-shots in semitones at the onset, falling to 0 (cartoon's springy hits).
        low_shelf_db, high_shelf_db: master EQ shelves at 120 Hz and 6 kHz.
        reverb_mix: level of the reverb return (0: dry).
        reverb_s: reverb decay time RT60, seconds.
        layers: extra sounds per recipe.
        comp_threshold_db, comp_ratio, comp_knee_db, comp_attack_ms, comp_release_ms: the mastering compressor
            on the effects bus (:class:`captioning.foley.master.Compressor`; threshold in dBFS of the mix before
            normalisation, where the loudest one-shot's loudest 50 ms sits at -20 dBFS RMS); ratio 1 switches it
            off.
    """

    name: str
    pitch: float = 1.0
    decay: float = 1.0
    attack: float = 1.0
    dynamics: float = 1.0
    width: float = 1.0
    glide_st: float = 0.0
    low_shelf_db: float = 0.0
    high_shelf_db: float = 0.0
    reverb_mix: float = 0.0
    reverb_s: float = 0.5
    layers: tuple[Layer, ...] = ()
    comp_threshold_db: float = -24.0
    comp_ratio: float = 1.0
    comp_knee_db: float = 6.0
    comp_attack_ms: float = 3.0
    comp_release_ms: float = 100.0


@dataclass(frozen=True)
class Mood:
    """A background-music mood (a row of ``foley_music.csv``).

    Attributes:
        name: e.g. ``calm``.
        categories: event categories that call for this mood (the scene's sounds choose it).
        root_midi: MIDI note of the key's tonic.
        scale: semitone steps of the scale from the tonic.
        progression: chord roots as scale degrees (1-based), one chord per bar.
        bpm: tempo, beats per minute (4 beats per bar).
        pad_gain, arp_gain, bass_gain, kick_gain, hat_gain: levels of the parts (0 leaves a part out).
        pad_lp_hz: brightness of the pad (low-pass cut-off).
    """

    name: str
    categories: tuple[str, ...]
    root_midi: int
    scale: tuple[int, ...]
    progression: tuple[int, ...]
    bpm: float
    pad_gain: float
    arp_gain: float
    bass_gain: float
    kick_gain: float
    hat_gain: float
    pad_lp_hz: float


@dataclass(frozen=True)
class Tables:
    recipes: Mapping[str, Recipe]
    materials: Mapping[str, Material]
    profiles: Mapping[str, Profile]
    moods: Mapping[str, Mood]


def _records(name: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    header, records = csv_records(data_text(name))
    missing = [c for c in required if header is None or c not in header]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}")
    for line, row in records:
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"{name} line {line}: expected {len(header or ())} comma-separated fields")
    return records


def _float(row: Mapping[str, str], key: str, default: float) -> float:
    text = (row.get(key) or "").strip()
    return float(text) if text else default


def _parse_recipes() -> dict[str, Recipe]:
    cols = ("recipe", "family", "mode", "level_db", "variants", "pitch_cents", "level_jitter_db", "repeat_s",
            "repeat_jitter", "fade_in_ms", "fade_out_ms", "min_s", "params")
    out: dict[str, Recipe] = {}
    for line, row in _records("foley_recipes.csv", cols):
        try:
            mode = row["mode"].strip()
            if mode not in ("oneshot", "stream"):
                raise ValueError(f"mode must be oneshot or stream, got {mode!r}")
            r = Recipe(name=row["recipe"].strip(), family=row["family"].strip(), mode=mode,  # type: ignore[arg-type]
                       level_db=_float(row, "level_db", 0.0), variants=int(_float(row, "variants", 1)),
                       pitch_cents=_float(row, "pitch_cents", 0.0),
                       level_jitter_db=_float(row, "level_jitter_db", 0.0),
                       repeat_s=_float(row, "repeat_s", 0.0), repeat_jitter=_float(row, "repeat_jitter", 0.0),
                       fade_in_ms=_float(row, "fade_in_ms", 10.0), fade_out_ms=_float(row, "fade_out_ms", 50.0),
                       min_s=_float(row, "min_s", 0.0), params=parse_params(row["params"]))
            if r.name in out:
                raise ValueError(f"duplicate recipe {r.name!r}")
            if r.variants < 1:
                raise ValueError("variants must be >= 1")
        except ValueError as e:
            raise ValueError(f"foley_recipes.csv line {line}: {e}") from e
        out[r.name] = r
    return out


def _parse_materials() -> dict[str, Material]:
    out: dict[str, Material] = {}
    for line, row in _records("foley_materials.csv", ("material",)):
        try:
            name = row["material"].strip()
            params = {k: parse_value(v) for k, v in row.items() if k != "material" and v.strip()}
            out[name] = Material(name, params)
        except ValueError as e:
            raise ValueError(f"foley_materials.csv line {line}: {e}") from e
    return out


def _parse_layers(text: str) -> tuple[Layer, ...]:
    layers = []
    for item in text.split():
        parts = item.split(":")
        if len(parts) != 4:
            raise ValueError(f"layer {item!r} is not recipe:layer:offset_s:gain_db")
        layers.append(Layer(parts[0], parts[1], float(parts[2]), float(parts[3])))
    return tuple(layers)


def _parse_profiles() -> dict[str, Profile]:
    cols = ("profile", "pitch", "decay", "attack", "dynamics", "width", "glide_st", "low_shelf_db",
            "high_shelf_db", "reverb_mix", "reverb_s", "comp_threshold_db", "comp_ratio", "comp_knee_db",
            "comp_attack_ms", "comp_release_ms", "layers")
    out: dict[str, Profile] = {}
    for line, row in _records("foley_profiles.csv", cols):
        try:
            p = Profile(name=row["profile"].strip(), **{c: float(row[c]) for c in cols[1:-1]},
                        layers=_parse_layers(row["layers"]))
        except ValueError as e:
            raise ValueError(f"foley_profiles.csv line {line}: {e}") from e
        out[p.name] = p
    return out


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split("|") if v.strip())


def _parse_moods() -> dict[str, Mood]:
    cols = ("mood", "categories", "root_midi", "scale", "progression", "bpm", "pad_gain", "arp_gain",
            "bass_gain", "kick_gain", "hat_gain", "pad_lp_hz")
    out: dict[str, Mood] = {}
    for line, row in _records("foley_music.csv", cols):
        try:
            m = Mood(name=row["mood"].strip(),
                     categories=tuple(c.strip() for c in row["categories"].split("|") if c.strip()),
                     root_midi=int(row["root_midi"]), scale=_ints(row["scale"]),
                     progression=_ints(row["progression"]), bpm=float(row["bpm"]),
                     **{c: float(row[c]) for c in cols[6:]})
            if not m.progression or any(not 1 <= d <= len(m.scale) for d in m.progression):
                raise ValueError("progression degrees must lie within the scale")
        except ValueError as e:
            raise ValueError(f"foley_music.csv line {line}: {e}") from e
        out[m.name] = m
    return out


@functools.lru_cache(maxsize=1)
def load_tables() -> Tables:
    """The packaged tables, parsed and cross-checked once per process.

    Raises:
        ValueError: a malformed row (file and line named), a profile layer or recipe material that names
            nothing, or a recipe whose family is unknown.
    """
    from captioning.foley.synth import FAMILIES

    tables = Tables(recipes=_parse_recipes(), materials=_parse_materials(), profiles=_parse_profiles(),
                    moods=_parse_moods())
    for r in tables.recipes.values():
        family = FAMILIES.get(r.family)
        if family is None:
            raise ValueError(f"foley_recipes.csv: recipe {r.name!r} has unknown family {r.family!r}")
        unknown = sorted(set(r.params) - set(family.defaults))
        if unknown:
            raise ValueError(f"foley_recipes.csv: recipe {r.name!r} has parameters {unknown} that the "
                             f"{r.family} family does not take ({sorted(family.defaults)})")
        if r.mode == "stream" and family.stream is None:
            raise ValueError(f"foley_recipes.csv: recipe {r.name!r} is a stream but {r.family} makes one-shots")
        material = r.params.get("material")
        if material is not None and material not in tables.materials:
            raise ValueError(f"foley_recipes.csv: recipe {r.name!r} names unknown material {material!r}")
    for p in tables.profiles.values():
        for layer in p.layers:
            if layer.layer not in tables.recipes:
                raise ValueError(f"foley_profiles.csv: profile {p.name!r} layers unknown recipe {layer.layer!r}")
    if "neutral" not in tables.moods:
        raise ValueError("foley_music.csv: needs a 'neutral' mood (used when no category matches)")
    return tables
