"""Professional SDH sound captions: style profiles, cue building, WebVTT/SRT/HLS writers, reader, checker.

Usage::

    from captioning.captions import CaptionOptions, write_captions
    write_captions(analysis, Path("out"), CaptionOptions(style="netflix", min_confidence=0.5))

Renderers are pure functions of the :class:`~captioning.events.Analysis` and the options
(:func:`render_vtt`, :func:`render_srt`, :func:`build_cues`); :func:`check_captions` checks any
WebVTT/SRT file against a style; :func:`read_caption_file` reads any WebVTT/SRT file as players do (legacy
encodings, SSA override tags, cue blocks players skip).
"""

from captioning.captions.checker import CheckReport, Violation, check_captions, check_cues, check_file
from captioning.captions.cues import build_cues
from captioning.captions.hls import (
    MediaSegment,
    VideoRendition,
    media_segments,
    read_video_rendition,
    render_hls,
    timestamp_map_ticks,
    video_rendition,
)
from captioning.captions.merge import merge_dialogue
from captioning.captions.model import Cue, CueLine, CueTrack, ReviewItem
from captioning.captions.options import CaptionOptions
from captioning.captions.reader import CaptionFile, parse_captions, read_caption_file, read_captions
from captioning.captions.styles import STYLES, StyleProfile, get_style
from captioning.captions.writers import (
    CaptionTracks,
    build_caption_tracks,
    cues_to_srt,
    cues_to_vtt,
    render_metadata_vtt,
    render_srt,
    render_vtt,
    write_captions,
)

__all__ = [
    "STYLES",
    "CaptionFile",
    "CaptionOptions",
    "CaptionTracks",
    "Cue",
    "CueLine",
    "CheckReport",
    "CueTrack",
    "MediaSegment",
    "ReviewItem",
    "StyleProfile",
    "VideoRendition",
    "Violation",
    "build_caption_tracks",
    "build_cues",
    "check_captions",
    "check_cues",
    "check_file",
    "cues_to_srt",
    "cues_to_vtt",
    "get_style",
    "media_segments",
    "merge_dialogue",
    "parse_captions",
    "read_caption_file",
    "read_captions",
    "read_video_rendition",
    "render_hls",
    "render_metadata_vtt",
    "render_srt",
    "render_vtt",
    "timestamp_map_ticks",
    "video_rendition",
    "write_captions",
]
