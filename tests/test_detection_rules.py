"""Detection rules on hand-built inputs: no model runs, so each rule is tested by what it decides.

Feature frames (level, log-mel) and tagger score matrices are written by hand: a "burst" raises the
log-mel of every band and the frame level for a span; a class score is set on the YAMNet patches that
hold a span. The real vocabulary and YAMNet's class names (a data file) are used; the network is not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pytest

from captioning.analysis.audio import Features, FrameStore
from captioning.detection import DetectionOptions, detect_events
from captioning.events import SoundEvent
from captioning.vocabulary import Vocabulary, load_vocabulary
from models import yamnet as yam

FRAME_S = yam.FRAME_S
HOP = 5  # frames between patches, as the feature extractor uses
BASE_DB = -50.0
DB_PER_NEPER = 20 / np.log(10)  # log-mel is the natural log of a magnitude: +1 is +8.69 dB

Span = tuple[float, float, float]  # (start s, end s, value)


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


@pytest.fixture(scope="module")
def classes() -> tuple[yam.AudioSetClass, ...]:
    return yam._read_classes(yam.class_map_path())


def build(duration: float, bursts: Sequence[Span] = (), scores: dict[str, Sequence[Span]] | None = None,
          speech: Sequence[Span] = (), background: dict[str, float] | None = None,
          level_follows: bool = True) -> Features:
    """Features of a ``duration`` s clip: ``bursts`` raise the log-mel by ``value`` (natural log) in every band.

    ``scores`` sets a class's probability on the patches that hold most of a span; ``background`` sets a
    class's probability on every patch; every other class scores 0.01.
    """
    names = [c.name for c in yam._read_classes(yam.class_map_path())]
    n = int(round(duration / FRAME_S))
    rng = np.random.default_rng(0)
    logmel = -6.0 + 0.05 * rng.standard_normal((n, yam.MEL_BANDS))
    level = np.full(n, BASE_DB) + 0.2 * rng.standard_normal(n)
    for t0, t1, gain in bursts:
        i0, i1 = int(t0 / FRAME_S), int(t1 / FRAME_S)
        logmel[i0:i1] += gain
        if level_follows:
            level[i0:i1] += gain * DB_PER_NEPER
    n_patches = max(0, (n - yam.PATCH_FRAMES) // HOP + 1)
    probs = np.full((n_patches, yam.N_CLASSES), 0.01)
    p_start = np.arange(n_patches) * HOP * FRAME_S
    p_end = p_start + yam.PATCH_FRAMES * FRAME_S
    for name, p in (background or {}).items():
        probs[:, names.index(name)] = p
    for name, spans in (scores or {}).items():
        for t0, t1, p in spans:
            overlap = np.clip(np.minimum(p_end, t1) - np.maximum(p_start, t0), 0, None)
            probs[overlap >= 0.5 * min(t1 - t0, p_end[0] - p_start[0]), names.index(name)] = p
    n_vad = int(duration / 0.032)
    vad = np.zeros(n_vad)
    for t0, t1, p in speech:
        vad[int(t0 / 0.032):int(t1 / 0.032)] = p
    return Features(duration=duration, frame_s=FRAME_S, level_db=level.astype(np.float32),
                    centroid_hz=np.full(n, 1000.0, np.float32), logmel=logmel.astype(np.float16),
                    patch_hop=HOP, scores=probs.astype(np.float16), speech=vad.astype(np.float32),
                    class_names=tuple(names))


def detect(feat: Features, vocab: Vocabulary, classes: Sequence[yam.AudioSetClass], **opts: float
           ) -> list[SoundEvent]:
    return list(detect_events(feat, vocab, DetectionOptions(**opts)))  # type: ignore[arg-type]


def foreground(events: Sequence[SoundEvent]) -> list[SoundEvent]:
    return [e for e in events if not e.background]


def test_each_burst_is_one_event_with_its_onset(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    feat = build(8.0, bursts=[(1.0, 1.15, 2.0), (4.0, 4.15, 2.0)],
                 scores={"Knock": [(1.0, 1.15, 0.6), (4.0, 4.15, 0.6)]})
    events = foreground(detect(feat, vocab, classes))
    assert [round(e.start, 1) for e in events] == [1.0, 4.0]
    for ev, t in zip(events, (1.0, 4.0), strict=True):
        assert abs(ev.start - t) <= 0.03 and abs(ev.end - (t + 0.15)) <= 0.03
        assert ev.label == vocab.for_audioset("Knock").label and ev.audioset[0] == "Knock"  # type: ignore[union-attr]
        assert ev.kind == "abrupt" and ev.source == "audio"


def test_a_sound_that_opens_or_closes_the_file_is_found(vocab: Vocabulary,
                                                         classes: Sequence[yam.AudioSetClass]) -> None:
    """A clip that starts (or ends) on a 0.6 s bang: the background near the file's ends comes from the quiet
    rest of the file, not from the bang repeated as padding (which made the bang its own background)."""
    feat = build(8.0, bursts=[(0.0, 0.6, 2.0), (7.4, 8.0, 2.0)],
                 scores={"Bang": [(0.0, 0.6, 0.6), (7.4, 8.0, 0.6)]})
    events = foreground(detect(feat, vocab, classes))
    assert [round(e.start, 1) for e in events] == [0.0, 7.4]


def test_a_steady_background_gives_no_event(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    assert foreground(detect(build(10.0), vocab, classes)) == []


def test_a_rise_the_level_does_not_show_is_not_an_event(vocab: Vocabulary,
                                                        classes: Sequence[yam.AudioSetClass]) -> None:
    feat = build(8.0, bursts=[(3.0, 3.2, 2.0)], scores={"Knock": [(3.0, 3.2, 0.6)]}, level_follows=False)
    assert foreground(detect(feat, vocab, classes)) == []


def test_the_class_that_rises_names_the_sound_not_the_loudest(vocab: Vocabulary,
                                                               classes: Sequence[yam.AudioSetClass]) -> None:
    """Birdsong scores 0.5 through the file; at the burst it is 0.55 and Bark 0.45: the bark is the news."""
    feat = build(10.0, bursts=[(5.0, 5.3, 2.0)], background={"Bird": 0.5},
                 scores={"Bird": [(5.0, 5.3, 0.55)], "Bark": [(5.0, 5.3, 0.45)]})
    events = foreground(detect(feat, vocab, classes))
    assert len(events) == 1
    assert events[0].label == vocab.for_audioset("Bark").label  # type: ignore[union-attr]
    assert events[0].category == "animal"


def test_a_sound_no_class_explains_is_left_for_review(vocab: Vocabulary,
                                                      classes: Sequence[yam.AudioSetClass]) -> None:
    events = foreground(detect(build(6.0, bursts=[(2.0, 2.2, 2.0)]), vocab, classes))
    assert len(events) == 1
    assert events[0].label == "sound" and events[0].confidence <= 0.3


def test_speech_is_dialogue_not_a_caption(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    feat = build(8.0, bursts=[(2.0, 4.0, 1.5)], scores={"Speech": [(2.0, 4.0, 0.9)]}, speech=[(2.0, 4.0, 0.95)])
    assert foreground(detect(feat, vocab, classes)) == []


def test_a_laugh_over_speech_activity_is_still_captioned(vocab: Vocabulary,
                                                         classes: Sequence[yam.AudioSetClass]) -> None:
    """The VAD fires on laughter too; dialogue needs the tagger's speech classes to win clearly."""
    feat = build(8.0, bursts=[(2.0, 3.0, 1.5)], scores={"Laughter": [(2.0, 3.0, 0.8)], "Speech": [(2.0, 3.0, 0.3)]},
                 speech=[(2.0, 3.0, 0.9)])
    events = foreground(detect(feat, vocab, classes))
    assert [e.label for e in events] == [vocab.for_audioset("Laughter").label]  # type: ignore[union-attr]


def test_repeated_strokes_are_one_event(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    strokes = [(1.0 + 0.35 * k, 1.1 + 0.35 * k, 2.0) for k in range(5)]
    feat = build(8.0, bursts=strokes, scores={"Chop": [(1.0, 2.5, 0.6)]})
    events = foreground(detect(feat, vocab, classes))
    assert len(events) == 1
    assert abs(events[0].start - 1.0) <= 0.03 and abs(events[0].end - 2.5) <= 0.05


def test_different_sounds_close_together_stay_apart(vocab: Vocabulary,
                                                    classes: Sequence[yam.AudioSetClass]) -> None:
    feat = build(10.0, bursts=[(3.0, 3.15, 2.0), (4.2, 4.5, 2.0)],
                 scores={"Knock": [(3.0, 3.15, 0.7)], "Bark": [(4.2, 4.5, 0.7)]})
    labels = [e.label for e in foreground(detect(feat, vocab, classes))]
    assert labels == [vocab.for_audioset("Knock").label, vocab.for_audioset("Bark").label]  # type: ignore[union-attr]


def test_a_stretch_of_music_is_one_music_event(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    notes = [(1.0 + 0.4 * k, 1.25 + 0.4 * k, 1.5) for k in range(20)]
    feat = build(12.0, bursts=notes, scores={"Music": [(1.0, 9.0, 0.8)], "Piano": [(1.0, 9.0, 0.6)]})
    events = detect(feat, vocab, classes)
    assert len(events) == 1
    assert events[0].category == "music" and events[0].kind == "sustained"
    assert events[0].start <= 1.5 and events[0].end >= 8.5


def test_a_short_drum_hit_is_not_music(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    feat = build(8.0, bursts=[(3.0, 3.15, 2.0)],
                 scores={"Drum": [(3.0, 3.15, 0.45)], "Thump, thud": [(3.0, 3.15, 0.4)]})
    events = foreground(detect(feat, vocab, classes))
    assert len(events) == 1 and events[0].category != "music"


def test_a_steady_ambience_class_is_one_background_event(vocab: Vocabulary,
                                                         classes: Sequence[yam.AudioSetClass]) -> None:
    feat = build(40.0, background={"Rain": 0.6})
    events = detect(feat, vocab, classes)
    beds = [e for e in events if e.background]
    assert len(events) == 1 and len(beds) == 1
    assert beds[0].category == vocab.for_audioset("Rain").category  # type: ignore[union-attr]
    assert beds[0].end - beds[0].start >= 35


def test_a_clearer_sound_gets_a_higher_confidence(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    feat = build(10.0, bursts=[(2.0, 2.15, 1.3), (6.0, 6.15, 3.0)],
                 scores={"Knock": [(2.0, 2.15, 0.6), (6.0, 6.15, 0.6)]})
    quiet, loud = foreground(detect(feat, vocab, classes))
    assert 0 <= quiet.confidence < loud.confidence <= 1
    assert loud.loudness > quiet.loudness


def test_stronger_tagger_evidence_gets_a_higher_confidence(vocab: Vocabulary,
                                                           classes: Sequence[yam.AudioSetClass]) -> None:
    feat = build(10.0, bursts=[(2.0, 2.15, 2.0), (6.0, 6.15, 2.0)],
                 scores={"Knock": [(2.0, 2.15, 0.3), (6.0, 6.15, 0.8)]})
    weak, strong = foreground(detect(feat, vocab, classes))
    assert weak.confidence < strong.confidence


def test_no_frames_no_events(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    assert detect(build(0.0), vocab, classes) == []


def _spilled(feat: Features) -> Features:
    """The same features with log-mel and scores in FrameStores that spill to disk at once."""
    return dataclasses.replace(feat, logmel=FrameStore.of(np.asarray(feat.logmel), spill_bytes=1),
                               scores=FrameStore.of(np.asarray(feat.scores), spill_bytes=1))


def test_features_on_disk_give_the_same_events(vocab: Vocabulary, classes: Sequence[yam.AudioSetClass]) -> None:
    """Long media keep their features in temporary files; detection must not notice."""
    feat = build(40.0, bursts=[(3.0, 3.15, 2.0), (12.0, 12.3, 2.0), (20.0, 21.0, 1.5)], background={"Rain": 0.6},
                 scores={"Knock": [(3.0, 3.15, 0.7)], "Bark": [(12.0, 12.3, 0.7)], "Music": [(20.0, 21.0, 0.6)]})
    spilled = _spilled(feat)
    assert isinstance(spilled.scores, FrameStore) and spilled.scores.spilled
    assert detect(spilled, vocab, classes) == detect(feat, vocab, classes)
    spilled.close()


def test_frame_store_reads_what_was_appended() -> None:
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((1000, 7)).astype(np.float16)
    store = FrameStore(7, np.float16, spill_bytes=3000)
    for k in range(0, 1000, 130):  # appends of uneven size, most spilled, the last ones in memory
        store.append(rows[k:k + 130])
    assert store.spilled and store.shape == (1000, 7) and len(store) == 1000
    np.testing.assert_array_equal(store[:], rows)
    np.testing.assert_array_equal(store[95:905], rows[95:905])
    np.testing.assert_array_equal(store[990:2000], rows[990:])
    np.testing.assert_array_equal(store[10:20, [1, 4]], rows[10:20, [1, 4]])
    mask = rng.random(1000) < 0.3
    np.testing.assert_array_equal(store[mask], rows[mask])
    np.testing.assert_array_equal(store[mask, 2:5], rows[mask, 2:5])
    assert store[500:500].shape == (0, 7)
    store.close()


def test_a_short_clip_one_sound_fills_is_not_its_own_background(vocab: Vocabulary,
                                                                 classes: Sequence[yam.AudioSetClass]) -> None:
    """A 1.5 s clip (shorter than the 4 s background window) that a 1.2 s knock fills: the background is the
    clip's quiet part, not the median of the clip, which is the knock itself."""
    feat = build(1.5, bursts=[(0.1, 1.3, 2.0)], scores={"Knock": [(0.1, 1.3, 0.6)]})
    events = foreground(detect(feat, vocab, classes))
    assert len(events) == 1 and abs(events[0].start - 0.1) <= 0.03
    assert events[0].label == vocab.for_audioset("Knock").label  # type: ignore[union-attr]


def test_a_short_clip_of_steady_background_gives_no_event(vocab: Vocabulary,
                                                          classes: Sequence[yam.AudioSetClass]) -> None:
    assert foreground(detect(build(2.0), vocab, classes)) == []
