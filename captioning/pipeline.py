"""The analysis pipeline: source -> media (decode once) -> analyzers -> detection -> Analysis.

Example::

    from captioning import analyze
    analysis = analyze("clip.mp4")
    for ev in analysis.events:
        print(ev.start, ev.end, ev.caption)
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from captioning.analysis.audio import FeatureExtractor
from captioning.analysis.types import FrameAnalyzer
from captioning.analysis.video import FrameRouter
from captioning.detection import DetectionOptions, detect_events
from captioning.detection.fusion import fuse
from captioning.detection.visual import visual_events
from captioning.errors import InvalidOptionsError, MediaError, ModelLoadError, NoAudioStreamError
from captioning.events import Analysis, MediaInfo, SoundEvent
from captioning.media import ANALYSIS_SAMPLE_RATE, AudioChunk, iter_media, probe
from captioning.options import option
from captioning.progress import ProgressHook, no_progress
from captioning.vocabulary import Vocabulary, load_vocabulary

logger = logging.getLogger("captioning")

#: onnxruntime intra-op threads for YAMNet: pinned, not taken from the machine (scores do not depend on it,
#: tests/test_yamnet_golden.py checks); 2 halves the tagger's time on a 2-core machine.
TAGGER_THREADS = 2


@dataclass(frozen=True)
class AnalysisOptions:
    """What to detect. Units are in the field names.

    Attributes:
        min_confidence: events below this confidence are dropped from the result (0 keeps all; caption
            renderers apply their own, stricter threshold and list what they leave out).
        ambience: report steady backgrounds (wind, rain, birdsong) as one background event each.
        audio: analyse the audio track (False: treat the clip as silent, find its sounds in the pictures).
        visual: analyse the pictures (shot cuts, motion onsets, pose, frame classes); audio-only inputs skip
            it silently.
        analysis_fps: frames per second given to the pose analyzer (motion onsets see every frame, scene
            classification about 2 per second).
        max_duration_s: refuse media longer than this (None: no limit).
        audio_stream: container index of the audio stream to analyse (as ffprobe numbers streams; recorded
            in ``MediaInfo.audio_stream``); None: the default-disposition track.
        detection: low-level detection parameters.
    """

    min_confidence: float = option(0.0, flag="--min-event-confidence", help="Drop events below this confidence "
                                   "(0..1) from the result and every output; 0 keeps all.")
    ambience: bool = option(True, help="Report steady background sounds (wind, rain, birdsong), one event each.")
    # --audio is the Foley track's switch (issue 11), so this one is --analyse-audio/--no-audio
    audio: bool = option(True, flag="--analyse-audio/--no-audio",
                         help="Analyse the audio track; --no-audio treats the clip as silent and finds "
                         "its sounds in the pictures.")
    visual: bool = option(True, help="Analyse the pictures (shot cuts, motion, pose, scene) to find and name "
                          "sounds; audio-only inputs skip it.")
    analysis_fps: float = option(10.0, metavar="FPS", help="Frames per second for pose (footsteps, claps), "
                                 "1-30; motion onsets use every frame.")
    max_duration_s: float | None = None
    audio_stream: int | None = option(
        None, metavar="N", help="Analyse the audio stream with this container index (as ffprobe numbers streams, "
        "0:N); default: the default-disposition audio track. events.json records the stream used "
        "(media.audio_stream).")
    detection: DetectionOptions = field(default_factory=DetectionOptions)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InvalidOptionsError(f"min_confidence must be within 0..1, got {self.min_confidence}")
        if not (self.audio or self.visual):
            raise InvalidOptionsError("audio and visual analysis are both off: nothing would be analysed")
        if not 1.0 <= self.analysis_fps <= 30.0:
            raise InvalidOptionsError(f"analysis_fps must be within 1..30 frames per second, got {self.analysis_fps}")
        if self.max_duration_s is not None and self.max_duration_s <= 0:
            raise InvalidOptionsError(f"max_duration_s must be positive, got {self.max_duration_s}")
        if self.audio_stream is not None and self.audio_stream < 0:
            raise InvalidOptionsError(f"audio_stream must be a stream index >= 0, got {self.audio_stream}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: Builds a fresh set of frame analyzers (they hold per-video state) for one input.
VisualFactory = Callable[[AnalysisOptions, MediaInfo], Sequence[FrameAnalyzer[Any]]]


@dataclass(frozen=True)
class Analyzers:
    """The loaded models, shared by every input of a run (load once with :func:`load_analyzers`).

    ``visual`` makes the frame analyzers of one input (None: no visual stages available).
    """

    tagger: Any  # models.yamnet.YamNet
    vad: Any  # models.vad.SileroVAD
    vocabulary: Vocabulary
    visual: VisualFactory | None = None

    @property
    def versions(self) -> dict[str, str]:
        return {"audio_tagger": self.tagger.version, "speech_activity": self.vad.version}


@functools.lru_cache(maxsize=1)
def load_analyzers() -> Analyzers:
    """Load every model once per process (cached). Raises ModelLoadError with a fix when one is missing.

    The visual models (pose, frame classifier) load lazily, on the first video that needs them.
    """
    from models.errors import ModelUnavailableError
    from models.vad import load_vad
    from models.yamnet import load_yamnet

    try:
        tagger = load_yamnet(num_threads=TAGGER_THREADS)
        return Analyzers(tagger=tagger, vad=load_vad(), vocabulary=load_vocabulary(), visual=frame_analyzers)
    except ModelUnavailableError as e:
        raise ModelLoadError(str(e)) from e


def frame_analyzers(options: AnalysisOptions, info: MediaInfo) -> list[FrameAnalyzer[Any]]:
    """The frame analyzers of one video: shot cuts, motion onsets, pose (footsteps, claps), scene classes."""
    from captioning.analysis import registry

    return registry.build(options.analysis_fps, duration_s=info.duration)


def analyze(
    source: str | Path | MediaInfo,
    options: AnalysisOptions | None = None,
    *,
    analyzers: Analyzers | None = None,
    hook: ProgressHook | None = None,
    name: str | None = None,
) -> Analysis:
    """Analyse one media file into an :class:`Analysis` (events sorted by start).

    Parameters:
        source: path of a video or audio file (anything FFmpeg reads), or what :func:`captioning.media.probe`
            found in one, so a caller that checked the media first does not probe it twice.
        options: what to detect (defaults: :class:`AnalysisOptions`).
        analyzers: loaded models; defaults to the process-wide cached set.
        hook: progress callback, called with seconds of media time done.
        name: the media's name in the result (``media.path``) and so in every output rendered from it, e.g.
            the file name a user uploaded rather than where the server keeps it; default: the path.

    Raises:
        MediaError: the file is missing, not media, truncated, or has no audio stream.
        InvalidOptionsError: an option is out of range or not implemented.
        ModelLoadError: a model package is missing.
    """
    options = options or AnalysisOptions()
    hook = hook or no_progress
    if isinstance(source, MediaInfo) and options.audio_stream in (None, source.audio_stream):
        info = source
    else:
        info = probe(source.path if isinstance(source, MediaInfo) else source, audio_stream=options.audio_stream)
    if options.max_duration_s is not None and info.duration > options.max_duration_s:
        raise MediaError(f"{info.path}: media is {info.duration:.0f} s long, the limit is "
                         f"{options.max_duration_s:.0f} s")
    analyzers = analyzers or load_analyzers()
    run_audio = options.audio and info.audio is not None
    run_visual = options.visual and info.video is not None and analyzers.visual is not None
    if not (run_audio or run_visual):
        raise _nothing_to_analyse(info, options, visual_available=analyzers.visual is not None)
    t0 = time.perf_counter()
    total = max(info.duration, 1e-3)
    hook("decode", completed=0.0, total=total)
    extractor = FeatureExtractor(analyzers.tagger, analyzers.vad) if run_audio else None
    router = FrameRouter(analyzers.visual(options, info)) if run_visual and analyzers.visual is not None else None
    done = 0.0
    try:
        for item in iter_media(info, audio=run_audio, video=run_visual):
            if isinstance(item, AudioChunk):
                assert extractor is not None
                extractor.push(item.samples, item.stereo)
                done = max(done, item.start + item.samples.size / ANALYSIS_SAMPLE_RATE)
            else:
                assert router is not None
                router.push(item)
                if not run_audio:
                    done = max(done, item.t)
            hook("analyze", completed=min(total, done), total=total)
    except BaseException:
        if router is not None:  # a damaged file or a cancelled job: no analyzer thread may outlive it
            router.close()
        raise
    events: tuple[SoundEvent, ...] = ()
    if extractor is not None:
        feats = extractor.finish()
        try:
            events = detect_events(feats, analyzers.vocabulary, options.detection, ambience=options.ambience)
        finally:
            feats.close()
    models = dict(analyzers.versions) if run_audio else {}
    if router is not None:
        obs = router.finish()
        seen = visual_events(obs, analyzers.vocabulary, info.duration)
        events = fuse(events, seen, obs, analyzers.vocabulary, audio_analysed=run_audio)
        models.update({f"visual_{a.name}": getattr(a, "version", None) or a.name for a in router.analyzers})
    if options.min_confidence > 0:
        events = tuple(e for e in events if e.confidence >= options.min_confidence)
    hook("detect", completed=total, total=total)
    logger.info("%s: %d events in %.2f s", info.path, len(events), time.perf_counter() - t0)
    media = info if name is None else dataclasses.replace(info, path=name)
    return Analysis(media=media, events=events, models=models, options=options.to_dict())


def _nothing_to_analyse(info: MediaInfo, options: AnalysisOptions, *, visual_available: bool) -> MediaError:
    kinds = ", ".join(s.type for s in info.streams) or "none"
    if info.audio is None and info.video is None:
        return NoAudioStreamError(f"{info.path}: no audio or video stream to analyse (streams: {kinds})")
    if info.video is None:
        return MediaError(f"{info.path}: the audio is turned off (--no-audio) and the file has no video to "
                          f"analyse instead (streams: {kinds})")
    if not visual_available:
        return NoAudioStreamError(f"{info.path}: no audio stream, and this installation has no visual analyzers "
                                  f"to find the sounds in the pictures (streams: {kinds})")
    return NoAudioStreamError(f"{info.path}: no audio stream, and visual analysis is turned off (--no-visual); "
                              f"turn it on to find the sounds in the pictures (streams: {kinds})")
