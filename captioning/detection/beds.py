"""Seen beds: the ambience a shot shows, as a background event where none was heard (issue 11).

The frame classifier gives each shot a :attr:`~captioning.analysis.types.SceneContext.ambience` (a vocabulary
label: room_tone, birdsong, traffic, wind, waves, ...). A Foley track must play "over an ambience bed that fits
the scene", so a shot's bed becomes an event: background, sustained, ``source="visual"``, the scene's label and
the vocabulary's sustained wording, its confidence the scene's ambience weight, its loudness a quiet bed level
(:data:`BED_DBFS`; room tone far quieter, :data:`ROOM_TONE_DBFS`). Neighbouring shots with the same ambience are
one bed. On a silent clip, a shot whose scene names no ambience (the classifier was unsure) gets room tone
(``fallback_label``, confidence ``fallback_confidence``): a Foley editor never leaves true digital silence under
a scene, and room tone is never captioned (with the audio analysed, such a shot gets nothing: no evidence of
any bed). The bed leaves out every stretch a heard background
event (an ambience bed the tagger found) covers, and pieces shorter than ``min_bed_s`` are dropped.

What the user gets, as an SDH captioner and a Foley editor would expect it:

* **Audio not analysed** (a silent clip, ``--no-audio``): the seen bed is all there is; it is kept with the
  scene's confidence (captioned once, as a background bed, when that confidence reaches the caption threshold;
  room tone never: its vocabulary role is ``ignore``), and the Foley track plays it.
* **Audio analysed, no bed heard there** (a silent film's score, a dry dialogue mix): captions describe what is
  heard, so the seen bed must not be captioned as if heard. It is kept like any other sight the ear did not
  confirm (:mod:`captioning.detection.fusion`'s "sight alone" rule): its confidence capped at
  ``unheard_confidence``, under the caption threshold, so it goes to the review list, not the caption track;
  the Foley track, which replaces or adds to that soundtrack, still plays it.
* **A bed was heard there**: the heard bed stands and nothing is added for that stretch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from captioning.analysis.types import SceneContext
from captioning.events import SoundEvent
from captioning.vocabulary import Vocabulary

#: Loudness (dBFS) given to a seen ambience bed: the level of a quiet bed under effects, inside the visual
#: events' -40..-10 dBFS range (captioning/detection/visual.py), about 10 dB under a medium footstep (-25 dBFS).
BED_DBFS = -35.0
#: Loudness (dBFS) of seen room tone: present but far under everything else (a Foley editor's room tone sits
#: some 20-30 dB under the effects).
ROOM_TONE_DBFS = -55.0


@dataclass(frozen=True)
class BedOptions:
    """Units are in the names.

    Attributes:
        min_bed_s: a seen bed (or the piece of one left between heard beds) shorter than this is dropped.
        unheard_confidence: cap on a seen bed's confidence when the audio was analysed and heard no bed there.
        fallback_label: the bed of a shot whose scene names no ambience, on a silent clip ("": none).
        fallback_confidence: the confidence of that bed.
    """

    min_bed_s: float = 1.0
    unheard_confidence: float = 0.45
    fallback_label: str = "room_tone"
    fallback_confidence: float = 0.2


def seen_beds(scenes: Sequence[SceneContext], heard: Sequence[SoundEvent], vocab: Vocabulary, *,
              audio_analysed: bool, opts: BedOptions | None = None) -> list[SoundEvent]:
    """Background events for the shots' ambience where no heard bed covers them (see the module docstring).

    Parameters:
        scenes: the shots' contexts, in time order (spans in seconds of media time).
        heard: the events found so far; those with ``background=True`` are heard beds.
        vocab: the vocabulary naming the ambience labels (a label it does not know adds nothing).
        audio_analysed: whether the audio was analysed (False: a silent clip or ``--no-audio``).

    Returns:
        The seen beds, in time order, without ids (the caller sorts and numbers every event).
    """
    opts = opts or BedOptions()
    runs: list[tuple[str, float, float, float]] = []  # (label, start, end, confidence weighted by time)
    for sc in scenes:
        bed = sc.ambience or ("" if audio_analysed else opts.fallback_label)
        weight = sc.ambience_weight if sc.ambience else opts.fallback_confidence
        if not bed or sc.end <= sc.start:
            continue
        span = sc.end - sc.start
        if runs and runs[-1][0] == bed and abs(runs[-1][2] - sc.start) < 1e-6:
            label, start, end, mass = runs[-1]
            runs[-1] = (label, start, sc.end, mass + weight * span)
        else:
            runs.append((bed, sc.start, sc.end, weight * span))
    covered = sorted((e.start, e.end) for e in heard if e.background)
    out: list[SoundEvent] = []
    for label, start, end, mass in runs:
        entry = vocab.get(label)
        if entry is None:
            continue
        confidence = min(1.0, max(0.0, mass / (end - start)))
        if audio_analysed:
            confidence = min(confidence, opts.unheard_confidence)
        loudness = ROOM_TONE_DBFS if label == "room_tone" else BED_DBFS
        for a, b in _uncovered(start, end, covered):
            if b - a < opts.min_bed_s:
                continue
            out.append(SoundEvent(
                start=round(a, 3), end=round(b, 3), label=entry.label, caption=entry.caption_sustained,
                category=entry.category, confidence=round(confidence, 3), loudness=loudness, source="visual",
                kind="sustained", background=True, peak_loudness=loudness))
    return out


def _uncovered(start: float, end: float, covered: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of ``[start, end)`` outside every span of ``covered`` (sorted by start)."""
    pieces: list[tuple[float, float]] = []
    t = start
    for a, b in covered:
        if b <= t or a >= end:
            continue
        if a > t:
            pieces.append((t, a))
        t = max(t, b)
    if t < end:
        pieces.append((t, end))
    return pieces
