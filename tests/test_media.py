"""Media probing and decoding: formats users bring, and the bad files they also bring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media_factory import knock, noise_floor, place, write_audio, write_video

from captioning.errors import MediaDecodeError, MediaNotFoundError, NoAudioStreamError
from captioning.media import ANALYSIS_SAMPLE_RATE, iter_audio, probe


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".flac", ".ogg", ".m4a"])
def test_audio_formats_decode_to_16k_mono(tmp_path: Path, suffix: str) -> None:
    path = write_audio(tmp_path / f"clip{suffix}", place(noise_floor(3.0), knock(), [1.0]))
    info = probe(path)
    assert info.audio is not None and abs(info.duration - 3.0) < 0.1
    chunks = list(iter_audio(info, chunk_s=1.0))
    audio = np.concatenate([c.samples for c in chunks])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size / ANALYSIS_SAMPLE_RATE - 3.0) < 0.1
    # the knock is where it was put (within 20 ms)
    peak_s = int(np.argmax(np.abs(audio))) / ANALYSIS_SAMPLE_RATE
    assert 1.0 <= peak_s < 1.05
    # chunks are contiguous in media time
    assert [c.start for c in chunks[:3]] == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm", ".avi"])
def test_video_containers_expose_audio_and_video(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"clip{suffix}", noise_floor(2.0, level_db=-30), 2.0)
    info = probe(path)
    assert info.video is not None and info.video.width == 64
    assert info.audio is not None
    assert sum(c.samples.size for c in iter_audio(info)) > 1.5 * ANALYSIS_SAMPLE_RATE


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError, match="no such file"):
        probe(tmp_path / "nope.mp4")


def test_not_media(not_media: Path) -> None:
    with pytest.raises(MediaDecodeError, match="notes.mp4: the file is plain text, not audio or video"):
        probe(not_media)


def test_video_without_audio(video_only_mp4: Path) -> None:
    with pytest.raises(NoAudioStreamError, match="no audio stream"):
        list(iter_audio(probe(video_only_mp4)))


@pytest.mark.parametrize("name", ["truncated_mp3", "truncated_wav"])
def test_truncated_files_are_refused(name: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(name)
    with pytest.raises(MediaDecodeError, match="truncated"):
        list(iter_audio(probe(path)))


def test_memory_stays_bounded_by_chunk_size(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.flac", noise_floor(30.0, level_db=-20))
    sizes = [c.samples.size for c in iter_audio(probe(path), chunk_s=2.0)]
    assert max(sizes) == 2 * ANALYSIS_SAMPLE_RATE
    assert abs(sum(sizes) / ANALYSIS_SAMPLE_RATE - 30.0) < 0.05


def test_directory_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError, match="is a directory"):
        probe(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaDecodeError, match="empty.mp4: the file is empty"):
        probe(empty)


@pytest.mark.parametrize("name", ["photo.png", "photo.jpg", "photo.mp4"])
def test_a_still_image_is_refused_as_not_media(tmp_path: Path, name: str) -> None:
    """FFmpeg opens a picture (as ``png_pipe``, ``jpeg_pipe``): it holds no media time, and soundcue says so
    rather than writing empty results (``photo.mp4`` is a PNG under a video's name)."""
    import cv2

    picture = (np.arange(48 * 64 * 3) % 251).astype(np.uint8).reshape(48, 64, 3)
    ok, data = cv2.imencode(".jpg" if name.endswith(".jpg") else ".png", picture)
    assert ok
    path = tmp_path / name
    path.write_bytes(data.tobytes())
    with pytest.raises(MediaDecodeError, match=rf"{name}: the file is a still image \((png|mjpeg)\), not audio"):
        probe(path)
