"""Audit a caption track against the sounds an Analysis found (issue 12).

:func:`audit_captions` takes the Analysis (events) and a caption file as read, and decides, in order:

1. **Cues**: each cue is read into sound descriptions, speaker labels, notes and dialogue
   (:mod:`captioning.audit.cueclass`). Only sound descriptions take part below.
2. **Events**: every event but speech and ``ignore`` labels; an event is *counted* (for coverage and as a
   possible miss) when its salience (:mod:`captioning.audit.salience`) reaches ``min_salience`` and its
   confidence ``min_confidence``. Uncounted events can still support a cue.
3. **In time**: a sound cue is at an event's time when the cue's span overlaps the event's span widened by
   ``collar_s`` on both sides.
4. **Covered**: a cue at an event's time that describes it (:mod:`captioning.audit.matching`: similarity
   >= ``match_threshold``) covers the event and is supported. A cue may cover several events ("[thunder,
   rain]"), an event may be covered by several cues ("[barking continues]").
5. **Named differently**: among the cues not supported and the events not covered, pairs at each other's time
   whose onsets are at most ``collar_s`` apart are matched one to one, nearest onsets first: the sound is
   captioned under another name (a naming disagreement, for a person to judge), neither a miss nor an
   unsupported cue. Only a *credible* event takes part (:func:`_credible`): detected with at least
   ``min_confidence``, or under a specific label (vocabulary specificity >= 2) the cue is not far from
   (similarity >= ``NAMING_MIN_SIMILARITY``); a cue at the time of a low-confidence "sudden noise" is not
   vouched for by it. Then detection's *pieces* of
   one sound: an uncovered event at a cue's time, starting before the cue ends, that adjoins an event the cue
   covers or names (at most ``PIECE_GAP_S`` apart, overlapping by at most half the shorter one: a sound inside
   another is a second sound) is named differently by that cue too (``part_of`` names the neighbour), repeated
   until none is left.
6. **Missed**: counted events left; each gets a suggested cue in the chosen style, made by the caption
   builder itself (:func:`captioning.captions.build_cues` on that one event). Salient events left whose
   confidence is under ``min_confidence`` are *uncertain*: listed with a suggested cue, not counted.
7. **Unsupported**: sound cues left, with the nearest candidate (the event within ``NEAREST_WINDOW_S`` it
   describes best, if one reaches the threshold: a cue off by more than the collar; else the nearest in
   time).
8. **Compliance**: the caption checker's rules for the style (:func:`captioning.captions.check_cues`, given
   the media's duration: cues that end after the media does are ``past_media_end``, and a cue ending with the
   media is not held to the minimum duration and reading speed), cue blocks players skip, and sound cues that
   start more than ``ONSET_TOLERANCE_S`` after (``late_onset``) or before (``early_onset``) the onset of the
   sound they cover.

Coverage is (covered + named differently) / counted events, overall and per category.

9. **Warnings**: cues that end more than ``collar_s`` after the media's end, or most cues starting at or after
   it (the caption file may belong to another video).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from captioning.audit.cueclass import read_cues
from captioning.audit.matching import Embedder, SoundMatcher
from captioning.audit.options import AuditOptions
from captioning.audit.report import (
    AuditedEvent,
    AuditReport,
    CategoryCoverage,
    Covered,
    Missed,
    NamingDisagreement,
    ReadCue,
    SuggestedCue,
    Uncertain,
    Unsupported,
)
from captioning.audit.salience import importance, saliences
from captioning.captions.checker import Violation, check_cues
from captioning.captions.cues import build_cues
from captioning.captions.model import Cue
from captioning.captions.options import CaptionOptions
from captioning.captions.reader import CaptionFile
from captioning.captions.writers import cues_to_vtt
from captioning.errors import ModelLoadError
from captioning.events import Analysis, SoundEvent
from captioning.vocabulary import Vocabulary, load_vocabulary

logger = logging.getLogger("captioning")

#: How far from an unsupported cue its nearest candidate may be, seconds.
NEAREST_WINDOW_S = 10.0
#: Neighbouring events at most this far apart (seconds) may be pieces of one sound (see :func:`_pieces`).
PIECE_GAP_S = 0.1
#: A low-confidence event under a specific label is credible for a naming disagreement when the cue's similarity
#: to it reaches this (well under the match threshold: another name for the sound, not another sound). This
#: project's judgement from the dev set: "[thunder rumbling]" vs dog barks 0.41, "[dog barking]" vs
#: weights thud 0.04.
NAMING_MIN_SIMILARITY = 0.3
#: A covering sound cue that starts more than this after (before) its sound's onset is late (early), seconds.
ONSET_TOLERANCE_S = 0.5


def load_embedder(name_or_path: str | None = None) -> tuple[Embedder, str]:
    """The sentence-embedding model (loaded once per process) and its version string.

    Raises:
        ModelLoadError: the model or sentence-transformers is missing (the message says what to install).
    """
    from models.errors import ModelUnavailableError
    from models.text_embedding import load_text_embedding

    try:
        model = load_text_embedding(name_or_path)
    except ModelUnavailableError as e:
        raise ModelLoadError(str(e)) from e
    return model, model.version


def _with_ids(events: Sequence[SoundEvent]) -> list[SoundEvent]:
    """Events with unique ids (an analysis made by hand may have none)."""
    ids = [e.id for e in events]
    if all(ids) and len(set(ids)) == len(ids):
        return list(events)
    return [dataclasses.replace(e, id=f"e{i:04d}") for i, e in enumerate(events, 1)]


def suggest_cue(event: SoundEvent, analysis: Analysis, options: CaptionOptions,
                vocabulary: Vocabulary) -> SuggestedCue:
    """The cue the caption builder would write for ``event`` alone, in ``options``' style and frame rate."""
    one = dataclasses.replace(analysis, events=(event,))
    track = build_cues(one, dataclasses.replace(options, min_confidence=0.0, include_low_confidence=True),
                       vocabulary=vocabulary)
    if not track.cues:  # the builder words every sound; keep a plain fallback all the same
        start_ms, end_ms = round(event.start * 1000), round(max(event.end, event.start + 1.0) * 1000)
        from captioning.captions.model import CueLine

        cue = Cue(start_ms, end_ms, (CueLine(f"[{event.caption}]"),))
    else:
        cue = dataclasses.replace(track.cues[0], identifier="")
    block = cues_to_vtt([cue]).split("\n\n", 1)[1].strip()  # the cue block without the WEBVTT header
    return SuggestedCue(cue.start, cue.end, cue.text, block)


def _in_time(cue_spans: np.ndarray, event_spans: np.ndarray, collar_s: float) -> np.ndarray:
    """shape=(n_cues, n_events) bool: the cue overlaps the event widened by ``collar_s`` each side."""
    if cue_spans.size == 0 or event_spans.size == 0:
        return np.zeros((len(cue_spans), len(event_spans)), bool)
    starts, ends = cue_spans[:, :1], cue_spans[:, 1:]  # (n_cues, 1)
    out: np.ndarray = (starts <= event_spans[None, :, 1] + collar_s) & (ends >= event_spans[None, :, 0] - collar_s)
    return out


def audit_captions(
    analysis: Analysis,
    captions: CaptionFile,
    options: AuditOptions | None = None,
    *,
    captions_name: str = "",
    embed: Embedder | None = None,
    embedder_version: str | None = None,
    vocabulary: Vocabulary | None = None,
) -> AuditReport:
    """Audit ``captions`` against the events of ``analysis`` (see the module docstring).

    Parameters
    ----------
    analysis : the detected events (seconds of media time) and media info.
    captions : the caption file as read (:func:`captioning.captions.read_caption_file`).
    options : audit options; None for the defaults.
    captions_name : the caption file's name in the report (its base name is kept).
    embed : the sentence-embedding model; None loads ``options.embedding_model`` once per process.
    embedder_version : the model's version for the report (with ``embed``).
    vocabulary : label wordings; None for the packaged vocabulary.

    Raises
    ------
    ModelLoadError
        The embedding model cannot be loaded.
    InvalidOptionsError
        An option is out of range.
    """
    options = options or AuditOptions()
    vocab = vocabulary if vocabulary is not None else load_vocabulary()
    if embed is None:
        embed, embedder_version = load_embedder(options.embedding_model)
    matcher = SoundMatcher(embed, vocab)
    cap_opts = CaptionOptions(style=options.style, frame_rate=options.frame_rate, metadata=False).for_media(
        analysis.media)
    fps = cap_opts.fps

    # 1. cues
    readings = read_cues(captions.cues, sound_like=matcher.sound_like)
    cues = tuple(ReadCue(n, c, r) for n, c, r in zip(captions.numbers, captions.cues, readings, strict=True))
    sound_cues = [c for c in cues if c.reading.sounds]

    # 2. events
    all_events = _with_ids(sorted(analysis.events, key=lambda e: (e.start, e.end, e.label)))
    events = [e for e in all_events if importance(e, vocab) > 0]
    sal = saliences(events, vocab)
    audited = [AuditedEvent(e, float(s)) for e, s in zip(events, sal, strict=True)]
    counted = frozenset(a.event.id for a in audited
                        if a.salience >= options.min_salience and a.event.confidence >= options.min_confidence)

    # 3-4. in time, and described
    descriptions = [s.text for c in sound_cues for s in c.reading.sounds]
    owner = np.array([i for i, c in enumerate(sound_cues) for _ in c.reading.sounds], dtype=np.int64)
    desc_sim = matcher.similarity(descriptions, events)  # (n_descriptions, n_events)
    sim = np.full((len(sound_cues), len(events)), -1.0, np.float32)  # (n_sound_cues, n_events)
    if descriptions and events:
        np.maximum.at(sim, owner, desc_sim)
    cue_spans = np.array([[c.cue.start, c.cue.end] for c in sound_cues], dtype=np.float64).reshape(-1, 2)
    ev_spans = np.array([[e.start, e.end] for e in events], dtype=np.float64).reshape(-1, 2)
    in_time = _in_time(cue_spans, ev_spans, options.collar_s)
    describes = in_time & (sim >= options.match_threshold)
    supported = np.asarray(describes.any(axis=1))  # (n_sound_cues,) bool
    covered_ev = np.asarray(describes.any(axis=0))  # (n_events,) bool

    # 5. named differently: one to one, nearest onsets first
    naming: list[NamingDisagreement] = []
    pairs = sorted(
        ((abs(sound_cues[i].cue.start - events[j].start), i, j)
         for i, j in zip(*np.nonzero(in_time), strict=True) if not supported[i] and not covered_ev[j]
         and abs(sound_cues[i].cue.start - events[j].start) <= options.collar_s
         and _credible(events[j], float(sim[i, j]), options.min_confidence, vocab)),
        key=lambda p: (p[0], p[1], p[2]))
    cue_named, ev_named = set(), set()
    for _, i, j in pairs:
        if i in cue_named or j in ev_named:
            continue
        cue_named.add(i)
        ev_named.add(j)
        naming.append(NamingDisagreement(sound_cues[i], audited[j], float(sim[i, j])))
    # 5b. pieces: detection may split one sound into neighbouring events under several names
    attributed = {i: {int(j) for j in np.nonzero(describes[i])[0]} for i in range(len(sound_cues))}
    for n in naming:
        attributed[sound_cues.index(n.cue)].add(audited.index(n.event))
    grown = True
    while grown:
        grown = False
        for i, own in attributed.items():
            for j in np.nonzero(in_time[i])[0]:
                j = int(j)
                if covered_ev[j] or j in ev_named:
                    continue
                e = events[j]
                if e.start >= sound_cues[i].cue.end:
                    continue  # what starts after the cue has gone is a new sound, not a piece of this one
                piece_of = next((k for k in sorted(own) if _pieces(e, events[k])), None)
                if piece_of is not None:
                    own.add(j)
                    ev_named.add(j)
                    naming.append(NamingDisagreement(sound_cues[i], audited[j], float(sim[i, j]),
                                                     part_of=events[piece_of].id))
                    grown = True
    naming.sort(key=lambda n: (n.cue.cue.start_ms, n.event.event.start))

    # 6. covered and missed
    covered: list[Covered] = []
    missed: list[Missed] = []
    uncertain: list[Uncertain] = []
    for j, a in enumerate(audited):
        if a.event.id not in counted:
            if (a.salience >= options.min_salience and a.event.confidence < options.min_confidence
                    and not covered_ev[j] and j not in ev_named):
                uncertain.append(Uncertain(a, suggest_cue(a.event, analysis, cap_opts, vocab)))
            continue
        if covered_ev[j]:
            rows = np.nonzero(describes[:, j])[0]
            covered.append(Covered(a, tuple(sound_cues[i].number for i in rows), float(sim[rows, j].max())))
        elif j not in ev_named:
            missed.append(Missed(a, suggest_cue(a.event, analysis, cap_opts, vocab)))

    # 7. unsupported, with the nearest candidate
    unsupported = [_unsupported(c, i, audited, ev_spans, sim, options.match_threshold)
                   for i, c in enumerate(sound_cues) if not supported[i] and i not in cue_named]

    # 8. compliance
    violations = check_cues(captions.cues, cap_opts.profile, frame_rate=fps, numbers=captions.numbers,
                            media_duration=analysis.media.duration)
    violations += [Violation("unreadable", s.number, (s.start_ms or 0) / 1000, f"{s}; players skip it")
                   for s in captions.skipped]
    violations += _onset_violations(sound_cues, events, describes)
    violations.sort(key=lambda v: (v.index, v.rule))

    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # salient, covered, named, missed
    for j, a in enumerate(audited):
        if a.event.id not in counted:
            continue
        row = by_cat[a.event.category]
        row[0] += 1
        row[1 if covered_ev[j] else 2 if j in ev_named else 3] += 1
    categories = tuple(CategoryCoverage(cat, *row) for cat, row in sorted(by_cat.items()))

    models = {**dict(analysis.models), "text_embedding": embedder_version or "unknown"}
    return AuditReport(
        media={"file": Path(analysis.media.path).name, "duration": round(analysis.media.duration, 3)},
        captions={"file": Path(captions_name).name if captions_name else "", "format": captions.format,
                  "encoding": captions.encoding, "cues": len(captions.cues), "skipped_blocks": len(captions.skipped)},
        options={**options.to_dict(), "frame_rate": fps},
        models=models, cues=cues, events=tuple(audited), counted=counted, covered=tuple(covered),
        missed=tuple(missed), naming=tuple(naming), unsupported=tuple(unsupported), categories=categories,
        violations=tuple(violations), notes=tuple(captions.notes), uncertain=tuple(uncertain),
        warnings=tuple(media_warnings(captions.cues, analysis.media.duration, options.collar_s)),
    )


def _credible(event: SoundEvent, similarity: float, min_confidence: float, vocabulary: Vocabulary) -> bool:
    """Whether ``event`` is credible enough for a cue to name it otherwise (module docstring, step 5)."""
    if event.confidence >= min_confidence:
        return True
    entry = vocabulary.get(event.label)
    return entry is not None and entry.specificity >= 2 and similarity >= NAMING_MIN_SIMILARITY


def media_warnings(cues: Sequence[Cue], duration: float, collar_s: float) -> list[str]:
    """Warnings about a caption track that does not fit the media: most cues start at or after its end, or
    some end more than ``collar_s`` after it (seconds). Empty when the duration is unknown (<= 0)."""
    if duration <= 0 or not cues:
        return []
    outside = sum(1 for c in cues if c.start >= duration)
    late = [c for c in cues if c.end > duration + collar_s]
    last = max(c.end for c in cues)
    if outside > len(cues) / 2:
        return [f"{outside} of {len(cues)} cues start after the media ends ({duration:.3f} s; the last cue ends at "
                f"{last:.3f} s): the caption file may belong to another video"]
    if late:
        return [f"{len(late)} {'cue ends' if len(late) == 1 else 'cues end'} more than {collar_s:g} s after the media "
                f"ends ({duration:.3f} s; the last at {last:.3f} s): the caption file may be for a longer cut or "
                f"another video"]
    return []


def _pieces(a: SoundEvent, b: SoundEvent) -> bool:
    """Whether two events look like neighbouring pieces of one sound: at most ``PIECE_GAP_S`` apart, and
    overlapping by at most half the shorter one (a sound inside another is a second sound, not a piece)."""
    gap = max(a.start, b.start) - min(a.end, b.end)  # negative: they overlap by -gap
    return gap <= PIECE_GAP_S and -gap <= 0.5 * min(a.duration, b.duration)


def _unsupported(cue: ReadCue, i: int, audited: Sequence[AuditedEvent], ev_spans: np.ndarray, sim: np.ndarray,
                 threshold: float) -> Unsupported:
    if not audited:
        return Unsupported(cue)
    # gap between the cue's span and each event's span (0 when they overlap), seconds
    gap = np.maximum(0.0, np.maximum(ev_spans[:, 0] - cue.cue.end, cue.cue.start - ev_spans[:, 1]))
    near = np.nonzero(gap <= NEAREST_WINDOW_S)[0]
    if near.size == 0:
        return Unsupported(cue)
    alike = near[sim[i, near] >= threshold]
    j = int(alike[np.argmax(sim[i, alike])]) if alike.size else int(near[np.argmin(gap[near])])
    ev = audited[j]
    return Unsupported(cue, ev, cue.cue.start - ev.event.start, float(sim[i, j]))


def _onset_violations(sound_cues: Sequence[ReadCue], events: Sequence[SoundEvent],
                      describes: np.ndarray) -> list[Violation]:
    """``late_onset``/``early_onset``: a cue that is the first to describe some sounds starts more than
    ``ONSET_TOLERANCE_S`` after (before) the onset of every one of them."""
    delays: dict[int, list[tuple[float, SoundEvent]]] = defaultdict(list)
    for j, e in enumerate(events):
        rows = np.nonzero(describes[:, j])[0]
        if rows.size:
            first = min((int(i) for i in rows), key=lambda i: sound_cues[i].cue.start_ms)
            delays[first].append((sound_cues[first].cue.start - e.start, e))
    out: list[Violation] = []
    for i, found in sorted(delays.items()):
        delay, e = min(found, key=lambda d: abs(d[0]))
        if abs(delay) <= ONSET_TOLERANCE_S:
            continue
        c = sound_cues[i]
        rule, when = ("late_onset", "after") if delay > 0 else ("early_onset", "before")
        out.append(Violation(rule, c.number, c.cue.start,
                             f"cue {c.number} at {c.cue.start:.3f} s: starts {abs(delay):.3f} s {when} the sound it "
                             f"describes ({e.caption}, {e.start:.3f} s); at most {ONSET_TOLERANCE_S:g} s"))
    return out
