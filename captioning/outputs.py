"""Write every requested output of one Analysis into a directory: one place for the CLI and the service.

All files are written atomically (temp file in the same directory, then ``os.replace``), so a failure
never leaves a half-written file where a finished one is expected.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from captioning.errors import InvalidOptionsError
from captioning.events import Analysis

if TYPE_CHECKING:
    from captioning.captions.hls import VideoRendition
    from captioning.captions.options import CaptionOptions
    from captioning.haptics.model import HapticOptions

#: Output families a caller can ask for.
OUTPUTS: tuple[str, ...] = ("events", "captions", "haptics", "timeline")


@dataclass(frozen=True)
class OutputOptions:
    """Which outputs to write and how.

    Attributes:
        outputs: names from :data:`OUTPUTS`; "events" (events.json) is always written.
        captions: caption options (None: defaults; media-dependent ones are resolved per analysis).
        haptics: haptic options (None: defaults).
    """

    outputs: frozenset[str] = frozenset({"events", "captions"})
    captions: CaptionOptions | None = None
    haptics: HapticOptions | None = None

    def __post_init__(self) -> None:
        unknown = set(self.outputs) - set(OUTPUTS)
        if unknown:
            raise InvalidOptionsError(f"unknown outputs {sorted(unknown)}; choose from {list(OUTPUTS)}")


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8, no BOM) to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A temporary directory beside its final place, with ordinary permissions (mkdtemp makes 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_outputs(analysis: Analysis, out_dir: Path, options: OutputOptions | None = None, *,
                  hls_video: VideoRendition | None = None) -> dict[str, Path]:
    """Write the requested outputs of ``analysis`` into ``out_dir``; returns file name -> path (``hls/`` files
    by their path, e.g. ``hls/captions.m3u8``). ``hls_video``: see :func:`captioning.captions.write_captions`."""
    options = options or OutputOptions()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = [write_text_atomic(out_dir / "events.json", analysis.to_json() + "\n")]
    if "captions" in options.outputs:
        from captioning.captions import write_captions

        written += write_captions(analysis, out_dir, options.captions, hls_video=hls_video)
    haptic_track = None
    if "haptics" in options.outputs or "timeline" in options.outputs:
        from captioning.haptics import render_haptics, write_haptics

        haptic_track = render_haptics(analysis, options.haptics)
        if "haptics" in options.outputs:
            written += write_haptics(analysis, out_dir, options.haptics)
    if "timeline" in options.outputs:
        from captioning.timeline import plot_timeline

        written.append(plot_timeline(analysis, out_dir / "timeline.png", haptics=haptic_track))
    return _by_name(written, out_dir)


def _by_name(paths: Iterable[Path], out_dir: Path) -> dict[str, Path]:
    return {str(p.relative_to(out_dir)): p for p in paths}
