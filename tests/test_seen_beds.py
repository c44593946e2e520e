"""Seen beds (issue 11): a shot's ambience becomes a background event where no bed was heard, and Foley plays it.

Hand-built scene contexts and events only (no models)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from captioning.analysis.types import SceneContext, VisualOnset
from captioning.analysis.video import VisualObservations
from captioning.captions.cues import build_cues
from captioning.detection.beds import BedOptions, seen_beds
from captioning.detection.fusion import fuse
from captioning.detection.visual import visual_events
from captioning.events import Analysis, MediaInfo, SoundEvent, sort_events
from captioning.foley import FoleyOptions
from captioning.foley.render import render_foley
from captioning.vocabulary import Vocabulary, load_vocabulary

SR = 48000


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def scene(start: float, end: float, ambience: str | None, weight: float = 0.6) -> SceneContext:
    return SceneContext(start, end, classes=(("x", 0.5),), ambience=ambience,
                        ambience_weight=weight if ambience else 0.0)


def heard_bed(start: float, end: float, label: str = "wind") -> SoundEvent:
    return SoundEvent(start=start, end=end, label=label, caption="wind blowing", category="weather",
                      confidence=0.7, loudness=-30.0, kind="sustained", background=True, audioset=("Wind",),
                      audioset_ids=("",))


def test_a_silent_clip_gets_the_bed_each_run_of_shots_shows(vocab: Vocabulary) -> None:
    scenes = (scene(0.0, 4.0, "birdsong", 0.6), scene(4.0, 6.0, "birdsong", 0.3), scene(6.0, 10.0, "traffic", 0.5),
              scene(10.0, 12.0, None))
    beds = seen_beds(scenes, (), vocab, audio_analysed=False)
    # a shot the classifier names no bed for gets room tone: never digital silence under a scene
    assert [(b.label, b.start, b.end) for b in beds] == [("birdsong", 0.0, 6.0), ("traffic", 6.0, 10.0),
                                                         ("room_tone", 10.0, 12.0)]
    assert beds[2].confidence == pytest.approx(0.2) and beds[2].loudness < beds[1].loudness
    assert seen_beds(scenes, (), vocab, audio_analysed=False, opts=BedOptions(fallback_label=""))[-1].label == \
        "traffic"
    assert [b.label for b in seen_beds(scenes, (), vocab, audio_analysed=True)] == ["birdsong", "traffic"]
    birds, traffic, _ = beds
    assert birds.background and birds.source == "visual" and birds.kind == "sustained"
    assert birds.caption == vocab["birdsong"].caption_sustained
    assert birds.confidence == pytest.approx((0.6 * 4 + 0.3 * 2) / 6, abs=1e-3)  # weighted by time on screen
    assert traffic.confidence == pytest.approx(0.5)
    assert birds.loudness < -30  # a quiet bed under the effects


def test_a_heard_bed_stands_and_the_seen_one_fills_only_the_rest(vocab: Vocabulary) -> None:
    foreground = SoundEvent(start=1.0, end=9.0, label="dog_bark", caption="dog barks", category="animal",
                            confidence=0.8, loudness=-15.0)
    beds = seen_beds((scene(0.0, 10.0, "birdsong", 0.8),), (heard_bed(2.0, 5.0), heard_bed(5.5, 9.5), foreground),
                     vocab, audio_analysed=True)
    # 5.0-5.5 and 9.5-10.0 are shorter than min_bed_s; a foreground sound cuts nothing
    assert [(b.start, b.end) for b in beds] == [(0.0, 2.0)]
    # heard soundtrack without that bed: captions describe what is heard, so the seen bed is left for review
    assert beds[0].confidence == pytest.approx(0.45)


def test_fusion_adds_seen_beds_and_captions_follow_what_was_heard(vocab: Vocabulary) -> None:
    obs = VisualObservations(scenes=(scene(0.0, 5.0, "waves", 0.7), scene(5.0, 10.0, "room_tone", 0.9)))
    media = MediaInfo(path="/media/silent.mp4", duration=10.0, format="mp4")

    silent = fuse((), (), obs, vocab, audio_analysed=False)
    assert [(e.label, e.background, e.confidence) for e in silent] == [("waves", True, 0.7), ("room_tone", True, 0.9)]
    assert all(e.id for e in silent)
    track = build_cues(Analysis(media=media, events=silent), vocabulary=vocab)
    # the silent clip's waves are captioned; room tone never is (too generic to caption alone)
    assert any(vocab["waves"].caption_sustained in c.text.lower() for c in track.cues)
    assert not any("room tone" in c.text.lower() for c in track.cues)

    music = SoundEvent(start=0.0, end=10.0, label="music", caption="music playing", category="music",
                       confidence=0.9, loudness=-20.0, kind="sustained")
    heard = fuse((music,), (), obs, vocab, audio_analysed=True)
    waves = next(e for e in heard if e.label == "waves")
    assert waves.confidence <= 0.45
    track = build_cues(Analysis(media=media, events=heard), vocabulary=vocab)
    assert not any(vocab["waves"].caption_sustained in c.text.lower() for c in track.cues)
    assert any(r.event.label == "waves" for r in track.review)

    with_bed = fuse((music, heard_bed(0.0, 10.0, "waves")), (), obs, vocab, audio_analysed=True)
    assert [e.source for e in with_bed if e.label == "waves"] == ["audio"]


def test_steps_on_a_silent_clip_play_over_quiet_but_present_room_tone(vocab: Vocabulary) -> None:
    steps = tuple(VisualOnset(t=1.0 + 0.5 * k, kind="footstep", x=0.5, y=0.9, strength=0.6, confidence=0.8,
                              analyzer="test", track=1) for k in range(4))
    obs = VisualObservations(onsets=steps, scenes=(scene(0.0, 6.0, "room_tone", 0.5),))
    events = fuse((), visual_events(obs, vocab, 6.0), obs, vocab, audio_analysed=False)
    assert {e.label for e in events} == {"footsteps", "room_tone"}
    a = Analysis(media=MediaInfo(path="/media/walk.mp4", duration=6.0, format="mp4"), events=sort_events(events))
    x = render_foley(a, FoleyOptions(enable_cache=False)).astype(np.float64)

    def rms_db(t0: float, t1: float) -> float:
        seg = x[int(t0 * SR):int(t1 * SR)]
        return 10 * math.log10(float(np.mean(seg ** 2)) + 1e-30)

    steps_db = max(rms_db(t, t + 0.05) for t in np.arange(1.0, 3.0, 0.05))  # the loudest 50 ms of a step
    tone_db = rms_db(4.0, 5.5)
    assert tone_db > -90.0  # present: the room is not dead silence
    assert steps_db - tone_db > 20.0  # but far under the steps
    alone = Analysis(media=a.media, events=tuple(e for e in a.events if e.label != "room_tone"))
    assert not render_foley(alone, FoleyOptions(enable_cache=False))[int(4.0 * SR):int(5.5 * SR)].any()
