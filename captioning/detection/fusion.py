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
* **Within a heard sound.** A visual onset inside a heard (non-music) event's span is one of its strokes: it
  confirms that event rather than adding one.
* **Sight alone.** A visual event with no audio event near it is kept: with ``source="visual"`` and its own
  confidence when the audio was not analysed (a silent clip), with its confidence capped at
  ``unheard_confidence`` (left for review) when the audio was analysed but heard nothing there.
* **Off screen.** Audio events with nothing visible stay as they are.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from captioning.analysis.video import VisualObservations
from captioning.datafiles import csv_records, data_text
from captioning.detection.visual import IMPACT_CATEGORIES
from captioning.events import SoundEvent, sort_events
from captioning.vocabulary import Vocabulary


@dataclass(frozen=True)
class FusionOptions:
    """Units are in the names.

    Attributes:
        match_s: a visual onset this close to an audio onset is the same sound.
        confirm_bonus: confidence added to an audio event that the pictures confirm.
        context_weight: a scene label needs this weight to rename a heard sound.
        unheard_confidence: cap on the confidence of a visual-only event when the audio heard nothing there.
    """

    match_s: float = 0.15
    confirm_bonus: float = 0.15
    context_weight: float = 0.3
    unheard_confidence: float = 0.45


@functools.lru_cache(maxsize=1)
def heard_as() -> Mapping[str, frozenset[str]]:
    """label -> the AudioSet classes (YAMNet display names) a sound of that label may be heard as.

    From ``captioning/data/heard_as.csv``; a label's own vocabulary classes count too (see :func:`fuse`).
    """
    _, records = csv_records(data_text("heard_as.csv"))
    return {r["label"]: frozenset(n for n in r["heard_as"].split("|") if n) for _, r in records}


def fuse(audio: Sequence[SoundEvent], visual: Sequence[SoundEvent], obs: VisualObservations, vocab: Vocabulary,
         *, audio_analysed: bool, opts: FusionOptions | None = None) -> tuple[SoundEvent, ...]:
    """Merge audio and visual events (see the module docstring); the result is sorted with fresh ids."""
    opts = opts or FusionOptions()
    out: list[SoundEvent] = []
    used: set[int] = set()
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
        if audio_analysed and _overlaps_audio(ev, audio):
            continue  # a step of a walk the audio already captions as footsteps, and the like
        if audio_analysed:
            ev = dataclasses.replace(ev, confidence=min(ev.confidence, opts.unheard_confidence))
        out.append(ev)
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
            caption = entry.caption_for(ev.end - ev.start)
            matching = tuple(n for n in ev.audioset if n in sounds_like)
            rest = tuple(n for n in ev.audioset if n not in sounds_like)
            order = matching + rest
            ids = dict(zip(ev.audioset, ev.audioset_ids, strict=False))
            return dataclasses.replace(ev, label=entry.label, caption=caption, category=entry.category,
                                       kind=entry.kind, audioset=order,
                                       audioset_ids=tuple(ids.get(n, "") for n in order))
    return ev
