"""The audit report: frozen values, and their JSON form (schema ``captioning/data/audit.schema.json``).

The JSON is the stable interface (docs/audit.md describes every field; ``schema_version`` changes only when a
field is renamed or removed). Times are seconds of media time rounded to the millisecond, loudness dBFS to
0.1 dB, ratios and similarities to 3 decimals. File names are base names, so the CLI and the service give the
same JSON for the same analysis and caption file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from captioning.audit.cueclass import CueReading
from captioning.captions.checker import Violation
from captioning.captions.model import Cue
from captioning.events import SoundEvent

SCHEMA_VERSION = "1.0"


def _r(x: float, nd: int = 3) -> float:
    return round(float(x), nd)


@dataclass(frozen=True)
class ReadCue:
    """A cue of the audited file, as read.

    Attributes:
        number: its position among the file's cue blocks, from 1 (as an editor numbers them).
        cue: the cue.
        reading: its sound descriptions, speaker labels, notes and dialogue.
    """

    number: int
    cue: Cue
    reading: CueReading

    def ref(self) -> dict[str, Any]:
        """The cue as other report entries cite it."""
        return {"number": self.number, "start": _r(self.cue.start), "end": _r(self.cue.end), "text": self.cue.text,
                "sounds": [s.text for s in self.reading.sounds]}

    def to_dict(self) -> dict[str, Any]:
        return {**self.ref(), "kind": self.reading.kind, "speakers": list(self.reading.speakers),
                "notes": list(self.reading.notes)}


@dataclass(frozen=True)
class AuditedEvent:
    """A detected event with its salience (0..1)."""

    event: SoundEvent
    salience: float

    def to_dict(self) -> dict[str, Any]:
        e = self.event
        return {"id": e.id, "start": _r(e.start), "end": _r(e.end), "label": e.label, "caption": e.caption,
                "category": e.category, "confidence": _r(e.confidence), "loudness": round(e.loudness, 1),
                "salience": _r(self.salience), "source": e.source, "background": e.background,
                "audioset": list(e.audioset[:3])}


@dataclass(frozen=True)
class SuggestedCue:
    """A cue ready to paste, in the chosen style: ``vtt`` is its WebVTT block (timing line and text)."""

    start: float
    end: float
    text: str
    vtt: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _r(self.end), "text": self.text, "vtt": self.vtt}


@dataclass(frozen=True)
class Covered:
    """A counted event and the cues that describe it (best similarity)."""

    event: AuditedEvent
    cues: tuple[int, ...]
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event.to_dict(), "cues": list(self.cues), "similarity": _r(self.similarity)}


@dataclass(frozen=True)
class Missed:
    """A counted event no cue covers, with a cue to add."""

    event: AuditedEvent
    suggested_cue: SuggestedCue

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event.to_dict(), "suggested_cue": self.suggested_cue.to_dict()}


@dataclass(frozen=True)
class Uncertain:
    """A salient event no cue covers, detected with a confidence under ``min_confidence``: not counted (soundcue's
    own captions would leave it out too), listed for a person to check, with the cue to add if it is real."""

    event: AuditedEvent
    suggested_cue: SuggestedCue

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event.to_dict(), "suggested_cue": self.suggested_cue.to_dict()}


@dataclass(frozen=True)
class NamingDisagreement:
    """A sound cue at the time of a detected event that names it otherwise (the sound is captioned; which name
    is right is for a person to judge). ``part_of``: the id of the neighbouring event this one was taken as a
    piece of (detection split one sound), None for a one-to-one pairing."""

    cue: ReadCue
    event: AuditedEvent
    similarity: float
    part_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"cue": self.cue.ref(), "event": self.event.to_dict(), "similarity": _r(self.similarity),
                "part_of": self.part_of}


@dataclass(frozen=True)
class Unsupported:
    """A sound cue with no detected sound at its time that it describes.

    Attributes:
        cue: the cue.
        nearest: the nearest candidate: within :data:`~captioning.audit.core.NEAREST_WINDOW_S` the event it
            describes best if any reaches the threshold (a cue off by more than the collar), else the event
            nearest in time; None when no event is that near.
        offset_s: cue start minus the candidate's start, seconds.
        similarity: the candidate's similarity to the cue.
    """

    cue: ReadCue
    nearest: AuditedEvent | None = None
    offset_s: float | None = None
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        nearest = None
        if self.nearest is not None:
            nearest = {"event": self.nearest.to_dict(), "offset_s": _r(self.offset_s or 0.0),
                       "similarity": _r(self.similarity or 0.0)}
        return {"cue": self.cue.ref(), "nearest": nearest}


@dataclass(frozen=True)
class CategoryCoverage:
    """Coverage of one vocabulary category."""

    category: str
    salient_events: int
    covered: int
    named_differently: int
    missed: int

    @property
    def coverage(self) -> float:
        return (self.covered + self.named_differently) / self.salient_events if self.salient_events else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "salient_events": self.salient_events, "covered": self.covered,
                "named_differently": self.named_differently, "missed": self.missed, "coverage": _r(self.coverage, 4)}


@dataclass(frozen=True)
class AuditReport:
    """What auditing one caption file against one analysis found (see docs/audit.md).

    Attributes:
        media: ``{"file", "duration"}`` of the analysed media.
        captions: ``{"file", "format", "encoding", "cues", "skipped_blocks", "notes"}`` of the caption file.
        options: the options used (media-dependent defaults resolved).
        models: model versions: the analysis's and the text embedding's.
        cues: every cue of the file, as read.
        events: every event considered (speech and ``ignore`` labels excluded), with its salience.
        counted: ids (``event.id``) of the events counted for coverage (salient and confident enough).
        covered, missed, naming, unsupported: the findings.
        categories: coverage per category, sorted by name.
        violations: timing and style violations (the caption checker's rules plus ``late_onset`` and
            ``early_onset`` of sound cues against their sounds).
        notes: what the reader did not keep or apply (see ``CaptionFile.notes``).
        uncertain: salient events under ``min_confidence`` no cue covers (not counted; see :class:`Uncertain`).
        warnings: problems with the inputs as a whole, e.g. cues past the media's end (the track may belong to
            another video).
    """

    media: Mapping[str, Any]
    captions: Mapping[str, Any]
    options: Mapping[str, Any]
    models: Mapping[str, str]
    cues: tuple[ReadCue, ...]
    events: tuple[AuditedEvent, ...]
    counted: frozenset[str]
    covered: tuple[Covered, ...]
    missed: tuple[Missed, ...]
    naming: tuple[NamingDisagreement, ...]
    unsupported: tuple[Unsupported, ...]
    categories: tuple[CategoryCoverage, ...]
    violations: tuple[Violation, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    uncertain: tuple[Uncertain, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def n_salient(self) -> int:
        return len(self.counted)

    @property
    def named_differently(self) -> int:
        """Counted events whose cue names them otherwise."""
        return sum(1 for n in self.naming if n.event.event.id in self.counted)

    @property
    def coverage(self) -> float:
        """Share of the counted events that have a sound cue at their time (describing them, or naming them
        otherwise); 1.0 when no event is counted."""
        if not self.counted:
            return 1.0
        return (len(self.covered) + self.named_differently) / len(self.counted)

    @property
    def coverage_described(self) -> float:
        """Share of the counted events that a cue describes (naming disagreements not counted)."""
        return len(self.covered) / len(self.counted) if self.counted else 1.0

    @property
    def passed(self) -> bool | None:
        """Whether coverage reaches ``options.min_coverage`` (None without a threshold)."""
        threshold = self.options.get("min_coverage")
        return None if threshold is None else self.coverage + 1e-9 >= float(threshold)

    @property
    def sound_cues(self) -> tuple[ReadCue, ...]:
        return tuple(c for c in self.cues if c.reading.sounds)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON values (schema ``captioning/data/audit.schema.json``)."""
        by_rule: dict[str, int] = {}
        for v in self.violations:
            by_rule[v.rule] = by_rule.get(v.rule, 0) + 1
        n_sound = len(self.sound_cues)
        n_unsupported = len(self.unsupported)
        summary = {
            "salient_events": self.n_salient, "covered": len(self.covered),
            "named_differently": self.named_differently, "missed": len(self.missed),
            "coverage": _r(self.coverage, 4), "coverage_described": _r(self.coverage_described, 4),
            "sound_cues": n_sound, "naming_disagreements": len(self.naming),
            "unsupported_cues": n_unsupported, "violations": len(self.violations),
            "min_coverage": self.options.get("min_coverage"), "passed": self.passed,
            "uncertain": len(self.uncertain), "warnings": len(self.warnings),
        }
        return {
            "schema_version": SCHEMA_VERSION,
            "media": dict(self.media),
            "captions": dict(self.captions),
            "options": dict(self.options),
            "models": dict(self.models),
            "summary": summary,
            "warnings": list(self.warnings),
            "categories": [c.to_dict() for c in self.categories],
            "missed": [m.to_dict() for m in self.missed],
            "uncertain": [u.to_dict() for u in self.uncertain],
            "naming_disagreements": [n.to_dict() for n in self.naming],
            "unsupported_cues": [u.to_dict() for u in self.unsupported],
            "covered": [c.to_dict() for c in self.covered],
            "compliance": {"style": self.options.get("style"), "by_rule": dict(sorted(by_rule.items())),
                           "violations": [v.to_dict() for v in self.violations], "notes": list(self.notes)},
            "cues": [c.to_dict() for c in self.cues],
            "events": [e.to_dict() | {"counted": e.event.id in self.counted} for e in self.events],
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
