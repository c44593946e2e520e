"""Remux: the input video with the Foley track and the sound captions added, with PyAV (issue 11).

The video is not decoded: its packets are copied as they are (``add_stream_from_template`` + ``mux``), so the
picture is bit-for-bit the input's. The output holds, in this order:

    video      every video stream of the input (cover art left out), packets copied
    audio      the Foley track, first and default, titled "Foley (soundcue)", language ``zxx`` (ISO 639-2: no
               linguistic content); AAC in MP4/Matroska, Opus in WebM (which allows no AAC)
    audio      the input's own audio tracks, copied, no longer default (left out with ``replace_audio``)
    subtitle   the sound captions: ``mov_text`` (3GPP Timed Text) in MP4, WebVTT in Matroska/WebM, language
               ``eng``, marked for the hearing impaired; the input's own subtitle streams are copied when the
               output container can carry them

The container follows the input's (:func:`video_container`): MP4 for MP4/MOV, WebM for WebM, Matroska for
Matroska and for anything else (AVI, MPEG-TS, ...), and Matroska too when MP4 or WebM cannot carry one of
the streams to copy. Data streams (timecodes) and attachments are left out. Every stream keeps its place on
the input's timeline: the Foley track's sample 0 and the captions' time 0 are at the media's time 0, the
container-clock time ``origin_s`` (:attr:`captioning.events.MediaInfo.start_time`).

Packets go out in time order as they are made (the input's packets as demuxed, the Foley track as it is
encoded block by block), so a 1-hour video is never held in memory.
"""

from __future__ import annotations

import functools
import heapq
import html
import io
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
from av.subtitles.codeccontext import SubtitleCodecContext
from av.subtitles.subtitle import SubtitleSet

from captioning.captions.model import Cue
from captioning.errors import InvalidOptionsError, MediaDecodeError, MediaError
from captioning.options import option
from captioning.progress import ProgressHook, no_progress

log = logging.getLogger("captioning")

#: Output container (FFmpeg muxer name) -> file suffix.
SUFFIXES: dict[str, str] = {"mp4": ".mp4", "matroska": ".mkv", "webm": ".webm"}
#: Output container -> (Foley audio codec, caption subtitle codec). WebM allows only Opus/Vorbis audio.
CODECS: dict[str, tuple[str, str]] = {"mp4": ("aac", "mov_text"), "matroska": ("aac", "webvtt"),
                                      "webm": ("libopus", "webvtt")}
#: Foley encoder bit rate per channel, bit/s (AAC-LC at 96 kbit/s a channel is transparent for most
#: listeners; Opus reaches that at about 64 kbit/s a channel: https://wiki.xiph.org/Opus_Recommended_Settings).
BIT_RATE_PER_CHANNEL: dict[str, int] = {"aac": 96_000, "libopus": 64_000}
FOLEY_TITLE = "Foley (soundcue)"
FOLEY_LANGUAGE = "zxx"  # ISO 639-2 "no linguistic content": sound effects
CAPTIONS_TITLE = "Sound captions (SDH)"
CAPTIONS_LANGUAGE = "eng"
#: Samples a block when reading a Foley file (:func:`read_audio_blocks`): 1 s at 48 kHz.
BLOCK_FRAMES = 48_000

# The ASS header FFmpeg's text subtitle encoders read the cue style from (mov_text and webvtt refuse to open
# without one). Format lines as the ASS v4+ specification gives them; one "Default" style.
_ASS_HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


@dataclass(frozen=True)
class RemuxOptions:
    """How the remuxed video (the output "video") is made.

    Attributes:
        replace_audio: leave the input's own audio tracks out, so the Foley track is the only audio (default:
            keep them, after the Foley track, not default).
    """

    replace_audio: bool = option(False, help="In the remuxed video, replace the original audio with the Foley "
                                             "track (default: keep it as a second audio track).")


@dataclass(frozen=True)
class _Plan:
    container: str
    video: tuple[av.stream.Stream, ...]
    audio: tuple[av.stream.Stream, ...]
    subtitles: tuple[av.stream.Stream, ...]


@functools.cache
def _supported(container: str) -> frozenset[str]:
    """Codec names the ``container`` muxer accepts (FFmpeg's ``avformat_query_codec``)."""
    with av.open(io.BytesIO(), "w", format=container) as out:
        return frozenset(out.supported_codecs)


def _is_picture(s: av.stream.Stream) -> bool:
    return bool(int(s.disposition) & (av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails))


def _codec(s: av.stream.Stream) -> str:
    return s.codec_context.name if s.codec_context is not None else ""


def _fits(container: str, streams: Iterable[av.stream.Stream]) -> bool:
    supported = _supported(container)
    return all(_codec(s) in supported for s in streams)


def _plan(container: av.container.InputContainer, name: str, replace_audio: bool) -> _Plan:
    video = tuple(s for s in container.streams.video if not _is_picture(s))
    if not video:
        raise InvalidOptionsError(f"{name}: no video stream to remux the Foley track into; ask for the Foley "
                                  "audio track alone (--audio, or the output 'audio')")
    audio = () if replace_audio else tuple(container.streams.audio)
    copied = (*video, *audio)
    fmt = container.format.name.split(",")
    suffix = Path(name).suffix.lower()
    if "mp4" in fmt or "mov" in fmt:
        choice = "mp4" if _fits("mp4", copied) else "matroska"
    elif "webm" in fmt and suffix != ".mkv" and _fits("webm", copied):
        choice = "webm"
    else:
        choice = "matroska"
    misfits = sorted({_codec(s) for s in copied if not _fits(choice, [s])})
    if misfits:  # Matroska takes nearly every codec; what it refuses (GIF, raw images) no container here takes
        raise MediaError(f"{name}: its {' and '.join(misfits)} stream cannot be copied into a video file with the "
                         "Foley track (MP4, Matroska or WebM); ask for the Foley audio track alone (--audio, or "
                         "the output 'audio')")
    subtitles = tuple(s for s in container.streams.subtitles if _fits(choice, [s]))
    return _Plan(choice, video, audio, subtitles)


def video_container(source: Path, *, name: str | None = None, replace_audio: bool = False) -> str:
    """The container :func:`remux` writes for ``source``: ``"mp4"``, ``"webm"`` or ``"matroska"``.

    MP4 for MP4/MOV input, WebM for WebM, Matroska otherwise, and Matroska whenever the chosen container
    cannot carry a stream to copy (e.g. PCM audio of a MOV in MP4). Matroska and WebM share one demuxer, so
    ``name`` (the file's name as the user gave it; default ``source.name``) tells them apart by its suffix;
    without one, a Matroska file whose streams WebM allows (VP8/VP9/AV1, Opus/Vorbis) stays WebM.

    Raises:
        MediaError: ``source`` cannot be opened as media, or a stream to copy fits none of the three
            containers (an animated GIF's video).
        InvalidOptionsError: ``source`` has no video stream (an audio file has nothing to remux into).
    """
    with _open(source) as container:
        return _plan(container, name or source.name, replace_audio).container


def _open(source: Path) -> av.container.InputContainer:
    try:
        return av.open(str(source), "r")
    except FileNotFoundError as e:
        raise MediaError(f"{source}: no such file (the remuxed video needs the original media file)") from e
    except av.FFmpegError as e:
        raise MediaDecodeError(f"{source}: cannot be read as media for the remux: {e}") from e


def _ass_text(cue: Cue, codec: str) -> str:
    """A cue's lines as ASS dialogue text: ``\\N`` between lines, ``{\\i1}...{\\i0}`` for italics.

    FFmpeg's WebVTT encoder writes the text as it is, so ``&``, ``<`` and ``>`` become character references
    there (as in captions.vtt); "{" opens an ASS override block and no encoder has an escape for it, so braces
    are shown as parentheses.
    """
    out = []
    for line in cue.lines:
        text = line.text.replace("{", "(").replace("}", ")").replace("\n", " ")
        if codec == "webvtt":
            text = html.escape(text, quote=False)
        out.append(f"{{\\i1}}{text}{{\\i0}}" if line.italic else text)
    return "\\N".join(out)


def _subtitle_packets(stream: av.stream.Stream, cues: Sequence[Cue], origin_s: float) -> list[av.Packet[Any]]:
    ctx = cast(SubtitleCodecContext, stream.codec_context)
    tb = stream.time_base
    assert tb is not None  # set when the header is written
    packets = []
    for k, cue in enumerate(cues):
        start = round((origin_s + cue.start_ms / 1000) / tb)
        duration = max(1, round(cue.duration_ms / 1000 / tb))
        # FFmpeg's ASS event: ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV, Effect, Text
        event = f"{k},0,Default,,0,0,0,,{_ass_text(cue, ctx.name)}".encode()
        packet = ctx.encode_subtitle(SubtitleSet.create(event, 0, duration, start))
        packet.stream = stream
        packet.pts = packet.dts = start
        packet.duration = duration
        packet.time_base = tb
        packets.append(packet)
    return packets


def _foley_packets(stream: av.AudioStream, blocks: Iterable[np.ndarray], sample_rate: int, channels: int,
                   origin_s: float) -> Iterator[av.Packet[Any]]:
    layout = "stereo" if channels == 2 else "mono"
    pts = round(origin_s * sample_rate)
    tb = Fraction(1, sample_rate)
    for block in blocks:
        # (n, channels) interleaved frames -> (channels, n) planes
        planes = np.ascontiguousarray(np.asarray(block, dtype=np.float32).reshape(-1, channels).T)
        if planes.shape[1] == 0:
            continue
        frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = sample_rate, pts, tb
        pts += planes.shape[1]
        yield from stream.encode(frame)
    yield from stream.encode(None)


def _seconds(packet: av.Packet[Any]) -> float:
    ts = packet.dts if packet.dts is not None else packet.pts
    return float(ts * packet.time_base) if ts is not None and packet.time_base is not None else 0.0


def remux(source: Path, target: Path, foley: Iterable[np.ndarray], *, sample_rate: int, channels: int,
          cues: Sequence[Cue] = (), replace_audio: bool = False, origin_s: float | None = None,
          name: str | None = None, container: str | None = None, hook: ProgressHook | None = None) -> Path:
    """Write ``source`` with the Foley track (and ``cues`` as a subtitle stream) added to ``target``, atomically.

    Parameters:
        source: the original media file (local path).
        target: the file to write; its suffix should be ``SUFFIXES[container]``.
        foley: the Foley track as float32 blocks, each shape=(n, channels) (or shape=(n,) for mono) as
            :func:`captioning.foley.render.foley_blocks` yields them, samples at ``sample_rate`` Hz, -1..1,
            sample 0 at media time 0; read lazily, block by block.
        sample_rate: the Foley track's sample rate, Hz (Opus in WebM is encoded at 48 kHz, resampled).
        channels: 1 or 2.
        cues: the sound captions (times in ms of media time), sorted and non-overlapping.
        replace_audio: leave the input's own audio tracks out (the Foley track is the only audio).
        origin_s: the container-clock time of media time 0 (``MediaInfo.start_time``); None: the input's start.
        name: the input's name as the user gave it (picks Matroska or WebM by its suffix; default the path's).
        container: ``"mp4"``, ``"matroska"`` or ``"webm"``; None: :func:`video_container`'s choice.
        hook: progress, as seconds of the input's timeline muxed (stage ``"remux"``).

    Returns:
        ``target``.

    Raises:
        MediaError: ``source`` cannot be read, or its streams cannot be copied into the container.
        InvalidOptionsError: ``source`` has no video stream, or ``channels`` is not 1 or 2.
    """
    if channels not in (1, 2):
        raise InvalidOptionsError(f"the Foley track must have 1 or 2 channels, got {channels}")
    hook = hook or no_progress
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _open(source) as inp:
            plan = _plan(inp, name or source.name, replace_audio)
            fmt = container or plan.container
            if fmt != plan.container and not _fits(fmt, (*plan.video, *plan.audio)):
                raise MediaError(f"{source}: its streams cannot be copied into {fmt}")
            origin = origin_s if origin_s is not None else (
                inp.start_time / av.time_base if inp.start_time is not None else 0.0)
            total = inp.duration / av.time_base if inp.duration else 0.0
            _write(inp, tmp, fmt, plan, foley, sample_rate, channels, cues, origin, total, hook)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except av.FFmpegError as e:
        raise MediaError(f"{source}: the remux failed: {e}") from e
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write(inp: av.container.InputContainer, tmp: Path, fmt: str, plan: _Plan, foley: Iterable[np.ndarray],
           sample_rate: int, channels: int, cues: Sequence[Cue], origin: float, total: float,
           hook: ProgressHook) -> None:
    audio_codec, subtitle_codec = CODECS[fmt]
    with av.open(str(tmp), "w", format=fmt) as out:
        copies: dict[int, av.stream.Stream] = {}
        for s in plan.video:
            copies[s.index] = out.add_stream_from_template(s)
            copies[s.index].disposition = s.disposition  # Matroska would otherwise clear "default"
        rate = 48_000 if audio_codec == "libopus" else sample_rate
        foley_stream = cast(av.AudioStream, out.add_stream(audio_codec, rate=rate))
        foley_stream.layout = "stereo" if channels == 2 else "mono"
        foley_stream.bit_rate = BIT_RATE_PER_CHANNEL[audio_codec] * channels
        foley_stream.metadata["title"] = FOLEY_TITLE
        foley_stream.metadata["handler_name"] = FOLEY_TITLE  # the track name some MP4 players show
        foley_stream.metadata["language"] = FOLEY_LANGUAGE
        foley_stream.disposition = av.stream.Disposition.default
        for s in plan.audio:
            copy = out.add_stream_from_template(s)
            copy.disposition = av.stream.Disposition(int(s.disposition) & ~int(av.stream.Disposition.default))
            copies[s.index] = copy
        subs = None
        if cues:
            subs = out.add_stream(subtitle_codec)
            cast(SubtitleCodecContext, subs.codec_context).subtitle_header = _ASS_HEADER.encode()
            subs.metadata["title"] = CAPTIONS_TITLE
            subs.metadata["handler_name"] = CAPTIONS_TITLE
            subs.metadata["language"] = CAPTIONS_LANGUAGE
            subs.disposition = av.stream.Disposition.hearing_impaired
        for s in plan.subtitles:
            copies[s.index] = out.add_stream_from_template(s)
            copies[s.index].disposition = s.disposition
        out.start_encoding()

        def copied() -> Iterator[av.Packet[Any]]:
            for packet in inp.demux(*(inp.streams[i] for i in copies)):
                if packet.size == 0 or (packet.dts is None and packet.pts is None):
                    continue  # demuxer flush packets
                t = _seconds(packet)
                packet.stream = copies[packet.stream.index]
                yield packet
                hook("remux", completed=min(max(t - origin, 0.0), total), total=total)

        sources: list[Iterable[av.Packet[Any]]] = [copied(), _foley_packets(foley_stream, foley, sample_rate, channels,
                                                                      origin)]
        if subs is not None:
            sources.append(_subtitle_packets(subs, cues, origin))
        for packet in heapq.merge(*sources, key=_seconds):
            out.mux(packet)
    hook("remux", completed=total, total=total)


def read_audio_blocks(path: Path, block_frames: int = BLOCK_FRAMES) -> tuple[int, int, Iterator[np.ndarray]]:
    """Decode an audio file lazily into float32 blocks for :func:`remux`.

    Returns:
        ``(sample_rate, channels, blocks)``: Hz, 1 or 2 (more are mixed down to stereo), and an iterator of
        shape=(n, channels) float32 arrays (n about ``block_frames``, -1..1), read as it is consumed.

    Raises:
        MediaDecodeError: the file cannot be decoded or has no audio stream.
    """
    try:
        container = av.open(str(path), "r")
    except av.FFmpegError as e:
        raise MediaDecodeError(f"{path}: cannot be read as audio: {e}") from e
    if not container.streams.audio:
        container.close()
        raise MediaDecodeError(f"{path}: has no audio stream")
    stream = container.streams.audio[0]
    rate = stream.codec_context.sample_rate
    channels = 1 if stream.codec_context.channels == 1 else 2
    resampler = av.AudioResampler(format="fltp", layout="mono" if channels == 1 else "stereo", rate=rate)

    def blocks() -> Iterator[np.ndarray]:
        pending: list[np.ndarray] = []
        held = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray())
                    held += pending[-1].shape[1]
                    if held >= block_frames:
                        yield np.concatenate(pending, axis=1).T.astype(np.float32)
                        pending, held = [], 0
            for out in resampler.resample(None):
                pending.append(out.to_ndarray())
            if pending:
                yield np.concatenate(pending, axis=1).T.astype(np.float32)
        except av.FFmpegError as e:
            raise MediaDecodeError(f"{path}: cannot be decoded: {e}") from e
        finally:
            container.close()

    return rate, channels, blocks()
