"""The pipeline with sight: which stages run for which input, and what a user sees of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import KNOCK_TIMES
from media_factory import knock, noise_floor, place
from video_factory import write_frames

from captioning.errors import NoAudioStreamError
from captioning.pipeline import AnalysisOptions, analyze

pytestmark = pytest.mark.slow  # loads the real models


def _room(i: int, t: float) -> np.ndarray:
    """A still, lit room with sensor noise: nothing moves, nothing makes a sound."""
    rng = np.random.default_rng(i)
    img = np.full((144, 256, 3), 120, np.uint8)
    img[90:, :] = 80  # floor
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def still_with_knocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    audio = place(noise_floor(6.0), knock(), KNOCK_TIMES)
    return write_frames(tmp_path_factory.mktemp("v") / "room.mp4", _room, [k / 10 for k in range(60)],
                        audio=audio)


@pytest.fixture(scope="module")
def still_silent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_frames(tmp_path_factory.mktemp("v") / "silent.mp4", _room, [k / 10 for k in range(40)])


def test_a_video_with_sound_runs_both_and_keeps_the_heard_events(still_with_knocks: Path) -> None:
    a = analyze(still_with_knocks)
    assert "visual_scene" in a.models and "audio_tagger" in a.models
    starts = [e.start for e in a.events if not e.background]
    for t in KNOCK_TIMES:  # off-screen sounds stay
        assert any(abs(s - t) <= 0.05 for s in starts), (t, starts)
    assert not [e for e in a.events if e.source == "visual" and e.confidence > 0.45]  # a still room shows nothing


def test_no_audio_treats_the_clip_as_silent(still_with_knocks: Path) -> None:
    a = analyze(still_with_knocks, AnalysisOptions(audio=False))
    assert "audio_tagger" not in a.models
    assert all(e.source == "visual" for e in a.events)
    # still pictures: no visual sound either, only a bed under the scene (never captioned)
    assert [e for e in a.events if not e.background] == []


def test_a_video_without_audio_is_analysed_from_its_pictures(still_silent: Path) -> None:
    a = analyze(still_silent)
    assert a.media.audio is None and "visual_scene" in a.models
    assert [e for e in a.events if not e.background] == []
    with pytest.raises(NoAudioStreamError, match="--no-visual"):
        analyze(still_silent, AnalysisOptions(visual=False))


def test_audio_only_input_skips_the_visual_stages(knocks_wav: Path) -> None:
    a = analyze(knocks_wav)
    assert not [k for k in a.models if k.startswith("visual")]
    assert all(e.source == "audio" for e in a.events)


def test_a_single_frame_video_is_analysed_without_events(tmp_path: Path) -> None:
    path = write_frames(tmp_path / "one.mp4", _room, [0.0])
    a = analyze(path)
    assert "visual_scene" in a.models and [e for e in a.events if not e.background] == []


def test_cover_art_of_an_audio_file_is_not_analysed_as_pictures(tmp_path: Path) -> None:
    from media_factory import Track, write_media

    path = write_media(tmp_path / "song.m4a", [Track(place(noise_floor(6.0), knock(), KNOCK_TIMES))], cover_art=True)
    a = analyze(path)
    assert not [k for k in a.models if k.startswith("visual")]
    assert all(e.source == "audio" for e in a.events) and a.events


def test_a_video_too_large_to_decode_is_a_clear_error_and_its_sound_can_still_be_asked_for(tmp_path: Path) -> None:
    from captioning.errors import MediaDecodeError

    path = tmp_path / "huge.y4m"
    with path.open("wb") as f:  # a header declaring 10000x10000 (100 megapixels) and two tiny frames
        f.write(b"YUV4MPEG2 W10000 H10000 F25:1 Ip A1:1 C420jpeg\n" + (b"FRAME\n" + bytes(4096)) * 2)
    with pytest.raises(MediaDecodeError, match="10000x10000.*--no-visual"):
        analyze(path)
    with pytest.raises(NoAudioStreamError):  # nothing else to analyse in this one
        analyze(path, AnalysisOptions(visual=False))
