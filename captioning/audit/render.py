"""An audit report as JSON, a self-contained HTML page (timeline picture inline) and a CSV of missed sounds.

Each ``render_*`` is a pure function of the :class:`~captioning.audit.report.AuditReport` returning text;
:func:`write_audit` writes the files atomically. The HTML page loads nothing from anywhere: its style sheet is
inline and its timeline (detected events against cues, drawn with matplotlib on the Agg canvas) is a PNG in a
``data:`` URI, so it can be mailed or attached to a ticket as one file.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from captioning.audit.options import FORMATS
from captioning.audit.report import AuditReport
from captioning.errors import InvalidOptionsError
from captioning.outputs import write_text_atomic

#: File name of each format.
FILE_NAMES: dict[str, str] = {"json": "audit.json", "html": "audit.html", "csv": "audit-missed.csv"}
#: Columns of the CSV of missed sounds (times in seconds, loudness in dBFS; ``status`` is ``missed``, or
#: ``uncertain`` for a sound detected under the audit's minimum confidence: not counted, for a person to check).
CSV_COLUMNS: tuple[str, ...] = (
    "start", "end", "label", "caption", "category", "confidence", "loudness_dbfs", "salience",
    "suggested_start", "suggested_end", "suggested_cue", "status",
)
FIG_WIDTH_IN = 15.0
DPI = 100
MAX_LABELS = 80  # missed sounds named on the picture at most

_COLORS = {"covered": "#2ca02c", "named": "#ff7f0e", "missed": "#d62728", "uncounted": "#c7c7c7",
           "unsupported": "#9467bd", "other": "#dddddd"}


def render_json(report: AuditReport) -> str:
    """The report as JSON text (``captioning/data/audit.schema.json``), UTF-8, one trailing newline."""
    return report.to_json() + "\n"


def render_csv(report: AuditReport) -> str:
    """The missed sounds, then the uncertain ones, as CSV (:data:`CSV_COLUMNS`), each group in time order; the
    suggested cue's text keeps its line break."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for status, rows in (("missed", report.missed), ("uncertain", report.uncertain)):
        for m in rows:
            e, s = m.event.to_dict(), m.suggested_cue.to_dict()
            w.writerow([e["start"], e["end"], e["label"], e["caption"], e["category"], e["confidence"],
                        e["loudness"], e["salience"], s["start"], s["end"], s["text"], status])
    return buf.getvalue()


def plot_png(report: AuditReport) -> bytes:
    """The timeline picture: detected events (top lane) against the file's cues (bottom lane), as PNG bytes.

    Events: green covered, orange named differently, red missed (named), grey not counted. Cues: green
    supported sound cues, orange naming disagreements, purple unsupported, light grey dialogue and labels.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    covered = {c.event.event.id for c in report.covered}
    named_ev = {n.event.event.id for n in report.naming}
    missed = {m.event.event.id for m in report.missed}
    supported = {n for c in report.covered for n in c.cues}
    named_cue = {n.cue.number for n in report.naming}
    unsupported = {u.cue.number for u in report.unsupported}
    end = max([float(report.media.get("duration") or 0.0), 1e-3, *(e.event.end for e in report.events),
               *(c.cue.end for c in report.cues)])
    fig = Figure(figsize=(FIG_WIDTH_IN, 3.2), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for a in report.events:
        e = a.event
        state = ("covered" if e.id in covered else "named" if e.id in named_ev else "missed" if e.id in missed
                 else "uncounted")
        height = 0.5 if state != "uncounted" else 0.25
        ax.broken_barh([(e.start, max(e.duration, end / 1500))], (1.25 - height / 2, height),
                       facecolors=_COLORS[state], edgecolors="#7f0000" if state == "missed" else "none",
                       linewidth=1.5 if state == "missed" else 0)
    for k, m in enumerate(report.missed[:MAX_LABELS]):
        e = m.event.event
        ax.annotate(e.caption, (e.start, 1.5), xytext=(0, 4 + 9 * (k % 3)), textcoords="offset points",
                    fontsize=7, color=_COLORS["missed"], rotation=0, ha="left", va="bottom")
    for c in report.cues:
        n = c.number
        state = ("covered" if n in supported else "named" if n in named_cue else "unsupported" if n in unsupported
                 else "other")
        height = 0.5 if state != "other" else 0.25
        ax.broken_barh([(c.cue.start, c.cue.end - c.cue.start)], (0.25 - height / 2, height),
                       facecolors=_COLORS[state], edgecolors="none")
    ax.set_xlim(0, end)
    ax.set_ylim(-0.3, 2.1)
    ax.set_yticks([0.25, 1.25], ["caption cues", "detected sounds"])
    ax.set_xlabel("media time (s)")
    ax.grid(axis="x", alpha=0.3)
    legend = [Patch(color=_COLORS[k], label=label) for k, label in (
        ("covered", "covered / supported"), ("named", "named differently"), ("missed", "missed"),
        ("unsupported", "unsupported cue"), ("uncounted", "not salient"), ("other", "dialogue, labels"))]
    ax.legend(handles=legend, loc="upper right", ncol=6, fontsize=7, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _sound_table(sounds: Iterable[dict[str, Any]]) -> str:
    """A table of missed (or uncertain) sounds: ``missed[]`` / ``uncertain[]`` items of the JSON report."""
    return _table(("time (s)", "sound", "category", "confidence", "loudness (dBFS)", "salience", "suggested cue"),
                  ((f"{m['event']['start']:.3f}–{m['event']['end']:.3f}", m["event"]["caption"],
                    m["event"]["category"], m["event"]["confidence"], m["event"]["loudness"],
                    m["event"]["salience"], m["suggested_cue"]["vtt"]) for m in sounds))


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if body else "<p>None.</p>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return html.escape(str(value)).replace("\n", "<br>")


def _are(n: int) -> str:
    return f"{n} {'is' if n == 1 else 'are'}"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1600px}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.fail{color:#b00;font-weight:bold}.pass{color:#070;font-weight:bold}
img{max-width:100%;border:1px solid #ddd}
pre{margin:0;font-size:.95em}
"""


def render_html(report: AuditReport) -> str:
    """The report as one self-contained HTML page (summary, timeline, missed sounds, uncertain sounds, naming
    disagreements, unsupported cues, coverage per category, timing and style violations)."""
    d = report.to_dict()
    s = d["summary"]
    media, caps = d["media"], d["captions"]
    verdict = ""
    if s["passed"] is not None:
        cls, word = ("pass", "PASS") if s["passed"] else ("fail", "FAIL")
        verdict = f' <span class="{cls}">{word}</span> (minimum {s["min_coverage"]:.0%})'
    png = base64.b64encode(plot_png(report)).decode("ascii")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Caption audit: {html.escape(caps['file'] or 'captions')}</title><style>{_CSS}</style></head><body>",
        f"<h1>Caption audit of {html.escape(caps['file'] or 'the captions')} against "
        f"{html.escape(media['file'])}</h1>",
        f"<p>Coverage <b>{s['coverage']:.0%}</b>{verdict}: of {s['salient_events']} salient non-speech sounds, "
        f"{_are(s['covered'])} captioned, {_are(s['named_differently'])} captioned under another name and "
        f"{_are(s['missed'])} missed. {s['sound_cues']} of {caps['cues']} cues describe sounds; "
        f"{s['unsupported_cues']} of them {'matches' if s['unsupported_cues'] == 1 else 'match'} no detected "
        f"sound. {s['violations']} timing and style violation{'' if s['violations'] == 1 else 's'} "
        f"({html.escape(str(d['compliance']['style']))} style).</p>",
        f'<img alt="timeline of detected sounds and caption cues" src="data:image/png;base64,{png}">',
        "<h2>Missed sounds</h2>",
        _sound_table(d["missed"]),
        "<h2>Uncertain sounds</h2>",
        f"<p>Detected with a confidence under {d['options']['min_confidence']:g}, so not counted above (soundcue's "
        "own captions would leave them out too); uncaptioned: worth a listen, with the cue to add if they are "
        "real.</p>",
        _sound_table(d["uncertain"]),
        "<h2>Named differently</h2>",
        _table(("cue", "time (s)", "cue says", "detected as", "similarity"),
               ((n["cue"]["number"], f"{n['cue']['start']:.3f}", n["cue"]["text"],
                 f"{n['event']['caption']} ({', '.join(n['event']['audioset'])})", n["similarity"])
                for n in d["naming_disagreements"])),
        "<h2>Unsupported cues</h2>",
        _table(("cue", "time (s)", "text", "nearest detected sound", "offset (s)", "similarity"),
               ((u["cue"]["number"], f"{u['cue']['start']:.3f}", u["cue"]["text"],
                 u["nearest"]["event"]["caption"] if u["nearest"] else "none within 10 s",
                 u["nearest"]["offset_s"] if u["nearest"] else "", u["nearest"]["similarity"] if u["nearest"] else "")
                for u in d["unsupported_cues"])),
        "<h2>Coverage by category</h2>",
        _table(("category", "salient", "covered", "named differently", "missed", "coverage"),
               ((c["category"], c["salient_events"], c["covered"], c["named_differently"], c["missed"],
                 f"{c['coverage']:.0%}") for c in d["categories"])),
        "<h2>Timing and style</h2>",
        _table(("rule", "cue", "message"), ((v["rule"], v["index"], v["message"])
                                            for v in d["compliance"]["violations"])),
        f"<p><small>soundcue audit, schema {d['schema_version']}; collar {d['options']['collar_s']:g} s; models: "
        f"{html.escape(', '.join(f'{k} {v}' for k, v in d['models'].items()))}.</small></p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


_RENDERERS = {"json": render_json, "html": render_html, "csv": render_csv}


def write_audit(report: AuditReport, out_dir: Path, formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Write the report in ``formats`` into ``out_dir`` (``audit.json``, ``audit.html``, ``audit-missed.csv``),
    each atomically; returns format -> path.

    Raises:
        InvalidOptionsError: an unknown format.
    """
    chosen = list(dict.fromkeys(formats))
    unknown = [f for f in chosen if f not in _RENDERERS]
    if unknown:
        raise InvalidOptionsError(f"unknown audit format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    texts = {f: _RENDERERS[f](report) for f in chosen}  # render all before writing any
    return {f: write_text_atomic(out_dir / FILE_NAMES[f], text) for f, text in texts.items()}
