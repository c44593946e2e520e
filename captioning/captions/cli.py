"""``soundcue check-captions FILE --style netflix``: report every rule a WebVTT/SRT track breaks.

Violations go to stdout, one a line (or one JSON object with ``--json``); on stderr, the format, the text
encoding the file was read in (detected unless ``--encoding`` names it), notes on what players would not
apply, and a count. Exit status: 0 when the track follows the style, 1 when there are violations (cue blocks
players skip included), 2 (with a one-line error on stderr) when the file cannot be read or an option is bad.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from captioning.captions.checker import check_file
from captioning.captions.styles import STYLES
from captioning.errors import CaptionFormatError, InvalidOptionsError

EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2


def check_captions_command(
    file: Annotated[Path, typer.Argument(help="WebVTT (.vtt) or SRT (.srt) caption file to check.", readable=False)],
    style: Annotated[str, typer.Option(help=f"Style profile: {', '.join(sorted(STYLES))}.")] = "netflix",
    frame_rate: Annotated[
        float, typer.Option("--frame-rate", help="Video frame rate (frames/s) for the 2-frame gap rule.")
    ] = 25.0,
    encoding: Annotated[str | None, typer.Option(
        help="Text encoding of the file (e.g. cp1252, utf-16); default: detected and reported.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the violations as one JSON object.")] = False,
) -> None:
    """Check a caption track against a style's rules (line length, duration, gaps, reading speed, overlap)."""
    try:
        report = check_file(file, style, frame_rate=frame_rate, encoding=encoding)
    except (CaptionFormatError, InvalidOptionsError) as e:
        typer.echo(f"soundcue: error: {e}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from e
    if as_json:
        typer.echo(json.dumps({"file": str(file), "style": style, **report.to_dict()}, ensure_ascii=False))
    else:
        for v in report.violations:
            typer.echo(f"{file}: {v.rule}: {v.message}")
        fmt = "WebVTT" if report.format == "vtt" else "SRT"
        typer.echo(f"{file}: {fmt} in {report.encoding}, {report.n_cues} cue(s)", err=True)
        for note in report.notes:
            typer.echo(f"{file}: note: {note}", err=True)
        typer.echo(f"{file}: {len(report.violations)} violation(s) of the {style} style", err=True)
    if report.violations:
        raise typer.Exit(EXIT_VIOLATIONS)


def register(app: typer.Typer) -> None:
    """Add the ``check-captions`` command to the ``soundcue`` Typer app."""
    app.command("check-captions")(check_captions_command)
