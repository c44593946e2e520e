"""Options of the caption renderers: one frozen, validated dataclass (see :mod:`captioning.options`)."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from webvtt import CueSettings
from webvtt.errors import MalformedCaptionError

from captioning.captions.styles import StyleProfile, get_style
from captioning.errors import InvalidOptionsError
from captioning.events import MediaInfo
from captioning.options import option

logger = logging.getLogger("captioning")

#: Frames per second of cue timing when the media has no video (or an implausible rate) and none is given.
DEFAULT_FRAME_RATE = 25.0
#: Frame rates cue timing accepts, frames per second.
FRAME_RATES = (1.0, 240.0)


@dataclass(frozen=True)
class CaptionOptions:
    """How to turn an event list into caption tracks.

    Attributes:
        style: style profile name (``netflix``, ``dcmp``, ``bbc``), see :mod:`captioning.captions.styles`.
        min_confidence: events with a confidence (0..1) below this are left out of the track and listed
            in ``captions.review.json`` for a person to check.
        include_low_confidence: caption low-confidence events anyway (they are still listed for review).
        line: WebVTT ``line`` cue setting for every sound cue, e.g. ``"0"`` (top line) or ``"10%"``, to
            move captions off burned-in text; None leaves the player's default (bottom).
        dialogue: an existing dialogue caption file (WebVTT or SRT) to merge the sound cues into; writes
            ``captions.sdh.vtt``/``.srt`` (combined) and ``captions.sounds.vtt`` (sounds only).
        hls: also write segmented WebVTT and a subtitle playlist under ``hls/``.
        hls_segment_s: length of one HLS segment, seconds.
        hls_mpegts: the MPEG-TS time, in 90 kHz ticks, that media time 0 maps to in each segment's
            ``X-TIMESTAMP-MAP`` (RFC 8216 section 3.5): the video rendition's presentation timestamp of media
            time 0. It depends on the packager and the encoder (ffmpeg's MPEG-TS starts at 126000 plus the
            B-frame delay, its fMP4 at 0 plus that delay; see README "HLS"). None: read from
            ``hls_video_playlist`` when given, else from the input's own clock when the input is MPEG-TS, else
            0, the RFC's rule for a segment without the header.
        hls_video_playlist: the video rendition's media playlist (``.m3u8``) the subtitles go with. The
            presentation timestamp of the first frame of its first media segment (MPEG-TS, or fMP4 init +
            segment) gives ``hls_mpegts``; cues are cut at its end; and ``hls/master.m3u8`` is written, a
            master playlist with the subtitle group added to that rendition. Exclusive with ``hls_mpegts``.
        hls_video_playlist_url: the URL form of ``hls_video_playlist``, for the service (a path on the caller's
            machine means nothing to a server): an http(s) URL of the video rendition's media playlist.
            ``master.m3u8`` refers to the video playlist by this URL. The library does no HTTP: the service
            fetches the playlist and its first segment (SSRF-safe, as ``video_url``) and hands the rendition
            read to :func:`write_captions` (``hls_video``). Exclusive with ``hls_mpegts``.
        metadata: also write ``captions.metadata.vtt``, a ``kind="metadata"`` track with one JSON cue per
            event.
        frame_rate: video frame rate in frames per second, for onsets on a frame and the 2-frame gap rule;
            None (the default): the media's own video rate, else 25, resolved by :meth:`for_media`.
        pan_threshold: events panned further than this (0..1, either side) are positioned left or right.
        onomatopoeia: in styles that allow it (``dcmp``), show a sound's onomatopoeia from the vocabulary
            on its own line under its description ("[knocking]" over "knock knock") when the cue has room
            for it (it is dropped rather than break a line-length or line-count rule). Other styles
            ignore it.
    """

    style: str = option("netflix", help="Caption style profile: netflix, dcmp or bbc.")
    min_confidence: float = option(0.5, help="Leave events below this confidence (0..1) out of the caption track; "
                                   "they are listed in captions.review.json.")
    include_low_confidence: bool = option(
        False, help="Caption low-confidence events anyway (they are still listed for review).")
    line: str | None = option(None, help="WebVTT line setting for every sound cue (e.g. 0 or 10%) to move "
                              "captions off burned-in text; default: the player's (bottom).")
    # A path on the caller's machine: the service would need a second upload for it.
    dialogue: Path | None = option(None, surfaces=("cli",), help="Merge with this dialogue VTT/SRT: writes "
                                   "captions.sdh.vtt/.srt and captions.sounds.vtt.")
    hls: bool = option(False, help="Also write segmented WebVTT and a playlist under hls/.")
    hls_segment_s: float = option(10.0, flag="--hls-segment",
                                  help="HLS segment length in seconds.")
    hls_mpegts: int | None = option(
        None, metavar="TICKS",
        help="MPEG-TS time (90 kHz ticks) of media time 0 in the HLS X-TIMESTAMP-MAP, for a video rendition not at "
             "hand (see README); default: from the video playlist (CLI --hls-video-playlist, API "
             "hls_video_playlist_url), an MPEG-TS input's own clock, else 0.")
    hls_video_playlist: Path | None = option(
        None, surfaces=("cli",), metavar="PATH",
        help="The video rendition's media playlist (.m3u8): the HLS subtitles are timed to its first frame (its "
             "X-TIMESTAMP-MAP), cut at its end, and hls/master.m3u8 adds them to it. Needs --hls.")
    # The API's form of hls_video_playlist (tests/test_options_parity.py pairs the two): a server fetches a URL.
    hls_video_playlist_url: str | None = option(
        None, surfaces=("api",),
        help="http(s) URL of the video rendition's media playlist (.m3u8), public addresses only (as video_url): "
             "the service fetches it and its first segment; the HLS subtitles are timed to its first frame (their "
             "X-TIMESTAMP-MAP), cut at its end, and hls/master.m3u8 adds them to it (the API form of the CLI's "
             "--hls-video-playlist PATH). Needs hls.")
    metadata: bool = option(True, help="Also write captions.metadata.vtt (one JSON cue per event).")
    frame_rate: float | None = option(None, help="Video frame rate (frames/s) for cue timing (onsets on a frame, "
                                      "2-frame gaps); default: the input's own rate, else 25.")
    pan_threshold: float = 0.5
    onomatopoeia: bool = option(False, help="Add onomatopoeia (\"woof woof\") on its own line where the style "
                                "allows it (dcmp).")

    def __post_init__(self) -> None:
        get_style(self.style)
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InvalidOptionsError(f"min_confidence must be in 0..1, got {self.min_confidence}")
        if self.frame_rate is not None and not _plausible_rate(self.frame_rate):
            raise InvalidOptionsError(f"frame_rate must be 1..240 frames per second, got {self.frame_rate}")
        if not (math.isfinite(self.hls_segment_s) and 1.0 <= self.hls_segment_s <= 600.0):
            raise InvalidOptionsError(f"hls_segment_s must be 1..600 seconds, got {self.hls_segment_s}")
        if self.hls_mpegts is not None and not 0 <= self.hls_mpegts < 2**33:
            raise InvalidOptionsError(f"hls_mpegts must be 0..2**33-1 (90 kHz ticks), got {self.hls_mpegts}")
        playlist = self.hls_video_playlist is not None or self.hls_video_playlist_url is not None
        if self.hls_mpegts is not None and playlist:
            raise InvalidOptionsError("give hls_mpegts (--hls-mpegts) or hls_video_playlist(_url) "
                                      "(--hls-video-playlist), not both: the playlist sets the value")
        if not self.hls and (self.hls_mpegts is not None or playlist):
            raise InvalidOptionsError("hls_mpegts (--hls-mpegts) and hls_video_playlist(_url) (--hls-video-playlist) "
                                      "apply to HLS output: set hls (--hls) as well")
        if self.hls_video_playlist_url is not None and not self.hls_video_playlist_url.lower().startswith(
                ("http://", "https://")):
            raise InvalidOptionsError(f"hls_video_playlist_url must be an http(s) URL, got "
                                      f"{self.hls_video_playlist_url!r}")
        if not 0.0 < self.pan_threshold <= 1.0:
            raise InvalidOptionsError(f"pan_threshold must be in (0, 1], got {self.pan_threshold}")
        if self.line is not None:
            try:
                CueSettings.from_string(f"line:{self.line}", strict=True)
            except MalformedCaptionError as e:
                raise InvalidOptionsError(
                    f"line must be a WebVTT line position such as 0, -1 or 10%, got {self.line!r}"
                ) from e

    @property
    def profile(self) -> StyleProfile:
        """The :class:`StyleProfile` named by :attr:`style`."""
        return get_style(self.style)

    @property
    def fps(self) -> float:
        """The frame rate cue timing uses: :attr:`frame_rate`, or 25 when it was left to a media not given."""
        return self.frame_rate if self.frame_rate is not None else DEFAULT_FRAME_RATE

    def for_media(self, media: MediaInfo) -> CaptionOptions:
        """These options with the defaults that depend on the media resolved: ``frame_rate`` from its video.

        A video's own rate when it has one within 1..240 frames/s (cover art is not video), else 25; an
        explicit ``frame_rate`` is kept. Every front end renders through this, so one file gives the same cues
        whichever runs it, and one input's rate never carries over to the next.
        """
        if self.frame_rate is not None:
            return self
        fps = media.video.fps if media.video is not None else None
        if fps is not None and not _plausible_rate(fps):
            logger.warning("%s: video frame rate %.3g is outside 1..240; captions are timed at %g frames/s",
                           media.path, fps, DEFAULT_FRAME_RATE)
            fps = None
        return dataclasses.replace(self, frame_rate=float(fps or DEFAULT_FRAME_RATE))


def _plausible_rate(fps: float) -> bool:
    return math.isfinite(fps) and FRAME_RATES[0] <= fps <= FRAME_RATES[1]
