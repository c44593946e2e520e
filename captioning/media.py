"""Media I/O: probe and validate an input, then decode its audio ONCE as a stream of 16 kHz mono chunks.

This is the only module that touches PyAV containers and time bases; everything downstream sees float
seconds of media time and float32 samples. Decoding streams: a 1-hour file is never held in memory.

Media time (issue 9): 0 is the earliest start of the streams a player presents (audio, and video that is
not cover art), i.e. the container start that players show as 00:00:00. Decoded audio is placed on that
timeline by its own timestamps, not by counting samples: an audio track muxed 2 s after the video starts
with 2 s of silence, a hole in its timestamps becomes silence, overlapping timestamps are dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import filetype
import numpy as np

from captioning.analysis.types import ANALYSIS_SHORT_SIDE, VideoFrame
from captioning.errors import InvalidOptionsError, MediaDecodeError, MediaNotFoundError, NoAudioStreamError
from captioning.events import MediaInfo, StreamInfo
from captioning.paths import input_problem

#: Bytes :func:`sniff` reads: enough for every signature `filetype` knows.
SNIFF_BYTES = 262


def sniff(head: bytes) -> str | None:
    """Why the first bytes of a file are not audio/video, or None if they may be.

    Unknown signatures pass (the decoder decides); known non-media formats (images, archives,
    documents, HTML) are refused here, before any decoding.
    """
    if not head:
        return "the file is empty"
    kind = filetype.guess(head)
    if kind is not None and not kind.mime.startswith(("audio/", "video/")) and kind.mime != "application/ogg":
        return f"the file is {kind.mime}, not audio or video"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype", b"<html", b"<?xml", b"{", b"[")):
        return "the file is text (HTML, XML or JSON), not audio or video"
    if all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "the file is plain text, not audio or video"
    return None

logger = logging.getLogger("captioning")

ANALYSIS_SAMPLE_RATE = 16000  # Hz, what the audio models expect
CHUNK_S = 10.0  # seconds of audio per yielded chunk
#: Audio whose timeline ends before this fraction of its declared end is truncated.
TRUNCATION_RATIO = 0.9
#: More undecodable audio packets than this and the file is refused as damaged.
MAX_DAMAGED_PACKETS = 50
#: Timestamp gaps or overlaps up to this many seconds are jitter (ms time bases), not holes.
GAP_TOLERANCE_S = 0.01
#: A timestamp going back further than this (s) is a reset (spliced streams), not an overlap to drop.
MAX_OVERLAP_S = 1.0
#: Seconds of the running channel correlation that decides a channel's polarity in the mono mix.
POLARITY_WINDOW_S = 1.0
#: Channels whose running correlation with the loudest channel is below minus this are mixed inverted.
ANTIPHASE_CORRELATION = 0.5
#: With more than two channels of unknown layout, channels this far (power ratio) below the loudest
#: one count as unused and do not dilute the mix.
UNUSED_CHANNEL_POWER = 1e-4
#: Packets read at most to find the analysed audio stream's first timestamp.
FIRST_PACKET_SCAN = 20000
#: A stream start this far (s) from its first packet's timestamp was filled in by FFmpeg, not read.
FILLED_IN_S = 0.1
#: Video frames larger than this (pixels, width x height) are not decoded for analysis: 8192x8192, above
#: 8K (7680x4320); one such frame is 100 MB as decoded YUV 4:2:0, and the decoder holds a few at a time.
MAX_FRAME_PIXELS = 8192 * 8192
#: Dispositions of audio tracks that are not the programme sound (picked only when asked for).
SECONDARY_AUDIO = frozenset({"comment", "visual_impaired", "hearing_impaired", "descriptions", "karaoke",
                             "lyrics"})


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def probe(path: str | Path, *, audio_stream: int | None = None) -> MediaInfo:
    """Open ``path`` and describe it, without decoding.

    Parameters:
        path: the media file.
        audio_stream: container index of the audio stream to analyse; None picks the default-disposition
            audio track (else the first that is not commentary or audio description).

    Returns:
        The streams, with times in seconds of media time (see :class:`MediaInfo`), and the audio stream
        chosen in ``audio_stream``.

    Raises:
        MediaNotFoundError: the path cannot be read as a file: missing, a directory, a FIFO or device, a
            symbolic link loop, or permission denied (see :func:`captioning.paths.input_problem`).
        MediaDecodeError: the file is not a media file PyAV can open, or is a truncated WAV.
        InvalidOptionsError: ``audio_stream`` is not the index of an audio stream of this file.
    """
    p = Path(path)
    problem = input_problem(p, "media file")
    if problem is not None:
        raise MediaNotFoundError(f"{p}: {problem}")
    try:
        with av.open(str(p)) as container:
            origin = _timeline_origin(container)
            streams = tuple(_stream_info(s, origin) for s in container.streams)
            chosen = _pick_audio(p, streams, audio_stream)
            if chosen is not None:
                streams = _with_first_timestamp(container, streams, chosen, origin)
            duration = _declared_end(container, origin)
            fmt = container.format.name
            if _is_still_image(fmt):
                codec = container.streams.video[0].codec_context.name if container.streams.video else fmt
                raise MediaDecodeError(f"{p}: the file is a still image ({codec}), not audio or video")
    except av.FFmpegError as e:
        with p.open("rb") as f:
            why = sniff(f.read(SNIFF_BYTES))
        if why is not None:
            raise MediaDecodeError(f"{p}: {why}") from e
        raise MediaDecodeError(f"{p}: not a readable media file ({_reason(e)}{_ffmpeg_says(p)})") from e
    if duration is None:
        known = [(s.start or 0.0) + s.duration for s in streams if s.duration]
        duration = max(known) if known else 0.0
    if not streams:
        raise MediaDecodeError(f"{p}: the file holds no audio or video streams")
    if fmt == "wav":
        declared = _wav_declared_seconds(p)
        if declared is not None and declared > duration * (1 / TRUNCATION_RATIO):
            raise MediaDecodeError(f"{p}: file is truncated (holds {duration:.1f} s of audio, its header "
                                   f"declares {declared:.1f} s)")
    return MediaInfo(path=str(p), duration=float(duration), format=fmt, streams=streams,
                     size_bytes=os.path.getsize(p), audio_stream=chosen, start_time=origin)


def _is_still_image(format_name: str) -> bool:
    """Whether FFmpeg opened the file with one of its single-image demuxers (``png_pipe``, ``jpeg_pipe``, ...,
    ``image2``): a picture holds no media time to analyse. Animated formats (``gif``, ``apng``, ``webp``) pass."""
    return format_name.endswith("_pipe") or format_name in ("image2", "image2pipe", "ico")


def _disposition(s: av.stream.Stream) -> tuple[str, ...]:
    flags = int(s.disposition)
    return tuple(d.name for d in av.stream.Disposition if d.name and flags & d.value)


def _is_picture(s: av.stream.Stream) -> bool:
    return bool(int(s.disposition) & (av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails))


def _timeline_origin(container: av.container.InputContainer) -> float:
    """Container-clock seconds of media time 0: the earliest start of the audio and (non-picture) video."""
    starts = [_seconds(s.start_time, s.time_base) for s in container.streams
              if s.type in ("audio", "video") and not _is_picture(s)]
    known = [t for t in starts if t is not None]
    if known:
        return min(known)
    return container.start_time / av.time_base if container.start_time is not None else 0.0


def _declared_end(container: av.container.InputContainer, origin: float) -> float | None:
    """The end of the file the container declares, in seconds of media time (None if it declares none).

    FFmpeg's duration runs from the container start, except Matroska's: there it is the segment's
    Duration, which muxers write as the last timestamp, so a file starting at 10 s would be 10 s too long.
    """
    if not container.duration:
        return None
    start = container.start_time / av.time_base if container.start_time is not None else origin
    if container.format.name.startswith("matroska"):
        start = 0.0
    return max(0.0, start + container.duration / av.time_base - origin)


def _with_first_timestamp(container: av.container.InputContainer, streams: tuple[StreamInfo, ...], index: int,
                          origin: float) -> tuple[StreamInfo, ...]:
    """``streams`` with the start of stream ``index`` read from its first packet.

    FFmpeg gives a stream whose first packet lies past its probing window the container's start time and
    duration (audio muxed 5 s after the video in Matroska reads as 0 s to the end of the file), so the
    analysed stream's start is taken from its first packet, read within the first FIRST_PACKET_SCAN packets
    of the file; when that differs, FFmpeg's duration for the stream was a fill-in too and is dropped.
    """
    for k, packet in enumerate(container.demux()):
        if k >= FIRST_PACKET_SCAN:
            break
        ts = packet.pts if packet.pts is not None else packet.dts
        if packet.stream.index == index and ts is not None:
            start = round(float(ts * packet.time_base) - origin, 6)
            return tuple(_started_at(s, start) if s.index == index else s for s in streams)
    return streams


def _started_at(stream: StreamInfo, start: float) -> StreamInfo:
    if stream.start is not None and abs(stream.start - start) > FILLED_IN_S:
        return dataclasses.replace(stream, start=start, duration=None)
    return dataclasses.replace(stream, start=start)


def _pick_audio(path: Path, streams: Sequence[StreamInfo], requested: int | None) -> int | None:
    """Index of the audio stream to analyse: ``requested``, else the programme track a player would play."""
    if requested is not None:
        chosen = next((s for s in streams if s.index == requested), None)
        if chosen is None or chosen.type != "audio":
            what = "there is no such stream" if chosen is None else f"stream {requested} is {chosen.type}"
            raise InvalidOptionsError(
                f"{path}: audio_stream={requested} is not an audio stream ({what}); the file's streams: "
                f"{'; '.join(s.describe() for s in streams)}")
        return requested
    audio = [s for s in streams if s.type == "audio"]
    if not audio:
        return None
    best = max(audio, key=lambda s: (s.is_default, not SECONDARY_AUDIO.intersection(s.disposition), -s.index))
    return best.index


def _wav_declared_seconds(path: Path) -> float | None:
    """Duration a RIFF/WAVE header declares (FFmpeg sizes WAVs from the file length, hiding truncation)."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = 0
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"fmt ":
                fmt = f.read(size)
                byte_rate = int.from_bytes(fmt[8:12], "little") if len(fmt) >= 12 else 0
                continue
            if cid == b"data":
                if byte_rate <= 0 or size in (0, 0xFFFFFFFF):
                    return None  # streamed WAVs leave the size unset
                return size / byte_rate
            f.seek(size + (size & 1), os.SEEK_CUR)


def _ffmpeg_says(path: Path) -> str:
    """What FFmpeg logged when it refused to open ``path`` ("; FFmpeg: ..."), or "".

    Its error codes can mislead ("Device or resource busy" for a picture size it rejects), its log says why;
    PyAV keeps FFmpeg's log off, so it is switched on (errors only) for one more attempt.
    """
    before = av.logging.get_level()
    try:
        av.logging.set_level(av.logging.ERROR)
        with av.logging.Capture(local=True) as logs, contextlib.suppress(av.FFmpegError):
            av.open(str(path)).close()
    finally:
        av.logging.set_level(before)
    said = [msg.strip() for level, _, msg in logs if level <= av.logging.ERROR and msg.strip()]
    return f"; FFmpeg: {said[-1]}" if said else ""


def _reason(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).rstrip(".")


def _stream_info(s: av.stream.Stream, origin: float) -> StreamInfo:
    codec = s.codec_context.name if s.codec_context is not None else "unknown"
    start = _seconds(s.start_time, s.time_base)
    info = StreamInfo(
        index=s.index, type=s.type, codec=codec, duration=_seconds(s.duration, s.time_base),
        start=round(start - origin, 6) if start is not None else None, disposition=_disposition(s),
        language=s.language if s.language not in (None, "und") else None, title=s.metadata.get("title"),
    )
    if isinstance(s, av.AudioStream):
        a = s.codec_context
        return dataclasses.replace(info, sample_rate=a.sample_rate or None, channels=a.channels or None)
    if isinstance(s, av.VideoStream):
        v = s.codec_context
        rate = None if _is_picture(s) else s.average_rate or s.guessed_rate  # cover art has no frame rate
        return dataclasses.replace(info, width=v.width or None, height=v.height or None,
                                   fps=round(float(rate), 3) if rate else None)
    return info


@dataclass(frozen=True)
class AudioChunk:
    """A run of decoded analysis audio: ``samples`` start at ``start`` seconds of media time."""

    start: float
    samples: np.ndarray  # shape=(n,), float32, mono, ANALYSIS_SAMPLE_RATE
    stereo: np.ndarray | None = None  # shape=(2, n) left/right for stereo sources (for pan), else None


def iter_audio(
    info: MediaInfo, *, sample_rate: int = ANALYSIS_SAMPLE_RATE, chunk_s: float = CHUNK_S
) -> Iterator[AudioChunk]:
    """Decode the chosen audio stream (``info.audio``) of a probed file into mono float32 chunks.

    The audio half of :func:`iter_media` (same guarantees and errors).
    """
    for item in iter_media(info, audio=True, video=False, sample_rate=sample_rate, chunk_s=chunk_s):
        assert isinstance(item, AudioChunk)
        yield item


def iter_media(
    info: MediaInfo, *, audio: bool = True, video: bool = False, sample_rate: int = ANALYSIS_SAMPLE_RATE,
    chunk_s: float = CHUNK_S, short_side: int = ANALYSIS_SHORT_SIDE,
) -> Iterator[AudioChunk | VideoFrame]:
    """ONE demux and decode pass over a probed file: audio chunks and video frames, on the media timeline.

    Audio (``audio=True``): the chosen stream (``info.audio``) as contiguous mono float32 chunks from media
    time 0 (see :class:`MediaInfo`): sample ``i`` is at ``i / sample_rate`` s of media time, whatever the
    stream's start time, timestamp holes or edit lists. Any channel count is mixed down; the mono mix keeps
    sounds whose channels are in opposite polarity. Memory stays bounded by ``chunk_s``.

    Video (``video=True``): every decoded frame of the first real video stream (``info.video``; cover art is
    not video) as a :class:`VideoFrame`: upright (the stream's display rotation applied), RGB, downscaled
    so its short side is at most ``short_side`` pixels, timed by its presentation timestamp in media
    seconds (variable frame rates keep their real spacing). Frames are yielded as they are decoded, at most
    the file's audio/video interleaving ahead of the audio, so memory does not grow with duration.

    Items of the two kinds are interleaved in decoding order; each kind is in time order.

    Raises:
        NoAudioStreamError: ``audio`` is asked for and the file has no audio stream.
        MediaDecodeError: decoding fails, or the file is truncated (its timeline ends well before the end
            it declares).
        ValueError: neither ``audio`` nor ``video`` is asked for.
    """
    if not (audio or video):
        raise ValueError("iter_media needs audio=True or video=True")
    track = info.audio
    if audio and track is None:
        raise NoAudioStreamError(f"{info.path}: no audio stream (streams: "
                                 f"{', '.join(s.type for s in info.streams) or 'none'})")
    picture = info.video if video else None
    if picture is not None and (picture.width or 0) * (picture.height or 0) > MAX_FRAME_PIXELS:
        raise MediaDecodeError(_too_large(info.path, picture.width or 0, picture.height or 0))
    chunk_len = int(round(chunk_s * sample_rate))
    pending: list[np.ndarray] = []  # each shape=(1, n) mono or (3, n) mono, left, right
    pending_n = 0
    emitted = 0  # samples yielded so far
    extent = _Extent(info.start_time)
    what = "audio" if not video else "video" if not audio else "media"
    try:
        with av.open(info.path) as container:
            stream = None
            if audio and track is not None:
                stream = next(s for s in container.streams.audio if s.index == track.index)
                stream.codec_context.thread_type = "AUTO"
            frames_out = _VideoOut(container, picture, info.start_time, short_side)
            if stream is None:  # pictures only
                for packet in container.demux(*([container.streams[frames_out.index]]
                                                 if frames_out.index is not None else [])):
                    extent.note(packet)
                    frames_out.decode(packet)
                    yield from frames_out.take()
                frames_out.finish(container)
                yield from frames_out.take()
            else:
                frames = _float_frames(_decoded_frames(container, stream, extent, frames_out))
                timeline = _on_timeline(frames, info.start_time, info.duration, info.path)
                for block in _mixed(_resampled(_coalesced(timeline), sample_rate), sample_rate):
                    yield from frames_out.take()
                    pending.append(block)
                    pending_n += block.shape[1]
                    while pending_n >= chunk_len:
                        buf = np.concatenate(pending, axis=1)
                        yield _chunk(emitted / sample_rate, buf[:, :chunk_len])
                        emitted += chunk_len
                        rest = buf[:, chunk_len:]
                        pending, pending_n = ([rest] if rest.shape[1] else []), rest.shape[1]
                yield from frames_out.take()
    except av.FFmpegError as e:
        raise MediaDecodeError(f"{info.path}: {what} cannot be decoded ({_reason(e)})") from e
    if pending_n:
        yield _chunk(emitted / sample_rate, np.concatenate(pending, axis=1))
        emitted += pending_n
    if audio and track is not None:
        _check_complete(info, track, emitted / sample_rate, extent.end)


class _VideoOut:
    """Decodes the packets of the analysed video stream into VideoFrames, held until :meth:`take`."""

    def __init__(self, container: av.container.InputContainer, stream: StreamInfo | None, origin: float,
                 short_side: int) -> None:
        self.name = container.name
        self.index = stream.index if stream is not None else None
        self.origin = origin
        self.short_side = short_side
        self.ready: list[VideoFrame] = []
        self.count = 0
        self.bad = 0
        # one scaler for the whole stream, single-threaded: a fresh frame.reformat() builds (and, with
        # FFmpeg's automatic threads, starts threads for) a new SwsContext per frame, 2-3 ms at 720p
        # against 0.6 ms reused; the decoder's own threads keep the second core busy meanwhile
        self.scaler = av.video.reformatter.VideoReformatter()
        if self.index is not None:
            vs = container.streams[self.index]
            vs.codec_context.thread_type = "AUTO"

    def decode(self, packet: av.Packet[Any]) -> None:
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            self.bad += 1
            return
        for f in frames:
            if isinstance(f, av.VideoFrame):
                self._add(f)

    def _add(self, f: av.VideoFrame) -> None:
        t = _seconds(f.pts, f.time_base)
        if t is None or f.width <= 0 or f.height <= 0:
            return
        if f.width * f.height > MAX_FRAME_PIXELS:  # the stream grew past its declared size
            raise MediaDecodeError(_too_large(self.name, f.width, f.height))
        scale = min(1.0, self.short_side / min(f.width, f.height))
        w = max(2, int(round(f.width * scale / 2)) * 2)
        h = max(2, int(round(f.height * scale / 2)) * 2)
        rgb: np.ndarray = self.scaler.reformat(f, width=w, height=h, format="rgb24", interpolation="FAST_BILINEAR",
                                               threads=1).to_ndarray()
        turns = int(round((f.rotation or 0) / 90)) % 4
        if turns:  # FFmpeg's display rotation is in counter-clockwise degrees: turn the picture as players do
            rgb = np.ascontiguousarray(np.rot90(rgb, turns))
        self.ready.append(VideoFrame(index=self.count, t=round(t - self.origin, 6), rgb=rgb))
        self.count += 1

    def finish(self, container: av.container.InputContainer) -> None:
        """Drain the decoder's last frames (B-frame reordering) and report skipped damaged packets."""
        if self.index is None:
            return
        try:
            vs = container.streams[self.index]
            assert isinstance(vs, av.VideoStream)
            for f in vs.decode(None):
                if isinstance(f, av.VideoFrame):
                    self._add(f)
        except av.FFmpegError:
            pass
        if self.bad:
            logger.warning("%s: skipped %d damaged video packet(s)", container.name, self.bad)

    def take(self) -> Iterator[VideoFrame]:
        out, self.ready = self.ready, []
        yield from out


def _too_large(path: str, width: int, height: int) -> str:
    return (f"{path}: its video frames are {width}x{height} pixels, more than the visual analysis decodes "
            f"({MAX_FRAME_PIXELS // 1_000_000} megapixels, e.g. 8192x8192); analyse its sound alone (--no-visual)")


def _chunk(start: float, rows: np.ndarray) -> AudioChunk:
    """An AudioChunk from shape=(1, n) mono or shape=(3, n) mono, left, right float samples."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    return AudioChunk(start, rows[0], rows[1:] if rows.shape[0] == 3 else None)


def _check_complete(info: MediaInfo, audio: StreamInfo, audio_end: float, file_end: float) -> None:
    """Refuse a truncated file: its timeline (not its sample count) ends well before the declared end.

    The audio stream is held to its own declared length when the container states one (MP4, MP3);
    otherwise (Matroska) the file as a whole is held to the container's, so a soundtrack legitimately
    shorter than the video is not taken for a truncated file.
    """
    if audio.duration:  # FFmpeg fills unknown stream durations in with the container's: cap at its end
        reached, declared, what = audio_end, min((audio.start or 0.0) + audio.duration, info.duration), "its audio ends"
    else:
        reached, declared, what = max(audio_end, file_end), info.duration, "its streams end"
    if declared > 1.0 and reached < TRUNCATION_RATIO * declared:
        raise MediaDecodeError(f"{info.path}: file is truncated or damaged ({what} at {reached:.1f} s of "
                               f"media time, the file declares {declared:.1f} s)")


class _Extent:
    """How far the file's packets reach, in seconds of media time (for the truncation check)."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.end = 0.0

    def note(self, packet: av.Packet[Any]) -> None:
        ts = packet.pts if packet.pts is not None else packet.dts
        end = _seconds(ts + (packet.duration or 0) if ts is not None else None, packet.time_base)
        if end is not None:
            self.end = max(self.end, end - self.origin)


def _decoded_frames(container: av.container.InputContainer, stream: av.AudioStream,
                    extent: _Extent, video: _VideoOut | None = None) -> Iterator[av.AudioFrame]:
    """Audio frames in order; a damaged packet is skipped with a warning, as players do.

    Every stream is demuxed (only ``stream``, and the video stream of ``video`` if any, are decoded) so
    ``extent`` learns where the file ends. Decoded video frames wait in ``video`` for the caller.
    """
    bad = 0
    pictures = {s.index for s in container.streams if _is_picture(s)}
    for packet in container.demux():
        if video is not None and packet.stream.index == video.index:
            extent.note(packet)
            video.decode(packet)
            continue
        if packet.stream.index != stream.index:
            if packet.stream.index not in pictures:
                extent.note(packet)
            continue
        extent.note(packet)
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            bad += 1
            if bad > MAX_DAMAGED_PACKETS:
                raise MediaDecodeError(f"{container.name}: the audio is damaged (more than "
                                       f"{MAX_DAMAGED_PACKETS} undecodable packets)") from None
            continue
        yield from (f for f in frames if isinstance(f, av.AudioFrame))
    if video is not None:
        video.finish(container)
    if bad:
        logger.warning("%s: skipped %d damaged audio packet(s); the result may miss sounds there",
                       container.name, bad)


def _float_frames(frames: Iterable[av.AudioFrame]) -> Iterator[tuple[float | None, int, np.ndarray]]:
    """(time in container seconds or None, sample rate, shape=(n_channels, n) float32) per decoded frame.

    Layouts FFmpeg knows (5.1, 7.1, ...) are mixed down to stereo by FFmpeg, as before; a layout it does not
    know (a 32-channel WAV without channel mask) keeps its channels for :func:`_mixed`, since FFmpeg
    refuses to remix an unknown layout. Packed float output: PyAV cannot read more than 8 planes.
    """
    converter: av.AudioResampler | None = None
    setup: tuple[str, str, int] | None = None
    for frame in frames:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if key != setup:
            converter, setup = None, key
        n_ch = frame.layout.nb_channels
        if converter is None:
            known = all(c.name != "NONE" for c in frame.layout.channels)
            target = "stereo" if n_ch > 2 and known else frame.layout.name
            converter = av.AudioResampler(format="flt", layout=target, rate=frame.sample_rate)
            try:
                out = converter.resample(frame)
            except av.FFmpegError:  # a named layout FFmpeg cannot remix (e.g. ambisonics): keep the channels
                converter = av.AudioResampler(format="flt", layout=frame.layout.name, rate=frame.sample_rate)
                out = converter.resample(frame)
        else:
            out = converter.resample(frame)
        for o in out:  # same rate: no delay, one frame out per frame in
            n_out = o.layout.nb_channels
            planes = o.to_ndarray().reshape(-1, n_out).T  # packed (1, n * ch) -> (ch, n)
            yield _seconds(frame.pts, frame.time_base), frame.sample_rate, np.ascontiguousarray(planes)


def _on_timeline(frames: Iterable[tuple[float | None, int, np.ndarray]], origin: float, end_s: float,
                 name: str) -> Iterator[tuple[int, np.ndarray]]:
    """Place frames by their timestamps on the media timeline: contiguous (rate, planes) runs from 0.

    Silence fills a gap (stream start after media time 0, holes); samples before 0 or before the
    previous frame's end are dropped. Differences up to GAP_TOLERANCE_S are timestamp rounding. A jump
    back of more than MAX_OVERLAP_S, or past the declared end, is a timestamp reset: the audio continues
    where it was, with a warning.
    """
    pos = 0  # samples placed so far, at `rate`
    rate = 0
    shift = 0.0  # seconds added to timestamps after a reset
    for t, sr, planes in frames:
        if sr != rate:
            pos, rate = (round(pos * sr / rate) if rate else 0), sr
        if t is not None:
            at = round((t - origin + shift) * sr)
            gap = at - pos
            back = pos > 0 and gap < -MAX_OVERLAP_S * sr
            if back or (gap > 0 and end_s > 0 and at / sr > end_s + MAX_OVERLAP_S):
                logger.warning("%s: audio timestamps jump from %.3f s to %.3f s; continuing without a gap",
                               name, pos / sr, at / sr)
                shift += (pos - at) / sr
                gap = 0
            tolerance = GAP_TOLERANCE_S * sr
            if gap > tolerance:
                for k in range(0, gap, sr):  # at most 1 s of silence at a time: memory stays flat
                    yield sr, np.zeros((planes.shape[0], min(sr, gap - k)), np.float32)
                pos += gap
            elif gap < -tolerance:
                planes = planes[:, -gap:]
        if planes.shape[1]:
            yield sr, planes
            pos += planes.shape[1]


def _coalesced(runs: Iterable[tuple[int, np.ndarray]], min_s: float = 0.1) -> Iterator[tuple[int, np.ndarray]]:
    """Join short runs (20 ms Opus frames) into runs of at least ``min_s``: less per-call overhead."""
    held: list[np.ndarray] = []
    held_n, setup = 0, (0, 0)
    for sr, planes in runs:
        if held and (sr, planes.shape[0]) != setup:
            yield setup[0], np.concatenate(held, axis=1)
            held, held_n = [], 0
        setup = (sr, planes.shape[0])
        held.append(planes)
        held_n += planes.shape[1]
        if held_n >= min_s * sr:
            yield sr, np.concatenate(held, axis=1) if len(held) > 1 else held[0]
            held, held_n = [], 0
    if held:
        yield setup[0], np.concatenate(held, axis=1)


def _resampled(runs: Iterable[tuple[int, np.ndarray]], rate: int) -> Iterator[np.ndarray]:
    """Contiguous shape=(n_channels, n) runs at any rate -> the same channels at ``rate``."""
    resampler: av.AudioResampler | None = None
    setup = (0, 0)
    for sr, planes in runs:
        n_ch = planes.shape[0]
        if (sr, n_ch) != setup:
            if resampler is not None:
                yield from _drain(resampler, None, setup[1])
            resampler, setup = av.AudioResampler(format="flt", layout=_layout(n_ch), rate=rate), (sr, n_ch)
        frame = av.AudioFrame.from_ndarray(planes.T.reshape(1, -1), format="flt", layout=_layout(n_ch))
        frame.sample_rate = sr
        assert resampler is not None
        yield from _drain(resampler, frame, n_ch)
    if resampler is not None:
        yield from _drain(resampler, None, setup[1])


def _drain(resampler: av.AudioResampler, frame: av.AudioFrame | None, n_ch: int) -> Iterator[np.ndarray]:
    for out in resampler.resample(frame):
        yield np.ascontiguousarray(out.to_ndarray().reshape(-1, n_ch).T)


def _layout(n_channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(n_channels, f"{n_channels} channels")


def _mixed(blocks: Iterable[np.ndarray], rate: int) -> Iterator[np.ndarray]:
    """shape=(n_channels, n) blocks -> shape=(1, n) mono, or (3, n) mono, left, right for stereo."""
    mix: _Downmix | None = None
    for planes in blocks:
        if mix is None or mix.n_channels != planes.shape[0]:
            mix = _Downmix(planes.shape[0], rate)
        mono = mix(planes)[np.newaxis]
        yield np.concatenate([mono, planes]) if planes.shape[0] == 2 else mono


class _Downmix:
    """Mono mix that a phase-cancelling sum cannot silence (issue 9).

    A plain mean of channels in opposite polarity (right = -left) is digital silence although every
    speaker plays the sound. Each channel's polarity is aligned with the loudest channel whenever their
    running correlation over POLARITY_WINDOW_S is below -ANTIPHASE_CORRELATION; a flip is ramped over one
    block so it adds no click. Stereo is the mean of both channels (as FFmpeg's mono downmix); more
    channels of unknown layout are averaged over the channels that carry sound, so 2 used channels out of
    32 are not 24 dB down.
    """

    def __init__(self, n_channels: int, rate: int) -> None:
        self.n_channels = n_channels
        self.rate = rate
        self.sign = np.ones(n_channels, np.float32)
        self.energy = np.zeros(n_channels)  # total power per channel so far
        self.cov = np.zeros((n_channels, n_channels))  # running (decaying) channel covariance

    def __call__(self, planes: np.ndarray) -> np.ndarray:
        """shape=(n_channels, n) float32 -> shape=(n,) float32 mono."""
        if self.n_channels == 1:
            return np.asarray(planes[0], np.float32)
        n = planes.shape[1]
        block = (planes @ planes.T).astype(np.float64)
        self.energy += np.diag(block)
        self.cov = math.exp(-n / (POLARITY_WINDOW_S * self.rate)) * self.cov + block
        ref = int(np.argmax(self.energy))
        power = np.diag(self.cov)
        corr = self.cov[:, ref] / np.sqrt(power * power[ref] + 1e-20)
        sign = np.where(self.sign * self.sign[ref] * corr < -ANTIPHASE_CORRELATION, -self.sign, self.sign)
        used = self.n_channels
        if self.n_channels > 2:
            used = max(1, int(np.count_nonzero(self.energy > UNUSED_CHANNEL_POWER * self.energy.max())))
        if np.array_equal(sign, self.sign):
            mono = (self.sign / used) @ planes
        else:
            ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
            gains = (self.sign[:, None] + (sign - self.sign)[:, None] * ramp) / used  # (n_channels, n)
            mono = np.einsum("cn,cn->n", gains, planes)
            self.sign = sign.astype(np.float32)
        return np.asarray(mono, np.float32)
