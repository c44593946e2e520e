"""The library's command line (``soundcue caption``): a thin shell over :func:`captioning.analyze` and the writers.

The ``soundcue`` console script is ``app.cli:main``, which adds the service's commands (``serve``,
``submit``) to these; ``python -m captioning`` runs the library's commands alone.

    soundcue caption INPUT [INPUT ...] -o OUTDIR [--quiet] [--json]

Each input gets ``OUTDIR/<stem>/`` with events.json, captions.vtt and captions.srt (plus haptics etc. when
asked). Exit status: 0 when every input succeeded, 2 when any input (or the command line) was bad; the
other inputs of the run are still processed.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from captioning.errors import CaptioningError, InvalidOptionsError
from captioning.options import OptionSpec, build_families, declared_options, option_families, plain_type
from captioning.outputs import OutputOptions, make_temp_dir, write_outputs
from captioning.paths import input_problem, output_dir_problem
from captioning.progress import ProgressHook

app = typer.Typer(
    name="soundcue",
    help="Find the sound events of a video and write SDH sound captions, haptic cues and more.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain Click help: wrapped to the terminal, no box drawing for screen readers, and long flag names whole
    # (rich's table cut them at 80 columns: "--min-event-confide…")
    rich_markup_mode=None,
)

EXIT_BAD_INPUT = 2


def _error(msg: str) -> None:
    typer.echo(f"soundcue: error: {msg}", err=True)


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A Rich progress bar over media time on stderr (no-op when disabled or not a terminal)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[media]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
        disable=not console.is_terminal,
    ) as progress:
        yield progress


def _hook_for(progress: Any, name: str) -> ProgressHook | None:
    if progress is None:
        return None
    task = progress.add_task(name, total=None, media="")

    def hook(stage: str, *, completed: float, total: float) -> None:
        progress.update(task, completed=completed, total=total,
                        media=f"{completed:6.1f}/{total:.1f} s {stage}")

    return hook


def _unique_dir(out_dir: Path, stem: str, taken: set[str]) -> Path:
    name, k = stem, 2
    while name in taken:
        name, k = f"{stem}_{k}", k + 1
    taken.add(name)
    return out_dir / name


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move a finished temp dir into place; an earlier result is replaced only now, never lost on error."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# readable=False: Click's own check would stop the whole batch at one unreadable input; each input is
# checked (captioning.paths) when its turn comes, and gets its own one-line error.
InputsArg = Annotated[list[Path], typer.Argument(
    help="Video or audio files (MP4/MOV/MKV/WebM/AVI, WAV/MP3/FLAC/OGG/M4A).", show_default=False, readable=False,
    metavar="INPUT")]
OutDirOpt = Annotated[Path, typer.Option(
    "-o", "--output-dir", help="Directory for results; one sub-directory per input.", readable=False)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout.")]
HapticsOpt = Annotated[bool, typer.Option(
    "--haptics", help="Also write haptic cues (haptics.json, .ahap, .android.json, .web.json).")]
TimelineOpt = Annotated[bool, typer.Option(
    "--timeline", help="Also write timeline.png (events, captions, haptics against time).")]
AudioOpt = Annotated[bool, typer.Option(
    "--audio", help="Also write the Foley track: foley.wav (48 kHz, 16-bit, stereo; or .mp3/.m4a with "
                    "--audio-format), exactly as long as the media.")]
RemuxOpt = Annotated[bool, typer.Option(
    "--remux", help="Also write the video with the Foley track added (video.mp4/.mkv/.webm: the picture copied, "
                    "the original audio kept as a second track unless --replace-audio, the captions as a "
                    "subtitle stream).")]


def _declared_params(specs: Iterable[OptionSpec]) -> list[inspect.Parameter]:
    """One CLI option per declared option (captioning.options): its flag, type, default and help."""
    params = []
    for spec in specs:
        info = typer.Option(*spec.flag.split(" "), help=spec.help, metavar=spec.metavar,
                            show_default=spec.default is not None, readable=False)
        params.append(inspect.Parameter(f"{spec.family}__{spec.name}", inspect.Parameter.KEYWORD_ONLY,
                                        default=spec.default, annotation=Annotated[plain_type(spec.type), info]))
    return params


def with_declared_options(command: Callable[..., None], specs: Iterable[OptionSpec] | None = None
                          ) -> Callable[..., None]:
    """``command`` with its ``**options`` replaced by one option per declared option, for Typer to read; each
    arrives as keyword ``<family>__<name>``. ``specs``: which declarations (default: every one the CLI shows)."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
           if p.kind is not inspect.Parameter.VAR_KEYWORD]
    params = _declared_params(declared_options("cli") if specs is None else specs)
    command.__signature__ = inspect.Signature([*own, *params])  # type: ignore[attr-defined]
    return command


@app.command()
@with_declared_options
def caption(
    ctx: typer.Context,
    inputs: InputsArg,
    output_dir: OutDirOpt = Path("soundcue-out"),
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
    haptics: HapticsOpt = False,
    timeline: TimelineOpt = False,
    audio: AudioOpt = False,
    remux: RemuxOpt = False,
    **options: Any,
) -> None:
    """Detect the sound events of each input and write events.json, captions.vtt and captions.srt."""
    from captioning.captions.hls import media_line
    from captioning.pipeline import analyze, load_analyzers

    if quiet or as_json:
        logging.getLogger().setLevel(logging.ERROR)  # --quiet prints only errors
    try:
        out_problem = output_dir_problem(output_dir)
        if out_problem is not None:
            raise CaptioningError(f"{output_dir}: {out_problem}")
        _refuse_idle_foley_flags(ctx, audio, remux)
        families = _build_families(by_family(options))
        _refuse_music_intensity_without_music(ctx)
        dialogue = families["captions"].dialogue
        dialogue_problem = input_problem(dialogue, "caption file") if dialogue is not None else None
        if dialogue_problem is not None:
            raise CaptioningError(f"--dialogue {dialogue}: {dialogue_problem}")
        switches = (("haptics", haptics), ("timeline", timeline), ("audio", audio), ("video", remux))
        outputs = {"events", "captions"} | {name for name, on in switches if on}
        out_opts = OutputOptions(outputs=frozenset(outputs), captions=families["captions"],
                                 haptics=families["haptics"], foley=families["foley"], remux=families["remux"])
        analysis_opts = families["analysis"]
        t_load = time.perf_counter()
        analyzers = load_analyzers()
        load_s = time.perf_counter() - t_load
    except CaptioningError as e:
        _error(str(e))
        raise typer.Exit(EXIT_BAD_INPUT) from None

    summary: list[dict[str, Any]] = []
    failed = 0
    taken: set[str] = set()
    with _progress(not quiet and not as_json) as progress:
        for path in inputs:
            final = _unique_dir(output_dir, path.stem, taken)
            t0 = time.perf_counter()
            try:
                analysis = analyze(path, analysis_opts, analyzers=analyzers, hook=_hook_for(progress, path.name))
                output_dir.mkdir(parents=True, exist_ok=True)
                tmp = make_temp_dir(output_dir, f".{final.name}.")
                foley_reports: list[Any] = []
                try:
                    files = write_outputs(analysis, tmp, out_opts, source=path,
                                          hook=_hook_for(progress, f"{path.name} (Foley)")
                                          if outputs & {"audio", "video"} else None,
                                          on_foley_report=foley_reports.append)
                    _replace_dir(tmp, final)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
            except CaptioningError as e:
                failed += 1
                _error(str(e))
                summary.append({"input": str(path), "status": "failed", "error": str(e)})
                continue
            except OSError as e:  # the results cannot be written (disk full, permissions changed mid-run)
                failed += 1
                _error(f"{path}: cannot write the results to {output_dir}: {e.strerror or e}")
                summary.append({"input": str(path), "status": "failed", "error": f"{e.strerror or e}"})
                continue
            except Exception as e:  # the one broad catch: a bug on one input must not stop the others
                failed += 1
                logging.getLogger("captioning").debug("unexpected failure", exc_info=True)
                _error(f"{path}: unexpected failure ({type(e).__name__}: {e})")
                summary.append({"input": str(path), "status": "failed", "error": f"{type(e).__name__}: {e}"})
                continue
            n_fg = sum(1 for e in analysis.events if not e.background)
            summary.append({
                "input": str(path), "status": "ok", "output_dir": str(final),
                "files": sorted(files), "duration_s": round(analysis.media.duration, 3),
                "events": len(analysis.events), "foreground_events": n_fg,
                "processing_s": round(time.perf_counter() - t0, 3),
            })
            foley_line = ""
            if foley_reports:
                report = foley_reports[-1].to_dict()
                summary[-1]["foley"] = {k: report[k] for k in ("loudness_lufs", "true_peak_dbtp", "target_lufs",
                                                               "target_met", "shortfall")}
                foley_line = f"; Foley {_foley_level(report)}"
            if not quiet and not as_json:
                n = len(analysis.events)
                typer.echo(f"{path}: {n} event{'' if n == 1 else 's'} -> {final}/ ({', '.join(sorted(files))})"
                           f"{foley_line}")
                if out_opts.captions is not None and out_opts.captions.hls:
                    typer.echo(f"{path}: HLS subtitles, for a master playlist in {final}/: "
                               f"{media_line('hls/captions.m3u8')}")
    if as_json:
        typer.echo(json.dumps({"model_load_s": round(load_s, 3), "results": summary}, indent=1))
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


def _given_flags(ctx: typer.Context, families: tuple[str, ...]) -> list[str]:
    """The flags of ``families`` the user typed on the command line (a default left alone is not given)."""
    given = []
    for spec in declared_options("cli"):
        source = ctx.get_parameter_source(f"{spec.family}__{spec.name}") if spec.family in families else None
        if source is not None and source.name == "COMMANDLINE":
            on, _, off = spec.flag.partition("/")
            given.append(off if off and ctx.params.get(f"{spec.family}__{spec.name}") is False else on)
    return given


def _refuse_idle_foley_flags(ctx: typer.Context, audio: bool, remux: bool) -> None:
    """A Foley flag without --audio or --remux (a remux flag without --remux) would be silently ignored: refuse
    it (CaptioningError naming the flag)."""
    idle = [] if audio or remux else _given_flags(ctx, ("foley",))
    if idle:
        raise CaptioningError(f"{idle[0]} needs --audio or --remux (it only changes the Foley track)")
    idle = [] if remux else _given_flags(ctx, ("remux",))
    if idle:
        raise CaptioningError(f"{idle[0]} needs --remux (it only changes the remuxed video)")



def _refuse_music_intensity_without_music(ctx: typer.Context) -> None:
    """--music-intensity without --music would be silently ignored (checked after the values themselves)."""
    if "--music-intensity" in _given_flags(ctx, ("foley",)) and not ctx.params.get("foley__music"):
        raise CaptioningError("--music-intensity needs --music (it sets the level of the background music)")


def _build_families(values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """:func:`build_families`, its error naming the CLI flag and value at fault (``--foley-profile loud: ...``)."""
    try:
        return build_families(values)
    except InvalidOptionsError as e:
        families = option_families()
        specs = {(s.family, s.name): s for s in declared_options("cli")}
        for family, given in values.items():
            for name, value in given.items():
                spec = specs.get((family, name))
                if spec is None or family not in families or value == spec.default:
                    continue
                try:
                    families[family](**{name: value})
                except InvalidOptionsError as alone:
                    if str(alone) == str(e):  # this value's own check, not a rule between several flags
                        raise InvalidOptionsError(f"{spec.flag.split('/')[0]} {value}: {alone}") from e
        raise


def _foley_level(report: Mapping[str, Any]) -> str:
    """``-16.0 LUFS, -1.2 dBTP`` (+ ``, target -16.0 LUFS missed`` when it is) from a FoleyReport dict."""
    lufs, peak = report["loudness_lufs"], report["true_peak_dbtp"]
    text = "silent" if lufs is None and peak is None else f"{lufs:.1f} LUFS, {peak:.1f} dBTP" if lufs is not None \
        else f"{peak:.1f} dBTP"
    if not report["target_met"]:
        text += f", target {report['target_lufs']:.1f} LUFS missed"
    return text


def by_family(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The keywords :func:`with_declared_options` passes, by family:
    ``{"captions__style": "bbc"}`` -> ``{"captions": {"style": "bbc"}}``."""
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        family, _, name = key.partition("__")
        grouped.setdefault(family, {})[name] = value
    return grouped


def register_commands(typer_app: typer.Typer = app) -> typer.Typer:
    """Add the commands that live with their feature (``check-captions``, ``audit``) to ``typer_app``; returns it.

    The service's commands (``serve``, ``submit``) are added by the shell that spans library and service,
    ``app.cli.main`` (the ``soundcue`` console script): the core never imports ``app``.
    """
    from captioning.audit.cli import register as register_audit
    from captioning.captions.cli import register

    register(typer_app)
    register_audit(typer_app)
    return typer_app


def configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main() -> None:
    """``python -m captioning``: the library's commands alone (``caption``, ``check-captions``, ``audit``)."""
    configure_logging()
    register_commands()()


if __name__ == "__main__":
    main()
