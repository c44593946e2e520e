"""Fusion: one event list from what was heard and what was seen.

* **Confirmation.** An audio event with a visual onset within ``match_s`` of its onset is the same sound:
  ``source`` becomes "audio+visual", its pan comes from the on-screen position (when the audio gave none:
  mono sources), and its confidence rises by ``confirm_bonus``. The audio onset is kept: sound is timed to
  the 10 ms grid, pictures only to the frame interval.
* **Context.** What the shot shows re-ranks what the tagger heard: if the shot's scene context makes a
  vocabulary label likely and the event's own AudioSet classes (or a visual impact at its onset) support
  it (``captioning/data/heard_as.csv`` lists the classes each such label may be heard as), the event
  takes that label (a barbell on screen: "weights drop", not "subway train"); when the scene supports
  none of the tagger's candidates, the label stays (off-screen sounds are common).
* **Strokes.** A heard (non-music) sound whose span holds ``min_seen_strokes`` or more seen hits is a series
  of strokes (a stick on a metal bar that the tagger took for one long "cap gun popping"): it is named from
  the shot with the hits as evidence (below). Where its level falls ``stroke_gap_db`` below a stroke's peak
  before the next stroke begins (each hit dies away) and the strokes are ``min_stroke_interval_s`` or more
  apart, it is split into one event per stroke, each timed by the rise of its loudness envelope, and each
  meets the pictures on its own (confirmation, pan). Faster strokes (a hit every 0.75 s, a chopping rhythm)
  stay one event with the repeated-strokes wording ("metal clanging"): a caption per stroke would need
  5/6 s on screen each and fall ever further behind its sound.
* **Material.** A heard abrupt sound confirmed by a seen hit, in a shot whose most likely material (weight
  ``material_weight`` or more) has a hit label in ``captioning/data/material_hits.csv`` (metal: "metal
  clangs"), takes that label when its own AudioSet classes support it (``heard_as.csv``), unless a scene
  label already named it.
* **Within a heard sound.** A visual onset inside a heard (non-music) event's span is one of its strokes: it
  confirms that event rather than adding one.
* **Sight alone.** A visual event with no audio event near it is kept: with ``source="visual"`` and its own
  confidence when the audio was not analysed (a silent clip), with its confidence capped at
  ``unheard_confidence`` (left for review) when the audio was analysed but heard nothing there.
* **Off screen.** Audio events with nothing visible stay as they are.
* **Seen beds.** The ambience each shot shows becomes a background event where no bed was heard
  (:mod:`captioning.detection.beds`): with the scene's confidence on a silent clip, capped at
  ``unheard_confidence`` (left for review, still played by the Foley track) when the audio was analysed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from captioning.analysis.video import VisualObservations
from captioning.datafiles import csv_records, data_text
from captioning.detection.beds import BedOptions, seen_beds
from captioning.detection.visual import IMPACT_CATEGORIES
from captioning.events import ENVELOPE_RATE_HZ, STROKE_RISE_DB, SoundEvent, envelope_strokes, sort_events
from captioning.vocabulary import Vocabulary, VocabularyEntry


@dataclass(frozen=True)
class FusionOptions:
    """Units are in the names.

    Attributes:
        match_s: a visual onset this close to an audio onset is the same sound.
        confirm_bonus: confidence added to an audio event that the pictures confirm.
        context_weight: a scene label needs this weight to rename a heard sound.
        unheard_confidence: cap on the confidence of a visual-only event when the audio heard nothing there.
        min_seen_strokes: seen hits inside a heard sound that make it a series of strokes.
        stroke_rise_db: a stroke starts where the loudness envelope rises this much (dB) within 0.1 s.
        stroke_gap_db: strokes are separate events when the level falls this far (dB) below a stroke's peak
            before the next one (the sound stopped in between).
        min_stroke_interval_s: strokes closer than this (onset to onset) stay in one event: a caption needs
            5/6 s on screen (Netflix's minimum duration) and a gap before the next.
        material_weight: a shot's material needs this weight to name a seen hit.
    """

    match_s: float = 0.15
    confirm_bonus: float = 0.15
    context_weight: float = 0.3
    unheard_confidence: float = 0.45
    min_seen_strokes: int = 2
    stroke_rise_db: float = STROKE_RISE_DB
    stroke_gap_db: float = 40.0
    min_stroke_interval_s: float = 1.0
    material_weight: float = 0.2


@functools.lru_cache(maxsize=1)
def heard_as() -> Mapping[str, frozenset[str]]:
    """label -> the AudioSet classes (YAMNet display names) a sound of that label may be heard as.

    From ``captioning/data/heard_as.csv``; a label's own vocabulary classes count too (see :func:`fuse`).
    """
    _, records = csv_records(data_text("heard_as.csv"))
    return {r["label"]: frozenset(n for n in r["heard_as"].split("|") if n) for _, r in records}


@functools.lru_cache(maxsize=1)
def material_hits() -> Mapping[str, str]:
    """material -> the vocabulary label of a hit on it (``captioning/data/material_hits.csv``)."""
    _, records = csv_records(data_text("material_hits.csv"))
    return {r["material"]: r["label"] for _, r in records}


def fuse(audio: Sequence[SoundEvent], visual: Sequence[SoundEvent], obs: VisualObservations, vocab: Vocabulary,
         *, audio_analysed: bool, opts: FusionOptions | None = None) -> tuple[SoundEvent, ...]:
    """Merge audio and visual events (see the module docstring); the result is sorted with fresh ids."""
    opts = opts or FusionOptions()
    out: list[SoundEvent] = []
    used: set[int] = set()
    # spans of the heard sounds before any split into strokes: a seen hit in a quiet gap between two strokes
    # (a stick lifted and lowered) is still part of the sound heard there
    spans = [(ev.start, ev.end) for ev in audio if not ev.background and ev.category != "music"]
    audio = [piece for ev in audio for piece in _strokes(ev, visual, obs, vocab, opts)]
    for ev in audio:
        if ev.background:
            out.append(ev)
            continue
        match = _nearest(ev.start, visual, used, opts.match_s)
        seen = visual[match] if match is not None else None
        if match is not None:
            used.add(match)
        ev = _in_context(ev, obs, vocab, seen, opts)
        out.append(_confirmed(ev, seen, opts) if seen is not None else ev)
    n_heard = len(out)  # sights are confirmed by heard sounds only, not by other sights appended below
    for k, ev in enumerate(visual):
        if k in used:
            continue
        inside = next((i for i, a in enumerate(out[:n_heard]) if not a.background and a.start <= ev.start < a.end
                       and a.category != "music"), None)
        if inside is not None:
            # a hit within a sound already heard (strokes of one clanging, a barbell's bounce): it confirms it
            if out[inside].source == "audio":
                out[inside] = _confirmed(out[inside], ev, opts)
            continue
        if any(a <= ev.start < b for a, b in spans):
            continue
        if audio_analysed and _overlaps_audio(ev, audio):
            continue  # a step of a walk the audio already captions as footsteps, and the like
        if audio_analysed:
            ev = dataclasses.replace(ev, confidence=min(ev.confidence, opts.unheard_confidence))
        out.append(ev)
    # the ambience each shot shows, where no bed was heard (captioning/detection/beds.py)
    out.extend(seen_beds(obs.scenes, out, vocab, audio_analysed=audio_analysed,
                         opts=BedOptions(unheard_confidence=opts.unheard_confidence)))
    return sort_events(out)


def _confirmed(heard: SoundEvent, seen: SoundEvent, opts: FusionOptions) -> SoundEvent:
    """``heard`` confirmed by ``seen``: both sources, more confidence, the screen's pan and material if unknown."""
    return dataclasses.replace(
        heard, source="audio+visual", confidence=round(min(1.0, heard.confidence + opts.confirm_bonus), 3),
        pan=heard.pan if heard.pan is not None else seen.pan, material=heard.material or seen.material)


def _nearest(t: float, events: Sequence[SoundEvent], used: set[int], within: float) -> int | None:
    best, best_d = None, within
    for k, ev in enumerate(events):
        d = abs(ev.start - t)
        if k not in used and d <= best_d:
            best, best_d = k, d
    return best


def _overlaps_audio(ev: SoundEvent, audio: Sequence[SoundEvent]) -> bool:
    return any(a.label == ev.label and a.start < ev.end and ev.start < a.end for a in audio if not a.background)


def _in_context(ev: SoundEvent, obs: VisualObservations, vocab: Vocabulary, seen: SoundEvent | None,
                opts: FusionOptions) -> SoundEvent:
    """``ev`` renamed by the best scene label its evidence supports, or unchanged."""
    scene = obs.scene_at(ev.start)
    if scene is None:
        return ev
    heard = set(ev.audioset)
    for label, weight in scene.labels:
        if label == ev.label:
            return ev  # the picture agrees with the ear
        if weight < opts.context_weight:
            continue
        entry = vocab.get(label)
        if entry is None:
            continue
        sounds_like = set(entry.audioset) | heard_as().get(label, frozenset())
        supported = bool(heard & sounds_like) or (
            seen is not None and seen.label == entry.label) or (
            seen is not None and ev.kind == "abrupt" and entry.kind == "abrupt" and seen.category == "impact"
            and entry.category in IMPACT_CATEGORIES)
        if supported:
            return _renamed(ev, entry, sounds_like)
    if (seen is None or seen.category not in IMPACT_CATEGORIES or ev.kind != "abrupt" or ev.category == "music"
            or not scene.materials):
        return ev
    material, weight = scene.materials[0]
    entry = vocab.get(material_hits().get(material, ""))
    if weight < opts.material_weight or entry is None or entry.label == ev.label:
        return ev
    sounds_like = set(entry.audioset) | heard_as().get(entry.label, frozenset())
    if not heard & sounds_like:
        return ev  # a metal bar in the picture, but what was heard is no metal sound: it stays
    return dataclasses.replace(_renamed(ev, entry, sounds_like), material=material)


def _renamed(ev: SoundEvent, entry: VocabularyEntry, sounds_like: set[str]) -> SoundEvent:
    """``ev`` under ``entry``'s label and wording, the AudioSet classes that support it listed first."""
    matching = tuple(n for n in ev.audioset if n in sounds_like)
    order = matching + tuple(n for n in ev.audioset if n not in sounds_like)
    ids = dict(zip(ev.audioset, ev.audioset_ids, strict=False))
    return dataclasses.replace(ev, label=entry.label, caption=entry.caption_for(ev.end - ev.start),
                               category=entry.category, kind=entry.kind, audioset=order,
                               audioset_ids=tuple(ids.get(n, "") for n in order))


def _strokes(ev: SoundEvent, visual: Sequence[SoundEvent], obs: VisualObservations, vocab: Vocabulary,
             opts: FusionOptions) -> list[SoundEvent]:
    """A heard sound holding several seen hits, named from the shot and split into its separate strokes.

    Returns ``[ev]`` unchanged unless it is a non-music, non-background sound with ``min_seen_strokes`` or
    more seen hits (visual events of a hit-like category) within ``[start - match_s, end)``.
    """
    if ev.background or ev.category == "music":
        return [ev]
    hits = [v for v in visual if v.category in IMPACT_CATEGORIES and ev.start - opts.match_s <= v.start < ev.end]
    if len(hits) < opts.min_seen_strokes:
        return [ev]
    ev = _in_context(ev, obs, vocab, hits[0], opts)
    env = np.asarray(ev.envelope, np.float64)  # (n,) dBFS every 1 / ENVELOPE_RATE_HZ s from ev.start
    if env.size < 3:
        return [ev]
    onsets = envelope_strokes(ev.envelope, opts.stroke_rise_db)
    # a stroke that dies away (stroke_gap_db below its peak) before the next one ends a piece there
    pieces: list[tuple[int, int]] = []  # (first envelope index, end index)
    first = 0
    for a, b in zip(onsets, onsets[1:] + [env.size], strict=True):
        peak = a + int(np.argmax(env[a:b]))
        quiet = np.flatnonzero(env[peak:b] <= env[peak] - opts.stroke_gap_db)
        if quiet.size or b == env.size:
            pieces.append((first, peak + int(quiet[0]) if quiet.size else b))
            first = b
    # strokes too close for a caption each stay together
    step = opts.min_stroke_interval_s * ENVELOPE_RATE_HZ  # envelope indices
    joined: list[tuple[int, int]] = []
    for k, (a, b) in enumerate(pieces):
        if k and a - pieces[k - 1][0] < step - 1e-6:
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    pieces = joined
    if len(pieces) < 2:
        return [ev]
    out = []
    for a, b in pieces:
        start = ev.start if a == 0 else round(ev.start + a / ENVELOPE_RATE_HZ, 3)
        end = min(ev.end, round(max(ev.start + b / ENVELOPE_RATE_HZ, start + 1 / ENVELOPE_RATE_HZ), 3))
        part = env[a:max(b, a + 1)]
        entry = vocab.get(ev.label)
        out.append(dataclasses.replace(
            ev, start=start, end=end, envelope=tuple(float(v) for v in part),
            loudness=round(float(10 * np.log10(np.mean(10 ** (part / 10)) + 1e-12)), 1),
            peak_loudness=round(float(part.max()), 1),
            caption=entry.caption_for(end - start) if entry is not None else ev.caption))
    return out
