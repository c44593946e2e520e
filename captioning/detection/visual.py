"""Visual detection: visual onsets (impacts, footsteps, claps) -> SoundEvents with ``source="visual"``.

* An impact is named by what the shot shows: the best label of its :class:`SceneContext` that is an abrupt,
  hit-like sound (e.g. weights dropping in a gym, chopping over a board), else a generic thud. Its material
  is the scene's most likely one.
* Footsteps of one walker closer than ``step_gap_s`` become one "footsteps" event, as a caption writer
  would write it; claps likewise become one "clapping" event.
* Loudness is estimated from the onset's strength (no audio to measure), so haptics and Foley can scale it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from captioning.analysis.types import SceneContext, VisualOnset
from captioning.analysis.video import VisualObservations
from captioning.events import ENVELOPE_RATE_HZ, SoundEvent, sort_events
from captioning.vocabulary import Vocabulary, VocabularyEntry

#: Categories of vocabulary rows an impact seen on screen may be named by (hit-like sounds).
IMPACT_CATEGORIES = frozenset({"impact", "tools", "household", "door"})
#: Label of a visual onset of each kind when nothing better is known.
DEFAULT_LABEL = {"impact": "thud", "footstep": "footsteps", "clap": "clapping", "contact": "thud"}
#: Estimated loudness of a visual event (dBFS) at strength 0 and 1.
LOUDNESS_RANGE_DB = (-40.0, -10.0)


@dataclass(frozen=True)
class VisualOptions:
    """How visual onsets become events. Units are in the names.

    Attributes:
        min_confidence: visual onsets below this confidence are ignored.
        step_gap_s: footsteps (or claps) closer than this are one event.
        event_s: length given to a single visual impact.
        scene_label_weight: a scene label needs at least this weight to name an impact.
    """

    min_confidence: float = 0.3
    step_gap_s: float = 1.5
    event_s: float = 0.15
    scene_label_weight: float = 0.2


def impact_entry(scene: SceneContext | None, vocab: Vocabulary, opts: VisualOptions) -> VocabularyEntry | None:
    """The vocabulary row that names an impact seen in ``scene``: its best hit-like label, or None."""
    if scene is None:
        return None
    for label, weight in scene.labels:
        entry = vocab.get(label)
        if weight >= opts.scene_label_weight and entry is not None and entry.kind == "abrupt" \
                and entry.category in IMPACT_CATEGORIES:
            return entry
    return None


def visual_events(obs: VisualObservations, vocab: Vocabulary, duration: float,
                  opts: VisualOptions | None = None) -> tuple[SoundEvent, ...]:
    """Events from what the pictures show, sorted by start; ``duration`` (s) bounds every event."""
    opts = opts or VisualOptions()
    onsets = [o for o in obs.onsets if o.confidence >= opts.min_confidence and 0 <= o.t < duration]
    events: list[SoundEvent] = []
    for kind in ("footstep", "clap"):
        for group in _runs([o for o in onsets if o.kind == kind], opts.step_gap_s, obs):
            entry = vocab.get(DEFAULT_LABEL[kind])
            if entry is not None:
                events.append(_event(group, entry, duration, opts, sustained=len(group) > 1))
    for o in onsets:
        if o.kind in ("footstep", "clap"):
            continue
        scene = obs.scene_at(o.t)
        entry = impact_entry(scene, vocab, opts) or vocab.get(DEFAULT_LABEL.get(o.kind, "thud"))
        if entry is not None:
            ev = _event([o], entry, duration, opts, sustained=False)
            material = scene.materials[0][0] if scene is not None and scene.materials else None
            events.append(dataclasses.replace(ev, material=material))
    return sort_events(events)


def _runs(onsets: Sequence[VisualOnset], gap_s: float, obs: VisualObservations) -> list[list[VisualOnset]]:
    """Onsets of one track split where they are ``gap_s`` apart or a shot cut falls between them."""
    by_track: dict[int | None, list[VisualOnset]] = {}
    for o in onsets:
        by_track.setdefault(o.track, []).append(o)
    runs: list[list[VisualOnset]] = []
    for track in by_track.values():
        run: list[VisualOnset] = []
        for o in sorted(track, key=lambda x: x.t):
            if run and (o.t - run[-1].t > gap_s or obs.shot_bounds(o.t)[0] > run[-1].t):
                runs.append(run)
                run = []
            run.append(o)
        if run:
            runs.append(run)
    return runs


def _estimated_dbfs(strength: float) -> float:
    """Loudness (dBFS) a visual contact of ``strength`` 0..1 is given, within LOUDNESS_RANGE_DB."""
    lo, hi = LOUDNESS_RANGE_DB
    return lo + (hi - lo) * min(1.0, max(0.0, strength))


def _event(group: Sequence[VisualOnset], entry: VocabularyEntry, duration: float, opts: VisualOptions, *,
           sustained: bool) -> SoundEvent:
    start = group[0].t
    end = min(duration, max(group[-1].t + opts.event_s, start + 0.01))
    loudness = _estimated_dbfs(max(o.strength for o in group))
    # one envelope value per 1/ENVELOPE_RATE_HZ s: each contact is a short peak, silence between
    n = max(1, int(round((end - start) * ENVELOPE_RATE_HZ)))
    env = [-120.0] * n
    for o in group:
        env[min(n - 1, int((o.t - start) * ENVELOPE_RATE_HZ))] = _estimated_dbfs(o.strength)
    x = sum(o.x for o in group) / len(group)
    confidence = min(1.0, sum(o.confidence for o in group) / len(group) + 0.05 * (len(group) - 1))
    caption = entry.caption_sustained if sustained else entry.caption_abrupt
    return SoundEvent(
        start=round(start, 3), end=round(end, 3), label=entry.label, caption=caption, category=entry.category,
        confidence=round(confidence, 3), loudness=round(loudness, 1), source="visual",
        kind="sustained" if sustained else "abrupt", audioset=(), audioset_ids=(), peak_loudness=round(max(env), 1),
        envelope=tuple(env), pan=round(2 * x - 1, 3),
    )
