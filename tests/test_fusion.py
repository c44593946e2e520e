"""Visual events and audio+visual fusion on hand-built observations: each rule by what it decides."""

from __future__ import annotations

import dataclasses

import pytest

from captioning.analysis.types import SceneContext, ShotCut, VisualOnset
from captioning.analysis.video import FrameRouter, VisualObservations
from captioning.detection.fusion import fuse
from captioning.detection.visual import visual_events
from captioning.events import SoundEvent
from captioning.vocabulary import Vocabulary, load_vocabulary


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def onset(t: float, kind: str = "impact", x: float = 0.5, track: int | None = None, confidence: float = 0.8,
          strength: float = 0.7) -> VisualOnset:
    return VisualOnset(t=t, kind=kind, x=x, y=0.8, strength=strength, confidence=confidence, analyzer="test",
                       track=track)


def heard(start: float, label: str, audioset: tuple[str, ...], *, confidence: float = 0.6,
          pan: float | None = None) -> SoundEvent:
    return SoundEvent(start=start, end=start + 0.4, label=label, caption=label, category="vehicle",
                      confidence=confidence, loudness=-20.0, audioset=audioset, audioset_ids=("",) * len(audioset),
                      pan=pan)


def test_steps_of_one_walker_are_one_footsteps_event_panned_with_him(vocab: Vocabulary) -> None:
    obs = VisualObservations(onsets=tuple(onset(1.0 + 0.5 * k, "footstep", x=0.2 + 0.1 * k, track=1)
                                          for k in range(5)))
    (ev,) = visual_events(obs, vocab, duration=10.0)
    assert ev.label == "footsteps" and ev.source == "visual" and ev.kind == "sustained"
    assert ev.start == pytest.approx(1.0) and ev.end == pytest.approx(3.15)
    assert ev.pan == pytest.approx(2 * 0.4 - 1, abs=1e-3)
    assert ev.audioset == () and ev.centroid_hz is None


def test_a_cut_or_a_pause_splits_the_steps(vocab: Vocabulary) -> None:
    steps = [onset(t, "footstep", track=1) for t in (1.0, 1.5, 2.0, 6.0, 6.5, 7.0, 7.5)]
    obs = VisualObservations(onsets=tuple(steps), cuts=(ShotCut(7.2, 1.0),))
    events = visual_events(obs, vocab, duration=10.0)
    assert [(e.start, e.label) for e in events] == [(1.0, "footsteps"), (6.0, "footsteps"), (7.5, "footsteps")]
    assert events[2].kind == "abrupt"  # a single step


def test_an_impact_is_named_by_what_the_shot_shows(vocab: Vocabulary) -> None:
    scene = SceneContext(0.0, 10.0, classes=(("cleaver", 0.6),), labels=(("wood_chop", 0.7),),
                         materials=(("wood", 0.8),))
    obs = VisualObservations(onsets=(onset(2.0),), scenes=(scene,))
    (ev,) = visual_events(obs, vocab, duration=10.0)
    assert ev.label == "wood_chop" and ev.material == "wood"
    bare = visual_events(VisualObservations(onsets=(onset(2.0),)), vocab, duration=10.0)
    assert [e.label for e in bare] == ["thud"]


def test_unsure_or_late_onsets_are_not_events(vocab: Vocabulary) -> None:
    obs = VisualObservations(onsets=(onset(2.0, confidence=0.1), onset(12.0)))
    assert visual_events(obs, vocab, duration=10.0) == ()


def test_what_is_seen_confirms_what_is_heard(vocab: Vocabulary) -> None:
    obs = VisualObservations(onsets=(onset(3.04, x=0.9),))
    seen = visual_events(obs, vocab, duration=10.0)
    (ev,) = fuse([heard(3.0, "knock", ("Knock",))], seen, obs, vocab, audio_analysed=True)
    assert ev.source == "audio+visual" and ev.start == 3.0  # the audio onset is the finer one
    assert ev.confidence == pytest.approx(0.75) and ev.pan == pytest.approx(0.8)
    assert ev.label == "knock"


def test_the_scene_renames_a_sound_its_evidence_supports(vocab: Vocabulary) -> None:
    """The tagger's best guess was a train, but it also heard a thud, and the shot shows a hit."""
    scene = SceneContext(0.0, 20.0, classes=(("dumbbell", 0.5),), labels=(("thud", 0.8),))
    obs = VisualObservations(onsets=(onset(16.2),), scenes=(scene,))
    ev = heard(16.18, "subway", ("Subway, metro, underground", "Rumble", "Thump, thud"))
    (out,) = fuse([ev], visual_events(obs, vocab, 20.0), obs, vocab, audio_analysed=True)
    assert out.label == "thud" and out.audioset[0] == "Thump, thud"
    assert out.category == vocab["thud"].category


def test_an_off_screen_sound_keeps_its_name(vocab: Vocabulary) -> None:
    scene = SceneContext(0.0, 20.0, classes=(("dumbbell", 0.5),), labels=(("thud", 0.8),))
    obs = VisualObservations(scenes=(scene,))
    ev = heard(5.0, "dog_bark", ("Bark", "Dog"))
    (out,) = fuse([ev], (), obs, vocab, audio_analysed=True)
    assert out.label == "dog_bark" and out.source == "audio"


def test_sight_alone_is_an_event_in_a_silent_clip_and_for_review_otherwise(vocab: Vocabulary) -> None:
    obs = VisualObservations(onsets=(onset(4.0, confidence=0.9),))
    seen = visual_events(obs, vocab, 10.0)
    (silent,) = fuse([], seen, obs, vocab, audio_analysed=False)
    assert silent.source == "visual" and silent.confidence == pytest.approx(0.9)
    (unheard,) = fuse([], seen, obs, vocab, audio_analysed=True)
    assert unheard.confidence <= 0.45


class _Counter:
    def __init__(self, fps: float | None) -> None:
        self.name, self.fps = "counter", fps
        self.times: list[float] = []

    def push(self, frame) -> None:  # type: ignore[no-untyped-def]
        self.times.append(frame.t)

    def finish(self) -> tuple[()]:
        return ()


def test_each_analyzer_gets_frames_at_its_own_rate() -> None:
    import numpy as np

    from captioning.analysis.types import VideoFrame

    every, two = _Counter(None), _Counter(2.0)
    router = FrameRouter([every, two])
    for i in range(90):  # 3 s at 30 fps
        router.push(VideoFrame(i, i / 30, np.zeros((2, 2, 3), np.uint8)))
    obs = router.finish()
    assert len(every.times) == 90 and obs.frames == 90
    assert two.times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], abs=1 / 30)


def test_heard_as_table_names_real_labels_and_classes(vocab: Vocabulary) -> None:
    from captioning.detection.fusion import heard_as
    from models.yamnet import _read_classes, class_map_path

    names = {c.name for c in _read_classes(class_map_path())}
    table = heard_as()
    assert len(table) >= 20
    for label, classes in table.items():
        assert label in vocab, label
        assert classes and classes <= names, (label, classes - names)


def test_a_barbell_on_screen_makes_a_heard_thud_weights_dropping(vocab: Vocabulary) -> None:
    """A label only sight can give (no AudioSet class of its own) renames what the tagger heard as a thud."""
    scene = SceneContext(0.0, 20.0, classes=(("barbell", 0.7),), labels=(("weights_drop", 0.8),))
    obs = VisualObservations(scenes=(scene,))
    ev = heard(16.1, "thud", ("Thump, thud", "Arrow", "Hammer"))
    (out,) = fuse([ev], (), obs, vocab, audio_analysed=True)
    assert out.label == "weights_drop" and out.caption == vocab["weights_drop"].caption_abrupt
    assert out.source == "audio"  # named by context, not seen at its onset


def test_hits_within_a_heard_sound_confirm_it_instead_of_adding_events(vocab: Vocabulary) -> None:
    obs = VisualObservations(onsets=(onset(1.2, x=0.1), onset(2.5, x=0.1), onset(9.0)))
    long = dataclasses.replace(heard(1.0, "clang", ("Clang",)), end=4.0)
    out = fuse([long], visual_events(obs, vocab, 10.0), obs, vocab, audio_analysed=True)
    assert [(e.start, e.source) for e in out] == [(1.0, "audio+visual"), (9.0, "visual")]
    assert out[0].pan == pytest.approx(-0.8)


def test_a_hit_during_seen_footsteps_is_still_its_own_event_when_nothing_is_heard(vocab: Vocabulary) -> None:
    steps = tuple(onset(1.0 + 0.5 * k, "footstep", track=1) for k in range(5))
    obs = VisualObservations(onsets=(*steps, onset(2.2, x=0.9)))
    out = fuse([], visual_events(obs, vocab, 10.0), obs, vocab, audio_analysed=False)
    assert [(e.start, e.label) for e in out] == [(1.0, "footsteps"), (2.2, "thud")]


def test_a_threaded_analyzer_stops_its_thread_when_the_input_fails() -> None:
    import numpy as np

    from captioning.analysis.types import VideoFrame
    from captioning.analysis.video import ThreadedAnalyzer

    inner = _Counter(None)
    threaded = ThreadedAnalyzer(inner)
    router = FrameRouter([threaded])
    for i in range(5):
        router.push(VideoFrame(i, i / 10, np.zeros((2, 2, 3), np.uint8)))
    router.close()  # what analyze() does when decoding fails part way
    assert not threaded._thread.is_alive()
    assert len(inner.times) == 5  # frames already queued were still taken
    router.close()  # idempotent


# --- a heard stretch of separate hits (issue 10: a stick on a metal bar heard as one long "cap gun popping") ---

METAL_BAR = SceneContext(0.0, 10.0, classes=(("drumstick", 0.13), ("parallel bars", 0.1)),
                         labels=(("stick_hit", 0.13),), materials=(("metal", 0.3), ("wood", 0.17)))


def struck(start: float, hits: tuple[float, ...], end: float, *, dip_db: float = 70.0,
           audioset: tuple[str, ...] = ("Cap gun", "Gunshot, gunfire", "Chink, clink")) -> SoundEvent:
    """A heard abrupt sound from ``start`` to ``end`` whose loudness envelope (20 values/s) jumps to -18 dBFS
    at each of ``hits`` and decays ``dip_db`` dB before the next one."""
    n = round((end - start) * 20)
    env = [-90.0] * n
    for h, nxt in zip(hits, (*hits[1:], end), strict=True):
        a, b = round((h - start) * 20), round((nxt - start) * 20)
        for k in range(a, b):
            env[k] = -18.0 - dip_db * (k - a) / max(1, b - a - 1)
    return SoundEvent(start=start, end=end, label="cap_gun", caption="cap gun popping", category="gunshot",
                      confidence=0.9, loudness=-29.0, audioset=audioset, audioset_ids=("",) * len(audioset),
                      envelope=tuple(env), peak_loudness=-18.0)


def test_separate_hits_heard_as_one_long_sound_become_one_event_each_named_by_the_metal_seen(
        vocab: Vocabulary) -> None:
    hits = (0.1, 1.3, 2.5, 3.8)  # each dies away before the next, far enough apart for a caption each
    obs = VisualObservations(onsets=tuple(onset(h - 0.03, x=0.3) for h in (0.1, 1.3, 3.8)), scenes=(METAL_BAR,))
    ev = struck(0.1, hits, 4.5)
    out = fuse([ev], visual_events(obs, vocab, 10.0), obs, vocab, audio_analysed=True)
    assert [e.start for e in out] == pytest.approx(hits, abs=0.05)
    assert {e.label for e in out} == {"clang"} and {e.caption for e in out} == {"metal clangs"}
    assert all(e.material == "metal" and e.end <= nxt for e, nxt in zip(out, (*hits[1:], 4.5), strict=True))
    # the hits seen confirm their strokes (pan from the picture); the stroke nobody saw is still heard
    assert [e.source for e in out] == ["audio+visual", "audio+visual", "audio", "audio+visual"]
    assert out[0].pan == pytest.approx(-0.4)
    assert out[0].audioset[0] == "Chink, clink"  # the class that names it comes first


def test_strokes_too_fast_for_a_caption_each_stay_one_event_worded_as_repeated(vocab: Vocabulary) -> None:
    hits = (0.1, 0.85, 1.6, 2.4, 3.15)  # a drumstick on a metal bar every 0.75 s, silent in between
    obs = VisualObservations(onsets=tuple(onset(h) for h in hits), scenes=(METAL_BAR,))
    (ev,) = fuse([struck(0.1, hits, 3.8)], visual_events(obs, vocab, 10.0), obs, vocab, audio_analysed=True)
    assert (ev.start, ev.end) == (0.1, 3.8)
    assert ev.label == "clang" and ev.caption == "metal clanging" and ev.source == "audio+visual"


def test_a_rhythm_that_never_goes_quiet_stays_one_event(vocab: Vocabulary) -> None:
    hits = tuple(0.5 + 0.5 * k for k in range(6))
    obs = VisualObservations(onsets=tuple(onset(h) for h in hits), scenes=(METAL_BAR,))
    out = fuse([struck(0.5, hits, 3.5, dip_db=25.0)], visual_events(obs, vocab, 10.0), obs, vocab,
               audio_analysed=True)
    (ev,) = out
    assert (ev.start, ev.end) == (0.5, 3.5) and ev.label == "clang" and ev.caption == "metal clanging"


def test_strokes_need_two_hits_seen_and_supporting_classes_to_be_renamed(vocab: Vocabulary) -> None:
    hits = (0.1, 1.3, 2.5)
    one_seen = VisualObservations(onsets=(onset(1.3),), scenes=(METAL_BAR,))
    ev = struck(0.1, hits, 3.4)
    out = fuse([ev], visual_events(one_seen, vocab, 10.0), one_seen, vocab, audio_analysed=True)
    assert len(out) == 1 and out[0].label == "cap_gun"  # one hit seen: not shown to be a series of strokes
    seen = VisualObservations(onsets=tuple(onset(h) for h in hits), scenes=(METAL_BAR,))
    gunshots = struck(0.1, hits, 3.4, audioset=("Cap gun", "Gunshot, gunfire"))
    out = fuse([gunshots], visual_events(seen, vocab, 10.0), seen, vocab, audio_analysed=True)
    assert [e.label for e in out] == ["cap_gun"] * 3  # split, but nothing heard sounds like metal


def test_a_hit_seen_in_the_quiet_between_strokes_adds_no_event(vocab: Vocabulary) -> None:
    hits = (0.1, 1.3)
    obs = VisualObservations(onsets=(onset(0.1), onset(0.8), onset(1.3)), scenes=(METAL_BAR,))
    out = fuse([struck(0.1, hits, 2.2, dip_db=70.0)], visual_events(obs, vocab, 10.0), obs, vocab,
               audio_analysed=True)
    assert [(e.start, e.label) for e in out] == [(0.1, "clang"), (1.3, "clang")]


def test_music_is_never_cut_into_strokes(vocab: Vocabulary) -> None:
    hits = (0.1, 0.85, 1.6)
    obs = VisualObservations(onsets=tuple(onset(h) for h in hits), scenes=(METAL_BAR,))
    music = dataclasses.replace(struck(0.1, hits, 2.4), label="music", category="music", caption="music")
    out = fuse([music], visual_events(obs, vocab, 10.0), obs, vocab, audio_analysed=True)
    assert [(e.start, e.end) for e in out if e.label == "music"] == [(0.1, 2.4)]


def test_material_table_names_real_labels() -> None:
    from captioning.analysis.scene import MATERIALS
    from captioning.detection.fusion import heard_as, material_hits

    table = material_hits()
    assert table["metal"] == "clang"
    assert set(table) <= set(MATERIALS) and set(table.values()) <= set(heard_as())
