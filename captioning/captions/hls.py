"""HLS subtitle rendition: segmented WebVTT whose ``X-TIMESTAMP-MAP`` lines up with a video rendition.

RFC 8216 section 3.5: ``X-TIMESTAMP-MAP=MPEGTS:<ticks>,LOCAL:<time>`` says which 90 kHz presentation
timestamp (PTS) of the media the WebVTT time LOCAL is. soundcue's cue times are media time, so the map is
``LOCAL:00:00:00.000`` and MPEGTS is the video rendition's PTS of media time 0: the PTS of the first frame of
its first media segment, less the input's media time of that frame (0 for most inputs). That PTS depends on
the packager and the encoder (issue 15: ffmpeg starts MPEG-TS at 1.4 s and fMP4 at 0, and libx264's
B-frames delay the first frame by two frames more), so no fixed value is right: :func:`read_video_rendition`
reads it from the rendition itself (MPEG-TS with PyAV, fMP4 from its ``moof`` boxes, as players do, edit
lists ignored), and :func:`timestamp_map_ticks` states the rule when there is no rendition to read.
"""

from __future__ import annotations

import io
import logging
import math
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote, urlsplit

import av

from captioning.captions.model import Cue
from captioning.captions.options import CaptionOptions
from captioning.errors import InvalidOptionsError
from captioning.events import MediaInfo
from captioning.paths import input_problem

log = logging.getLogger("captioning")

TICKS_PER_S = 90_000  # MPEG-TS presentation timestamps run at 90 kHz
PTS_WRAP = 2**33  # ... in 33 bits
#: GROUP-ID of the subtitle rendition in the master playlist.
GROUP_ID = "soundcue"
#: Apple's CHARACTERISTICS value for captions of sounds (SDH); the track holds no dialogue.
CHARACTERISTICS = "public.accessibility.describes-music-and-sound"
TS_PACKET = 188
_ANNEX_B_SPS = re.compile(rb"\x00\x00\x01[\x07\x27\x47\x67](...)", re.DOTALL)


@dataclass(frozen=True)
class VideoRendition:
    """What the subtitle rendition needs from a video rendition's media playlist.

    Attributes:
        playlist: the media playlist read: its path, or its URL when it was fetched (the service).
        first_pts: presentation timestamp of the first frame (in presentation order) of its first media
            segment, 90 kHz ticks (0..2**33-1).
        duration_s: its length, seconds (the sum of its ``EXTINF`` durations).
        container: ``"mpegts"`` or ``"fmp4"``.
        peak_bandwidth: the highest bit rate of one segment, bits per second (``BANDWIDTH``).
        average_bandwidth: the bit rate of all segments together, bits per second.
        codecs: RFC 6381 codec strings (``avc1.64000d,mp4a.40.2``), None when one is not known.
        resolution: (width, height) in pixels, None if unknown.
        frame_rate: frames per second, None if unknown.
    """

    playlist: str
    first_pts: int
    duration_s: float
    container: str
    peak_bandwidth: int
    average_bandwidth: int
    codecs: str | None = None
    resolution: tuple[int, int] | None = None
    frame_rate: float | None = None


@dataclass(frozen=True)
class MediaSegment:
    """One media segment of a media playlist, as the playlist names it.

    Attributes:
        uri: its URI, as written (relative to the playlist, or absolute).
        duration_s: its ``EXTINF`` duration, seconds.
        byterange: (offset, length) in bytes of its ``EXT-X-BYTERANGE``, None for the whole resource.
        init: the ``EXT-X-MAP`` in force (fMP4 init section): (uri, byterange), None without one.
    """

    uri: str
    duration_s: float
    byterange: tuple[int, int] | None
    init: tuple[str, tuple[int, int] | None] | None


_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def _attributes(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(text)}


def _byterange(spec: str, previous_end: int) -> tuple[int, int]:
    length, _, offset = spec.partition("@")
    return (int(offset) if offset else previous_end, int(length))


def media_segments(text: str, name: str) -> list[MediaSegment]:
    """The media segments of an HLS media playlist (RFC 8216 section 4.3.2)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise InvalidOptionsError(f"{name}: not an HLS playlist (no #EXTM3U first line)")
    segments: list[MediaSegment] = []
    duration: float | None = None
    byterange: tuple[int, int] | None = None
    init: tuple[str, tuple[int, int] | None] | None = None
    last_end = 0  # where a byte range without an offset starts: after the previous segment's
    for line in lines[1:]:
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-STREAM-INF":
            raise InvalidOptionsError(f"{name} is a master playlist: give the media playlist of its video "
                                      "rendition (the URI under an #EXT-X-STREAM-INF line)")
        if tag == "#EXT-X-KEY" and _attributes(value).get("METHOD", "NONE") != "NONE":
            raise InvalidOptionsError(f"{name}: encrypted segments cannot be read; give hls_mpegts instead")
        if tag == "#EXTINF":
            duration = float(value.split(",", 1)[0])
        elif tag == "#EXT-X-BYTERANGE":
            byterange = _byterange(value, last_end)
        elif tag == "#EXT-X-MAP":
            attrs = _attributes(value)
            init = (attrs["URI"], _byterange(attrs["BYTERANGE"], 0) if "BYTERANGE" in attrs else None)
        elif not line.startswith("#"):
            if duration is None:
                raise InvalidOptionsError(f"{name}: segment {line} has no #EXTINF duration")
            if byterange is not None:
                last_end = byterange[0] + byterange[1]
            segments.append(MediaSegment(line, duration, byterange, init))
            duration, byterange = None, None
    if not segments:
        raise InvalidOptionsError(f"{name}: the playlist lists no media segment")
    return segments


def _local(base: Path, uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.scheme not in ("", "file"):
        raise InvalidOptionsError(f"{uri}: soundcue reads the video rendition from local files; download the "
                                  "playlist and its first segment, or give hls_mpegts")
    return base / unquote(parts.path)


def _read(path: Path, byterange: tuple[int, int] | None) -> bytes:
    problem = input_problem(path, "media segment")
    if problem is not None:
        raise InvalidOptionsError(f"the video rendition's segment {path}: {problem}")
    try:
        with path.open("rb") as f:
            if byterange is None:
                return f.read()
            f.seek(byterange[0])
            return f.read(byterange[1])
    except OSError as e:
        raise InvalidOptionsError(f"cannot read the video rendition's segment {path}: {e}") from e


def _size(path: Path, byterange: tuple[int, int] | None) -> int:
    try:
        return byterange[1] if byterange is not None else path.stat().st_size
    except OSError as e:
        raise InvalidOptionsError(f"cannot read the video rendition's segment {path}: {e}") from e


# ------------------------------------------------------------------------------------ ISO BMFF (fMP4)
def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """``(type, payload start, box end)`` of each box in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in _boxes(data, start, end) if k == kind), None)


def _video_tracks(data: bytes) -> dict[int, tuple[int, int]]:
    """track_ID -> (timescale, trex default_sample_duration) of each video track in a ``moov``."""
    moov = next(((s, e) for k, s, e in _boxes(data) if k == b"moov"), None)
    if moov is None:
        return {}
    defaults = {}
    mvex = _child(data, *moov, b"mvex")
    if mvex is not None:
        for kind, s, _ in _boxes(data, *mvex):
            if kind == b"trex":
                track_id, _, duration = struct.unpack_from(">III", data, s + 4)
                defaults[track_id] = duration
    tracks = {}
    for kind, s, e in _boxes(data, *moov):
        if kind != b"trak":
            continue
        tkhd, mdia = _child(data, s, e, b"tkhd"), _child(data, s, e, b"mdia")
        if tkhd is None or mdia is None:
            continue
        (track_id,) = struct.unpack_from(">I", data, tkhd[0] + (20 if data[tkhd[0]] == 1 else 12))
        mdhd, hdlr = _child(data, *mdia, b"mdhd"), _child(data, *mdia, b"hdlr")
        if mdhd is None or hdlr is None or data[hdlr[0] + 8:hdlr[0] + 12] != b"vide":
            continue
        (timescale,) = struct.unpack_from(">I", data, mdhd[0] + (20 if data[mdhd[0]] == 1 else 12))
        tracks[track_id] = (timescale, defaults.get(track_id, 0))
    return tracks


def _fmp4_first_pts(data: bytes, name: str) -> int:
    """90 kHz PTS of the earliest video sample in the ``moof`` boxes of ``data`` (init segment + segment):
    ``tfdt`` base decode time plus each sample's composition offset, as hls.js and MSE read it."""
    tracks = _video_tracks(data)
    if not tracks:
        raise InvalidOptionsError(f"{name}: no video track in the init segment (moov)")
    earliest: Fraction | None = None
    for kind, s, e in _boxes(data):
        if kind != b"moof":
            continue
        for tkind, ts, te in _boxes(data, s, e):
            if tkind != b"traf":
                continue
            tfhd = _child(data, ts, te, b"tfhd")
            if tfhd is None:
                continue
            flags = int.from_bytes(data[tfhd[0] + 1:tfhd[0] + 4], "big")
            (track_id,) = struct.unpack_from(">I", data, tfhd[0] + 4)
            if track_id not in tracks:
                continue
            timescale, default_duration = tracks[track_id]
            pos = tfhd[0] + 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
            if flags & 0x08:
                (default_duration,) = struct.unpack_from(">I", data, pos)
            tfdt = _child(data, ts, te, b"tfdt")
            dts = 0
            if tfdt is not None:
                dts = struct.unpack_from(">Q" if data[tfdt[0]] == 1 else ">I", data, tfdt[0] + 4)[0]
            for rkind, rs, _ in _boxes(data, ts, te):
                if rkind != b"trun":
                    continue
                version, rflags = data[rs], int.from_bytes(data[rs + 1:rs + 4], "big")
                (count,) = struct.unpack_from(">I", data, rs + 4)
                pos = rs + 8 + (4 if rflags & 0x01 else 0) + (4 if rflags & 0x04 else 0)
                for _ in range(count):
                    duration = default_duration
                    if rflags & 0x100:
                        (duration,) = struct.unpack_from(">I", data, pos)
                        pos += 4
                    pos += (4 if rflags & 0x200 else 0) + (4 if rflags & 0x400 else 0)
                    offset = 0
                    if rflags & 0x800:
                        (offset,) = struct.unpack_from(">i" if version == 1 else ">I", data, pos)
                        pos += 4
                    pts = Fraction(dts + offset, timescale)
                    earliest = pts if earliest is None else min(earliest, pts)
                    dts += duration
    if earliest is None:
        raise InvalidOptionsError(f"{name}: no video sample in the first media segment")
    return round(earliest * TICKS_PER_S) % PTS_WRAP


# ------------------------------------------------------------------------------------ MPEG-TS
def _ts_first_pts(container: av.container.InputContainer, name: str) -> int:
    video = next((s for s in container.streams.video), None)
    if video is None or video.time_base is None:
        raise InvalidOptionsError(f"{name}: no video stream in the first media segment")
    pts = [p.pts for p in container.demux(video) if p.pts is not None]
    if not pts:
        raise InvalidOptionsError(f"{name}: no timed video packet in the first media segment")
    return round(min(pts) * video.time_base * TICKS_PER_S) % PTS_WRAP


def _codecs(container: av.container.InputContainer) -> str | None:
    """RFC 6381 codec strings of the streams (H.264 and AAC), None if one of them cannot be named."""
    names = []
    for stream in (*container.streams.video, *container.streams.audio):
        ctx = stream.codec_context
        if ctx.name == "h264":
            extradata = bytes(ctx.extradata or b"")
            if extradata[:1] == b"\x01" and len(extradata) >= 4:  # avcC: profile, compatibility, level
                sps = extradata[1:4]
            else:  # Annex B parameter sets: the bytes after the SPS NAL unit's header (type 7)
                found = _ANNEX_B_SPS.search(extradata)
                if found is None:
                    return None
                sps = found[1]
            names.append(f"avc1.{sps.hex()}")
        elif ctx.name == "aac":
            object_type = {"LC": 2, "HE-AAC": 5, "HE-AACv2": 29}.get(str(ctx.profile))
            if object_type is None:
                return None
            names.append(f"mp4a.40.{object_type}")
        else:
            return None
    return ",".join(names) or None


def read_video_rendition(playlist: Path) -> VideoRendition:
    """Read what the subtitle rendition needs from a video rendition's HLS media playlist.

    Parameters
    ----------
    playlist : a local media playlist (``.m3u8``) whose segments (MPEG-TS, or fMP4 with ``EXT-X-MAP``;
        byte ranges allowed) are local files relative to it.

    Raises
    ------
    InvalidOptionsError
        The playlist is missing, a master playlist, encrypted or lists no segment, or its first segment
        holds no video that can be read.
    """
    problem = input_problem(playlist, "video playlist (.m3u8)")
    if problem is not None:
        raise InvalidOptionsError(f"the video playlist {playlist}: {problem}")
    try:
        text = playlist.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidOptionsError(f"cannot read the video playlist {playlist}: {e}") from e
    segments = media_segments(text, str(playlist))
    base = playlist.parent
    first = segments[0]
    data = _read(_local(base, first.uri), first.byterange)
    init = _read(_local(base, first.init[0]), first.init[1]) if first.init is not None else b""
    sizes = [_size(_local(base, s.uri), s.byterange) for s in segments]
    return video_rendition(str(playlist), segments, data, init, sizes)


def video_rendition(playlist: str, segments: Sequence[MediaSegment], data: bytes, init: bytes = b"",
                    sizes: Sequence[int | None] | None = None) -> VideoRendition:
    """A :class:`VideoRendition` from its playlist's segments (:func:`media_segments`) and the bytes of the first.

    The core of :func:`read_video_rendition`, for a rendition read from elsewhere (the service fetches it).

    Parameters
    ----------
    playlist : the playlist's path or URL (named in errors and kept in the result).
    segments : its media segments.
    data : the first segment's bytes (its byte range only).
    init : the first segment's init section (``EXT-X-MAP``) bytes, empty without one.
    sizes : each segment's size in bytes, None where unknown: the bandwidths are then estimated from the
        segments whose sizes are known (the first one at least, ``len(data)``).
    """
    first = segments[0]
    name = f"{playlist}: {first.uri}"
    is_ts = len(data) > TS_PACKET and data[0] == data[TS_PACKET] == 0x47  # two sync bytes, a packet apart
    try:
        with av.open(io.BytesIO(init + data), "r", format="mpegts" if is_ts else "mp4") as container:
            video = next(iter(container.streams.video), None)
            resolution = (video.codec_context.width, video.codec_context.height) if video is not None else None
            rate = float(video.average_rate) if video is not None and video.average_rate else None
            codecs = _codecs(container)
            first_pts = _ts_first_pts(container, name) if is_ts else _fmp4_first_pts(init + data, name)
    except av.FFmpegError as e:
        raise InvalidOptionsError(f"{name}: cannot read the segment ({e})") from e
    known = list(sizes) if sizes is not None else [len(data)] + [None] * (len(segments) - 1)
    known[0] = len(data) if known[0] is None else known[0]
    sized = [(n, s) for n, s in zip(known, segments, strict=True) if n is not None]
    sized_s = sum(s.duration_s for _, s in sized)
    duration_s = sum(s.duration_s for s in segments)
    return VideoRendition(
        playlist=playlist, first_pts=first_pts, duration_s=duration_s, container="mpegts" if is_ts else "fmp4",
        peak_bandwidth=max((math.ceil(8 * n / s.duration_s) for n, s in sized if s.duration_s > 0), default=0),
        average_bandwidth=math.ceil(8 * sum(n for n, _ in sized) / sized_s) if sized_s > 0 else 0,
        codecs=codecs, resolution=resolution if resolution and all(resolution) else None, frame_rate=rate,
    )


def timestamp_map_ticks(options: CaptionOptions, media: MediaInfo | None = None,
                        video: VideoRendition | None = None) -> int:
    """The ``X-TIMESTAMP-MAP`` MPEGTS value (90 kHz ticks) of media time 0, by the first rule that applies:

    1. ``options.hls_mpegts`` when set;
    2. the video rendition's first-frame PTS less the input's media time of its first video frame;
    3. an MPEG-TS input: its own clock at media time 0 (for renditions cut with the input's timestamps);
    4. 0: RFC 8216's mapping for WebVTT without the header (logged as a warning: it is right only for a
       rendition whose media time 0 has PTS 0).
    """
    if options.hls_mpegts is not None:
        return options.hls_mpegts
    if video is not None:
        start = media.video.start if media is not None and media.video is not None else None
        return (video.first_pts - round((start or 0.0) * TICKS_PER_S)) % PTS_WRAP
    if media is not None and media.format == "mpegts":
        return round(media.start_time * TICKS_PER_S) % PTS_WRAP
    log.warning("HLS subtitles map media time 0 to MPEG-TS time 0 (RFC 8216's default); give "
                "hls_video_playlist (--hls-video-playlist) or hls_mpegts so they line up with the video")
    return 0


def media_line(uri: str = "captions.m3u8") -> str:
    """The ``EXT-X-MEDIA`` line of the subtitle rendition, for a master playlist (``uri``: its playlist)."""
    return (f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{GROUP_ID}",NAME="English (sounds)",LANGUAGE="en",'
            f'DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,CHARACTERISTICS="{CHARACTERISTICS}",URI="{uri}"')


def master_playlist(video: VideoRendition, video_uri: str) -> str:
    """A master playlist of ``video`` (at ``video_uri``) with the subtitle rendition as its SUBTITLES group."""
    attrs = [f"BANDWIDTH={video.peak_bandwidth}", f"AVERAGE-BANDWIDTH={video.average_bandwidth}"]
    if video.codecs:
        attrs.append(f'CODECS="{video.codecs}"')
    if video.resolution:
        attrs.append(f"RESOLUTION={video.resolution[0]}x{video.resolution[1]}")
    if video.frame_rate:
        attrs.append(f"FRAME-RATE={video.frame_rate:.3f}")
    attrs.append(f'SUBTITLES="{GROUP_ID}"')
    return "\n".join(["#EXTM3U", media_line(), f"#EXT-X-STREAM-INF:{','.join(attrs)}", video_uri]) + "\n"


def render_hls(cues: Sequence[Cue], duration_s: float, options: CaptionOptions | None = None, *,
               mpegts: int | None = None, video: VideoRendition | None = None,
               video_uri: str | None = None) -> dict[str, str]:
    """Segmented WebVTT for HLS: file name -> text, ``captions.m3u8`` plus ``segment<n>.webvtt`` (and
    ``master.m3u8`` when ``video`` is given).

    Each segment holds the cues shown during it (a cue crossing a boundary is repeated, as HLS allows; players
    show it once) and the header ``X-TIMESTAMP-MAP=MPEGTS:<mpegts>,LOCAL:00:00:00.000``.

    Parameters
    ----------
    cues : the track, times in media seconds.
    duration_s : media duration in seconds (the playlist covers it and every cue).
    options : ``hls_segment_s`` (segment length, seconds) is read.
    mpegts : 90 kHz PTS of media time 0; default :func:`timestamp_map_ticks` of ``options`` and ``video``.
    video : the video rendition the subtitles go with: the playlist then ends where it ends, cues are cut
        there (a cue starting later is dropped with a warning: no player would show it), and ``master.m3u8``
        lists it, at ``video_uri``, with the subtitle group.
    """
    from captioning.captions.writers import cues_to_vtt

    options = options or CaptionOptions()
    if mpegts is None:
        mpegts = timestamp_map_ticks(options, None, video)
    seg_ms = round(options.hls_segment_s * 1000)
    if video is not None:
        total_ms = _video_end_ms(video, mpegts)
        late = [c for c in cues if c.start_ms >= total_ms]
        for c in late:
            log.warning("HLS: cue at %.3f s starts after the video rendition ends (%.3f s); left out",
                        c.start_ms / 1000, total_ms / 1000)
        cues = [replace(c, end_ms=min(c.end_ms, total_ms)) for c in cues if c.start_ms < total_ms]
    else:
        total_ms = max([round(duration_s * 1000), *(c.end_ms for c in cues), 1])
    n = math.ceil(total_ms / seg_ms)
    header = [f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000"]
    files: dict[str, str] = {}
    playlist = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{math.ceil(options.hls_segment_s)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for k in range(n):
        lo, hi = k * seg_ms, min((k + 1) * seg_ms, total_ms)
        name = f"segment{k}.webvtt"
        files[name] = cues_to_vtt([c for c in cues if c.start_ms < hi and c.end_ms > lo], metadata=header)
        playlist += [f"#EXTINF:{(hi - lo) / 1000:.3f},", name]
    playlist.append("#EXT-X-ENDLIST")
    files["captions.m3u8"] = "\n".join(playlist) + "\n"
    if video is not None:
        files["master.m3u8"] = master_playlist(video, video_uri or video.playlist)
    return files


def _video_end_ms(video: VideoRendition, mpegts: int) -> int:
    """Media time (ms) where ``video`` ends: its first frame's PTS, as media time, plus its length."""
    first = (video.first_pts - mpegts) % PTS_WRAP
    first -= PTS_WRAP if first > PTS_WRAP // 2 else 0
    return max(round(first / 90 + video.duration_s * 1000), 1)
