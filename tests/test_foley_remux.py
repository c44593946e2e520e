"""The remuxed video (captioning.foley.remux), read back with PyAV: the picture copied bit for bit, the Foley
track first and default on the media's timeline, the original audio kept (or replaced), the captions as a
subtitle stream (mov_text in MP4, WebVTT in Matroska/WebM). Every input is made here; the Foley track is a
test-made file of noise bursts at known times, so onsets can be found exactly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import pytest
from media_factory import SR, Track, noise_floor, write_audio, write_media, write_video

from captioning.captions.model import Cue, CueLine
from captioning.errors import InvalidOptionsError, MediaDecodeError, MediaError
from captioning.foley.remux import (
    CAPTIONS_LANGUAGE,
    FOLEY_LANGUAGE,
    FOLEY_TITLE,
    SUFFIXES,
    read_audio_blocks,
    remux,
    video_container,
)
from captioning.media import iter_audio, probe

BURSTS_S = (0.25, 1.0, 2.0)
CUES = (Cue(500, 1200, (CueLine("[door slams]"),), identifier="s0001"),
        Cue(1500, 2300, (CueLine("[dog barks <far>]"), CueLine("in the distance", italic=True)),
            identifier="s0002"))


def bursts(seconds: float = 3.0, sr: int = SR, channels: int = 2, at_s: Sequence[float] = BURSTS_S) -> np.ndarray:
    """shape=(channels, n): silence with 50 ms noise bursts starting exactly at ``at_s``."""
    x = np.zeros((channels, int(seconds * sr)), np.float32)
    rng = np.random.default_rng(3)
    for t in at_s:
        i = round(t * sr)
        x[:, i:i + sr // 20] = 0.3 * rng.standard_normal((channels, sr // 20))
    return x


@pytest.fixture(scope="module")
def foley_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_audio(tmp_path_factory.mktemp("foley") / "foley.wav", bursts())


def packets(path: Path, kind: str, index: int = 0) -> list[tuple[int | None, bytes]]:
    """(pts, bytes) of every non-empty packet of the ``index``-th stream of ``kind``, in file order."""
    with av.open(str(path)) as c:
        stream = [s for s in c.streams if s.type == kind][index]
        return [(p.pts, bytes(p)) for p in c.demux(stream) if p.size]


def decode_audio(path: Path, index: int = 0) -> tuple[float, np.ndarray]:
    """(container time of the first decoded sample, shape=(2, n) float32 at SR) of the index-th audio stream."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[index]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SR)
        first, planes = None, []
        for frame in c.decode(stream):
            if first is None and frame.pts is not None:
                first = float(frame.pts * frame.time_base)
            planes += [f.to_ndarray() for f in resampler.resample(frame)]
        return first or 0.0, np.concatenate(planes, axis=1)


def onsets(x: np.ndarray, start_s: float, threshold: float = 0.2) -> list[float]:
    """Times (s, on the clock of ``start_s``, the time of x's first sample) where the bursts begin in ``x``,
    shape=(channels, n) at SR: each first sample above ``threshold`` after 0.2 s of quiet."""
    loud = np.flatnonzero(np.abs(x[0]) > threshold)
    firsts = loud[np.concatenate([[True], np.diff(loud) > 0.2 * SR])] if loud.size else loud
    return [start_s + i / SR for i in firsts]


def subtitles(path: Path) -> tuple[str, list[tuple[float, float, str]]]:
    """(codec, [(start s, end s, ASS text)]) of the first subtitle stream."""
    with av.open(str(path)) as c:
        stream = c.streams.subtitles[0]
        out = []
        for p in c.demux(stream):
            if not p.size or p.pts is None:
                continue
            for sub in p.decode():
                text = sub.ass.decode().split(",", 8)[-1]
                if text:
                    start = float(p.pts * p.time_base)
                    out.append((round(start, 3), round(start + float(p.duration * p.time_base), 3), text))
        return stream.codec_context.name, out


def with_default_video(src: Path) -> Path:
    """A stream copy of ``src`` whose video stream has the "default" disposition, as a camera's file has."""
    dst = src.with_name(f"default-{src.name}")
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for s in inp.streams:
            if s.index in streams:
                streams[s.index].disposition = av.stream.Disposition.default
        for packet in inp.demux(*[inp.streams[i] for i in streams]):
            if packet.dts is not None and packet.pts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    with av.open(str(dst)) as c:
        assert c.streams.video[0].disposition & av.stream.Disposition.default
    return dst


def do_remux(src: Path, out_dir: Path, foley: Path, **kw: object) -> Path:
    fmt = video_container(src, replace_audio=bool(kw.get("replace_audio", False)))
    sr, channels, blocks = read_audio_blocks(foley)
    return remux(src, out_dir / f"video{SUFFIXES[fmt]}", blocks, sample_rate=sr, channels=channels,
                 cues=CUES, container=fmt, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix, container, foley_codec, subtitle_codec", [
    (".mp4", "mp4", "aac", "mov_text"),
    (".mov", "mp4", "aac", "mov_text"),
    (".mkv", "matroska", "aac", "webvtt"),
    (".webm", "webm", "opus", "webvtt"),
    (".avi", "matroska", "aac", "webvtt"),
])
def test_remux_copies_the_video_and_adds_foley_and_captions(tmp_path: Path, foley_wav: Path, suffix: str,
                                                             container: str, foley_codec: str,
                                                             subtitle_codec: str) -> None:
    src = write_video(tmp_path / f"clip{suffix}", noise_floor(3.0, -30.0), 3.0)
    out = do_remux(src, tmp_path, foley_wav)
    assert out.suffix == SUFFIXES[container] and out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    with av.open(str(out)) as c:
        assert container in c.format.name.split(",")
        kinds = [s.type for s in c.streams]
        assert kinds == ["video", "audio", "audio", "subtitle"]
        foley, original = c.streams.audio
        assert foley.codec_context.name == foley_codec
        assert foley.metadata.get("title", foley.metadata.get("name")) == FOLEY_TITLE
        assert foley.metadata["language"] == FOLEY_LANGUAGE
        assert foley.disposition & av.stream.Disposition.default
        assert not original.disposition & av.stream.Disposition.default
        assert c.streams.subtitles[0].metadata["language"] == CAPTIONS_LANGUAGE
    # the picture is the input's, packet for packet, byte for byte (copied, not re-encoded)
    assert [b for _, b in packets(out, "video")] == [b for _, b in packets(src, "video")]
    # the original audio too
    assert [b for _, b in packets(out, "audio", 1)] == [b for _, b in packets(src, "audio")]
    # the Foley track: every burst where it was made (Opus's own resampling: within a millisecond)
    start, x = decode_audio(out, 0)
    assert onsets(x, start) == pytest.approx(BURSTS_S, abs=0.001)
    codec, cues = subtitles(out)
    assert codec == subtitle_codec
    assert [(s, e) for s, e, _ in cues] == [(0.5, 1.2), (1.5, 2.3)]
    assert cues[0][2] == "[door slams]"
    # the second line stays a second line, in italics; "<" is text, not markup
    assert cues[1][2] == "[dog barks <far>]\\N{\\i1}in the distance" + ("{\\i0}" if codec == "webvtt" else "")


@pytest.mark.parametrize("suffix, container", [(".mp4", "mp4"), (".mp4", "matroska"), (".webm", "webm")])
def test_the_copied_video_keeps_its_default_disposition(tmp_path: Path, foley_wav: Path, suffix: str,
                                                        container: str) -> None:
    src = with_default_video(write_video(tmp_path / f"clip{suffix}", noise_floor(3.0, -30.0), 3.0))
    sr, channels, blocks = read_audio_blocks(foley_wav)
    out = remux(src, tmp_path / f"video{SUFFIXES[container]}", blocks, sample_rate=sr, channels=channels,
                cues=CUES, container=container)
    with av.open(str(out)) as c:
        assert c.streams.video[0].disposition & av.stream.Disposition.default  # Matroska/WebM used to clear it
        assert c.streams.audio[0].disposition & av.stream.Disposition.default  # the Foley track
        assert not c.streams.audio[1].disposition & av.stream.Disposition.default


def test_replace_audio_leaves_the_foley_track_alone(tmp_path: Path, foley_wav: Path) -> None:
    src = write_video(tmp_path / "clip.mp4", noise_floor(3.0, -30.0), 3.0)
    out = do_remux(src, tmp_path, foley_wav, replace_audio=True)
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio", "subtitle"]
        assert c.streams.audio[0].metadata["language"] == FOLEY_LANGUAGE
    assert [b for _, b in packets(out, "video")] == [b for _, b in packets(src, "video")]


def test_a_silent_clip_gets_the_foley_as_its_only_audio(tmp_path: Path, foley_wav: Path) -> None:
    src = write_video(tmp_path / "silent.mp4", None, 3.0)
    out = do_remux(src, tmp_path, foley_wav)
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio", "subtitle"]
    start, x = decode_audio(out)
    assert onsets(x, start) == pytest.approx(BURSTS_S, abs=0.0005)


def test_the_foley_track_keeps_its_place_on_a_timeline_that_starts_late(tmp_path: Path) -> None:
    """Video and audio start 0.4 s into the container here: a Foley sound rendered at the media time where the
    library hears a sound of the original sounds together with it in the remuxed video, not 0.4 s early."""
    original = bursts(3.0, channels=1)[0] + noise_floor(3.0, -60.0)
    src = write_media(tmp_path / "late.mp4", [Track(original, start_s=0.4)], video_s=3.0, video_start_s=0.4)
    info = probe(src)
    assert info.start_time > 0.3
    chunks = list(iter_audio(info, sample_rate=SR))
    heard = np.concatenate([c.samples for c in chunks])[None]
    heard_at = onsets(heard, chunks[0].start)  # media time, as events carry it
    foley = write_audio(tmp_path / "foley.wav", bursts(3.0, at_s=heard_at))
    sr, channels, blocks = read_audio_blocks(foley)
    out = remux(src, tmp_path / "video.mp4", blocks, sample_rate=sr, channels=channels, origin_s=info.start_time)
    foley_start, foley_x = decode_audio(out, 0)
    orig_start, orig_x = decode_audio(out, 1)
    assert onsets(foley_x, foley_start) == pytest.approx(onsets(orig_x, orig_start), abs=0.001)
    assert onsets(foley_x, foley_start) == pytest.approx([info.start_time + t for t in heard_at], abs=0.001)


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_left_stays_left(tmp_path: Path, suffix: str) -> None:
    """A sound panned hard left in the Foley track is on the left of the remuxed video, and the right one right."""
    x = bursts(3.0)
    x[1, : round(0.6 * SR)] = 0.0  # the first burst on the left only
    x[0, round(0.6 * SR):] = 0.0  # the others on the right only
    foley = write_audio(tmp_path / "foley.wav", x)
    src = write_video(tmp_path / f"clip{suffix}", noise_floor(3.0, -30.0), 3.0)
    sr, channels, blocks = read_audio_blocks(foley)
    out = remux(src, tmp_path / f"video{suffix}", blocks, sample_rate=sr, channels=channels)
    start, y = decode_audio(out)
    assert onsets(y[:1], start) == pytest.approx(BURSTS_S[:1], abs=0.001)
    assert onsets(y[1:], start) == pytest.approx(BURSTS_S[1:], abs=0.001)


def test_mono_foley_and_no_cues(tmp_path: Path) -> None:
    src = write_video(tmp_path / "clip.mkv", noise_floor(2.0, -30.0), 2.0)
    mono = write_audio(tmp_path / "mono.wav", bursts(2.5, sr=44100, channels=1)[0], sr=44100)
    sr, channels, blocks = read_audio_blocks(mono)
    assert (sr, channels) == (44100, 1)
    out = remux(src, tmp_path / "video.mkv", blocks, sample_rate=sr, channels=channels)
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio", "audio"]  # no cues: no subtitle stream
        assert c.streams.audio[0].codec_context.channels == 1
        assert c.streams.audio[0].codec_context.sample_rate == 44100


def test_audio_only_input_is_refused_clearly(tmp_path: Path, foley_wav: Path) -> None:
    src = write_audio(tmp_path / "song.m4a", noise_floor(2.0, -30.0))
    with pytest.raises(InvalidOptionsError, match="song.m4a: no video stream"):
        video_container(src)
    sr, channels, blocks = read_audio_blocks(foley_wav)
    with pytest.raises(InvalidOptionsError, match="--audio"):
        remux(src, tmp_path / "video.mp4", blocks, sample_rate=sr, channels=channels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.m4a"]  # nothing written, no temp file


def test_not_media_is_a_clear_error_and_nothing_is_written(tmp_path: Path, foley_wav: Path) -> None:
    src = tmp_path / "notes.mp4"
    src.write_text("not a video\n" * 100)
    sr, channels, blocks = read_audio_blocks(foley_wav)
    with pytest.raises(MediaDecodeError, match="notes.mp4"):
        remux(src, tmp_path / "video.mp4", blocks, sample_rate=sr, channels=channels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4"]


def test_an_earlier_result_survives_a_failed_remux(tmp_path: Path, foley_wav: Path) -> None:
    src = write_video(tmp_path / "clip.mp4", noise_floor(2.0, -30.0), 2.0)
    target = tmp_path / "video.mp4"
    target.write_bytes(b"earlier result")

    def failing() -> object:
        yield np.zeros((1000, 2), np.float32)
        raise RuntimeError("synthesis failed")

    with pytest.raises(RuntimeError, match="synthesis failed"):
        remux(src, target, failing(), sample_rate=SR, channels=2)  # type: ignore[arg-type]
    assert target.read_bytes() == b"earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "video.mp4"]


def test_webm_and_matroska_are_told_apart_by_name(tmp_path: Path) -> None:
    src = write_video(tmp_path / "clip.webm", noise_floor(1.0, -30.0), 1.0)
    assert video_container(src) == "webm"
    assert video_container(src, name="clip.mkv") == "matroska"  # the user's name for it was .mkv
    no_suffix = tmp_path / "input"
    no_suffix.write_bytes(src.read_bytes())
    assert video_container(no_suffix) == "webm"  # what the service stores: WebM's codecs, so WebM
    assert video_container(no_suffix, name="https://example.org/clip.webm") == "webm"


def test_read_audio_blocks_streams_the_file(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.wav", np.zeros((2, SR * 5), np.float32))
    sr, channels, blocks = read_audio_blocks(path, block_frames=SR)
    sizes = [b.shape for b in blocks]
    assert (sr, channels) == (SR, 2) and all(s[1] == 2 for s in sizes)
    assert sum(s[0] for s in sizes) == SR * 5 and max(s[0] for s in sizes) < 2 * SR
    with pytest.raises(MediaDecodeError):
        read_audio_blocks(tmp_path / "missing.wav")


def test_a_video_no_container_can_copy_is_refused_before_anything_is_written(tmp_path: Path,
                                                                             foley_wav: Path) -> None:
    """An animated GIF is video (its pictures are analysed), but no container here takes its GIF stream."""
    src = tmp_path / "loop.gif"
    with av.open(str(src), "w", format="gif") as out:
        stream = out.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb8"
        for k in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * k, np.uint8), format="rgb24")
            for packet in stream.encode(frame.reformat(format="rgb8")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert probe(src).video is not None
    with pytest.raises(MediaError, match="loop.gif: its gif stream cannot be copied .*--audio"):
        video_container(src)
    sr, channels, blocks = read_audio_blocks(foley_wav)
    with pytest.raises(MediaError, match="gif stream"):
        remux(src, tmp_path / "video.mkv", blocks, sample_rate=sr, channels=channels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.gif"]
