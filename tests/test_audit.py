"""The caption audit (issue 12) on a scene the test builds: which sounds a track misses, which cues are wrong,
how cue text is read, the report formats. The sentence-embedding model is the real one (loaded once)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from typing import Any

import jsonschema
import pytest
from audit_factory import SCENE_ES_VTT, SCENE_VTT, event, scene

from captioning.audit import AuditOptions, audit_captions, load_embedder, render_csv, render_html, render_json
from captioning.audit.cueclass import classify_bracket, load_lexicon, read_cue, read_cues
from captioning.audit.report import AuditReport
from captioning.audit.salience import saliences
from captioning.captions.model import Cue, CueLine
from captioning.captions.reader import parse_caption_file
from captioning.datafiles import data_text
from captioning.errors import InvalidOptionsError
from captioning.events import Analysis
from captioning.vocabulary import load_vocabulary


@pytest.fixture(scope="module")
def embed() -> Any:
    return load_embedder()[0]


def run(analysis: Analysis, vtt: str, embed: Any, **options: Any) -> AuditReport:
    return audit_captions(analysis, parse_caption_file(vtt, name="track.vtt"), AuditOptions(**options),
                          captions_name="track.vtt", embed=embed, embedder_version="test")


def labels(items: Any) -> set[str]:
    return {i.event.event.label for i in items}


# ------------------------------------------------------------------------------------------- findings
def test_the_report_finds_exactly_the_missed_sounds_and_the_wrong_cue(embed: Any) -> None:
    report = run(scene(), SCENE_VTT, embed)
    assert labels(report.covered) == {"knock", "siren", "door_slam"}
    assert labels(report.missed) == {"dog_bark", "glass_shatter"}
    assert [u.cue.number for u in report.unsupported] == [5]
    assert report.naming == ()
    assert report.coverage == pytest.approx(3 / 5)
    covered_by = {c.event.event.label: c.cues for c in report.covered}
    assert covered_by == {"knock": (1,), "siren": (3,), "door_slam": (6,)}
    # speech is never a sound to caption; a sound at -62 dBFS is too quiet to count
    assert "speech" not in {e.event.label for e in report.events}
    counted = {e.event.label for e in report.events if e.event.id in report.counted}
    assert counted == {"knock", "dog_bark", "glass_shatter", "siren", "door_slam"}
    by_cat = {c.category: (c.salient_events, c.covered, c.missed) for c in report.categories}
    assert by_cat == {"alarm": (1, 1, 0), "animal": (1, 0, 1), "breaking": (1, 0, 1), "door": (2, 2, 0)}


def test_speaker_labels_and_dialogue_are_not_sound_cues(embed: Any) -> None:
    report = run(scene(), SCENE_VTT, embed)
    kinds = {c.number: (c.reading.kind, c.reading.speakers) for c in report.cues}
    assert kinds[2] == ("dialogue", ("Alba",))
    assert kinds[4] == ("dialogue", ("MAN",))
    assert [c.number for c in report.sound_cues] == [1, 3, 5, 6]
    # the dog barks while "[Alba] ¿Quién es?" is on screen: a speaker label covers nothing
    assert "dog_bark" in labels(report.missed)


def test_the_wrong_cue_names_its_nearest_candidate(embed: Any) -> None:
    (wrong,) = run(scene(), SCENE_VTT, embed).unsupported
    assert wrong.cue.cue.text == "[gunshot]"
    assert wrong.nearest is not None and wrong.nearest.event.label == "siren"  # 1 s away; the door 1.5 s
    assert wrong.offset_s == pytest.approx(15.0 - 10.0)


def test_a_cue_describing_a_sound_by_another_name_is_a_naming_disagreement(embed: Any) -> None:
    vtt = SCENE_VTT.replace("[Alba] ¿Quién es?", "[thunder rumbling]")
    report = run(scene(), vtt, embed)
    assert [(n.cue.number, n.event.event.label) for n in report.naming] == [(2, "dog_bark")]
    assert labels(report.missed) == {"glass_shatter"}
    assert [u.cue.number for u in report.unsupported] == [5]
    assert report.coverage == pytest.approx(4 / 5) and report.coverage_described == pytest.approx(3 / 5)


def test_cues_are_matched_by_meaning_in_other_languages(embed: Any) -> None:
    report = run(scene(), SCENE_ES_VTT, embed)
    assert labels(report.covered) == {"knock", "dog_bark", "glass_shatter", "siren", "door_slam"}
    assert report.missed == () and report.unsupported == () and report.coverage == 1.0


def test_the_collar_decides_how_late_a_cue_may_be(embed: Any) -> None:
    analysis = dataclasses.replace(scene(), events=(event(7.0, 7.8, "glass_shatter", -15.0),))
    late = "WEBVTT\n\n00:00:08.900 --> 00:00:10.000\n[glass shattering]\n"
    strict = run(analysis, late, embed, collar_s=1.0)  # 1.1 s after the sound ended
    assert labels(strict.missed) == {"glass_shatter"}
    (u,) = strict.unsupported
    assert u.nearest is not None and u.nearest.event.label == "glass_shatter" and u.offset_s == pytest.approx(1.9)
    loose = run(analysis, late, embed, collar_s=1.5)
    assert labels(loose.covered) == {"glass_shatter"} and loose.unsupported == ()
    assert [v.rule for v in loose.violations] == ["late_onset"]


def test_pieces_of_one_captioned_sound_are_not_missed(embed: Any) -> None:
    # detection split a 4 s chopping sound into a piece it could not name and one it could
    analysis = dataclasses.replace(scene(), events=(
        event(2.0, 2.6, "sound", -20.0, 0.3), event(2.55, 6.0, "wood_chop", -20.0, 0.8),
        event(6.05, 6.6, "dog_bark", -20.0, 0.8)))
    vtt = "WEBVTT\n\n00:00:02.000 --> 00:00:06.000\n[chopping wood]\n"
    report = run(analysis, vtt, embed)
    assert labels(report.covered) == {"wood_chop"}
    assert [(n.event.event.label, n.part_of) for n in report.naming] == [("sound", report.covered[0].event.event.id)]
    # a different sound right after it (overlapping the cue by the collar) is still missed
    assert labels(report.missed) == {"dog_bark"}


@pytest.mark.parametrize("style, text, vtt_text", [
    ("netflix", "[dog barks]", "[dog barks]"),
    ("bbc", "DOG BARKS", "DOG BARKS"),
    ("dcmp", "[dog barks]", "<i>[dog barks]</i>"),  # DCMP: a sound off screen in italics
])
def test_missed_sounds_get_a_cue_in_the_chosen_style(embed: Any, style: str, text: str, vtt_text: str) -> None:
    report = run(scene(), SCENE_VTT, embed, style=style)
    dog = next(m for m in report.missed if m.event.event.label == "dog_bark")
    assert dog.suggested_cue.text == text
    assert dog.suggested_cue.start == pytest.approx(4.0)
    timing, cue_text = dog.suggested_cue.vtt.split("\n")
    assert timing.startswith("00:00:04.000 --> ") and cue_text == vtt_text
    assert dog.suggested_cue.end - dog.suggested_cue.start >= {"netflix": 5 / 6, "bbc": 1.2, "dcmp": 2.0}[style]


def test_timing_and_style_violations_come_from_the_checker(embed: Any) -> None:
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:01.300\n[someone knocking]\n\n"
           "00:00:10.000 --> 00:00:12.000\n[siren wailing and a very long description of it, too long to read]\n")
    report = run(scene(), vtt, embed)
    rules = {(v.rule, v.index) for v in report.violations}
    assert ("min_duration", 1) in rules and ("line_length", 2) in rules and ("reading_speed", 2) in rules
    assert report.to_dict()["compliance"]["by_rule"]["min_duration"] == 1


def test_min_coverage_decides_pass_or_fail(embed: Any) -> None:
    assert run(scene(), SCENE_VTT, embed).passed is None
    assert run(scene(), SCENE_VTT, embed, min_coverage=0.6).passed is True
    assert run(scene(), SCENE_VTT, embed, min_coverage=0.61).passed is False


def test_no_sounds_detected_means_full_coverage_and_every_cue_unsupported(embed: Any) -> None:
    report = run(dataclasses.replace(scene(), events=()), SCENE_VTT, embed)
    assert report.coverage == 1.0 and report.missed == ()
    assert [(u.cue.number, u.nearest) for u in report.unsupported] == [(1, None), (3, None), (5, None), (6, None)]


def test_bad_options_are_refused() -> None:
    for bad in ({"collar_s": -1.0}, {"min_coverage": 1.5}, {"style": "klingon"}, {"frame_rate": 0.0}):
        with pytest.raises(InvalidOptionsError):
            AuditOptions(**bad)


# ------------------------------------------------------------------------------------------- formats
def test_json_follows_the_schema_and_is_the_same_every_run(embed: Any) -> None:
    first = render_json(run(scene(), SCENE_VTT, embed))
    assert render_json(run(scene(), SCENE_VTT, embed)) == first
    data = json.loads(first)
    jsonschema.validate(data, json.loads(data_text("audit.schema.json")))
    assert data["media"]["file"] == "scene.mp4" and data["captions"]["file"] == "track.vtt"  # base names only
    assert data["summary"] | {} == data["summary"] and data["summary"]["missed"] == 2
    assert [m["event"]["label"] for m in data["missed"]] == ["dog_bark", "glass_shatter"]


def test_csv_lists_the_missed_sounds_ready_to_paste(embed: Any) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(run(scene(), SCENE_VTT, embed)))))
    assert [(r["start"], r["label"], r["suggested_cue"]) for r in rows] == [
        ("4.0", "dog_bark", "[dog barks]"), ("7.0", "glass_shatter", "[glass shatters]")]
    assert float(rows[0]["loudness_dbfs"]) == -18.0 and float(rows[0]["confidence"]) == 0.9


def test_html_is_one_self_contained_page(embed: Any) -> None:
    page = render_html(run(scene(), SCENE_VTT, embed, min_coverage=0.8))
    assert page.startswith("<!DOCTYPE html>") and "FAIL" in page
    assert re.search(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', page)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing loaded from anywhere
    for text in ("[dog barks]", "[glass shatters]", "[gunshot]", "00:00:04.000 --&gt; "):
        assert text in page


# ------------------------------------------------------------------------------------------- cue text
@pytest.mark.parametrize("text, kind", [
    ("door slams", "sound"), ("someone knocking", "sound"), ("portazo", "sound"), ("dos disparos", "sound"),
    ("Ángeles ríe", "sound"), ("Door Slams", "sound"), ("DOOR SLAMS", "sound"), ("deep rumbling", "sound"),
    ("Alba", "speaker"), ("ALBA", "speaker"), ("man", "speaker"), ("young woman", "speaker"),
    ("hombre", "speaker"), ("joven Alba", "speaker"), ("MAN:", "speaker"), ("Alfonso XIII en inglés", "speaker"),
    ("in Spanish", "note"), ("en inglés", "note"), ("inaudible", "note"), ("sarcastically", "note"),
])
def test_bracket_text_is_a_sound_a_speaker_or_a_note(text: str, kind: str) -> None:
    assert classify_bracket(text, load_lexicon()) == kind


def cue(*lines: str) -> Cue:
    return Cue(0, 1000, tuple(CueLine(t) for t in lines))


def test_a_cue_is_split_into_sounds_speakers_and_dialogue() -> None:
    r = read_cue(cue("- [Alba] No, no.", "- [risita] Sí. [portazo]"))
    assert [s.text for s in r.sounds] == ["risita", "portazo"] and r.speakers == ("Alba",)
    assert r.dialogue == "No, no.\nSí." and r.kind == "mixed"
    r = read_cue(cue("(computer playing", "electronic melody)"))
    assert [(s.text, s.form) for s in r.sounds] == [("computer playing electronic melody", "paren")]
    r = read_cue(cue("MAN:", "How did we end up here?"))
    assert r.sounds == () and r.speakers == ("MAN",) and r.dialogue == "How did we end up here?"
    assert [s.text for s in read_cue(cue("[thunder rumbling, rain pouring]")).sounds] == [
        "thunder rumbling", "rain pouring"]
    assert [(s.text, s.form) for s in read_cue(cue("DOOR BANGS")).sounds] == [("DOOR BANGS", "caps")]
    assert read_cue(cue("GET OUT!")).kind == "dialogue"  # shouted dialogue, no sound word
    assert [s.form for s in read_cue(cue("♪ la la la ♪")).sounds] == ["music"]


def test_capitals_do_not_mark_sounds_in_a_track_written_in_capitals() -> None:
    lines = ["WHERE WERE YOU LAST NIGHT", "AT HOME WITH THE KIDS", "WHICH KIDS", "OUR KIDS", "SINCE WHEN",
             "SINCE TUESDAY", "THAT IS NOT FUNNY", "NOBODY IS LAUGHING"]
    readings = read_cues([*(cue(t) for t in lines), cue("[door slams]")])
    assert [r.kind for r in readings] == ["dialogue"] * len(lines) + ["sound"]
    # a few lines in capitals in an ordinary track are sound descriptions
    assert [r.kind for r in read_cues([cue(t) for t in lines[:3]] + [cue("Hello there.")])][:2] == ["sound", "sound"]


# ------------------------------------------------------------------------------------------- salience
def test_salience_grows_with_loudness_duration_and_importance() -> None:
    vocab = load_vocabulary()
    events = [event(0.0, 0.2, "glass_shatter", -15.0), event(1.0, 1.2, "glass_shatter", -45.0),
              event(2.0, 3.5, "glass_shatter", -15.0), event(4.0, 4.2, "crickets", -15.0),
              event(5.0, 5.2, "speech", -15.0)]
    loud, quiet, long, insect, speech = saliences(events, vocab)
    assert loud > quiet and long > loud and loud > insect
    assert speech == 0.0
    assert all(0.0 <= s <= 1.0 for s in (loud, quiet, long, insect))


# ------------------------------------------------------------------------------------------- credibility, wording
def test_a_wrong_cue_at_a_low_confidence_unnamed_noise_is_unsupported(embed: Any) -> None:
    analysis = dataclasses.replace(scene(), events=(
        event(2.0, 2.6, "weights_drop", -18.0, 0.9), event(9.2, 9.5, "sound", -20.0, 0.03)))
    vtt = "WEBVTT\n\n00:00:10.000 --> 00:00:12.000\n[dog barking]\n"
    report = run(analysis, vtt, embed)
    assert report.naming == () and report.covered == ()
    (u,) = report.unsupported
    assert u.nearest is not None and u.nearest.event.label == "sound" and u.offset_s == pytest.approx(0.8)
    # a confident detection is credible: the same cue at it is a naming disagreement for a person to judge
    confident = dataclasses.replace(analysis, events=(analysis.events[0], event(9.2, 9.5, "sound", -20.0, 0.9)))
    assert [(n.cue.number, n.event.event.label) for n in run(confident, vtt, embed).naming] == [(1, "sound")]
    # so is a low-confidence detection under a specific label a cue names otherwise but not far off
    vtt2 = "WEBVTT\n\n00:00:04.000 --> 00:00:05.000\n[thunder rumbling]\n"
    named = dataclasses.replace(analysis, events=(event(4.0, 4.4, "dog_bark", -18.0, 0.3),))
    assert [n.event.event.label for n in run(named, vtt2, embed).naming] == ["dog_bark"]


def test_low_confidence_sounds_are_uncertain_not_missed(embed: Any) -> None:
    from captioning.captions.options import CaptionOptions

    analysis = dataclasses.replace(scene(), events=(
        event(2.0, 2.6, "glass_shatter", -15.0, 0.9), event(9.2, 9.5, "sound", -15.0, 0.03)))
    report = run(analysis, "WEBVTT\n\n00:00:15.000 --> 00:00:16.000\nHello.\n", embed)
    assert report.options["min_confidence"] == CaptionOptions().min_confidence  # the caption track's threshold
    assert labels(report.missed) == {"glass_shatter"}
    assert [(u.event.event.label, u.suggested_cue.text) for u in report.uncertain] == [("sound", "[sudden noise]")]
    assert report.n_salient == 1 and report.coverage == 0.0
    data = report.to_dict()
    assert data["summary"]["uncertain"] == 1 and data["uncertain"][0]["event"]["label"] == "sound"
    jsonschema.validate(data, json.loads(data_text("audit.schema.json")))
    # asked to count every detection, the audit reports it missing again
    everything = run(analysis, "WEBVTT\n\n00:00:15.000 --> 00:00:16.000\nHello.\n", embed, min_confidence=0.0)
    assert labels(everything.missed) == {"glass_shatter", "sound"} and everything.uncertain == ()
    # the CSV and the page list it too, apart from the missed sounds
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert [(r["label"], r["status"]) for r in rows] == [("glass_shatter", "missed"), ("sound", "uncertain")]
    page = render_html(report)
    assert page.index("<h2>Missed sounds</h2>") < page.index("[glass shatters]") < page.index(
        "<h2>Uncertain sounds</h2>") < page.index("[sudden noise]")


def test_a_cue_naming_the_source_of_a_sound_covers_it(embed: Any) -> None:
    analysis = dataclasses.replace(scene(), events=(event(0.415, 1.0, "weights_drop", -15.0, 0.95),))
    report = run(analysis, "WEBVTT\n\n00:00:00.400 --> 00:00:01.500\n[barbell drops]\n", embed)
    assert labels(report.covered) == {"weights_drop"} and report.naming == () and report.unsupported == ()
    # a different sound at the same time is still not a description of it
    other = run(analysis, "WEBVTT\n\n00:00:00.400 --> 00:00:01.500\n[dog barking]\n", embed)
    assert other.covered == () and labels(other.naming) == {"weights_drop"}


def test_cues_past_the_media_end_are_warned_about(embed: Any) -> None:
    tail = ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n[someone knocking]\n\n"
            "00:00:19.500 --> 00:00:21.500\n[door slams]\n")
    (warning,) = run(scene(), tail, embed).warnings  # the scene lasts 20 s
    assert warning.startswith("1 cue ends more than 1 s after the media ends (20.000 s; the last at 21.500 s)")
    assert run(scene(), tail, embed, collar_s=2.0).warnings == ()
    assert run(scene(), SCENE_VTT, embed).warnings == ()


def test_a_cue_past_the_media_end_is_a_violation_and_one_ending_with_it_may_be_short(embed: Any) -> None:
    def rules(end: str) -> set[tuple[str, int]]:
        vtt = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n[someone knocking]\n\n00:00:19.800 --> {end}\n[door slams]\n"
        return {(v.rule, v.index) for v in run(scene(), vtt, embed).violations}  # the scene lasts 20 s

    # ending with the media, 0.2 s on screen is all the programme leaves: not under the minimum duration
    assert not rules("00:00:20.000") & {("min_duration", 2), ("reading_speed", 2), ("past_media_end", 2)}
    assert ("past_media_end", 2) in rules("00:00:20.500")  # within the 1 s collar: no warning, but a violation
    # the cue suggested for a sound missed at the very end ends with the media too
    late = dataclasses.replace(scene(), events=(event(19.8, 19.95, "glass_shatter", -15.0),))
    (missed,) = run(late, "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello.\n", embed).missed
    assert (missed.suggested_cue.start, missed.suggested_cue.end) == (19.8, 20.0)
