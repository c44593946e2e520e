"""The one decode pass over audio and video: frames on the media timeline, upright, small, bounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media_factory import SR, Track, knock, noise_floor, place, write_media
from video_factory import write_frames

from captioning.analysis.types import ANALYSIS_SHORT_SIDE, VideoFrame
from captioning.errors import MediaDecodeError
from captioning.media import ANALYSIS_SAMPLE_RATE, MAX_FRAME_PIXELS, AudioChunk, iter_media, probe


def _gradient(i: int, t: float) -> np.ndarray:
    """A 180x320 picture whose left column is dark and right column bright, with the frame number on top."""
    img = np.tile(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], (180, 1, 3))
    img[:10, : (i % 30) * 10] = 255
    return img


def _items(path: Path, **kw: bool) -> tuple[list[AudioChunk], list[VideoFrame]]:
    chunks, frames = [], []
    for item in iter_media(probe(path), **kw):
        (chunks if isinstance(item, AudioChunk) else frames).append(item)  # type: ignore[arg-type]
    return chunks, frames


def test_frames_and_audio_come_from_one_pass(tmp_path: Path) -> None:
    times = [k / 10 for k in range(30)]
    audio = place(noise_floor(3.0), knock(), [1.0])
    path = write_frames(tmp_path / "both.mp4", _gradient, times, audio=audio)
    chunks, frames = _items(path, audio=True, video=True)
    assert [f.t for f in frames] == pytest.approx(times, abs=1e-3)
    assert [f.index for f in frames] == list(range(30))
    assert sum(c.samples.size for c in chunks) / 16000 == pytest.approx(3.0, abs=0.05)
    assert all(f.rgb.dtype == np.uint8 and f.rgb.shape == (180, 320, 3) for f in frames)


def test_big_frames_are_downscaled_to_the_analysis_size(tmp_path: Path) -> None:
    big = np.zeros((720, 1280, 3), np.uint8)
    path = write_frames(tmp_path / "big.mp4", lambda i, t: big, [0.0, 0.04, 0.08])
    _, frames = _items(path, audio=False, video=True)
    assert frames[0].rgb.shape == (ANALYSIS_SHORT_SIDE, 456, 3)


def test_a_rotated_phone_video_is_turned_upright(tmp_path: Path) -> None:
    path = write_frames(tmp_path / "rot.mp4", _gradient, [0.0, 0.1], rotate=90)
    _, frames = _items(path, audio=False, video=True)
    rgb = frames[0].rgb
    assert rgb.shape == (320, 180, 3)  # portrait, as players show it
    # turned a quarter counter-clockwise: the bright right edge is now at the top
    assert rgb[:5].mean() > 200 and rgb[-5:].mean() < 60


def test_variable_frame_rate_keeps_the_real_times(tmp_path: Path) -> None:
    times = [0.0, 0.033, 0.1, 0.5, 0.52, 1.4]
    path = write_frames(tmp_path / "vfr.mkv", _gradient, times)
    _, frames = _items(path, audio=False, video=True)
    assert [f.t for f in frames] == pytest.approx(times, abs=1e-3)


def test_a_single_frame_video(tmp_path: Path) -> None:
    path = write_frames(tmp_path / "one.mp4", _gradient, [0.0])
    _, frames = _items(path, audio=False, video=True)
    assert len(frames) == 1 and frames[0].t == 0.0


def test_a_video_without_audio_gives_pictures_only(tmp_path: Path) -> None:
    path = write_frames(tmp_path / "silent.mp4", _gradient, [k / 10 for k in range(10)])
    chunks, frames = _items(path, audio=False, video=True)
    assert chunks == [] and len(frames) == 10


def test_frames_do_not_pile_up_ahead_of_the_audio(tmp_path: Path) -> None:
    """Frames are handed out as they are decoded: never more than ~2 s of them between two audio chunks."""
    times = [k / 25 for k in range(250)]
    path = write_frames(tmp_path / "long.mp4", _gradient, times, audio=noise_floor(10.0))
    run, worst = 0, 0
    for item in iter_media(probe(path), audio=True, video=True, chunk_s=0.5):
        run = run + 1 if isinstance(item, VideoFrame) else 0
        worst = max(worst, run)
    assert worst <= 50, worst
    assert SR > 0


def _y4m(path: Path, width: int, height: int) -> Path:
    """An uncompressed YUV4MPEG2 stream whose header declares ``width`` x ``height``, with two frames of a few
    bytes (what a damaged or hostile file can declare: no decoder should allocate for it)."""
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(2):
            f.write(b"FRAME\n" + bytes(4096))
    return path


def test_a_stream_declaring_frames_over_the_size_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    side = 10000  # 100 megapixels: FFmpeg itself would allocate 150 MB a frame
    assert side * side > MAX_FRAME_PIXELS
    info = probe(_y4m(tmp_path / "huge.y4m", side, side))
    assert info.video is not None and (info.video.width, info.video.height) == (side, side)
    with pytest.raises(MediaDecodeError, match=r"10000x10000 pixels.*--no-visual"):
        next(iter_media(info, audio=False, video=True))


def test_a_frame_size_ffmpeg_cannot_represent_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(MediaDecodeError, match="not a readable media file.*100000x100000"):
        probe(_y4m(tmp_path / "absurd.y4m", 100000, 100000))


@pytest.mark.parametrize("suffix", [".mp3", ".m4a"])
def test_cover_art_in_an_audio_file_gives_no_frames(tmp_path: Path, suffix: str) -> None:
    path = write_media(tmp_path / f"song{suffix}", [Track(place(noise_floor(2.0), knock(), [1.0]))], cover_art=True)
    info = probe(path)
    assert info.video is None
    chunks, frames = _items(path, audio=True, video=True)
    assert frames == []
    assert sum(c.samples.size for c in chunks) / ANALYSIS_SAMPLE_RATE == pytest.approx(2.0, abs=0.1)
