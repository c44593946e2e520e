"""Every kind of WebVTT file we write passes the W3C WebVTT parser (npm ``webvtt-parser``, run with node).

Needs node and ``npm ci --prefix tests/js``; skips (saying so) only when node or the package is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from captions_factory import JS_DIR, VOCAB, random_analysis, scene

from captioning.captions import CaptionOptions, write_captions

NODE = shutil.which("node")
VALIDATOR = JS_DIR / "validate.js"

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install -y nodejs)"),
    pytest.mark.skipif(not (JS_DIR / "node_modules" / "webvtt-parser").is_dir(),
                       reason="webvtt-parser is not installed (run: npm ci --prefix tests/js)"),
]

#: What the W3C validator says about HLS's X-TIMESTAMP-MAP header line (Apple's extension to WebVTT,
#: which HLS players require and the W3C syntax does not know); nothing else is allowed.
HLS_HEADER_ERROR = {"message": "No blank line after the signature.", "line": 2}


def validate(files: list[Path], *, metadata: bool = False) -> list[dict[str, Any]]:
    assert NODE is not None and files
    cmd = [NODE, str(VALIDATOR), *(["--metadata"] if metadata else []), *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    report: list[dict[str, Any]] = json.loads(proc.stdout)
    return report


def test_validator_catches_broken_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.vtt"
    bad.write_text("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nbackwards\n\n00:00:00.500 --> 00:00:01.000\nx\n")
    (report,) = validate([bad])
    assert {e["message"] for e in report["errors"]} >= {
        "End timestamp is not greater than start timestamp.",
        "Start timestamp is not greater than or equal to start timestamp of previous cue."}


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every kind of caption output, for every style, on the scene and on dense random event lists."""
    root = tmp_path_factory.mktemp("w3c")
    dialogue = root / "dialogue.vtt"
    dialogue.write_text("WEBVTT\n\n00:00:00.500 --> 00:00:02.500\n<v Ann>Who's there? &amp; why?</v>\n\n"
                        "00:00:13.000 --> 00:00:16.000\nDid you hear that?\n", encoding="utf-8")
    cases = [("scene", scene(), {}), ("r0", random_analysis(0), {"line": "0"}),
             ("r1", random_analysis(1), {"min_confidence": 0.0}),
             ("r2", random_analysis(2, n=150, duration=90.0),
              {"include_low_confidence": True, "line": "85%"})]
    for style in ("netflix", "dcmp", "bbc"):
        for name, a, kw in cases:
            options = CaptionOptions(style=style, dialogue=dialogue, hls=True,
                                     **kw)  # type: ignore[arg-type]
            write_captions(a, root / style / name, options, vocabulary=VOCAB)
    return root


def test_every_caption_track_has_zero_errors(produced: Path) -> None:
    files = sorted(p for p in produced.rglob("*.vtt") if not p.name.endswith(".metadata.vtt")
                   and p.name != "dialogue.vtt")
    assert len(files) == 3 * 4 * 3  # captions, sdh, sounds for 3 styles x 4 event lists
    report = validate(files)
    assert [r for r in report if r["errors"]] == []
    assert sum(r["cues"] for r in report) > 500


def test_every_metadata_track_has_zero_errors(produced: Path) -> None:
    files = sorted(produced.rglob("*.metadata.vtt"))
    assert len(files) == 12
    report = validate(files, metadata=True)
    assert [r for r in report if r["errors"]] == []


def test_hls_segments_only_differ_by_the_timestamp_map_header(produced: Path) -> None:
    files = sorted(produced.rglob("hls/*.webvtt"))
    assert len(files) > 60
    report = validate(files)
    for r in report:
        assert [{k: e[k] for k in ("message", "line")} for e in r["errors"]] == [HLS_HEADER_ERROR], r["file"]
    assert sum(r["cues"] for r in report) > 500
