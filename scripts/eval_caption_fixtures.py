"""Read real-world caption fixtures with our reader and checker (and the W3C validator when node is there).

    python scripts/eval_caption_fixtures.py [--dir ../shared/data/captions] [--frame-rate 25] [--json]

For each WebVTT/SRT file: whether the strict reader accepts it, how many cues a player-like (lenient) read
gets and how many blocks it skips, how many look like sound cues ("[door slams]", "(deep rumbling)"), and
the checker's violations per rule for every style. Other formats (SSA, TTML) are listed as unsupported.
Skips cleanly (exit 0) when the fixture folder is missing; exits 1 only if the reader or checker crashes
with something other than CaptionFormatError (a bug).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captioning.captions import STYLES, check_captions, read_captions  # noqa: E402
from captioning.captions.reader import parse_lenient, read_text  # noqa: E402
from captioning.errors import CaptionFormatError  # noqa: E402

DEFAULT_DIR = Path(os.environ.get("SOUNDCUE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "captions"
VALIDATOR = ROOT / "tests" / "js" / "validate.js"
SOUND_CUE = re.compile(r"^\s*[\[(][^\])]+[\])]\s*$")


def w3c_errors(path: Path) -> int | None:
    node = shutil.which("node")
    if node is None or not (VALIDATOR.parent / "node_modules" / "webvtt-parser").is_dir():
        return None
    proc = subprocess.run([node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=60,
                          check=False)
    if proc.returncode not in (0, 1):
        return None
    return len(json.loads(proc.stdout)[0]["errors"])


def evaluate(path: Path, frame_rate: float) -> dict[str, Any]:
    row: dict[str, Any] = {"file": path.name}
    t0 = time.perf_counter()
    try:
        cues, skipped = parse_lenient(read_text(path), name=str(path))
    except CaptionFormatError as e:
        row["status"] = f"unsupported: {str(e).split(': ', 1)[-1]}"
        return row
    try:
        read_captions(path)
        row["strict"] = "ok"
    except CaptionFormatError as e:
        row["strict"] = str(e).split(": ", 1)[-1]
    row["status"] = "read"
    row["cues"] = len(cues)
    row["skipped"] = skipped
    row["sound_cues"] = sum(any(SOUND_CUE.match(line.text) for line in c.lines) for c in cues)
    row["violations"] = {
        style: dict(collections.Counter(v.rule for v in check_captions(path, style, frame_rate=frame_rate)))
        for style in STYLES
    }
    row["seconds"] = round(time.perf_counter() - t0, 3)
    if path.suffix.lower() == ".vtt":
        row["w3c_errors"] = w3c_errors(path)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder of caption fixtures")
    parser.add_argument("--frame-rate", type=float, default=25.0, help="frames/s for the 2-frame gap rule")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of a table")
    args = parser.parse_args()
    if not args.dir.is_dir():
        print(f"skipped: no caption fixtures at {args.dir}")
        return 0
    rows = [evaluate(p, args.frame_rate) for p in sorted(args.dir.iterdir()) if p.is_file()]
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    for r in rows:
        if r["status"] != "read":
            print(f"{r['file']}: {r['status']}")
            continue
        print(f"{r['file']}: {r['cues']} cues ({r['sound_cues']} sound cues), {r['skipped']} blocks skipped, "
              f"strict reader: {r['strict']}, W3C errors: {r.get('w3c_errors', '-')}, {r['seconds']} s")
        for style, counts in r["violations"].items():
            listed = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
            print(f"    {style:8s} violations: {listed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
