"""The HTTP contract: every pydantic model of the service lives here (STYLE.md habit 3).

Request models validate and document options; :meth:`JobOptions.unimplemented` lists the options that
ask for work no stage does yet, which the routes turn into a 422 (never silently ignored).
Every analysis, caption and haptic option takes its default and description from the library's declaration
(``captioning.options``), and :meth:`JobOptions.to_domain` builds the domain dataclasses (``AnalysisOptions``,
``OutputOptions``) in one place; tests/test_options_parity.py checks this schema against the declarations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

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
#: Outputs that exist in the schema (so clients can code against them) but no stage produces yet.
UNIMPLEMENTED_OUTPUTS: dict[str, str] = {
    "audio": "the Foley audio track is not implemented yet",
    "video": "the remuxed video (captions and Foley muxed into the input) is not implemented yet",
}
#: Foley options: accepted by the schema, refused with 422 until the Foley stage exists.
FOLEY_OPTIONS: tuple[str, ...] = ("format", "sample_rate", "channels", "profile", "sync")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackgroundMusic(_Model):
    """Background music under the Foley track (not implemented yet: ``enabled: true`` is refused)."""

    enabled: bool = Field(default=False, description="Mix generated background music under the Foley.")
    intensity: float = Field(default=0.5, ge=0.0, le=1.0, description="Music level, 0 (silent) .. 1.")


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


class JobOptions(_Model):
    """What to detect and which outputs to produce.

    Foley options (``format``, ``sample_rate``, ``channels``, ``profile``, ``sync``, ``background_music``)
    and the ``audio``/``video`` outputs are part of the contract but not implemented yet: a request that
    sets them is refused with 422 rather than silently ignored.
    """

    outputs: list[OutputName] = Field(
        default_factory=lambda: list(DEFAULT_OUTPUTS),
        min_length=1,
        max_length=7,
        description="Results to produce. `vtt`/`srt` are the caption tracks, `events` the event list "
        "(always produced), `haptics` the four haptic formats, `timeline` a PNG, `audio` the Foley track "
        "and `video` the remuxed video (both not implemented yet).",
    )
    min_confidence: float = _declared("analysis", "min_confidence", ge=0.0, le=1.0)
    ambience: bool = _declared("analysis", "ambience")
    audio: bool = _declared("analysis", "audio")
    visual: bool = _declared("analysis", "visual")
    analysis_fps: float = _declared("analysis", "analysis_fps", ge=1.0, le=30.0)
    audio_stream: int | None = _declared("analysis", "audio_stream", ge=0)
    captions: CaptionSettings = Field(default_factory=CaptionSettings)
    haptics: HapticSettings = Field(default_factory=HapticSettings)
    format: Literal["wav", "mp3", "aac"] = Field(default="wav", description="Foley audio format.")
    sample_rate: Literal[16000, 22050, 24000, 32000, 44100, 48000, 96000] = Field(
        default=48000, description="Foley audio sample rate in Hz."
    )
    channels: Literal[1, 2] = Field(default=2, description="Foley audio channels.")
    profile: Literal["realistic", "dramatic", "cartoon"] = Field(
        default="realistic", description="Foley effect profile."
    )
    sync: Literal["frame", "second"] = Field(default="frame", description="Foley alignment granularity.")
    background_music: BackgroundMusic = Field(default_factory=BackgroundMusic)
    enable_cache: bool = Field(
        default=True,
        description="Reuse the results of an earlier job of the same key with the same input bytes and "
        "options.",
    )
    detailed_log: bool = Field(default=False, description="Include per-stage timings in the job resource.")

    def to_domain(self, *, max_duration_s: float | None = None) -> tuple[AnalysisOptions, OutputOptions]:
        """The library's options for this job (one conversion, ``captioning.options.build_families``).

        Raises:
            InvalidOptionsError: a value the library refuses.
        """
        analysis = {spec.name: getattr(self, spec.name) for spec in declared_options("api")
                    if spec.family == "analysis"}
        families = build_families({
            "analysis": {**analysis, "max_duration_s": max_duration_s},
            "captions": self.captions.model_dump(exclude_none=True),
            "haptics": self.haptics.model_dump(exclude_none=True),
        })
        outputs = {"events"} | {OUTPUT_FAMILIES.get(name, name) for name in self.outputs
                                if name not in UNIMPLEMENTED_OUTPUTS}
        return families["analysis"], OutputOptions(outputs=frozenset(outputs), captions=families["captions"],
                                                   haptics=families["haptics"])

    def unimplemented(self) -> list[str]:
        """Reasons this request asks for work no stage implements yet (empty: all is implemented)."""
        reasons = [f"outputs: {UNIMPLEMENTED_OUTPUTS[o]}" for o in self.outputs if o in UNIMPLEMENTED_OUTPUTS]
        foley = [name for name in FOLEY_OPTIONS if name in self.model_fields_set]
        if foley:
            reasons.append(f"{', '.join(foley)}: Foley audio options, but Foley audio is not implemented yet")
        if self.background_music.enabled:
            reasons.append("background_music.enabled: background music is not implemented yet")
        return reasons


class JobCreate(_Model):
    """A job from a URL (``POST /v1/jobs`` with a JSON body)."""

    video_url: AnyHttpUrl = Field(description="http(s) URL of the video/audio file; public addresses only.")
    options: JobOptions = Field(default_factory=JobOptions)
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="POSTed a Standard Webhooks signed JSON body when the job finishes."
    )


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
    """Why a job failed (same members as a problem document)."""

    type: str
    title: str
    detail: str
    status: int | None = Field(default=None, description="The HTTP status this error maps to.")


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


class StageLog(BaseModel):
    stage: str
    started_at: datetime
    duration_s: float


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
