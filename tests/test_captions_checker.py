"""The rule checker and reader: they catch what is broken, accept what we write, refuse what is unreadable."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import typer
from captions_factory import VOCAB, check_captions_app, random_analysis, scene
from typer.testing import CliRunner

from captioning.captions import (
    CaptionOptions,
    build_cues,
    check_captions,
    check_cues,
    merge_dialogue,
    parse_captions,
    read_captions,
)
from captioning.errors import CaptionFormatError, InvalidOptionsError

BAD_VTT = """WEBVTT

a
00:00:01.000 --> 00:00:01.500
[door slams]

a
00:00:01.540 --> 00:00:02.500
[a description far too long to fit on one line, really]

c
00:00:02.300 --> 00:00:03.000
[overlaps the previous cue]

d
00:00:03.200 --> 00:00:12.000
[gap of 200 ms not chained, on for 8.8 s]
[second line]
[third line]

e
00:00:12.500 --> 00:00:13.500
[far too much text for one second on screen, really]

f
00:00:10.000 --> 00:00:11.000
[starts before the previous]
"""


def _rules(violations: list) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    return [(v.index, v.rule) for v in violations]


def test_checker_reports_every_broken_rule_with_cue_and_time() -> None:
    got = check_captions(BAD_VTT, "netflix")
    assert sorted(_rules(got)) == sorted([
        (1, "min_duration"), (1, "reading_speed"),
        (2, "duplicate_id"), (2, "line_length"), (2, "reading_speed"), (2, "gap"),
        (3, "min_duration"), (3, "reading_speed"), (3, "overlap"),
        (4, "line_count"), (4, "max_duration"), (4, "chaining"),
        (5, "line_length"), (5, "reading_speed"), (5, "chaining"),
        (6, "reading_speed"), (6, "order"),
    ])
    first = got[0]
    assert first.start == 1.0 and "cue 1 at 1.000 s" in first.message and "0.500 s" in first.message


def test_checker_depends_on_style_and_frame_rate() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n[door slams]\n\n00:00:02.081 --> 00:00:03.000\n[x]\n"
    assert _rules(check_captions(text, "netflix", frame_rate=25.0)) == []
    assert _rules(check_captions(text, "netflix", frame_rate=23.976)) == [(2, "gap")]  # 2 frames = 83.4 ms
    assert (1, "min_duration") in _rules(check_captions(text, "dcmp"))  # dcmp wants 2 s on screen


def test_checker_given_the_media_duration_reports_cues_past_its_end() -> None:
    text = ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n[door slams]\n\n"
            "00:00:09.700 --> 00:00:10.000\n[glass shatters]\n")
    cues = parse_captions(text)
    # alone, the last cue is too short; in a 10 s media it ends with the media, so the minimum yields
    assert _rules(check_cues(cues, "netflix")) == [(2, "min_duration"), (2, "reading_speed")]
    assert _rules(check_cues(cues, "netflix", media_duration=10.0)) == []
    # in a 9.9 s media it runs 0.1 s past the end (and is short with no excuse); in a 9.5 s one it starts after it
    past = check_cues(cues, "netflix", media_duration=9.9)
    assert _rules(past) == [(2, "past_media_end"), (2, "min_duration"), (2, "reading_speed")]
    assert past[0].message == "cue 2 at 9.700 s: ends at 10.000 s, after the media's end (9.900 s)"
    after = check_cues(cues, "netflix", media_duration=9.5)
    assert _rules(after)[0] == (2, "past_media_end")
    assert after[0].message == "cue 2 at 9.700 s: starts at or after the media's end (9.500 s)"
    assert _rules(check_cues(cues, "netflix", media_duration=0.0)) == _rules(check_cues(cues, "netflix"))


@pytest.mark.parametrize("style", ["netflix", "dcmp", "bbc"])
def test_our_tracks_end_with_the_media_and_pass_the_checker_given_its_duration(style: str) -> None:
    for seed in range(3):
        a = random_analysis(seed, n=400, duration=40.0)  # events up to the last 50 ms
        track = build_cues(a, CaptionOptions(style=style, min_confidence=0.0), vocabulary=VOCAB)
        assert track.cues and track.cues[-1].end_ms <= 40_000
        assert check_cues(track.cues, style, media_duration=40.0) == []
    tiny = random_analysis(1, n=20, duration=0.3)  # shorter than any style's minimum duration
    track = build_cues(tiny, CaptionOptions(style=style, min_confidence=0.0), vocabulary=VOCAB)
    assert len(track.cues) == 1 and track.cues[0].end_ms == 300
    assert check_cues(track.cues, style, media_duration=0.3) == []


def test_checker_reads_srt_files(tmp_path: Path) -> None:
    path = tmp_path / "x.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:01,200\n<i>[door slams]</i>\n", encoding="utf-8")
    assert _rules(check_captions(path, "netflix")) == [(1, "min_duration"), (1, "reading_speed")]
    assert read_captions(path)[0].lines[0].italic


@pytest.mark.parametrize("style", ["netflix", "dcmp", "bbc"])
@pytest.mark.parametrize("frame_rate", [23.976, 25.0, 60.0])
def test_our_tracks_have_zero_violations_on_dense_random_event_lists(style: str, frame_rate: float) -> None:
    for seed in range(4):
        a = random_analysis(seed, n=400, duration=300.0)
        options = CaptionOptions(style=style, frame_rate=frame_rate, min_confidence=0.0 if seed % 2 else 0.5,
                                 line="-3" if seed == 3 else None)
        track = build_cues(a, options, vocabulary=VOCAB)
        assert len(track.cues) > 40
        assert check_cues(track.cues, style, frame_rate=frame_rate) == []
        assert track.cues == tuple(sorted(track.cues, key=lambda c: c.start_ms))


@pytest.mark.parametrize("style", ["netflix", "dcmp", "bbc"])
def test_our_sdh_merge_adds_no_timing_violation_between_sounds_and_dialogue(style: str) -> None:
    srt = "".join(f"{i}\n00:00:{t:02d},000 --> 00:00:{t + 2:02d},500\nLine {i}.\n\n"
                  for i, t in enumerate(range(0, 55, 6), 1))
    dialogue = parse_captions(srt, kind="dialogue")
    options = CaptionOptions(style=style)
    sounds = build_cues(random_analysis(5, n=80, duration=60.0), options, vocabulary=VOCAB).cues
    sdh = merge_dialogue(dialogue, sounds, options)
    found = {v.rule for v in check_cues(sdh, style)}
    assert not found & {"overlap", "gap", "order", "duplicate_id", "line_length", "line_count"}
    assert sum(c.kind == "sound" for c in sdh) >= 5


@pytest.mark.parametrize(("text", "name", "message"), [
    ("hello, this is not captions", "notes.srt", "not valid SRT"),
    ("[Script Info]\nTitle: x\n", "x.ssa", "not a WebVTT or SRT"),
    ("WEBVTT\n\n00:00:01.000 --> 00:99:02.000\nbad minutes\n", "x.vtt", "Invalid timestamp '00:99:02.000'"),
    ("1\n00:00:01,000 --> garbage\nx\n", "x.srt", "not valid SRT"),
    ("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nbackwards\n", "x.vtt", "ends at or before it starts"),
    ("NOT A VTT\n", "x.vtt", "must start with WEBVTT"),
])
def test_unreadable_files_raise_caption_format_error(text: str, name: str, message: str) -> None:
    with pytest.raises(CaptionFormatError, match=message):
        parse_captions(text, name=name)


def test_checker_reads_what_players_read_and_reports_blocks_it_skips(tmp_path: Path) -> None:
    path = tmp_path / "loose.srt"
    path.write_text("1\n00:01:39 --> 00:01:41,04\n(deep rumbling)\n\n"
                    "2\n00:02:04,000 --> 00:02:07,000\nHow did we end up here?\n\n"
                    "3\n00:02:09,000 --> 00:02:08,000\nbackwards\n", encoding="utf-8")
    with pytest.raises(CaptionFormatError, match="not valid SRT: cue 1 \\(line 2\\): timing line"):
        read_captions(path)
    assert [c.text for c in read_captions(path, strict=False)] == ["How did we end up here?"]
    got = check_captions(path, "netflix")
    assert _rules(got) == [(1, "unreadable"), (3, "unreadable")]  # each named by its number, the rest checked
    assert got[1].message == "cue 3 at 129.000 s: ends at or before it starts (1.000 s before); players skip it"


def test_missing_and_binary_files_raise_caption_format_error(tmp_path: Path) -> None:
    with pytest.raises(CaptionFormatError, match="cannot read"):
        read_captions(tmp_path / "nope.vtt")
    blob = tmp_path / "blob.vtt"
    blob.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(CaptionFormatError, match="UTF-16LE byte-order mark but is not UTF-16LE text"):
        read_captions(blob)


def test_reader_keeps_ids_settings_and_decodes_entities_and_bom() -> None:
    (cue,) = parse_captions("\ufeffWEBVTT\n\nx1\n00:00:01.000 --> 00:00:02.000 line:0 align:left\n"
                            "<v Ann>Tom &amp; Jerry &lt;3</v>\n")
    assert (cue.identifier, cue.settings, cue.text) == ("x1", "line:0 align:left", "Tom & Jerry <3")


def test_unknown_style_and_bad_frame_rate_are_refused() -> None:
    with pytest.raises(InvalidOptionsError):
        check_captions(BAD_VTT, "youtube")
    with pytest.raises(InvalidOptionsError):
        check_cues([], "netflix", frame_rate=0.0)


# ----------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def cli() -> typer.Typer:
    return check_captions_app()


def test_cli_prints_violations_and_exits_1(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "bad.vtt"
    path.write_text(BAD_VTT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check-captions", str(path), "--style", "netflix"])
    assert result.exit_code == 1
    assert f"{path}: overlap: cue 3 at 2.300 s" in result.stdout
    assert result.stdout.count("\n") == 17


def test_cli_json_output(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "bad.vtt"
    path.write_text(BAD_VTT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check-captions", str(path), "--json"])
    body = json.loads(result.stdout)
    assert result.exit_code == 1 and body["style"] == "netflix" and len(body["violations"]) == 17
    assert body["violations"][0] == {"rule": "min_duration", "index": 1, "start": 1.0,
                                     "message": body["violations"][0]["message"]}


def test_cli_exit_0_on_our_own_output(cli: typer.Typer, tmp_path: Path) -> None:
    from captioning.captions import write_captions

    for style in ("netflix", "dcmp", "bbc"):
        write_captions(scene(), tmp_path / style, CaptionOptions(style=style), vocabulary=VOCAB)
        for name in ("captions.vtt", "captions.srt"):
            path = tmp_path / style / name
            result = CliRunner().invoke(cli, ["check-captions", str(path), "--style", style])
            assert result.exit_code == 0, result.output


def test_cli_exit_2_with_one_line_error_on_unreadable_file(cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check-captions", str(tmp_path / "missing.vtt")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "soundcue: error: cannot read" in result.stderr
    result = CliRunner().invoke(cli, ["check-captions", str(tmp_path / "missing.vtt"), "--style", "nope"])
    assert result.exit_code == 2 and "unknown caption style" in result.stderr


def test_packaged_vocabulary_wording_passes_every_style() -> None:
    import random

    from captioning.events import SoundEvent
    from captioning.vocabulary import load_vocabulary

    vocab = load_vocabulary()
    entries = [e for e in vocab if e.role in ("sound", "music", "ambience")]
    rng = random.Random(42)
    base = random_analysis(9, n=300, duration=240.0)
    events = []
    for e in base.events:  # same dense timing, real labels and wording
        entry = rng.choice(entries)
        events.append(SoundEvent(e.start, e.end, entry.label, entry.caption_for(e.duration), entry.category,
                                 e.confidence, e.loudness, kind=entry.kind, source=e.source, pan=e.pan))
    a = dataclasses.replace(base, events=tuple(events))
    for style in ("netflix", "dcmp", "bbc"):
        track = build_cues(a, CaptionOptions(style=style, min_confidence=0.0), vocabulary=vocab)
        assert len(track.cues) > 30
        assert check_cues(track.cues, style) == []


def test_public_names_are_exported() -> None:
    import captioning.captions as pkg

    public = {n for n in dir(pkg) if not n.startswith("_")} - {
        "checker", "cli", "cues", "cuetext", "decoding", "hls", "merge", "model", "options", "reader", "styles",
        "writers"}
    assert set(pkg.__all__) == public
