"""Caption audit (issue 12): which salient sounds an existing caption track misses, which of its sound cues no
detected sound supports, and how well it follows a caption style.

Usage::

    from captioning.audit import AuditOptions, audit_captions
    from captioning.captions import read_caption_file
    report = audit_captions(analysis, read_caption_file("film.vtt"), AuditOptions(collar_s=1.0))
    print(report.coverage, [m.event.event.caption for m in report.missed])
    write_audit(report, Path("out"), ("json", "html", "csv"))

See :mod:`captioning.audit.core` for the rules, :mod:`captioning.audit.cueclass` for how cue text is read,
and docs/audit.md for the report's JSON schema.
"""

from captioning.audit.core import audit_captions, load_embedder, suggest_cue
from captioning.audit.cueclass import CueReading, SoundText, classify_bracket, read_cue, read_cues
from captioning.audit.options import FORMATS, AuditOptions, declared_audit_options
from captioning.audit.render import render_csv, render_html, render_json, write_audit
from captioning.audit.report import SCHEMA_VERSION, AuditReport

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "AuditOptions",
    "AuditReport",
    "CueReading",
    "SoundText",
    "audit_captions",
    "classify_bracket",
    "declared_audit_options",
    "load_embedder",
    "read_cue",
    "read_cues",
    "render_csv",
    "render_html",
    "render_json",
    "suggest_cue",
    "write_audit",
]
