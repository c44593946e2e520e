"""``soundcue check-captions FILE --style netflix``: report every rule a WebVTT/SRT track breaks.

Exit status: 0 when the track follows the style, 1 when there are violations, 2 (with a one-line error on
stderr) when the file cannot be read or an option is bad.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from captioning.captions.checker import check_captions
from captioning.captions.styles import STYLES
from captioning.errors import CaptionFormatError, InvalidOptionsError

EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2


def check_captions_command(
    file: Annotated[Path, typer.Argument(help="WebVTT (.vtt) or SRT (.srt) caption file to check.")],
    style: Annotated[str, typer.Option(help=f"Style profile: {', '.join(sorted(STYLES))}.")] = "netflix",
    frame_rate: Annotated[
        float, typer.Option("--frame-rate", help="Video frame rate (frames/s) for the 2-frame gap rule.")
    ] = 25.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the violations as one JSON object.")] = False,
) -> None:
    """Check a caption track against a style's rules (line length, duration, gaps, reading speed, overlap)."""
    try:
        violations = check_captions(file, style, frame_rate=frame_rate)
    except (CaptionFormatError, InvalidOptionsError) as e:
        typer.echo(f"soundcue: error: {e}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from e
    if as_json:
        body = {"file": str(file), "style": style, "violations": [v.to_dict() for v in violations]}
        typer.echo(json.dumps(body, ensure_ascii=False))
    else:
        for v in violations:
            typer.echo(f"{file}: {v.rule}: {v.message}")
        typer.echo(f"{file}: {len(violations)} violation(s) of the {style} style", err=True)
    if violations:
        raise typer.Exit(EXIT_VIOLATIONS)


def register(app: typer.Typer) -> None:
    """Add the ``check-captions`` command to the ``soundcue`` Typer app."""
    app.command("check-captions")(check_captions_command)
