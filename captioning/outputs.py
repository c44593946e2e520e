"""Write every requested output of one Analysis into a directory: one place for the CLI and the service.

All files are written atomically (temp file in the same directory, then ``os.replace``), so a failure
never leaves a half-written file where a finished one is expected.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from captioning.errors import InvalidOptionsError
from captioning.events import Analysis
from captioning.progress import ProgressHook, no_progress

if TYPE_CHECKING:
    from captioning.captions.hls import VideoRendition
    from captioning.captions.model import Cue
    from captioning.captions.options import CaptionOptions
    from captioning.foley.options import FoleyOptions
    from captioning.foley.remux import RemuxOptions
    from captioning.foley.render import FoleyReport
    from captioning.haptics.model import HapticOptions

#: Output families a caller can ask for. "audio" is the Foley track, "video" the input remuxed with it.
OUTPUTS: tuple[str, ...] = ("events", "captions", "haptics", "timeline", "audio", "video")
#: Foley audio format -> file suffix of the "audio" output (AAC goes in an MPEG-4 audio file).
AUDIO_SUFFIXES: dict[str, str] = {"wav": ".wav", "mp3": ".mp3", "aac": ".m4a"}


@dataclass(frozen=True)
class OutputOptions:
    """Which outputs to write and how.

    Attributes:
        outputs: names from :data:`OUTPUTS`; "events" (events.json) is always written.
        captions: caption options (None: defaults; media-dependent ones are resolved per analysis).
        haptics: haptic options (None: defaults).
        foley: Foley options for the "audio" and "video" outputs (None: defaults).
        remux: options of the "video" output (None: defaults).
    """

    outputs: frozenset[str] = frozenset({"events", "captions"})
    captions: CaptionOptions | None = None
    haptics: HapticOptions | None = None
    foley: FoleyOptions | None = None
    remux: RemuxOptions | None = None

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
                  hls_video: VideoRendition | None = None, source: Path | None = None,
                  hook: ProgressHook | None = None,
                  on_foley_report: Callable[[FoleyReport], None] | None = None) -> dict[str, Path]:
    """Write the requested outputs of ``analysis`` into ``out_dir``; returns file name -> path.

    ``hls/`` files are named by their path (e.g. ``hls/captions.m3u8``). The Foley outputs: "audio" is
    ``foley.wav``, ``foley.mp3`` or ``foley.m4a`` (per ``options.foley.audio_format``), exactly as long as the
    media; "video" is ``video.mp4``, ``video.mkv`` or ``video.webm`` (:func:`captioning.foley.remux.remux`: the
    input with the Foley track and the caption cues added, the picture copied).

    Parameters:
        hls_video: see :func:`captioning.captions.write_captions`.
        source: the media file the "video" output remuxes (default: ``analysis.media.path``).
        hook: progress of the Foley outputs, in seconds of media time (stages ``"foley"`` and ``"remux"``).
        on_foley_report: called with the Foley render's :class:`~captioning.foley.FoleyReport` (achieved
            loudness, true peak, whether the target was met and why not), when a Foley output is written.

    Raises:
        InvalidOptionsError: "video" asked for an input that is not a local file or has no video stream
            (checked before anything is written).
        CaptioningError: an output cannot be rendered (see each renderer).
    """
    options = options or OutputOptions()
    replace_audio = options.remux is not None and options.remux.replace_audio
    remux_from = _remux_source(analysis, source, replace_audio) if "video" in options.outputs else None
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = [write_text_atomic(out_dir / "events.json", analysis.to_json() + "\n")]
    # the cues of captions.vtt (also drawn on the timeline) and of the remuxed video's subtitle stream, built once
    tracks = None
    if {"captions", "timeline", "video"} & options.outputs:
        from captioning.captions import build_caption_tracks

        tracks = build_caption_tracks(analysis, options.captions)
    if "captions" in options.outputs:
        from captioning.captions import write_captions

        written += write_captions(analysis, out_dir, options.captions, hls_video=hls_video, tracks=tracks)
    haptic_track = None
    if "haptics" in options.outputs or "timeline" in options.outputs:
        from captioning.haptics import render_haptics, write_haptics

        haptic_track = render_haptics(analysis, options.haptics)
        if "haptics" in options.outputs:
            written += write_haptics(analysis, out_dir, options.haptics)
    if "timeline" in options.outputs:
        from captioning.timeline import plot_timeline

        written.append(plot_timeline(analysis, out_dir / "timeline.png", haptics=haptic_track,
                                     cues=tracks.track.cues if tracks is not None else None))
    if "audio" in options.outputs or remux_from is not None:
        written += _write_foley_outputs(analysis, out_dir, options, remux_from, hook or no_progress,
                                        on_foley_report, tracks.subtitle_cues if tracks is not None else ())
    return _by_name(written, out_dir)


def _remux_source(analysis: Analysis, source: Path | None, replace_audio: bool) -> tuple[Path, str]:
    """The local media file the remux reads, and the container it writes (refused early if impossible)."""
    from captioning.foley.remux import video_container

    path = source if source is not None else Path(analysis.media.path)
    if (source is None and "://" in analysis.media.path) or not path.is_file():
        raise InvalidOptionsError(f"{analysis.media.path}: the remuxed video needs the original media as a local "
                                  "file; give write_outputs its path (source=...)")
    return path, video_container(path, name=analysis.media.path, replace_audio=replace_audio)


def _write_foley_outputs(analysis: Analysis, out_dir: Path, options: OutputOptions,
                         remux_from: tuple[Path, str] | None, hook: ProgressHook,
                         on_report: Callable[[FoleyReport], None] | None = None,
                         cues: Sequence[Cue] = ()) -> list[Path]:
    """The "audio" output and the "video" output from one render: with both, each block of the track is
    encoded into the audio file as the remux takes it. ``cues``: the video's subtitle stream
    (:func:`subtitle_cues`)."""
    from captioning.foley.encode import Encoder, atomic_path
    from captioning.foley.options import FoleyOptions
    from captioning.foley.remux import SUFFIXES, RemuxOptions, remux
    from captioning.foley.render import foley_blocks, foley_report

    foley = options.foley or FoleyOptions()
    total = analysis.media.duration
    audio = out_dir / f"foley{AUDIO_SUFFIXES[foley.audio_format]}" if "audio" in options.outputs else None

    def rendered(fraction: float) -> None:
        hook("foley", completed=min(max(fraction, 0.0), 1.0) * total, total=total)

    rendered(0.0)
    if remux_from is None:
        assert audio is not None
        report = foley_report(analysis, audio, foley, progress=rendered)
        if on_report is not None:
            on_report(report)
        return [audio]
    source, container = remux_from
    video = out_dir / f"video{SUFFIXES[container]}"
    remux_options = options.remux or RemuxOptions()
    with contextlib.ExitStack() as stack:
        rendering = cast(Generator[np.ndarray, None, None], foley_blocks(analysis, foley, progress=rendered,
                                                                             on_report=on_report))
        stack.callback(rendering.close)  # its temporary files go even when the remux stops early
        blocks: Iterator[np.ndarray] = rendering
        if audio is not None:
            encoder = stack.enter_context(Encoder(stack.enter_context(atomic_path(audio)), foley.audio_format,
                                                 foley.sample_rate, foley.channels))
            blocks = _teed(blocks, encoder.write)
        remux(source, video, blocks, sample_rate=foley.sample_rate, channels=foley.channels, cues=cues,
              replace_audio=remux_options.replace_audio, origin_s=analysis.media.start_time,
              name=analysis.media.path, container=container, hook=hook)
    return [p for p in (audio, video) if p is not None]


def _teed(blocks: Iterable[np.ndarray], sink: Callable[[np.ndarray], None]) -> Iterator[np.ndarray]:
    for block in blocks:
        sink(block)
        yield block


def subtitle_cues(analysis: Analysis, options: CaptionOptions | None = None) -> tuple[Cue, ...]:
    """The cues the remuxed video carries as its subtitle stream: the sound captions of captions.vtt, merged
    with the dialogue (as captions.sdh.vtt) when ``options.dialogue`` is given
    (:attr:`~captioning.captions.CaptionTracks.subtitle_cues`)."""
    from captioning.captions import build_caption_tracks

    return build_caption_tracks(analysis, options).subtitle_cues


def _by_name(paths: Iterable[Path], out_dir: Path) -> dict[str, Path]:
    return {str(p.relative_to(out_dir)): p for p in paths}
