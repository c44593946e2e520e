"""HLS video renditions as a video platform makes them: the ffmpeg binary, libx264 with its default B-frames.

A clip (25 fps test pattern + AAC audio with knocks at :data:`KNOCKS_S`) is packaged with
``ffmpeg -f hls -hls_time 6`` as MPEG-TS or fMP4 segments (issue 15). The caption tests use a hand-built event
list at the same times, so timing is asserted on events the tests control, not on what a model hears.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from captions_factory import analysis, event
from media_factory import knock, noise_floor, place, write_audio

from captioning.events import Analysis, MediaInfo, StreamInfo

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="the ffmpeg binary is missing "
                                  "(scripts/install_test_deps.sh installs it)")

CLIP_S = 30.0
FPS = 25
#: Knock onsets, seconds of media time; the last one lies near the end (its cue would run past it).
KNOCKS_S = (1.0, 5.52, 11.0, 12.2, 17.36, 23.8, 29.6)


def _run(*args: str) -> None:
    assert FFMPEG is not None
    r = subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def make_clip(path: Path, *, seconds: float = CLIP_S, bframes: bool = True) -> Path:
    """An H.264 (libx264 defaults: B-frames on, unless ``bframes`` is False; a key frame every 2 s) + AAC MP4."""
    wav = write_audio(path.with_suffix(".wav"), place(noise_floor(seconds), knock(), KNOCKS_S))
    _run("-f", "lavfi", "-i", f"testsrc2=size=160x120:rate={FPS}", "-i", str(wav), "-t", str(seconds),
         "-c:v", "libx264", "-g", str(2 * FPS), *(() if bframes else ("-bf", "0")), "-c:a", "aac",
         "-shortest", str(path))
    return path


def package_hls(clip: Path, out_dir: Path, segment_type: str, *, single_file: bool = False) -> Path:
    """``clip`` as an HLS video rendition in ``out_dir`` (``mpegts`` or ``fmp4`` segments); its playlist."""
    out_dir.mkdir(parents=True, exist_ok=True)
    playlist = out_dir / "video.m3u8"
    _run("-i", str(clip), "-c", "copy", "-f", "hls", "-hls_time", "6", "-hls_playlist_type", "vod",
         "-hls_segment_type", segment_type, *(("-hls_flags", "single_file") if single_file else ()),
         str(playlist))
    return playlist


def knock_analysis(duration: float = CLIP_S) -> Analysis:
    """Hand-built events at :data:`KNOCKS_S` (0.2 s each), media info of the MP4 clip (video from 0 s)."""
    base = analysis([event(t, t + 0.2, "door_slam", "door slams") for t in KNOCKS_S], duration)
    media = MediaInfo("clip.mp4", duration, "mov,mp4,m4a,3gp,3g2,mj2",
                      streams=(StreamInfo(0, "video", "h264", fps=FPS, start=0.0),
                               StreamInfo(1, "audio", "aac", start=-0.021333)), audio_stream=1)
    return Analysis(media, base.events)
