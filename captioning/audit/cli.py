"""``soundcue audit VIDEO CAPTIONS``: which salient sounds a caption track misses (issue 12).

    soundcue audit VIDEO CAPTIONS [-o OUTDIR] [--collar S] [--min-coverage F] [--format json|html|csv ...]
                   [--style netflix|dcmp|bbc] [--min-salience F] [--quiet] [--json] [analysis options]

VIDEO is a video or audio file (analysed as ``soundcue caption`` does), or the ``events.json`` of an earlier
``soundcue caption`` run or service job (its analysis is reused, nothing is decoded). CAPTIONS is a WebVTT or
SRT file. Writes ``OUTDIR/audit.json``, ``audit.html`` and ``audit-missed.csv`` (or the ``--format`` ones) and
prints a summary (``--json``: the report itself).

Exit status: 0 when the audit ran and coverage reaches ``--min-coverage`` (or none was given); 1
(:data:`EXIT_BELOW_COVERAGE`) when coverage is below it; 2 (:data:`EXIT_BAD_INPUT`) when an input or option
is bad (one line on stderr names the problem and the file; nothing is written).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from captioning.audit.options import FORMATS, AuditOptions, declared_audit_options
from captioning.cli import by_family, with_declared_options
from captioning.errors import CaptionFormatError, CaptioningError, InvalidOptionsError, MediaDecodeError
from captioning.options import OptionSpec, build_families, declared_options
from captioning.paths import input_problem, output_dir_problem

EXIT_BELOW_COVERAGE = 1
EXIT_BAD_INPUT = 2


def _error(msg: str) -> None:
    typer.echo(f"soundcue: error: {msg}", err=True)


def _specs() -> list[OptionSpec]:
    """The flags the command takes from declarations: the audit family, and the analysis family's."""
    return [*declared_audit_options("cli"), *(s for s in declared_options("cli") if s.family == "analysis")]


def _with_declared(command: Callable[..., None]) -> Callable[..., None]:
    return with_declared_options(command, _specs())


def flag_message(message: str) -> str:
    """An option error worded with the flag the user typed: ``"collar_s must be ..."`` -> ``"--collar must
    be ..."`` (the options' own messages name their fields, which a CLI user never sees)."""
    for spec in _specs():
        for name in (f"{spec.family}.{spec.name}", spec.name):
            if message.startswith(name + " "):
                return spec.flag.split(" ")[-1] + message[len(name):]
    return message


def load_events_json(path: Path) -> Any:
    """The Analysis saved in a soundcue ``events.json``.

    Raises:
        MediaDecodeError: the file is not JSON or not an events.json (the message names it).
    """
    from captioning.events import Analysis

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Analysis.from_dict(data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MediaDecodeError(f"{path}: not a soundcue events.json ({e})") from e
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MediaDecodeError(f"{path}: not a soundcue events.json (missing or bad field: {e})") from e


@_with_declared
def audit_command(
    video: Annotated[Path, typer.Argument(
        help="The video or audio file, or the events.json of an earlier soundcue caption run (reused, not "
             "analysed again).", readable=False, show_default=False)],
    captions: Annotated[Path, typer.Argument(help="The caption track to audit (WebVTT or SRT).", readable=False,
                                             show_default=False)],
    output_dir: Annotated[Path, typer.Option("-o", "--output-dir", help="Directory for the report files.",
                                             readable=False)] = Path("soundcue-audit"),
    formats: Annotated[list[str] | None, typer.Option(
        "--format", help="Report formats to write (repeat the flag): json, html, csv. Default: all three.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report JSON on stdout.")] = False,
    **options: Any,
) -> None:
    """Audit a caption track: coverage of the salient non-speech sounds, missed sounds with suggested cues,
    unsupported cues, timing and style (exit 1 below --min-coverage)."""
    from captioning.audit.core import audit_captions, load_embedder
    from captioning.audit.render import write_audit
    from captioning.captions.reader import read_caption_file
    from captioning.cli import _hook_for, _progress
    from captioning.pipeline import analyze

    if quiet or as_json:
        logging.getLogger().setLevel(logging.ERROR)
    try:
        chosen = list(dict.fromkeys(formats or FORMATS))
        bad = [f for f in chosen if f not in FORMATS]
        if bad:
            raise CaptioningError(f"--format {bad[0]}: choose from {', '.join(FORMATS)}")
        out_problem = output_dir_problem(output_dir)
        if out_problem is not None:
            raise CaptioningError(f"{output_dir}: {out_problem}")
        grouped = by_family(options)
        try:
            audit_opts = AuditOptions(**grouped.get("audit", {}))
            analysis_opts = build_families({"analysis": grouped.get("analysis", {})})["analysis"]
        except InvalidOptionsError as e:
            raise InvalidOptionsError(flag_message(str(e))) from e
        for path, what in ((video, "media file"), (captions, "caption file")):
            problem = input_problem(path, what)
            if problem is not None:
                raise CaptioningError(f"{path}: {problem}")
        caption_file = read_caption_file(captions)  # a bad caption file stops before any analysis
        if not caption_file.cues:
            raise CaptionFormatError(f"{captions}: no cue players show: nothing to audit")
        if video.suffix.lower() == ".json":
            analysis = load_events_json(video)
        else:
            with _progress(not quiet and not as_json) as progress:
                analysis = analyze(video, analysis_opts, hook=_hook_for(progress, video.name))
        embed, version = load_embedder(audit_opts.embedding_model)
        report = audit_captions(analysis, caption_file, audit_opts, captions_name=str(captions), embed=embed,
                                embedder_version=version)
        written = write_audit(report, output_dir, chosen)
    except CaptioningError as e:
        _error(str(e))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as e:  # the report cannot be written (disk full, permissions changed)
        _error(f"cannot write the report to {output_dir}: {e.strerror or e}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    for warning in report.warnings:
        typer.echo(f"soundcue: warning: {captions.name}: {warning}", err=True)
    if as_json:
        typer.echo(report.to_json())
    elif not quiet:
        _print_summary(report, captions, video, written)
    if report.passed is False:
        raise typer.Exit(EXIT_BELOW_COVERAGE)


def _print_summary(report: Any, captions: Path, video: Path, written: Mapping[str, Path]) -> None:
    s = report.to_dict()["summary"]
    verdict = ""
    if s["passed"] is not None:
        verdict = f" ({'passes' if s['passed'] else 'FAILS'} --min-coverage {s['min_coverage']:g})"
    media = report.media["file"] or video.name
    typer.echo(f"{captions.name} vs {media}: coverage {s['coverage']:.0%}{verdict}: {s['salient_events']} "
               f"salient sounds, {s['covered']} captioned, {s['named_differently']} under another name, "
               f"{s['missed']} missed ({s['uncertain']} more uncertain); "
               f"{s['unsupported_cues']} of {s['sound_cues']} sound cues unsupported; "
               f"{s['violations']} timing/style violation{'' if s['violations'] == 1 else 's'}")
    for m in report.missed:
        e = m.event.event
        typer.echo(f"  missed {e.start:8.3f} s  {m.suggested_cue.text.replace(chr(10), ' ')}  ({e.label}, "
                   f"confidence {e.confidence:.2f}, {e.loudness:.1f} dBFS)")
    for c in report.uncertain:
        e = c.event.event
        typer.echo(f"  uncertain {e.start:8.3f} s  {c.suggested_cue.text.replace(chr(10), ' ')}  ({e.label}, "
                   f"confidence {e.confidence:.2f} < --min-confidence {report.options['min_confidence']:g}; check "
                   f"by ear)")
    for u in report.unsupported:
        near = (f"nearest: {u.nearest.event.caption} at {u.nearest.event.start:.3f} s" if u.nearest is not None
                else "nothing detected near it")
        typer.echo(f"  unsupported cue {u.cue.number} at {u.cue.cue.start:.3f} s  "
                   f"{u.cue.cue.text.replace(chr(10), ' ')}  ({near})")
    typer.echo("report: " + ", ".join(str(p) for p in written.values()))


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command to the ``soundcue`` Typer app."""
    app.command("audit")(audit_command)
