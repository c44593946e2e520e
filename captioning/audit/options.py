"""Options of the caption audit (issue 12): one frozen, validated dataclass, declared with
:func:`captioning.options.option` like the other families.

The audit family is not one of :func:`captioning.options.option_families` (those are the ``soundcue caption``
flags and the job options); :func:`declared_audit_options` reads it the same way for the two surfaces that show
it: the ``soundcue audit`` flags and the options of ``POST /v1/jobs/{id}/audit`` (``app.schemas.AuditSettings``).
tests/test_audit_cli.py checks both against it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass

from captioning.captions.options import CaptionOptions
from captioning.captions.styles import get_style
from captioning.errors import InvalidOptionsError
from captioning.options import OptionSpec, Surface, option

#: The caption track's confidence threshold (``CaptionOptions.min_confidence``): the audit's default for what
#: counts as a detected sound, so the audit never asks for a cue soundcue's own captions would leave out.
CAPTION_MIN_CONFIDENCE: float = CaptionOptions().min_confidence

#: Output formats of an audit report.
FORMATS: tuple[str, ...] = ("json", "html", "csv")


@dataclass(frozen=True)
class AuditOptions:
    """How a caption track is audited against the detected sounds.

    Attributes:
        collar_s: a cue describes an event when its time span, widened by this many seconds on each side of the
            event, overlaps the event (so a cue up to ``collar_s`` early or late still covers it).
        min_coverage: the coverage (0..1) a track must reach to pass; None: no threshold (the report then
            has ``summary.passed: null``). The CLI exits with code 1 below it.
        min_salience: events whose salience (0..1, from loudness, duration and class importance: see
            :mod:`captioning.audit.salience`) is below this are not counted (neither coverage nor missed).
        min_confidence: events detected with a confidence below this (0..1) are not counted; salient ones no cue
            covers are listed as *uncertain* instead of missed. Default: the caption track's threshold
            (:data:`CAPTION_MIN_CONFIDENCE`, 0.5). Also the confidence at which a detected event is credible
            enough for a cue to be a naming disagreement with it.
        style: caption style (netflix, dcmp, bbc) of the suggested cues and of the timing and style check.
        frame_rate: video frame rate (frames/s) for the suggested cues and the 2-frame gap rule; None: the
            media's own rate, else 25.
        match_threshold: cosine similarity (-1..1) of sentence embeddings at or above which a cue's text
            describes an event (tuned on the dev set, docs/benchmarks.md); not shown by the front ends.
        embedding_model: sentence-embedding model name or folder (see ``models.text_embedding``); None: the
            process default (``SOUNDCUE_TEXT_EMBEDDING``, else all-MiniLM-L6-v2). CLI only: a server uses its
            own setting.
    """

    collar_s: float = option(1.0, flag="--collar", metavar="S",
                             help="Seconds a cue may be early or late and still cover a sound.")
    min_coverage: float | None = option(
        None, metavar="F", help="Coverage (0..1) the track must reach; below it the report fails (CLI exit code 1).")
    min_salience: float = option(0.25, help="Leave out events whose salience (0..1: loudness, duration, class "
                                            "importance) is below this.")
    min_confidence: float = option(CAPTION_MIN_CONFIDENCE, help="Count only events detected with at least this "
                                   "confidence (0..1); salient ones below it are listed as uncertain. Default: "
                                   "the caption track's threshold.")
    style: str = option("netflix", help="Caption style of the suggested cues and of the timing/style check: "
                                        "netflix, dcmp or bbc.")
    frame_rate: float | None = option(None, help="Video frame rate (frames/s) for suggested cues and the gap rule; "
                                                 "default: the input's own rate, else 25.")
    match_threshold: float = 0.5
    embedding_model: str | None = option(None, surfaces=("cli",), metavar="NAME_OR_PATH",
                                         help="Sentence-embedding model (name or sentence-transformers folder); "
                                              "default: SOUNDCUE_TEXT_EMBEDDING, else all-MiniLM-L6-v2.")

    def __post_init__(self) -> None:
        get_style(self.style)
        checks: list[tuple[bool, str]] = [
            (math.isfinite(self.collar_s) and 0.0 <= self.collar_s <= 30.0,
             f"collar_s must be within 0..30 seconds, got {self.collar_s}"),
            (self.min_coverage is None or 0.0 <= self.min_coverage <= 1.0,
             f"min_coverage must be within 0..1, got {self.min_coverage}"),
            (0.0 <= self.min_salience <= 1.0, f"min_salience must be within 0..1, got {self.min_salience}"),
            (0.0 <= self.min_confidence <= 1.0, f"min_confidence must be within 0..1, got {self.min_confidence}"),
            (self.frame_rate is None or (math.isfinite(self.frame_rate) and 1.0 <= self.frame_rate <= 240.0),
             f"frame_rate must be 1..240 frames per second, got {self.frame_rate}"),
            (-1.0 <= self.match_threshold <= 1.0, f"match_threshold must be within -1..1, got {self.match_threshold}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidOptionsError(message)

    def to_dict(self) -> dict[str, typing.Any]:
        """The options as JSON values (the report echoes them)."""
        return dataclasses.asdict(self)


@functools.cache
def declared_audit_options(surface: Surface | None = None) -> tuple[OptionSpec, ...]:
    """The declared options of :class:`AuditOptions` (those a ``surface`` shows, if given), in order."""
    hints = typing.get_type_hints(AuditOptions)
    specs = []
    for f in dataclasses.fields(AuditOptions):
        if "help" not in f.metadata:
            continue
        flag = f.metadata["flag"] or f"--{f.name.replace('_', '-')}"
        specs.append(OptionSpec("audit", f.name, hints[f.name], f.default, f.metadata["help"],
                                f.metadata["surfaces"], flag, f.metadata["metavar"]))
    return tuple(s for s in specs if surface is None or surface in s.surfaces)


def audit_option_spec(name: str) -> OptionSpec:
    """The declaration of ``AuditOptions.name`` (KeyError if it is not declared)."""
    for spec in declared_audit_options():
        if spec.name == name:
            return spec
    raise KeyError(f"audit.{name} is not a declared option")
