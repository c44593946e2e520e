"""Sound captions: wording, styles, timing rules, writers, round trips through other readers, files."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import av
import pysrt
import pytest
import webvtt
from captions_factory import VOCAB, analysis, event, random_analysis, scene

from captioning.captions import (
    CaptionOptions,
    build_cues,
    check_cues,
    cues_to_srt,
    cues_to_vtt,
    read_captions,
    render_metadata_vtt,
    render_srt,
    render_vtt,
    write_captions,
)
from captioning.captions import writers as writers_mod
from captioning.captions.model import Cue, CueLine
from captioning.errors import InvalidOptionsError

STYLES = ("netflix", "dcmp", "bbc")


def texts(a, **kw):  # type: ignore[no-untyped-def]
    return [c.text for c in build_cues(a, CaptionOptions(**kw), vocabulary=VOCAB).cues]


# ------------------------------------------------------------------------------------------- wording
def test_abrupt_simple_present_sustained_participle_and_simultaneous_combined() -> None:
    got = texts(scene())
    assert got[0] == "[door slams]"
    # thunder and the rain bed start together: one cue, one line, one pair of brackets
    assert got[1] == "[thunder rumbling, rain pouring]"
    assert "[kettle whistles & hisses]" in got  # a label missing from the vocabulary keeps its caption


def test_speech_and_low_confidence_are_not_captioned_but_low_confidence_is_reviewed() -> None:
    track = build_cues(scene(), CaptionOptions(), vocabulary=VOCAB)
    assert not any("speak" in c.text or "speech" in c.text for c in track.cues)
    assert [(r.event.start, r.reason, r.included) for r in track.review] == [(18.0, "low_confidence", False)]
    with_low = build_cues(scene(), CaptionOptions(include_low_confidence=True), vocabulary=VOCAB)
    assert any(c.start_ms == 18_000 and c.text == "[door slams]" for c in with_low.cues)
    assert with_low.review[0].included
    # --min-confidence lowers the bar instead
    assert any(c.start_ms == 18_000 for c in build_cues(scene(), CaptionOptions(min_confidence=0.1),
                                                        vocabulary=VOCAB).cues)


def test_long_sound_recaptioned_as_continues_and_music_stop_noted() -> None:
    got = texts(scene())
    assert got[got.index("[music playing]") + 1] == "[music continues]"
    assert "[music stops]" in got
    cues = build_cues(scene(), CaptionOptions(), vocabulary=VOCAB).cues
    stop = next(c for c in cues if c.text == "[music stops]")
    assert stop.start_ms == 45_000


def test_no_stop_cue_when_the_sound_runs_to_the_end_of_the_media() -> None:
    a = analysis([event(2.0, 29.9, "music", "music", "music", kind="sustained")], duration=30.0)
    assert "[music stops]" not in texts(a)


def test_sound_that_comes_back_after_a_pause_continues() -> None:
    a = analysis([event(1.0, 3.0, "dog_bark", "dog barking", "animal", kind="sustained"),
                  event(6.0, 8.0, "dog_bark", "dog barking", "animal", kind="sustained")])
    assert texts(a) == ["[dog barking]", "[barking continues]"]


def test_bbc_upper_case_subject_verb_without_brackets() -> None:
    a = analysis([event(1.0, 1.5, "floorboard_creak", "floorboards creaking", "household"),
                  event(5.0, 9.0, "dog_bark", "dog barking", "animal", kind="sustained")])
    assert texts(a, style="bbc") == ["FLOORBOARDS CREAK", "DOG BARKS"]


def test_dcmp_italics_off_screen_source_dropped_on_screen_and_music_notes() -> None:
    a = analysis([event(1.0, 4.0, "dog_bark", "dog barking", "animal", kind="sustained", source="visual"),
                  event(8.0, 8.5, "door_slam", "door slams", source="audio"),
                  event(12.0, 20.0, "music", "music", "music", kind="sustained", source="audio")])
    cues = build_cues(a, CaptionOptions(style="dcmp"), vocabulary=VOCAB).cues
    assert [(c.text, c.lines[0].italic) for c in cues[:3]] == [
        ("[barking]", False), ("[door slams]", True), ("♪ music playing ♪", True)]
    assert "<i>[door slams]</i>" in cues_to_vtt(cues)
    assert "<i>[door slams]</i>" in cues_to_srt(cues)
    assert all(c.duration_ms >= 2000 for c in cues)


def test_netflix_never_italic_and_lines_fit() -> None:
    cues = build_cues(random_analysis(7, n=200), CaptionOptions(min_confidence=0.0), vocabulary=VOCAB).cues
    assert cues and not any(line.italic for c in cues for line in c.lines)
    assert all(len(c.lines) <= 2 and all(len(line.text) <= 42 for line in c.lines) for c in cues)


def test_too_many_simultaneous_sounds_stack_then_queue_then_go_to_review() -> None:
    labels = ["dog_bark", "door_slam", "glass_shatter", "thunder", "rain", "alarm", "floorboard_creak"]
    a = analysis([event(5.0, 5.3, lab, f"a rather long description of sound {lab}") for lab in labels])
    track = build_cues(a, CaptionOptions(), vocabulary=VOCAB)
    assert track.cues[0].start_ms == 5000 and len(track.cues[0].lines) == 2
    assert all(c.start_ms <= 5000 + 1500 for c in track.cues)  # queued at most max_delay_s late
    shown = {eid for c in track.cues for eid in c.event_ids}
    crowded = {r.event.id for r in track.review if r.reason == "crowded"}
    assert shown | crowded == {e.id for e in a.events} and not shown & crowded


# -------------------------------------------------------------------------------------------- timing
def test_onset_on_the_frame_of_the_sound_and_minimum_duration() -> None:
    a = analysis([event(1.013, 1.02, "door_slam", "door slams")])
    (cue,) = build_cues(a, CaptionOptions(frame_rate=25.0), vocabulary=VOCAB).cues
    assert cue.start_ms == 1000  # frame 25 at 25 fps holds t=1.013
    assert cue.end_ms == 1834  # 5/6 s, rounded up to the ms


def test_cue_ends_with_its_sound_and_never_exceeds_seven_seconds() -> None:
    a = analysis([event(1.0, 4.0, "dog_bark", "dog barking", "animal", kind="sustained"),
                  event(10.0, 19.5, "thunder", "thunder rumbling", "weather", kind="sustained")])
    c1, c2 = build_cues(a, CaptionOptions(), vocabulary=VOCAB).cues
    assert (c1.start_ms, c1.end_ms) == (1000, 4000)
    assert (c2.start_ms, c2.end_ms) == (10_000, 17_000)


@pytest.mark.parametrize("style", STYLES)
def test_a_cue_ends_with_the_media_when_its_minimum_duration_would_outlast_it(style: str) -> None:
    # a 0.2 s clip at 30 fps: the style's minimum (5/6 s, 2 s, 1.2 s) yields to the end of the programme
    a = analysis([event(0.07, 0.15, "door_slam", "door slams")], duration=0.2)
    track = build_cues(a, CaptionOptions(style=style, frame_rate=30.0), vocabulary=VOCAB)
    assert [(c.start_ms, c.end_ms) for c in track.cues] == [(67, 200)]
    assert track.review == ()


@pytest.mark.parametrize("style", STYLES)
def test_a_sound_starting_at_the_very_end_gets_no_cue_and_is_listed_for_review(style: str) -> None:
    a = analysis([event(2.0, 2.3, "door_slam", "door slams"),
                  event(10.0, 10.2, "glass_shatter", "glass shatters")], duration=10.0)
    track = build_cues(a, CaptionOptions(style=style, frame_rate=25.0), vocabulary=VOCAB)
    assert [c.start_ms for c in track.cues] == [2000]
    assert [(r.event.label, r.reason, r.included) for r in track.review] == [("glass_shatter", "after_end", False)]
    # one frame earlier it is captioned, for the last 40 ms of the media
    earlier = analysis([event(9.96, 10.2, "glass_shatter", "glass shatters")], duration=10.0)
    assert [(c.start_ms, c.end_ms) for c in build_cues(earlier, CaptionOptions(frame_rate=25.0),
                                                      vocabulary=VOCAB).cues] == [(9960, 10_000)]


def test_a_cue_pushed_to_the_end_by_the_one_before_is_crowded_out() -> None:
    # the first cue needs 5/6 s on screen, so the second could only start at 0.914 s, after a 0.9 s media ends
    a = analysis([event(0.0, 0.1, "door_slam", "door slams"), event(0.6, 0.7, "glass_shatter", "glass shatters")],
                 duration=0.9)
    track = build_cues(a, CaptionOptions(frame_rate=25.0), vocabulary=VOCAB)
    assert [(c.start_ms, c.end_ms, c.text) for c in track.cues] == [(0, 834, "[door slams]")]
    assert [(r.event.label, r.reason) for r in track.review] == [("glass_shatter", "crowded")]


def test_no_continues_cue_the_end_of_the_media_would_cut_short() -> None:
    # the bark outlasts the media: 20 s after its caption, "continues" has the last 1 s of a 21 s media (over the
    # 5/6 s minimum); in a 20.5 s media it would have 0.5 s, so there is none
    dog = event(0.0, 30.0, "dog_bark", "dog barking", "animal", kind="sustained")
    assert [(c.start_ms, c.end_ms, c.text) for c in build_cues(analysis([dog], duration=21.0), CaptionOptions(),
                                                               vocabulary=VOCAB).cues] == [
        (0, 7000, "[dog barking]"), (20_000, 21_000, "[barking continues]")]
    assert [c.text for c in build_cues(analysis([dog], duration=20.5), CaptionOptions(),
                                       vocabulary=VOCAB).cues] == ["[dog barking]"]


@pytest.mark.parametrize(("second", "expected_end"), [(2.0, 1920), (2.44, 2360), (3.0, 2000)])
def test_chaining_closes_gaps_of_half_a_second_or_less_to_two_frames(second: float,
                                                                     expected_end: int) -> None:
    a = analysis([event(1.0, 2.0, "door_slam", "door slams"), event(second, second + 1, "glass_shatter")])
    first = build_cues(a, CaptionOptions(frame_rate=25.0), vocabulary=VOCAB).cues[0]
    assert first.end_ms == expected_end  # 2 frames at 25 fps = 80 ms; a 1 s gap stays open


def test_pan_moves_cue_left_or_right_and_line_option_moves_it_up() -> None:
    cues = build_cues(scene(), CaptionOptions(line="10%"), vocabulary=VOCAB).cues
    by_text = {c.text: c.settings for c in cues}
    assert by_text["[door slams]"] == "line:10% position:90% align:right"
    assert by_text["[glass shatters]"] == "line:10% position:10% align:left"
    assert by_text["[music playing]"] == "line:10%"


@pytest.mark.parametrize("kw", [
    {"style": "youtube"}, {"min_confidence": 1.5}, {"frame_rate": 0.0}, {"line": "top"},
    {"hls_segment_s": 0.0}, {"pan_threshold": 0.0},
])
def test_invalid_options_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionsError):
        CaptionOptions(**kw)  # type: ignore[arg-type]


def test_empty_event_list_gives_a_valid_empty_track() -> None:
    assert render_vtt(analysis([]), vocabulary=VOCAB) == "WEBVTT\n"
    assert render_srt(analysis([]), vocabulary=VOCAB) == ""


def test_missing_vocabulary_falls_back_to_event_wording(monkeypatch: pytest.MonkeyPatch) -> None:
    from captioning.captions import cues as cues_mod

    def missing() -> None:
        raise FileNotFoundError("vocabulary.csv")

    monkeypatch.setattr(cues_mod, "load_vocabulary", missing)
    a = analysis([event(1.0, 2.0, "dog_bark", "dog barking", "animal", kind="sustained")])
    assert [c.text for c in build_cues(a).cues] == ["[dog barking]"]


# ------------------------------------------------------------------------------------------- writers
def test_vtt_is_utf8_escaped_unique_ids_sorted_and_golden(tmp_path: Path) -> None:
    vtt = render_vtt(scene(), CaptionOptions(), vocabulary=VOCAB)
    assert vtt.startswith("WEBVTT\n\ns0001\n00:00:01.000 --> 00:00:01.834 position:90% align:right\n"
                          "[door slams]\n")
    assert "[kettle whistles &amp; hisses]" in vtt
    dialogue = Cue(0, 1000, (CueLine("I <3 you & -->"),), identifier="d1", kind="dialogue")
    assert cues_to_vtt([dialogue]).split("\n")[4] == "I &lt;3 you &amp; --&gt;"
    assert cues_to_srt([dialogue]).split("\n")[2] == "I ‹3 you & --›"
    ids = re.findall(r"^(s\d{4})$", vtt, re.MULTILINE)
    assert len(ids) == len(set(ids)) == vtt.count("-->")


def test_srt_numbered_from_one_with_comma_decimals() -> None:
    srt = render_srt(scene(), CaptionOptions(), vocabulary=VOCAB)
    blocks = srt.strip().split("\n\n")
    assert [b.split("\n")[0] for b in blocks] == [str(i) for i in range(1, len(blocks) + 1)]
    assert blocks[0].split("\n")[1] == "00:00:01,000 --> 00:00:01,834"
    assert "[kettle whistles & hisses]" in srt


@pytest.mark.parametrize("style", STYLES)
def test_round_trip_through_webvtt_py_pysrt_and_pyav(tmp_path: Path, style: str) -> None:
    a = random_analysis(3, n=120, duration=120.0)
    cues = build_cues(a, CaptionOptions(style=style, min_confidence=0.0), vocabulary=VOCAB).cues
    assert len(cues) > 20
    expected = [(c.start_ms, c.end_ms, c.text) for c in cues]
    vtt_path, srt_path = tmp_path / "c.vtt", tmp_path / "c.srt"
    vtt_path.write_text(cues_to_vtt(cues), encoding="utf-8")
    srt_path.write_text(cues_to_srt(cues), encoding="utf-8")
    assert not vtt_path.read_bytes().startswith(b"\xef\xbb\xbf")

    doc = webvtt.read(str(vtt_path))
    assert [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), html.unescape(c.text))
            for c in doc.captions] == expected
    assert [c.identifier for c in doc.captions] == [c.identifier for c in cues]
    subs = pysrt.open(str(srt_path))
    assert [s.index for s in subs] == list(range(1, len(cues) + 1))
    assert [(s.start.ordinal, s.end.ordinal, s.text_without_tags) for s in subs] == expected
    for path in (vtt_path, srt_path):
        assert _pyav_cues(path) == expected, path.name
    assert [(c.start_ms, c.end_ms, c.text) for c in read_captions(vtt_path)] == expected
    assert [(c.start_ms, c.end_ms, c.text) for c in read_captions(srt_path)] == expected


def _pyav_cues(path: Path) -> list[tuple[int, int, str]]:
    out = []
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        assert stream.time_base == 1 / 1000 or float(stream.time_base) == 0.001
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            for sub in packet.decode():
                text = re.sub(r"\{\\[^}]*\}", "", sub.dialogue.decode("utf-8"))  # ASS italics
                out.append((int(packet.pts), int(packet.pts + packet.duration), text))
    return out


def test_metadata_track_has_one_json_cue_per_event() -> None:
    a = scene()
    vtt = render_metadata_vtt(a)
    doc = webvtt.from_string(vtt)
    assert len(doc.captions) == len(a.events)
    first = json.loads(doc.captions[0].raw_text)
    assert first["label"] == "door_slam" and first["confidence"] == 0.9 and first["loudness"] == -20.0
    assert first["pan"] == 0.9 and "audioset_ids" in first
    kettle = next(json.loads(c.raw_text) for c in doc.captions if "kettle" in c.raw_text)
    assert kettle["caption"] == "kettle whistles & <hisses>"  # the event as detection worded it
    assert "<" not in vtt and "&" not in vtt


def test_write_captions_writes_every_requested_file(tmp_path: Path) -> None:
    dialogue = tmp_path / "dialogue.srt"
    dialogue.write_text("1\n00:00:00,500 --> 00:00:02,500\nWho's there?\n\n"
                        "2\n00:00:13,000 --> 00:00:16,000\nDid you hear that?\n", encoding="utf-8")
    out = tmp_path / "out"
    paths = write_captions(scene(), out, CaptionOptions(dialogue=dialogue, hls=True), vocabulary=VOCAB)
    names = sorted(str(p.relative_to(out)) for p in paths)
    assert {"captions.vtt", "captions.srt", "captions.metadata.vtt", "captions.review.json",
            "captions.sdh.vtt", "captions.sdh.srt", "captions.sounds.vtt", "hls/captions.m3u8",
            "hls/segment0.webvtt"} <= set(names)
    assert all(p.exists() for p in paths)
    review = json.loads((out / "captions.review.json").read_text())
    assert [e["event"]["start"] for e in review["events"]] == [18.0]
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temp files left


def test_write_captions_leaves_nothing_half_written_on_error(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_captions(scene(), out, CaptionOptions(), vocabulary=VOCAB)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(cues: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writers_mod, "cues_to_srt", broken)
    later = analysis([event(2.0, 3.0, "door_slam", "door slams")])
    with pytest.raises(RuntimeError):
        write_captions(later, out, CaptionOptions(), vocabulary=VOCAB)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_hls_segments_carry_timestamp_map_and_playlist_covers_media(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_captions(scene(), out, CaptionOptions(hls=True, hls_segment_s=10.0), vocabulary=VOCAB)
    playlist = (out / "hls" / "captions.m3u8").read_text()
    segments = re.findall(r"^(segment\d+\.webvtt)$", playlist, re.MULTILINE)
    assert len(segments) == 6  # 60 s of media
    assert sum(float(d) for d in re.findall(r"#EXTINF:([\d.]+),", playlist)) == pytest.approx(60.0)
    assert "#EXT-X-TARGETDURATION:10" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")
    seg0 = (out / "hls" / "segment0.webvtt").read_text()
    # no video rendition given: media time 0 maps to MPEG-TS time 0 (the rule: tests/test_captions_hls.py)
    assert seg0.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n")
    # the thunder/rain cue (3 s .. 10 s) lies in segment 0; the 22 s music cue in segments 2
    assert "[thunder rumbling, rain pouring]" in seg0
    assert "[music playing]" in (out / "hls" / "segment2.webvtt").read_text()
    # writing again replaces the folder whole
    write_captions(scene(), out, CaptionOptions(hls=True, hls_segment_s=20.0), vocabulary=VOCAB)
    assert sorted(p.name for p in (out / "hls").iterdir()) == [
        "captions.m3u8", "segment0.webvtt", "segment1.webvtt", "segment2.webvtt"]


# --------------------------------------------------------------------------------------------- merge
def test_merge_with_dialogue_never_overlaps_and_interrupts_dialogue(tmp_path: Path) -> None:
    from captioning.captions import merge_dialogue, parse_captions

    dialogue = parse_captions(
        "WEBVTT\n\n00:00:00.000 --> 00:00:06.000\nI told you, nobody lives here\nanymore.\n\n"
        "00:00:08.000 --> 00:00:09.000\nListen.\n", kind="dialogue")
    a = analysis([event(4.0, 4.3, "glass_shatter", "glass shatters"),  # mid-sentence: interrupts
                  event(8.2, 8.5, "door_slam", "door slams"),  # during "Listen.": waits for it
                  event(20.0, 21.0, "dog_bark", "dog barking", "animal", kind="sustained")])
    sounds = build_cues(a, CaptionOptions(), vocabulary=VOCAB).cues
    sdh = merge_dialogue(dialogue, sounds, CaptionOptions())
    assert [(c.kind, c.text.split("\n")[0]) for c in sdh] == [
        ("dialogue", "I told you, nobody lives here"), ("sound", "[glass shatters]"),
        ("dialogue", "I told you, nobody lives here"), ("dialogue", "Listen."), ("sound", "[door slams]"),
        ("sound", "[dog barking]")]
    assert sdh[1].start_ms == 4000  # the sound that interrupts keeps its onset
    assert all(b.start_ms >= a_.end_ms + 80 for a_, b in zip(sdh, sdh[1:], strict=False))
    assert sdh[4].start_ms - 8200 <= 1500
    assert len({c.identifier for c in sdh}) == len(sdh)
    rules = {v.rule for v in check_cues(sdh, "netflix")}
    assert not rules & {"overlap", "gap", "order", "duplicate_id"}


def test_merge_keeps_every_cue_within_the_media(caplog: pytest.LogCaptureFixture) -> None:
    from captioning.captions import merge_dialogue, parse_captions

    # the slam at 3.92 s waits for the dialogue to end (4.08 s): 0.42 s of media are left, not its 5/6 s
    dialogue = parse_captions("WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nWe should go.\n", kind="dialogue")
    a = analysis([event(3.92, 4.0, "door_slam", "door slams")], duration=4.5)
    sounds = build_cues(a, CaptionOptions(), vocabulary=VOCAB).cues
    assert [(c.start_ms, c.end_ms) for c in sounds] == [(3920, 4500)]
    sdh = merge_dialogue(dialogue, sounds, CaptionOptions(), media_duration=4.5)
    assert [(c.kind, c.start_ms, c.end_ms) for c in sdh] == [("dialogue", 0, 4000), ("sound", 4080, 4500)]
    # dialogue written for a longer cut: cut at the end, or left out when it starts there (with a warning)
    longer = parse_captions("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello.\n\n"
                            "00:00:04.000 --> 00:00:05.000\nStay.\n\n00:00:04.500 --> 00:00:06.000\nGone.\n",
                            kind="dialogue")
    sdh = merge_dialogue(longer, (), CaptionOptions(), media_duration=4.5)
    assert [(c.start_ms, c.end_ms, c.text) for c in sdh] == [(1000, 2000, "Hello."), (4000, 4500, "Stay.")]
    assert "2 cue(s) run past the media's end (4.500 s): 1 cut there, 1 starting at or after it left out" in caplog.text
    # the media's duration unknown: nothing is cut
    assert len(merge_dialogue(longer, (), CaptionOptions())) == 3


def test_every_caption_output_ends_with_a_short_media(tmp_path: Path) -> None:
    from captioning.captions import build_caption_tracks
    from captioning.outputs import subtitle_cues

    dialogue = tmp_path / "dialogue.vtt"
    dialogue.write_text("WEBVTT\n\n00:00:00.300 --> 00:00:00.800\nHi.\n", encoding="utf-8")
    a = analysis([event(0.0, 0.1, "door_slam", "door slams"), event(0.25, 0.3, "glass_shatter", "glass shatters")],
                 duration=0.9)
    for style in STYLES:
        options = CaptionOptions(style=style, dialogue=dialogue, hls=True, frame_rate=25.0)
        out = tmp_path / style
        write_captions(a, out, options, vocabulary=VOCAB)
        files = [out / n for n in ("captions.vtt", "captions.srt", "captions.sdh.vtt", "captions.sdh.srt",
                                   "captions.sounds.vtt")] + sorted((out / "hls").glob("segment*.webvtt"))
        ends = {p.name: max(c.end_ms for c in read_captions(p)) for p in files}
        assert max(ends.values()) <= 900, (style, ends)
        assert ends["captions.vtt"] == 900  # the media's end cut the sound cue short, not nothing at all
        tracks = build_caption_tracks(a, options, vocabulary=VOCAB)
        sounds, subtitles = tracks.track.cues, tracks.subtitle_cues
        assert subtitles == subtitle_cues(a, options) and subtitles and max(c.end_ms for c in subtitles) <= 900
        assert [c.end_ms for c in sounds] == [c.end_ms for c in read_captions(out / "captions.vtt")]


def test_merge_random_dense_dialogue_has_no_overlaps() -> None:
    from captioning.captions import merge_dialogue
    from captioning.captions.model import Cue, CueLine

    dialogue = [Cue(t * 1000, t * 1000 + 2500, (CueLine("Some words."),), kind="dialogue")
                for t in range(0, 120, 3)]
    sounds = build_cues(random_analysis(11, n=150, duration=120.0), CaptionOptions(), vocabulary=VOCAB).cues
    sdh = merge_dialogue(dialogue, sounds)
    assert sum(c.kind == "sound" for c in sdh) > 5
    assert [c for c in sdh if c.kind == "dialogue"][0].text == "Some words."
    assert all(b.start_ms - a.end_ms >= 80 for a, b in zip(sdh, sdh[1:], strict=False))
    assert all(dataclasses.replace(c, identifier="") for c in sdh)


GOLDEN_NETFLIX_VTT = """WEBVTT

s0001
00:00:01.000 --> 00:00:01.834 position:90% align:right
[door slams]

s0002
00:00:03.000 --> 00:00:10.000
[thunder rumbling, rain pouring]

s0003
00:00:14.000 --> 00:00:14.834 position:10% align:left
[glass shatters]

s0004
00:00:16.000 --> 00:00:17.300
[kettle whistles &amp; hisses]

s0005
00:00:22.000 --> 00:00:29.000
[music playing]

s0006
00:00:42.000 --> 00:00:44.920
[music continues]

s0007
00:00:45.000 --> 00:00:45.834
[music stops]

s0008
00:00:50.000 --> 00:00:50.950
[floorboards creak]
"""

GOLDEN_BBC_SRT = """1
00:00:01,000 --> 00:00:02,200
DOOR SLAMS

2
00:00:03,000 --> 00:00:11,000
THUNDER RUMBLES, RAIN POURS

3
00:00:14,000 --> 00:00:15,200
GLASS SHATTERS

4
00:00:16,000 --> 00:00:17,600
KETTLE WHISTLES & HISSES

5
00:00:22,000 --> 00:00:30,000
MUSIC PLAYS

6
00:00:42,000 --> 00:00:44,920
MUSIC CONTINUES

7
00:00:45,000 --> 00:00:46,200
MUSIC STOPS

8
00:00:50,000 --> 00:00:51,200
FLOORBOARDS CREAK

"""


def test_golden_scene_netflix_vtt_and_bbc_srt() -> None:
    assert render_vtt(scene(), CaptionOptions(), vocabulary=VOCAB) == GOLDEN_NETFLIX_VTT
    assert render_srt(scene(), CaptionOptions(style="bbc"), vocabulary=VOCAB) == GOLDEN_BBC_SRT
