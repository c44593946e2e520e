"""Audio detection: per-frame features and tagger scores -> a list of SoundEvents.

The approach (issue 2), in order:

1-2. **Background model and class-agnostic segments**: see :mod:`captioning.detection.segments`.
3. **Labelling.** YAMNet runs on dense patches (every 50 ms). For a segment we pool the patches that hold most
   of it, subtract each class's file-level background score, drop classes that cannot be a caption
   (speech is dialogue; "Silence", room tone), and prefer specific classes over ontology roots.
4. **Merging.** Adjacent segments with the same label (footsteps, hammering, barking) become one event.
5. **Ambience.** Classes present through most of the file become one background event each instead of a
   stream of foreground events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from captioning.analysis.audio import Features, FrameStore
from captioning.detection.segments import (
    Background,
    DetectionOptions,
    background_model,
    background_rise,
    find_segments,
    peak_50ms,
    running_level,
)
from captioning.events import ENVELOPE_RATE_HZ, SoundEvent, sort_events
from captioning.vocabulary import GENERIC_LABEL, Vocabulary, VocabularyEntry

_SPECIFICITY_WEIGHT = {1: 0.3, 2: 0.8, 3: 1.0}
_UNMAPPED_WEIGHT = 0.5
#: At most about this many patches estimate each class's file background (memory stays flat).
BACKGROUND_PATCHES = 6000
#: Rows of tagger scores read at a time.
_CHUNK_PATCHES = 20000


@dataclass(frozen=True)
class _Label:
    entry: VocabularyEntry | None
    classes: tuple[int, ...]  # AudioSet class indices, best first
    score: float  # pooled probability of the best class
    contrast: float
    dialogue: bool


class Labeller:
    """Pools YAMNet scores for a time span and picks the caption label (see module docstring)."""

    def __init__(self, feat: Features, vocab: Vocabulary, class_names: Sequence[str], opts: DetectionOptions,
                 active: np.ndarray, bg: Background) -> None:
        self.feat, self.vocab, self.names, self.opts, self.bg = feat, vocab, list(class_names), opts, bg
        n_cls = len(self.names)
        self.entries: list[VocabularyEntry | None] = [vocab.for_audioset(n) for n in self.names]
        weight = np.full(n_cls, _UNMAPPED_WEIGHT, np.float32)
        usable = np.ones(n_cls, bool)
        self.dialogue_cls = np.zeros(n_cls, bool)
        self.music_cls = np.zeros(n_cls, bool)
        for i, e in enumerate(self.entries):
            if e is None:
                continue
            weight[i] = _SPECIFICITY_WEIGHT.get(e.specificity, 0.8)
            if e.role in ("ignore", "dialogue"):
                usable[i] = False
            self.dialogue_cls[i] = e.role == "dialogue"
            self.music_cls[i] = e.role == "music"
        self.weight, self.usable = weight, usable
        scores = feat.scores
        # Time span of every YAMNet patch, sorted by start (and so by end): computed once, used per segment.
        self.p_start, self.p_end = feat.patch_span(np.arange(scores.shape[0]))
        # File-level background score per class: the median over patches with little foreground.
        if scores.shape[0]:
            quiet = ~self._overlaps_active(self.p_start, self.p_end, active)
            # Statistics need no more than ~6000 patches (5 min): thin long media so the copies stay small.
            thin = np.zeros(quiet.size, bool)
            thin[:: max(1, quiet.size // BACKGROUND_PATCHES)] = True
            if not quiet.any() and feat.duration < opts.background_window_s:
                # A short clip one sound fills (a sound effect): no patch shows the background, and the clip is
                # too short to have one; every class is taken as absent from it.
                self.background = np.zeros(n_cls, np.float32)
                self.spread = np.zeros(n_cls, np.float32)
            elif quiet.sum() >= max(5, 0.1 * quiet.size):
                base = scores[quiet & thin].astype(np.float32)
                self.background = np.median(base, axis=0)
                self.spread = np.percentile(base, 90, axis=0).astype(np.float32) - self.background
            else:
                # Sound almost everywhere (a clip of chopping): the file's quietest tenth is the background.
                self.background = np.percentile(scores[thin].astype(np.float32), 10, axis=0).astype(np.float32)
                self.spread = np.zeros(n_cls, np.float32)
        else:
            self.background = np.zeros(n_cls, np.float32)
            self.spread = np.zeros(n_cls, np.float32)

    def _overlaps_active(self, s: np.ndarray, e: np.ndarray, active: np.ndarray) -> np.ndarray:
        csum = np.concatenate([[0], np.cumsum(active)])
        i0 = np.clip((s / self.feat.frame_s).astype(int), 0, active.size)
        i1 = np.clip((e / self.feat.frame_s).astype(int), 0, active.size)
        out: np.ndarray = (csum[i1] - csum[i0]) > 0
        return out

    def pooled(self, start: float, end: float) -> np.ndarray:
        """Class scores for [start, end), shape=(521,): the overlap-weighted mean of the patches that hold
        most of the span (a short sound: the patches that contain all of it; a long one: those it fills)."""
        scores = self.feat.scores
        if scores.shape[0] == 0:
            return np.zeros(len(self.names), np.float32)
        # Only patches that overlap the span can be chosen (unless none does: then all weigh alike).
        lo = int(np.searchsorted(self.p_end, start, side="right"))
        hi = int(np.searchsorted(self.p_start, end, side="left"))
        if hi <= lo:
            lo, hi = 0, scores.shape[0]
        p_start, p_end = self.p_start[lo:hi], self.p_end[lo:hi]
        overlap = np.clip(np.minimum(p_end, end) - np.maximum(p_start, start), 0.0, None)
        frac = overlap / min(end - start, float(self.p_end[0] - self.p_start[0]))
        sel = frac >= 0.7 * frac.max()
        w = frac[sel]
        pooled: np.ndarray = (scores[lo:hi][sel].astype(np.float32) * w[:, None]).sum(axis=0) / w.sum()
        return pooled

    def profile(self, start: float, end: float) -> np.ndarray:
        """What stands out in [start, end): captionable classes' rise over the background, shape=(521,)."""
        rise = np.maximum(self.pooled(start, end) - self.background, 0.0)
        return np.where(self.usable, rise, 0.0)

    def spectrum(self, start: float, end: float) -> np.ndarray:
        """Mean per-band rise over the background (nepers of power) in [start, end), shape=(64,)."""
        i0 = max(0, int(start / self.feat.frame_s))
        i1 = min(self.feat.n_frames, max(i0 + 1, int(np.ceil(end / self.feat.frame_s))))
        rise = 2.0 * self.feat.logmel[i0:i1].astype(np.float64) - self.bg.at(i0, i1)
        return np.asarray(np.maximum(rise, 0.0).mean(axis=0))

    def speech_fraction(self, start: float, end: float) -> float:
        sp = self.feat.speech
        if sp.size == 0:
            return 0.0
        hop = self.feat.speech_hop_s
        i0, i1 = int(start / hop), max(int(start / hop) + 1, int(np.ceil(end / hop)))
        return float(np.mean(sp[i0:i1] > self.opts.speech_threshold)) if i0 < sp.size else 0.0

    def label(self, start: float, end: float) -> _Label:
        pooled = self.pooled(start, end)
        # How unusual each class is here, relative to how much it wanders in this file's background.
        contrast = (pooled - self.background) / (1.0 + self.opts.spread_weight * self.spread)
        # Dialogue: Silero hears speech and the tagger's best vocal class is a speech class.
        speechy = self.speech_fraction(start, end) >= 0.5
        top_dialogue = float(pooled[self.dialogue_cls].max()) if self.dialogue_cls.any() else 0.0
        weight = self.weight
        if end - start < self.opts.music_min_s:
            # Music is sustained: a lone hit that sounds like a drum is more likely a knock or a thud.
            weight = np.where(self.music_cls, weight * 0.5, weight)
        rank = np.where(self.usable, (np.maximum(contrast, 0.0) + 0.1 * pooled) * weight, -1.0)
        order = np.argsort(-rank)
        best = int(order[0])
        # Laughter, coughs and screams also light up the VAD: only call it dialogue when speech clearly wins.
        dialogue = speechy and top_dialogue >= pooled[best] + 0.15 and contrast[best] < 0.3
        if rank[best] <= 0 or contrast[best] < self.opts.min_label_contrast:
            return _Label(None, tuple(int(i) for i in order[:3] if rank[i] > 0), float(pooled[best]),
                          float(contrast[best]), dialogue)
        entry = self.entries[best]
        classes = [best]
        if entry is not None:
            # Other classes of the same label next (most specific first), then the runners-up.
            same = [i for i in order[1:12] if self.entries[i] is entry and rank[i] > 0]
            classes += same
        classes += [int(i) for i in order[1:6] if int(i) not in classes and rank[i] > 0]
        return _Label(entry, tuple(classes[:5]), float(pooled[best]), float(contrast[best]), dialogue)


def _entry_for(label: _Label, vocab: Vocabulary) -> VocabularyEntry | None:
    if label.entry is not None:
        return label.entry
    return vocab.get(GENERIC_LABEL)


def detect_events(
    feat: Features,
    vocab: Vocabulary,
    opts: DetectionOptions | None = None,
    *,
    ambience: bool = True,
) -> tuple[SoundEvent, ...]:
    """Turn one file's audio features into sorted SoundEvents (see module docstring for the method).

    The tagger's classes are the columns of ``feat.scores``, named by ``feat.class_names`` (ids in
    ``feat.class_ids``, or none).
    """
    opts = opts or DetectionOptions()
    class_names = list(feat.class_names)
    class_ids = list(feat.class_ids) or [""] * len(class_names)
    if feat.n_frames == 0:
        return ()
    bg = background_model(feat, opts)
    rise = background_rise(feat, opts, bg)
    segments = find_segments(rise, feat, opts)
    active = np.zeros(feat.n_frames, bool)
    for s in segments:
        active[int(s.start / feat.frame_s):int(np.ceil(s.end / feat.frame_s))] = True
    labeller = Labeller(feat, vocab, class_names, opts, active, bg)
    beds = _ambience_beds(feat, labeller, opts) if ambience else []
    bed_labels = {e.label for e, _, _ in beds}
    music = _music_beds(feat, labeller, opts)

    bg_level = running_level(feat, opts)
    spans: list[tuple[float, float]] = []
    for seg in segments:
        i0, i1 = int(seg.start / feat.frame_s), int(np.ceil(seg.end / feat.frame_s))
        if peak_50ms(feat.level_db[i0:i1]) - float(np.median(bg_level[i0:i1])) < opts.min_level_over_bg_db:
            continue  # a flicker of the background, not a sound of its own
        spans.append((seg.start, seg.end))
    spans = _merge_similar(spans, labeller, opts)

    events: list[SoundEvent] = []
    for start, end in spans:
        lab = labeller.label(start, end)
        if lab.dialogue:
            continue
        entry = _entry_for(lab, vocab)
        if entry is None:
            continue
        if entry.label in bed_labels and lab.contrast < 0.3:
            continue  # a louder moment of the background bed, not a new sound
        if (entry.role == "music" or lab.entry is None) and any(t0 <= start and end <= t1 for _, t0, t1 in music):
            continue  # a phrase (or a note no class explains) of the music already captioned as one music event
        i0, i1 = int(start / feat.frame_s), max(int(start / feat.frame_s) + 1, int(np.ceil(end / feat.frame_s)))
        salience = float(rise[i0:i1].max())
        events.append(_make_event(feat, start, end, entry, lab, class_names, class_ids, salience_db=salience))
    events = _merge_same_label(events, vocab, opts)
    for entry, t0, t1 in music:
        events.append(_span_event(feat, labeller, entry, t0, t1, class_names, class_ids, background=False))
    for entry, t0, t1 in beds:
        events.append(_span_event(feat, labeller, entry, t0, t1, class_names, class_ids, background=True))
    return sort_events(events)


def _span_event(feat: Features, labeller: Labeller, entry: VocabularyEntry, t0: float, t1: float,
                class_names: Sequence[str], class_ids: Sequence[str], *, background: bool) -> SoundEvent:
    """A long sustained event (music, an ambience bed) named by ``entry``'s classes heard in the span."""
    pooled = labeller.pooled(t0, t1)
    idx = tuple(sorted((class_names.index(n) for n in entry.audioset if n in class_names), key=lambda i: -pooled[i]))
    lab = _Label(entry, idx[:3], float(pooled[idx[0]]) if idx else 0.5, 0.0 if background else 0.3, False)
    ev = _make_event(feat, t0, t1, entry, lab, class_names, class_ids)
    return dataclasses.replace(ev, background=background, kind="sustained", caption=entry.caption_sustained)


def _merge_similar(spans: list[tuple[float, float]], labeller: Labeller, opts: DetectionOptions
                   ) -> list[tuple[float, float]]:
    """Join neighbouring spans that sound alike: the fragments of one sound (a saw's strokes, a dog's barks).

    Two spans closer than ``merge_gap_s`` merge when their background-relative tagger profiles point the
    same way (cosine similarity >= ``merge_similarity``).
    """
    if not spans:
        return spans
    out = [spans[0]]
    prof = labeller.profile(*spans[0])
    prev_spec = labeller.spectrum(*spans[0])
    for start, end in spans[1:]:
        cur = labeller.profile(start, end)
        spec = labeller.spectrum(start, end)
        gap = start - out[-1][1]
        # Pieces split at a strong onset are a new sound unless they sound the same (repeated strokes).
        needed = opts.merge_similarity_split if gap < 0.02 else opts.merge_similarity
        same_tag = gap < opts.merge_gap_s and _cosine(prof, cur) >= needed
        # A repeated stroke (chopping, footsteps, hammering) has the spectrum of the stroke before it.
        repeat = gap < opts.repeat_gap_s and _cosine(prev_spec, spec) >= opts.repeat_similarity
        if same_tag or repeat:
            out[-1] = (out[-1][0], end)
            prof = labeller.profile(*out[-1])
        else:
            out.append((start, end))
            prof = cur
        prev_spec = spec
    return out


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else 0.0


def _ambience_beds(feat: Features, labeller: Labeller, opts: DetectionOptions
                   ) -> list[tuple[VocabularyEntry, float, float]]:
    """Runs of a steady ambience class (rain, wind, birdsong): each long run is one background event.

    A run must last ``ambience_presence`` of the file or ``ambience_min_s``, whichever is shorter, so a short
    clip with birdsong throughout gets one bed and a film gets one bed per scene of rain.
    """
    scores = feat.scores
    if scores.shape[0] < 10:
        return []
    p_start, p_end = labeller.p_start, labeller.p_end
    hop_s = feat.patch_hop * feat.frame_s
    min_run = min(opts.ambience_min_s, opts.ambience_presence * feat.duration)
    bridge = max(1, int(round(3.0 / hop_s)))
    beds: dict[str, tuple[VocabularyEntry, float, float, float]] = {}
    amb_idx = [i for i, e in enumerate(labeller.entries) if e is not None and e.role == "ambience"]
    amb = _columns(scores, amb_idx)
    for k, i in enumerate(amb_idx):
        entry = labeller.entries[i]
        assert entry is not None
        col = ndimage.uniform_filter1d(amb[:, k].astype(np.float32), size=9, mode="nearest")
        present = ndimage.binary_closing(np.pad(col >= 0.2, bridge), structure=np.ones(bridge))[bridge:-bridge]
        runs, n = ndimage.label(present)
        for sl in ndimage.find_objects(runs):
            j0, j1 = sl[0].start, sl[0].stop - 1
            t0, t1 = float(p_start[j0]), min(feat.duration, float(p_end[j1]))
            if t1 - t0 < min_run:
                continue
            strength = float(col[j0:j1 + 1].mean())
            key = f"{entry.label}@{j0}"
            beds[key] = (entry, t0, t1, strength)
    # One bed per label and time: the strongest class of a label wins where runs of the same label overlap.
    kept: list[tuple[VocabularyEntry, float, float, float]] = []
    for bed in sorted(beds.values(), key=lambda b: -b[3]):
        if not any(k[0].label == bed[0].label and k[1] < bed[2] and bed[1] < k[2] for k in kept):
            kept.append(bed)
    return [(e, t0, t1) for e, t0, t1, _ in sorted(kept, key=lambda b: b[1])]


def _music_beds(feat: Features, labeller: Labeller, opts: DetectionOptions
                ) -> list[tuple[VocabularyEntry, float, float]]:
    """Stretches of music (any music class) lasting ``music_min_s``, each named by its best music label."""
    scores = feat.scores
    music_idx = np.nonzero(labeller.music_cls)[0]
    if scores.shape[0] < 10 or music_idx.size == 0:
        return []
    hop_s = feat.patch_hop * feat.frame_s
    level = np.zeros(scores.shape[0], np.float32)
    for k0 in range(0, scores.shape[0], _CHUNK_PATCHES):  # chunks keep the float32 copy small on long media
        level[k0:k0 + _CHUNK_PATCHES] = scores[k0:k0 + _CHUNK_PATCHES, music_idx].astype(np.float32).max(axis=1)
    level = ndimage.uniform_filter1d(level, size=max(1, int(round(1.0 / hop_s))), mode="nearest")
    bridge = max(1, int(round(2.0 / hop_s)))
    present = ndimage.binary_closing(np.pad(level >= opts.music_threshold, bridge),
                                     structure=np.ones(bridge))[bridge:-bridge]
    p_start, p_end = labeller.p_start, labeller.p_end
    runs, _ = ndimage.label(present)
    out: list[tuple[VocabularyEntry, float, float]] = []
    for sl in ndimage.find_objects(runs):
        j0, j1 = sl[0].start, sl[0].stop - 1
        t0, t1 = float(p_start[j0]), min(feat.duration, float(p_end[j1]))
        if t1 - t0 < opts.music_bed_s:
            continue
        mean = scores[j0:j1 + 1, music_idx].astype(np.float32).mean(axis=0)
        weighted = mean * labeller.weight[music_idx]
        best = int(music_idx[int(np.argmax(weighted))])
        entry = labeller.entries[best]
        if entry is not None:
            out.append((entry, t0, t1))
    return out


def _columns(scores: np.ndarray | FrameStore, idx: Sequence[int]) -> np.ndarray:
    """Columns ``idx`` of every row of ``scores``: shape=(n_rows, len(idx)), read in bounded chunks."""
    out = np.empty((scores.shape[0], len(idx)), np.float16)
    cols = np.asarray(idx, int)
    for k0 in range(0, scores.shape[0], _CHUNK_PATCHES):
        out[k0:k0 + _CHUNK_PATCHES] = scores[k0:k0 + _CHUNK_PATCHES, cols]
    return out


def _envelope(feat: Features, start: float, n_frames: int) -> tuple[float, ...]:
    """:attr:`SoundEvent.envelope` of a sound starting at ``start`` and ``n_frames`` frames long: value ``k`` is the
    mean power (dBFS) of the frames centred within ``[start + k / ENVELOPE_RATE_HZ, start + (k + 1) /
    ENVELOPE_RATE_HZ)`` (frames by their centre, so a value is not raised by a sound that starts after its span)."""
    step = max(1, int(round(1 / (ENVELOPE_RATE_HZ * feat.frame_s))))
    first = max(0, int(np.ceil((start - feat.window_s / 2) / feat.frame_s - 1e-9)))
    level = feat.level_db[first:first + max(n_frames, 1)].astype(np.float64)
    power = 10 ** (level / 10)
    return tuple(float(10 * np.log10(power[k:k + step].mean() + 1e-12)) for k in range(0, power.size, step))


def _make_event(feat: Features, start: float, end: float, entry: VocabularyEntry, lab: _Label,
                class_names: Sequence[str], class_ids: Sequence[str], *, salience_db: float = 20.0) -> SoundEvent:
    i0 = int(start / feat.frame_s)
    i1 = max(i0 + 1, int(np.ceil(end / feat.frame_s)))
    level = feat.level_db[i0:i1].astype(np.float64)
    power = 10 ** (level / 10)
    loudness = float(10 * np.log10(power.mean() + 1e-12))
    cent = float((feat.centroid_hz[i0:i1] * power).sum() / (power.sum() + 1e-12))
    env = _envelope(feat, start, i1 - i0)
    # Confidence blends how sure the tagger is of the label with how clearly the sound stands out.
    label_conf = float(np.clip(1.2 * lab.score + max(0.0, lab.contrast), 0.0, 1.0))
    detect_conf = float(np.clip((salience_db - 8.0) / 20.0, 0.0, 1.0))
    confidence = 0.6 * label_conf + 0.4 * detect_conf
    if lab.entry is None:
        confidence = min(confidence, 0.3)
    end = max(end, start + 0.01)
    pan = None
    if feat.lr_power is not None and feat.lr_power.shape[1] > i0:
        left, right = (float(x) for x in feat.lr_power[:, i0:i1].sum(axis=1))
        if left + right > 0:
            # amplitude balance: -1 all left, 0 centre, +1 all right
            pan = round(float((np.sqrt(right) - np.sqrt(left)) / (np.sqrt(right) + np.sqrt(left))), 3)
    return SoundEvent(
        pan=pan,
        start=start, end=end, label=entry.label, caption=entry.caption_for(end - start),
        category=entry.category, confidence=confidence, loudness=max(loudness, -120.0), source="audio",
        kind=entry.kind, audioset=tuple(class_names[i] for i in lab.classes),
        audioset_ids=tuple(class_ids[i] for i in lab.classes), peak_loudness=float(max(env)) if env else None,
        centroid_hz=cent, envelope=env,
    )


def _merge_same_label(events: list[SoundEvent], vocab: Vocabulary, opts: DetectionOptions) -> list[SoundEvent]:
    """Merge consecutive same-label events separated by less than ``merge_gap_s`` (footsteps, barking)."""
    out: list[SoundEvent] = []
    for ev in sorted(events, key=lambda e: e.start):
        if out and out[-1].label == ev.label and ev.start - out[-1].end < opts.merge_gap_s:
            prev = out[-1]
            end = max(prev.end, ev.end)
            caption = vocab[prev.label].caption_for(end - prev.start) if prev.label in vocab else prev.caption
            out[-1] = dataclasses.replace(
                prev, end=end, confidence=max(prev.confidence, ev.confidence), caption=caption,
                loudness=max(prev.loudness, ev.loudness),
                peak_loudness=max(prev.peak_loudness or -120.0, ev.peak_loudness or -120.0),
                envelope=prev.envelope + _gap_envelope(prev.end, ev.start) + ev.envelope,
            )
        else:
            out.append(ev)
    return out


def _gap_envelope(t0: float, t1: float) -> tuple[float, ...]:
    return (-120.0,) * max(0, int(round((t1 - t0) * ENVELOPE_RATE_HZ)))
