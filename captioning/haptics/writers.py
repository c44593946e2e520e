"""Writers for the haptic outputs: one small class per file over one renderer each, plus a registry.

Writers take an open text stream (tests write to ``io.StringIO``); :func:`write_haptics` writes every
file of one analysis atomically (temp file in the same directory, then ``os.replace``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TextIO

from captioning.errors import InvalidOptionsError
from captioning.events import Analysis
from captioning.haptics.ahap import to_ahap
from captioning.haptics.android import to_android
from captioning.haptics.cuejson import to_cue_json
from captioning.haptics.mapping import render_haptics
from captioning.haptics.model import HapticOptions, HapticTrack
from captioning.haptics.web import to_web


class HapticWriter:
    """Base class: render a track to a JSON document and write it to a stream."""

    filename: ClassVar[str]

    def render(self, track: HapticTrack) -> dict[str, Any]:
        raise NotImplementedError

    def write(self, track: HapticTrack, file: TextIO) -> None:
        json.dump(self.render(track), file, indent=1, ensure_ascii=False)
        file.write("\n")

    def dumps(self, track: HapticTrack) -> str:
        buf = io.StringIO()
        self.write(track, buf)
        return buf.getvalue()


class WriteCueJSON(HapticWriter):
    filename = "haptics.json"

    def render(self, track: HapticTrack) -> dict[str, Any]:
        return to_cue_json(track)


class WriteAHAP(HapticWriter):
    filename = "haptics.ahap"

    def render(self, track: HapticTrack) -> dict[str, Any]:
        return to_ahap(track)


class WriteAndroid(HapticWriter):
    filename = "haptics.android.json"

    def render(self, track: HapticTrack) -> dict[str, Any]:
        return to_android(track)


class WriteWeb(HapticWriter):
    filename = "haptics.web.json"

    def render(self, track: HapticTrack) -> dict[str, Any]:
        return to_web(track)


#: Haptic output formats by name.
WRITERS: Mapping[str, type[HapticWriter]] = {
    "json": WriteCueJSON, "ahap": WriteAHAP, "android": WriteAndroid, "web": WriteWeb,
}


def get_writer(fmt: str) -> HapticWriter:
    """The writer for one format name (``json``, ``ahap``, ``android``, ``web``)."""
    try:
        return WRITERS[fmt]()
    except KeyError as e:
        raise InvalidOptionsError(f"unknown haptic format {fmt!r}; choose from {list(WRITERS)}") from e


def write_haptics(
    analysis: Analysis, out_dir: Path, options: HapticOptions | Mapping[str, Any] | None = None
) -> list[Path]:
    """Render the haptics of ``analysis`` and write every format into ``out_dir``.

    Returns:
        Paths of ``haptics.json``, ``haptics.ahap``, ``haptics.android.json`` and ``haptics.web.json``.

    Raises:
        InvalidOptionsError: an option is out of range.
    """
    from captioning.outputs import write_text_atomic

    track = render_haptics(analysis, options)
    out_dir = Path(out_dir)
    return [
        write_text_atomic(out_dir / writer.filename, writer().dumps(track)) for writer in WRITERS.values()
    ]
