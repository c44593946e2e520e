"""Issue 4's last two wording rules: DCMP onomatopoeia on its own line, and "[X continues]" after a pause."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from captions_factory import VOCAB, analysis, event, random_analysis

from captioning.captions import (
    CaptionOptions,
    Cue,
    CueLine,
    build_cues,
    check_cues,
    cues_to_srt,
    cues_to_vtt,
    read_captions,
    write_captions,
)
from captioning.captions import cues as cues_mod
from captioning.events import Analysis, SoundEvent
from captioning.vocabulary import Vocabulary, load_vocabulary

STYLES = ("netflix", "dcmp", "bbc")


def dog(start: float, end: float, **kw: object) -> SoundEvent:
    return event(start, end, "dog_bark", "dog barking", "animal", kind="sustained", **kw)


def slam(start: float) -> SoundEvent:
    return event(start, start + 0.3, "door_slam", "door slams")


def cues(a: Analysis, vocab: Vocabulary | None = VOCAB, dialogue: tuple[Cue, ...] = (),
         **kw: object) -> tuple[Cue, ...]:
    return build_cues(a, CaptionOptions(**kw), vocabulary=vocab, dialogue=dialogue).cues  # type: ignore[arg-type]


def lines(cue: Cue) -> list[str]:
    return [line.text for line in cue.lines]


# ------------------------------------------------------------------------------------------ onomatopoeia
def test_dcmp_puts_the_packaged_onomatopoeia_on_its_own_line_when_asked() -> None:
    a = analysis([
        dog(1.0, 4.0, source="audio"),
        event(8.0, 8.4, "knock", "someone knocks", "door", source="visual"),
        event(12.0, 12.5, "door_slam", "door slams"),  # no onomatopoeia in the vocabulary: one line
    ])
    vocab = load_vocabulary()
    got = cues(a, vocab, style="dcmp", onomatopoeia=True)
    assert [lines(c) for c in got] == [["[dog barking]", "woof woof"], ["[someone knocks]", "knock knock"],
                                       ["[door slams]"]]
    # an off-screen sound's two lines are both italic; the description stays the first line
    assert got[0].lines == (CueLine("[dog barking]", True), CueLine("woof woof", True))
    assert "<i>[dog barking]</i>\n<i>woof woof</i>" in cues_to_vtt(got)
    assert "[someone knocks]\nknock knock" in cues_to_srt(got)
    assert check_cues(got, "dcmp") == []
    # off by default, and the other styles never add it
    assert [lines(c) for c in cues(a, vocab, style="dcmp")] == [["[dog barking]"], ["[someone knocks]"],
                                                                ["[door slams]"]]
    for style in ("netflix", "bbc"):
        assert all(len(c.lines) == 1 for c in cues(a, vocab, style=style, onomatopoeia=True)), style


def _vocab_with_words(words: dict[str, str]) -> Vocabulary:
    return Vocabulary([dataclasses.replace(e, onomatopoeia=words.get(e.label, "")) for e in VOCAB])


def test_onomatopoeia_is_dropped_rather_than_break_a_rule() -> None:
    vocab = _vocab_with_words({
        "dog_bark": "woof woof",
        "door_slam": "wham",
        "thunder": "kaboom " * 6,  # 42 characters: longer than DCMP's 32-character line
    })
    a = analysis([
        dog(1.0, 3.0),
        slam(1.1),  # together with the dog: one combined line, no room to say whose word it is
        slam(6.0),
        event(10.0, 13.0, "thunder", "thunder rumbling", "weather", kind="sustained"),
    ])
    got = cues(a, vocab, style="dcmp", onomatopoeia=True)
    assert [lines(c) for c in got] == [["[dog barking, door slams]"], ["[door slams]", "wham"],
                                       ["[thunder rumbling]"]]
    long_desc = Vocabulary([
        dataclasses.replace(e, caption_abrupt="a door at the far end of the corridor slams shut")
        if e.label == "door_slam" else e for e in vocab
    ])
    (cue,) = cues(analysis([slam(6.0)]), long_desc, style="dcmp", onomatopoeia=True)
    assert len(cue.lines) == 2 and "wham" not in cue.text  # the description took both lines
    assert all(len(line.text) <= 32 for line in cue.lines)


def _spread_analysis(seed: int, n: int = 150) -> Analysis:
    """Events 0-3 s apart, 10 ms to 40 s long, overlapping: many single-sound cues, some shared."""
    rng = random.Random(seed)
    labels = [("dog_bark", "animal", "sustained"), ("door_slam", "impact", "abrupt"),
              ("glass_shatter", "impact", "abrupt"), ("thunder", "weather", "sustained"),
              ("alarm", "alarm", "sustained"), ("rain", "weather", "sustained")]
    events, t = [], 0.0
    for _ in range(n):
        t += rng.uniform(0.0, 3.0)
        label, category, kind = rng.choice(labels)
        length = rng.choice([0.01, 0.3, 2.0, 9.0, 40.0])
        events.append(event(round(t, 3), round(t + length, 3), label, "", category, kind=kind,
                            source=rng.choice(["audio", "visual"]), pan=rng.choice([None, -1.0, 0.0, 1.0])))
    return analysis(events, duration=t + 60.0)


@pytest.mark.parametrize("seed", [3, 4])
def test_checker_finds_nothing_wrong_with_dense_dcmp_tracks_with_onomatopoeia(seed: int) -> None:
    vocab = _vocab_with_words({"dog_bark": "woof woof", "door_slam": "bam", "glass_shatter": "crash",
                               "thunder": "kaboom", "alarm": "brrring brrring brrring brrring brrring"})
    tracks = [build_cues(a, CaptionOptions(style="dcmp", min_confidence=0.0, onomatopoeia=True),
                         vocabulary=vocab) for a in (_spread_analysis(seed), random_analysis(seed))]
    for track in tracks:
        assert check_cues(track.cues, "dcmp") == []
    words = [c.lines[-1].text for c in tracks[0].cues
             if len(c.lines) == 2 and c.lines[-1].text in ("woof woof", "bam", "crash", "kaboom")]
    assert len(words) >= 10
    assert not any("brrring" in c.text for track in tracks for c in track.cues)  # 39 characters: dropped


# ---------------------------------------------------------------------------------------------- continues
def test_long_sound_continues_right_after_the_cue_that_interrupted_it() -> None:
    got = cues(analysis([dog(0.0, 30.0), slam(10.0)]))
    assert [c.text for c in got] == ["[dog barking]", "[door slams]", "[barking continues]"]
    dog_cue, slam_cue, cont = got
    assert dog_cue.end_ms == 7000  # the first cue had to end (max 7 s on screen)
    # as soon as the screen is free: the 2-frame gap after the slam, on a frame (25 fps: 40 ms)
    assert slam_cue.end_ms + 80 <= cont.start_ms < slam_cue.end_ms + 80 + 40
    assert cont.start_ms % 40 == 0
    # not a fixed 20 s after the first caption, as before
    assert all(c.start_ms != 20_000 for c in got)


def test_continues_without_interruption_only_after_a_long_pause() -> None:
    got = cues(analysis([dog(0.0, 65.0)], duration=70.0))
    assert [(c.start_ms, c.text) for c in got] == [
        (0, "[dog barking]"), (20_000, "[barking continues]"), (40_000, "[barking continues]"),
        (60_000, "[barking continues]")]


def test_frequent_interruptions_do_not_repeat_continues_after_each_one() -> None:
    got = cues(analysis([dog(0.0, 30.0), *(slam(3.0 * k) for k in range(1, 10))]))
    starts = [c.start_ms for c in got if c.text == "[barking continues]"]
    assert len(starts) == 3
    # each right after a slam's cue, and at least recaption_interval_s (8 s) after the dog's last caption
    slam_ends = [c.end_ms for c in got if c.text == "[door slams]"]
    assert all(any(0 < s - e <= 120 for e in slam_ends) for s in starts)
    assert all(b - a >= 8000 for a, b in zip([0, *starts], starts, strict=False))


def test_no_continues_when_the_sound_is_about_to_end_or_is_a_background_bed() -> None:
    assert [c.text for c in cues(analysis([dog(0.0, 11.0), slam(10.0)]))] == ["[dog barking]", "[door slams]"]
    bed = event(0.0, 50.0, "rain", "rain pouring", "weather", kind="sustained", background=True)
    assert [c.text for c in cues(analysis([bed, slam(10.0)]))] == ["[rain pouring]", "[door slams]"]


def test_dialogue_interrupting_a_sound_brings_continues_after_it(tmp_path: Path) -> None:
    line = Cue(7500, 12_000, (CueLine("- Did you hear that?"),), kind="dialogue")
    got = cues(analysis([dog(0.0, 30.0)]), dialogue=(line,))
    assert [c.text for c in got] == ["[dog barking]", "[barking continues]"]
    assert 12_080 <= got[1].start_ms < 12_120  # after the dialogue, 2 frames apart, on a frame
    # through the files: the combined SDH track reads dialogue, then the sound continuing
    dialogue = tmp_path / "dialogue.srt"
    dialogue.write_text("1\n00:00:07,500 --> 00:00:12,000\n- Did you hear that?\n", encoding="utf-8")
    out = tmp_path / "out"
    write_captions(analysis([dog(0.0, 30.0)]), out, CaptionOptions(dialogue=dialogue), vocabulary=VOCAB)
    sdh = read_captions(out / "captions.sdh.vtt")
    assert [c.text for c in sdh] == ["[dog barking]", "- Did you hear that?", "[barking continues]"]
    assert check_cues(sdh, "netflix") == []


def test_sound_back_after_a_short_pause_continues_but_after_a_long_one_starts_again() -> None:
    short = analysis([dog(1.0, 3.0), dog(9.0, 11.0)])
    long = analysis([dog(1.0, 3.0), dog(15.0, 17.0)])
    assert [c.text for c in cues(short)] == ["[dog barking]", "[barking continues]"]
    assert [c.text for c in cues(long)] == ["[dog barking]", "[dog barking]"]


@pytest.mark.parametrize("style", STYLES)
def test_continues_only_take_free_screen_time(style: str, monkeypatch: pytest.MonkeyPatch) -> None:
    a = random_analysis(5, n=250)
    opts = CaptionOptions(style=style, min_confidence=0.0)
    with_cont = build_cues(a, opts, vocabulary=VOCAB)
    monkeypatch.setattr(cues_mod, "_continuations", lambda *args, **kw: [])
    without = build_cues(a, opts, vocabulary=VOCAB)
    before = {(c.start_ms, c.text) for c in without.cues}
    after = {(c.start_ms, c.text) for c in with_cont.cues}
    assert before <= after  # no cue moved or lost
    # the cues added only re-caption sounds already captioned
    shown = {eid for c in without.cues for eid in c.event_ids}
    added_ids = {eid for c in with_cont.cues if (c.start_ms, c.text) not in before for eid in c.event_ids}
    assert after - before and added_ids <= shown
    assert len(with_cont.review) == len(without.review)  # nothing crowded out
    assert check_cues(with_cont.cues, style) == []
