"""``soundcue audit`` as a user runs it (issue 12): a real subprocess of the console entry point for exit codes
and errors, the command in-process (same Typer app) for the options; the flags against their declarations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from audit_factory import SCENE_VTT, scene
from typer.testing import CliRunner

from app.cli import register
from captioning.audit.cli import EXIT_BAD_INPUT, EXIT_BELOW_COVERAGE
from captioning.audit.options import declared_audit_options
from captioning.cli import register_commands
from captioning.datafiles import data_text

ROOT = Path(__file__).resolve().parents[1]


def soundcue(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    events = tmp_path / "events.json"
    events.write_text(scene().to_json(), encoding="utf-8")
    track = tmp_path / "track.vtt"
    track.write_text(SCENE_VTT, encoding="utf-8")
    return events, track


def app() -> typer.Typer:
    typer_app = register_commands(typer.Typer(add_completion=False))
    register(typer_app)
    return typer_app


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app(), ["audit", *map(str, args)], catch_exceptions=False)


def test_below_min_coverage_exits_1_with_the_report_written(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    events, track = inputs
    out = tmp_path / "report"
    r = soundcue("audit", events, track, "-o", out, "--min-coverage", "0.8")
    assert r.returncode == EXIT_BELOW_COVERAGE, r.stderr
    assert "coverage 60% (FAILS --min-coverage 0.8)" in r.stdout
    assert "missed    4.000 s  [dog barks]" in r.stdout and "unsupported cue 5 at 15.000 s  [gunshot]" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ["audit-missed.csv", "audit.html", "audit.json"]
    report = json.loads((out / "audit.json").read_text())
    jsonschema.validate(report, json.loads(data_text("audit.schema.json")))
    assert report["summary"]["passed"] is False and report["summary"]["coverage"] == 0.6
    assert "Traceback" not in r.stderr


def test_at_or_above_min_coverage_exits_0(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    events, track = inputs
    r = invoke(events, track, "-o", tmp_path / "a", "--min-coverage", "0.6")
    assert r.exit_code == 0, r.output
    assert "passes --min-coverage 0.6" in r.output
    assert invoke(events, track, "-o", tmp_path / "b").exit_code == 0  # no threshold: no verdict


def test_formats_and_options(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    events, track = inputs
    out = tmp_path / "only"
    r = invoke(events, track, "-o", out, "--format", "csv", "--format", "json", "--style", "bbc", "--collar", "2",
               "--json")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["audit-missed.csv", "audit.json"]
    printed = json.loads(r.stdout)
    assert printed == json.loads((out / "audit.json").read_text())
    assert printed["options"]["style"] == "bbc" and printed["options"]["collar_s"] == 2.0
    assert {m["suggested_cue"]["text"] for m in printed["missed"]} == {"DOG BARKS", "GLASS SHATTERS"}
    assert "DOG BARKS" in (out / "audit-missed.csv").read_text()


@pytest.mark.parametrize("case, message", [
    ("missing_video", "no such file"),
    ("ssa_captions", "not a WebVTT or SRT caption file but SSA/ASS"),
    ("captions_dir", "it is a directory"),
    ("output_is_file", "the output path is a file, not a directory"),
    ("bad_events_json", "not a soundcue events.json"),
    ("no_cues", "nothing to audit"),
    ("bad_format", "--format pdf"),
    ("bad_collar", "--collar must be within 0..30 seconds"),
    ("bad_min_coverage", "--min-coverage must be within 0..1, got 1.5"),
    ("bad_min_confidence", "--min-confidence must be within 0..1"),
])
def test_bad_input_is_one_line_and_exit_2(inputs: tuple[Path, Path], tmp_path: Path, case: str,
                                          message: str) -> None:
    events, track = inputs
    out = tmp_path / "out"
    args: list[str | Path] = [events, track, "-o", out]
    if case == "missing_video":
        args[0] = tmp_path / "nope.mp4"
    elif case == "ssa_captions":
        args[1] = tmp_path / "subs.srt"
        args[1].write_text("[Script Info]\nTitle: x\n\n[Events]\n"
                           "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,hi\n")
    elif case == "captions_dir":
        args[1] = tmp_path
    elif case == "output_is_file":
        out.write_text("not a folder")
    elif case == "bad_events_json":
        args[0] = tmp_path / "notes.json"
        args[0].write_text('{"these": "are notes"}')
    elif case == "no_cues":
        args[1] = tmp_path / "empty.vtt"
        args[1].write_text("WEBVTT\n\n")
    elif case == "bad_format":
        args += ["--format", "pdf"]
    elif case == "bad_collar":
        args += ["--collar", "-1"]
    elif case == "bad_min_coverage":
        args += ["--min-coverage", "1.5"]
    elif case == "bad_min_confidence":
        args += ["--min-confidence", "2"]
    # two cases as a real process (no traceback reaches the user), the others in-process (faster, same code)
    if case in ("missing_video", "ssa_captions"):
        proc = soundcue("audit", *args)
        code, stderr = proc.returncode, proc.stderr
    else:
        res = invoke(*args)
        code, stderr = res.exit_code, res.stderr
    assert code == EXIT_BAD_INPUT, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soundcue: error: ") and message in lines[0], stderr
    assert not out.is_dir() or not any(out.iterdir())


def test_a_real_video_is_analysed_then_audited(knocks_mp4: Path, tmp_path: Path) -> None:
    """End to end with the real models: knocks at 1.0, 2.5 and 4.2 s; the track captions the first and invents a
    gunshot at 5.5 s, where there is only the noise floor."""
    track = tmp_path / "knocks.vtt"
    track.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n[knocking]\n\n"
                     "00:00:05.500 --> 00:00:06.000\n[gunshot]\n")
    out = tmp_path / "report"
    r = soundcue("audit", knocks_mp4, track, "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    report = json.loads((out / "audit.json").read_text())
    assert report["media"]["file"] == "knocks.mp4" and report["media"]["duration"] == pytest.approx(6.0, abs=0.1)
    assert "audio_tagger" in report["models"] and "text_embedding" in report["models"]
    assert [u["cue"]["text"] for u in report["unsupported_cues"]] == ["[gunshot]"]
    s = report["summary"]
    assert s["covered"] + s["named_differently"] + s["missed"] == s["salient_events"] >= 1


def test_flags_are_the_declared_audit_options() -> None:
    command = typer.main.get_command(app())
    params = {p.name: p for p in command.commands["audit"].params}  # type: ignore[attr-defined]
    for spec in declared_audit_options("cli"):
        param = params[f"audit__{spec.name}"]
        assert spec.flag in param.opts and param.default == spec.default and param.help == spec.help
    assert "analysis__audio_stream" in params  # the analysis flags of soundcue caption, for a video input


def test_the_service_options_are_the_declared_audit_options() -> None:
    from app.schemas import AuditSettings

    fields = AuditSettings.model_fields
    api = declared_audit_options("api")
    assert set(fields) == {s.name for s in api}
    for spec in api:
        assert fields[spec.name].default == spec.default and fields[spec.name].description == spec.help
    assert AuditSettings(collar_s=2.0, style="bbc").to_domain().collar_s == 2.0
    assert "embedding_model" not in fields  # a server uses its own model setting


def test_a_caption_file_for_another_video_is_warned_about(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    events, _ = inputs  # the scene lasts 20 s
    other = tmp_path / "other.srt"
    other.write_text("".join(f"{n}\n00:{m:02d}:00,000 --> 00:{m:02d}:02,000\n[door slams]\n\n"
                             for n, m in enumerate((1, 2, 5, 9), 1)), encoding="utf-8")
    res = invoke(events, other, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.stderr
    (line,) = [s for s in res.stderr.splitlines() if "warning" in s]
    assert line.startswith("soundcue: warning: other.srt: 4 of 4 cues start after the media ends (20.000 s")
    assert "another video" in line
    report = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert report["summary"]["warnings"] == 1 and "another video" in report["warnings"][0]
    # the scene's own track fits its media: no warning
    _, track = inputs
    fits = invoke(events, track, "-o", tmp_path / "out2")
    assert "warning" not in fits.stderr
