"""The dev-set scoring used by scripts/eval_dev.py, checked on hand-made cases with known answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from _evalcommon import (  # noqa: E402
    ACCEPTED,
    OTHER,
    PRF,
    PredEvent,
    RefEvent,
    check_floors,
    describes_background,
    event_based,
    match_onsets,
    naive_events,
    read_class_names,
    read_predictions,
    read_reference_tsv,
    score_file,
    summarize,
    unknown_names,
    yamnet_class_map,
)


def test_every_accepted_name_is_a_yamnet_class() -> None:
    names = read_class_names(yamnet_class_map())
    assert len(names) == 521
    assert unknown_names(names) == []
    assert unknown_names([*names[:-1], "Barking dog"]) != []


def test_ontology_roots_never_name_a_dev_label() -> None:
    for accepted in ACCEPTED.values():
        assert not accepted & {"Animal", "Wild animals", "Domestic animals, pets", "Vehicle", "Tools"}


def test_onset_matching_prefers_more_pairs_then_smaller_errors() -> None:
    # Greedy nearest-first would pair 1.3 with 1.15 and leave only one pair.
    assert match_onsets([1.0, 1.3], [1.15, 1.45]) == [(0, 0), (1, 1)]
    # One-to-one, nearest estimate wins, far ones stay unmatched.
    assert match_onsets([1.0, 2.0], [1.15, 1.05, 5.0]) == [(0, 1)]
    # The collar is inclusive at 200 ms and exclusive beyond it.
    assert match_onsets([1.0], [1.2]) == [(0, 0)]
    assert match_onsets([1.0], [1.25]) == []
    assert match_onsets([], [1.0]) == []
    forbid = np.array([[False]])
    assert match_onsets([1.0], [1.0], allowed=forbid) == []


def test_labelled_match_counts_only_the_first_three_names() -> None:
    refs = [RefEvent(1.0, 2.0, "dog_bark"), RefEvent(5.0, 6.0, "door")]
    preds = [
        PredEvent(1.05, 1.9, ("Bark", "Dog", "Animal")),
        PredEvent(5.1, 6.0, ("Animal", "Wild animals", "Domestic animals, pets", "Door")),  # 4th: no
    ]
    s = score_file(refs, preds, None)
    assert s.agnostic_prf.tp == 2 and s.agnostic_prf.fp == 0
    assert s.labelled == ((0, 0),)
    assert s.labelled_prf.tp == 1 and s.labelled_prf.fp == 1 and s.labelled_prf.fn == 1
    assert s.pred_labels == ("dog_bark", OTHER)


def test_unmatched_background_descriptions_are_dropped_and_counted() -> None:
    refs = [RefEvent(1.0, 2.0, "bird_song"), RefEvent(8.0, 9.0, "cough")]
    preds = [
        PredEvent(1.1, 2.0, ("Bird", "Animal")),  # matches the bird reference: a true positive
        PredEvent(4.0, 5.0, ("Chirp, tweet", "Bird")),  # the birdsong bed: dropped
        PredEvent(0.0, 20.0, ("Wind",), background=True),  # flagged ambience: dropped
        PredEvent(6.0, 7.0, ("Bird", "Dog")),  # says "dog" too: a false positive
        PredEvent(8.05, 8.5, ("Cough",)),
        PredEvent(12.0, 13.0, ("Animal",)),  # a root alone describes nothing: a false positive
    ]
    s = score_file(refs, preds, "birds")
    assert len(s.dropped_background) == 2
    assert s.agnostic_prf == PRF(tp=2, fp=2, fn=0)
    assert s.labelled_prf.tp == 2
    # The same birdsong on a ship recording is not background.
    assert not describes_background(PredEvent(4.0, 5.0, ("Chirp, tweet", "Bird")), "ship")
    assert describes_background(PredEvent(4.0, 5.0, ("Environmental noise",)), None)


def test_summary_from_files_matches_hand_count(tmp_path: Path) -> None:
    tsv = tmp_path / "a.tsv"
    tsv.write_text("onset\toffset\tevent_label\tsource\tsnr_db\n"
                   "1.000\t2.000\tdog_bark\tx\t10\n3.000\t3.500\tdoor\tx\t10\n7.000\t8.000\tsheep\tx\t10\n")
    events = {"schema_version": "1.0", "media": {}, "models": {}, "options": {}, "events": [
        {"start": 1.010, "end": 1.95, "label": "dog_bark", "audioset": ["Bark", "Dog"], "background": False},
        {"start": 3.030, "end": 4.5, "label": "knock", "audioset": ["Knock"], "background": False},
        {"start": 10.0, "end": 11.0, "label": "car", "audioset": ["Car"], "background": False},
    ]}
    ej = tmp_path / "events.json"
    ej.write_text(json.dumps(events))
    s = score_file(read_reference_tsv(tsv), read_predictions(ej), None)
    summary = summarize([s])
    ag, lab = summary["onset_agnostic"], summary["onset_labelled"]
    assert (ag["tp"], ag["fp"], ag["fn"]) == (2, 1, 1)
    assert ag["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert (lab["tp"], lab["fp"], lab["fn"]) == (1, 2, 2)
    assert summary["median_abs_onset_error_ms"] == pytest.approx(20.0)
    # Event-based: the knock's offset (4.5 vs 3.5) is beyond max(0.2, 0.5 * 0.5) s.
    eb = summary["event_based_agnostic"]
    assert (eb["tp"], eb["fp"], eb["fn"]) == (1, 2, 2)
    assert summary["event_based_labelled"]["tp"] == 1
    assert summary["per_label"]["dog_bark"]["recall_labelled"] == 1.0
    assert summary["per_label"]["door"]["recall_agnostic"] == 1.0
    assert summary["per_label"]["door"]["recall_labelled"] == 0.0


def test_event_based_offset_tolerance_scales_with_length() -> None:
    refs = [RefEvent(0.0, 4.0, "sawing")]
    ok = score_file(refs, [PredEvent(0.1, 5.9, ("Sawing",))], None)  # 1.9 s late < 50 % of 4 s
    late = score_file(refs, [PredEvent(0.1, 6.5, ("Sawing",))], None)
    assert event_based([ok], labelled=True).tp == 1
    assert event_based([late], labelled=True).tp == 0


def test_floors_report_pass_and_fail() -> None:
    summary = {"onset_agnostic": {"f1": 0.7, "precision": 0.6, "recall": 0.8},
               "onset_labelled": {"f1": 0.2}, "median_abs_onset_error_ms": 25.0}
    passed = {name: ok for name, _, _, _, ok in check_floors(summary)}
    assert passed == {"onset_agnostic.f1": True, "onset_agnostic.precision": True,
                      "onset_agnostic.recall": True, "onset_labelled.f1": False,
                      "median_abs_onset_error_ms": True}


def test_naive_baseline_merges_adjacent_windows_per_class() -> None:
    probs = np.zeros((6, 3), np.float32)
    probs[1:4, 0] = 0.9  # windows 1..3 -> one event
    probs[5, 0] = 0.6
    probs[2, 2] = 0.5  # at the threshold counts
    probs[3, 1] = 0.49
    ev = naive_events(probs, ["Dog", "Cat", "Bark"])
    got = [(e.start, e.end, e.audioset) for e in ev]
    assert got == [(0.48, 2.4, ("Dog",)), (0.96, 1.92, ("Bark",)), (2.4, 3.36, ("Dog",))]


def test_background_kind_comes_from_the_recording_name() -> None:
    from _evalcommon import background_kind

    name = "wesnoth-1.16-data:usr/share/games/wesnoth/1.16/data/core/sounds/ambient/birds2.ogg"
    assert background_kind(name) == "birds"
    assert background_kind("pkg:sounds/ambient/ship.ogg") == "ship"
    assert background_kind("pkg:sounds/ambient/traffic.ogg") is None


def test_eval_script_skips_cleanly_without_the_dev_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import eval_dev

    assert eval_dev.main([str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 0
    assert "Skipping" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
