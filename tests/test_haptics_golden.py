"""Golden files: the four haptic outputs of the known event list (tests/haptics_cases.py).

The files under tests/data/haptics_golden/ were generated once and reviewed by hand. After an intended
change, regenerate them with ``SOUNDCUE_UPDATE_GOLDEN=1 pytest tests/test_haptics_golden.py`` and review
the diff before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from haptics_cases import VOCAB, known_events

from captioning.haptics import WRITERS, HapticOptions, render_haptics

GOLDEN = Path(__file__).parent / "data" / "haptics_golden"
CASES = [(profile, fmt) for profile in ("standard", "calm") for fmt in WRITERS]


@pytest.mark.parametrize(("profile", "fmt"), CASES)
def test_outputs_match_golden_files(profile: str, fmt: str) -> None:
    track = render_haptics(known_events(), HapticOptions(profile=profile), vocabulary=VOCAB)  # type: ignore[arg-type]
    writer = WRITERS[fmt]()
    text = writer.dumps(track)
    path = GOLDEN / profile / writer.filename
    if os.environ.get("SOUNDCUE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert json.loads(text) == expected
