"""The HTTP contract: every pydantic model of the service lives here (STYLE.md habit 3).

Request models validate and document options; :meth:`JobOptions.unimplemented` lists the options that
ask for work no stage does yet, which the routes turn into a 422 (never silently ignored).
Every analysis, caption, haptic, Foley and remux option takes its default and description from the library's
declaration (``captioning.options``), and :meth:`JobOptions.to_domain` builds the domain dataclasses
(``AnalysisOptions``, ``OutputOptions``) in one place; tests/test_options_parity.py checks this schema against
the declarations. The HunyuanVideo-Foley-compatible request (:class:`FoleyGenerate`) converts to a
:class:`JobCreate` in one place too (:meth:`FoleyGenerate.to_job`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from app.job_errors import read_job_error
from captioning.errors import InvalidOptionsError
from captioning.foley.options import (
    LOUDNESS_RANGE_LUFS,
    SAMPLE_RATES,
    TRUE_PEAK_RANGE_DBTP,
    AudioFormat,
    Profile,
    Sync,
)
from captioning.options import build_families, declared_options, option_spec
from captioning.outputs import OutputOptions
from captioning.pipeline import AnalysisOptions

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})

OutputName = Literal["events", "vtt", "srt", "haptics", "timeline", "audio", "video"]
#: Outputs asked for when the request names none.
DEFAULT_OUTPUTS: tuple[OutputName, ...] = ("events", "vtt", "srt")
#: API output name -> the library's output family (``captioning.outputs.OUTPUTS``) when they differ.
OUTPUT_FAMILIES: dict[str, str] = {"vtt": "captions", "srt": "captions"}
#: Outputs that exist in the schema (so clients can code against them) but no stage produces yet: none now.
UNIMPLEMENTED_OUTPUTS: dict[str, str] = {}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _sample_rate(value: int | None) -> int | None:
    if value is not None and value not in SAMPLE_RATES:
        raise ValueError(f"sample rate must be one of {list(SAMPLE_RATES)} Hz, got {value}")
    return value


def _declared(family: str, name: str, **constraints: Any) -> Any:
    """A field whose default and description are the library's declaration (``captioning.options``)."""
    spec = option_spec(family, name)
    return Field(default=spec.default, description=spec.help, **constraints)


class CaptionSettings(_Model):
    """How the caption tracks are written (``captioning.captions.CaptionOptions``); null keeps the default."""

    style: Literal["netflix", "dcmp", "bbc"] | None = _declared("captions", "style")
    min_confidence: float | None = _declared("captions", "min_confidence", ge=0.0, le=1.0)
    include_low_confidence: bool | None = _declared("captions", "include_low_confidence")
    line: str | None = _declared("captions", "line", pattern=r"^-?\d{1,3}%?$")
    metadata: bool | None = _declared("captions", "metadata")
    frame_rate: float | None = _declared("captions", "frame_rate", ge=1.0, le=240.0)
    onomatopoeia: bool | None = _declared("captions", "onomatopoeia")
    hls: bool | None = _declared("captions", "hls")
    hls_segment_s: float | None = _declared("captions", "hls_segment_s", ge=1.0, le=600.0)
    hls_mpegts: int | None = _declared("captions", "hls_mpegts", ge=0, lt=2**33)
    hls_video_playlist_url: str | None = _declared("captions", "hls_video_playlist_url", max_length=2048,
                                                   pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")


class HapticSettings(_Model):
    """How the haptic tracks are rendered (``captioning.haptics.HapticOptions``); null keeps the default."""

    profile: Literal["standard", "calm"] | None = _declared("haptics", "profile")
    ceiling: float | None = _declared("haptics", "ceiling", gt=0.0, le=1.0)


class FoleySettings(_Model):
    """How the Foley track is rendered (``captioning.foley.FoleyOptions``); null keeps the default."""

    audio_format: AudioFormat | None = _declared("foley", "audio_format")
    sample_rate: int | None = _declared("foley", "sample_rate")
    channels: Literal[1, 2] | None = _declared("foley", "channels")
    profile: Profile | None = _declared("foley", "profile")
    sync: Sync | None = _declared("foley", "sync")
    music: bool | None = _declared("foley", "music")
    music_intensity: float | None = _declared("foley", "music_intensity", ge=0.0, le=1.0)
    loudness_lufs: float | None = _declared("foley", "loudness_lufs", ge=LOUDNESS_RANGE_LUFS[0],
                                            le=LOUDNESS_RANGE_LUFS[1])
    true_peak_dbtp: float | None = _declared("foley", "true_peak_dbtp", ge=TRUE_PEAK_RANGE_DBTP[0],
                                             le=TRUE_PEAK_RANGE_DBTP[1])
    enable_cache: bool | None = _declared("foley", "enable_cache")

    _check_sample_rate = field_validator("sample_rate")(_sample_rate)


class RemuxSettings(_Model):
    """How the remuxed video is made (``captioning.foley.remux.RemuxOptions``); null keeps the default."""

    replace_audio: bool | None = _declared("remux", "replace_audio")


class JobOptions(_Model):
    """What to detect and which outputs to produce."""

    outputs: list[OutputName] = Field(
        default_factory=lambda: list(DEFAULT_OUTPUTS),
        min_length=1,
        max_length=7,
        description="Results to produce. `vtt`/`srt` are the caption tracks, `events` the event list "
        "(always produced), `haptics` the four haptic formats, `timeline` a PNG, `audio` the Foley track "
        "(foley.wav, foley.mp3 or foley.m4a) and `video` the input with the Foley track and the captions "
        "added (video.mp4, video.mkv or video.webm).",
    )
    min_confidence: float = _declared("analysis", "min_confidence", ge=0.0, le=1.0)
    ambience: bool = _declared("analysis", "ambience")
    audio: bool = _declared("analysis", "audio")
    visual: bool = _declared("analysis", "visual")
    analysis_fps: float = _declared("analysis", "analysis_fps", ge=1.0, le=30.0)
    audio_stream: int | None = _declared("analysis", "audio_stream", ge=0)
    captions: CaptionSettings = Field(default_factory=CaptionSettings)
    haptics: HapticSettings = Field(default_factory=HapticSettings)
    foley: FoleySettings = Field(default_factory=FoleySettings)
    remux: RemuxSettings = Field(default_factory=RemuxSettings)
    enable_cache: bool = Field(
        default=True,
        description="Reuse the results of an earlier job of the same key with the same input bytes and "
        "options.",
    )
    detailed_log: bool = Field(default=False, description="Include per-stage timings in the job resource.")

    def to_domain(self, *, max_duration_s: float | None = None) -> tuple[AnalysisOptions, OutputOptions]:
        """The library's options for this job (one conversion, ``captioning.options.build_families``).

        Raises:
            InvalidOptionsError: a value the library refuses; ``foley`` settings without "audio" or "video"
                in ``outputs``, or ``remux`` settings without "video" (they would be silently ignored).
        """
        for family, needs in (("foley", {"audio", "video"}), ("remux", {"video"})):
            settings = getattr(self, family)  # a value other than the default (stored jobs come back with all set)
            given = sorted(name for name, f in type(settings).model_fields.items()
                           if getattr(settings, name) not in (None, f.default))
            if given and not needs & set(self.outputs):
                raise InvalidOptionsError(f"{family}.{given[0]} needs {' or '.join(map(repr, sorted(needs)))} "
                                          "in outputs")
        analysis = {spec.name: getattr(self, spec.name) for spec in declared_options("api")
                    if spec.family == "analysis"}
        families = build_families({
            "analysis": {**analysis, "max_duration_s": max_duration_s},
            "captions": self.captions.model_dump(exclude_none=True),
            "haptics": self.haptics.model_dump(exclude_none=True),
            "foley": self.foley.model_dump(exclude_none=True),
            "remux": self.remux.model_dump(exclude_none=True),
        })
        outputs = {"events"} | {OUTPUT_FAMILIES.get(name, name) for name in self.outputs
                                if name not in UNIMPLEMENTED_OUTPUTS}
        return families["analysis"], OutputOptions(outputs=frozenset(outputs), captions=families["captions"],
                                                   haptics=families["haptics"], foley=families["foley"],
                                                   remux=families["remux"])

    def unimplemented(self) -> list[str]:
        """Reasons this request asks for work no stage implements yet (empty: all is implemented)."""
        return [f"outputs: {UNIMPLEMENTED_OUTPUTS[o]}" for o in self.outputs if o in UNIMPLEMENTED_OUTPUTS]


class JobCreate(_Model):
    """A job from a URL (``POST /v1/jobs`` with a JSON body)."""

    video_url: AnyHttpUrl = Field(description="http(s) URL of the video/audio file; public addresses only.")
    options: JobOptions = Field(default_factory=JobOptions)
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="POSTed a Standard Webhooks signed JSON body when the job finishes."
    )


class FoleyOutput(_Model):
    """``output`` of a HunyuanVideo-Foley request: the audio file to make."""

    format: AudioFormat = _declared("foley", "audio_format")
    sample_rate: int = _declared("foley", "sample_rate")
    channels: Literal[1, 2] = _declared("foley", "channels")

    _check_sample_rate = field_validator("sample_rate")(_sample_rate)


class FoleyBackgroundMusic(_Model):
    """``effects.background_music`` of a HunyuanVideo-Foley request."""

    enabled: bool = _declared("foley", "music")
    intensity: float = _declared("foley", "music_intensity", ge=0.0, le=1.0)


class FoleyEffects(_Model):
    """``effects`` of a HunyuanVideo-Foley request."""

    profile: Profile = _declared("foley", "profile")
    sync: Sync = _declared("foley", "sync")
    background_music: FoleyBackgroundMusic = Field(default_factory=FoleyBackgroundMusic)


class FoleyRequestOptions(_Model):
    """``options`` of a HunyuanVideo-Foley request."""

    enable_cache: bool = Field(default=True, description="Reuse the results of an earlier task of the same key "
                               "with the same input and options, and rendered one-shot sounds.")
    return_detailed_log: bool = Field(default=False, description="Add the stage timings (`detailed_log`) to the "
                                      "task status.")


class FoleyGenerate(_Model):
    """``POST /v1/video/foley/generate``: the request shape of the HunyuanVideo-Foley generation API.

    Mapped onto a job (:meth:`to_job`) that produces the ``audio`` output: ``output.*`` and ``effects.*`` are
    the Foley options (``format`` is ``foley.audio_format``, ``background_music`` is ``foley.music`` and
    ``foley.music_intensity``), ``options.enable_cache`` is both caches, ``options.return_detailed_log`` is
    ``detailed_log``.
    """

    video_url: AnyHttpUrl = Field(description="http(s) URL of the video; public addresses only.")
    output: FoleyOutput = Field(default_factory=FoleyOutput)
    effects: FoleyEffects = Field(default_factory=FoleyEffects)
    options: FoleyRequestOptions = Field(default_factory=FoleyRequestOptions)

    def to_job(self) -> JobCreate:
        """The soundcue job this request stands for."""
        music = self.effects.background_music
        foley = FoleySettings(audio_format=self.output.format, sample_rate=self.output.sample_rate,
                              channels=self.output.channels, profile=self.effects.profile, sync=self.effects.sync,
                              music=music.enabled, music_intensity=music.intensity,
                              enable_cache=self.options.enable_cache)
        options = JobOptions(outputs=["events", "audio"], foley=foley, enable_cache=self.options.enable_cache,
                             detailed_log=self.options.return_detailed_log)
        return JobCreate(video_url=self.video_url, options=options)


class FoleyResult(BaseModel):
    """A completed Foley task's audio."""

    audio_url: str = Field(description="The Foley track; a capability link that needs no API key.")
    duration_seconds: float = Field(description="Length of the track (the media's duration), seconds.")
    format: str = Field(description="wav, mp3 or aac.")
    sample_rate: int = Field(description="Hz.")
    channels: int


class FoleyTaskError(BaseModel):
    """Why a Foley task failed."""

    code: str = Field(description="The problem type's last part, e.g. media-decode (docs/api.md, Errors).")
    message: str = Field(description="What went wrong and what to do about it.")


class FoleyTask(BaseModel):
    """A Foley task as the HunyuanVideo-Foley-compatible API shows it (``task_id`` is the soundcue job id)."""

    task_id: str
    status: Literal["processing", "completed", "failed"]
    progress: int = Field(ge=0, le=100, description="Percent done.")
    created_at: datetime
    status_url: str = Field(description="Where to poll this task.")
    result: FoleyResult | None = Field(default=None, description="When completed.")
    error: FoleyTaskError | None = Field(default=None, description="When failed.")
    detailed_log: list[StageLog] | None = Field(default=None, description="Stage timings (return_detailed_log).")


class JobUploadForm(BaseModel):
    """A job from an upload (``POST /v1/jobs`` as multipart/form-data). Documentation only."""

    file: bytes = Field(description="The video/audio file.", json_schema_extra={"format": "binary"})
    options: str | None = Field(default=None, description="JobOptions as a JSON string.")
    webhook_url: str | None = Field(default=None, description="As in the JSON body.")


class ProblemDetail(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI identifying the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong here and what to do about it.")
    instance: str | None = None


class JobError(BaseModel):
    """Why a job failed or was canceled: the members of a problem document (docs/api.md, Errors)."""

    type: str = Field(description="A tag:soundcue,2025:problem: URI, e.g. ...:problem:canceled.")
    title: str
    status: int = Field(description="The HTTP status the same problem has as a response (canceled: 409).")
    detail: str = Field(description="What went wrong and what to do about it.")
    instance: str | None = Field(default=None, description="The job's URL (its links.self).")

    @model_validator(mode="before")
    @classmethod
    def _documented_shape(cls, data: Any) -> Any:
        """Errors kept by earlier versions (``"type": "canceled"``, no ``status``) read in today's shape."""
        return read_job_error(data) if isinstance(data, Mapping) else data


class JobSource(BaseModel):
    kind: Literal["upload", "url"]
    filename: str | None = None
    url: str | None = None
    size_bytes: int | None = None


class ResultFile(BaseModel):
    name: str = Field(description="File name, e.g. captions.vtt.")
    media_type: str
    size_bytes: int
    etag: str
    url: str = Field(description="Fetch with the API key, no key needed for `share_url`.")
    share_url: str = Field(
        description="Capability link (no key needed) for players, e.g. a <track src> on another origin."
    )
    duration_s: float | None = Field(default=None, description="Length of an audio or video result, seconds.")


class StageLog(BaseModel):
    stage: str
    started_at: datetime
    duration_s: float
    details: dict[str, Any] | None = Field(
        default=None,
        description="What the stage did, where there is more to say than its time: for `foley`, the render's "
        "report (loudness_lufs reached and target_lufs, target_met and the shortfall's reason, true_peak_dbtp, "
        "gain_db and beds_gain_db, limiter_db, voices, events_rendered, recipes, mood, passes, cache hits); for "
        "`cache` (results reused from an identical earlier job), `served_from` (that job's id) and the details its "
        "own stages reported, e.g. `foley`.")


class JobPublic(BaseModel):
    """A job as the API shows it."""

    id: str
    status: JobStatus
    progress: float = Field(ge=0.0, le=1.0, description="Fraction of the work done, 0..1.")
    stage: str | None = Field(description="Current (or last) stage, e.g. decode, tagging, outputs.")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = Field(
        default=None, description="When a finished job and its files are deleted."
    )
    attempts: int = Field(description="How many times a worker started this job.")
    source: JobSource
    options: JobOptions
    webhook_url: str | None = None
    error: JobError | None = None
    results: list[ResultFile] = Field(default_factory=list)
    links: dict[str, str] = Field(default_factory=dict)
    log: list[StageLog] | None = Field(default=None, description="Stage timings (with detailed_log).")


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int = Field(description="Total number of the caller's jobs.")
    limit: int
    offset: int
    next: str | None = Field(default=None, description="Link to the next page, if any.")


class Message(BaseModel):
    message: str


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Any] = Field(default_factory=dict)


class WebhookSecret(BaseModel):
    secret: str = Field(description="whsec_-prefixed base64 secret to verify this key's webhook signatures.")


class WebhookPayload(BaseModel):
    """Body of a webhook delivery."""

    type: Literal["job.succeeded", "job.failed", "job.canceled"]
    timestamp: datetime
    data: JobPublic


def _audit_declared(name: str, **constraints: Any) -> Any:
    """A field whose default and description are ``AuditOptions``' declaration (captioning.audit.options)."""
    from captioning.audit.options import audit_option_spec

    spec = audit_option_spec(name)
    return Field(default=spec.default, description=spec.help, **constraints)


class AuditSettings(_Model):
    """Options of ``POST /v1/jobs/{id}/audit`` (``captioning.audit.AuditOptions``); null keeps the default."""

    collar_s: float | None = _audit_declared("collar_s", ge=0.0, le=30.0)
    min_coverage: float | None = _audit_declared("min_coverage", ge=0.0, le=1.0)
    min_salience: float | None = _audit_declared("min_salience", ge=0.0, le=1.0)
    min_confidence: float | None = _audit_declared("min_confidence", ge=0.0, le=1.0)
    style: Literal["netflix", "dcmp", "bbc"] | None = _audit_declared("style")
    frame_rate: float | None = _audit_declared("frame_rate", ge=1.0, le=240.0)

    def to_domain(self) -> Any:
        """The ``captioning.audit.AuditOptions`` these settings ask for (fields left null keep their default).

        Raises:
            InvalidOptionsError: a value the library refuses.
        """
        from captioning.audit.options import AuditOptions

        return AuditOptions(**{k: v for k, v in self.model_dump().items() if v is not None})


class AuditUploadForm(BaseModel):
    """The multipart form of ``POST /v1/jobs/{id}/audit`` (documented in the OpenAPI document)."""

    captions: bytes = Field(description="The caption track to audit: a WebVTT or SRT file.")
    options: AuditSettings | None = Field(default=None, description="Audit options as a JSON object.")
