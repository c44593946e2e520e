"""The SoundEvent/Analysis contract and the package's public surface."""

from __future__ import annotations

import dataclasses
import json
import types

import pytest

import captioning
from captioning.events import Analysis, MediaInfo, SoundEvent, StreamInfo, sort_events


def _ev(start: float, end: float, label: str = "door_slam") -> SoundEvent:
    return SoundEvent(start=start, end=end, label=label, caption="door slams", category="door",
                      confidence=0.8, loudness=-20.0, audioset=("Slam", "Door"),
                      audioset_ids=("/m/07rjzl8", "/m/02dgv"))


def test_events_are_frozen_and_validated() -> None:
    ev = _ev(1.0, 1.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.start = 2.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        _ev(2.0, 1.0)
    with pytest.raises(ValueError):
        dataclasses.replace(ev, confidence=1.5)


def test_json_round_trip_rounds_to_ms() -> None:
    media = MediaInfo(path="a.mp4", duration=10.0, format="mp4",
                      streams=(StreamInfo(index=0, type="audio", codec="aac", sample_rate=48000, channels=2),))
    a = Analysis(media=media, events=sort_events([_ev(3.0001234, 3.5), _ev(1.0, 2.0)]), models={"tagger": "x"})
    d = json.loads(a.to_json())
    assert d["events"][0]["start"] == 1.0 and d["events"][1]["start"] == 3.0
    assert [e["id"] for e in d["events"]] == ["e0001", "e0002"]
    back = Analysis.from_dict(d)
    assert back.events[1].audioset == ("Slam", "Door") and back.media.streams[0].sample_rate == 48000


def test_public_names_match_all() -> None:
    # submodules (captioning.media, captioning.detection, ...) appear once imported; they are not names of __all__
    public = {n for n in dir(captioning) if not n.startswith("_")
              and not isinstance(getattr(captioning, n), types.ModuleType)}
    assert public == set(captioning.__all__)
