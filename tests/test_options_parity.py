"""One options path (issue 9): every option on the three surfaces, checked against the library's declaration.

The library declares each family's options once (``captioning.options``); the ``soundcue caption`` flags and
the service's ``JobOptions`` schema (as its OpenAPI document shows it) must list exactly the options declared
for them, under the same name, with the same default and help. Each check returns its problems, so the test
of the checks can show that they fail on drift.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import typer

from app.core.config import load_settings
from app.main import create_app
from app.schemas import OUTPUT_FAMILIES, UNIMPLEMENTED_OUTPUTS, JobOptions
from captioning.captions import CaptionOptions
from captioning.cli import caption
from captioning.errors import InvalidOptionsError
from captioning.foley import FoleyOptions
from captioning.foley.remux import RemuxOptions
from captioning.haptics import HapticOptions
from captioning.options import OptionSpec, build_families, declared_options, option_families, option_spec
from captioning.outputs import OUTPUTS, OutputOptions
from captioning.pipeline import AnalysisOptions

#: CLI parameters that are not options of a library family: what to read, where to write, how to report, and
#: the outputs family (one switch per optional output, see test_every_output_family_is_on_both_surfaces).
CLI_ONLY = {"inputs", "output_dir", "quiet", "as_json", "haptics", "timeline", "audio", "remux", "help"}
#: The CLI switch of each optional output, where it is not ``--`` plus the output's name.
OUTPUT_FLAGS = {"video": "--remux"}
#: JobOptions properties that are not options of a library family: the outputs list, the family containers and
#: the service's own settings (reuse of an earlier job's results, stage timings in the job).
API_ONLY = {"outputs", "captions", "haptics", "foley", "remux", "enable_cache", "detailed_log"}
#: Options shown on one surface only, and which. A path on the caller's machine means nothing to the service:
#: ``dialogue`` has no API form yet (it would need a second upload); ``hls_video_playlist`` has its URL form.
ONE_SURFACE = {"captions.dialogue": "cli", "captions.hls_video_playlist": "cli",
               "captions.hls_video_playlist_url": "api"}
#: A CLI path option -> its API form, an http(s) URL the service fetches (same meaning otherwise).
URL_FORMS = {"captions.hls_video_playlist": "captions.hls_video_playlist_url"}
#: Where each family's options sit in the API schema.
API_SCHEMA = {"analysis": "JobOptions", "captions": "CaptionSettings", "haptics": "HapticSettings",
              "foley": "FoleySettings", "remux": "RemuxSettings"}


@pytest.fixture(scope="module")
def cli_options() -> dict[str, Any]:
    command = typer.main.get_command(_app_with(caption))
    return {p.name: p for p in command.params if p.name}


def _app_with(command: Any) -> typer.Typer:
    app = typer.Typer(add_completion=False)
    app.command()(command)
    return app


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    settings = load_settings(data_dir=tmp_path_factory.mktemp("openapi"), api_keys="k" * 20)
    yield create_app(settings, start_workers=False).openapi()
    root.handlers[:], root.level = handlers, level  # create_app configures the service's logging


def _key(spec: OptionSpec) -> str:
    return f"{spec.family}__{spec.name}"


def cli_problems(specs: Sequence[OptionSpec], params: dict[str, Any]) -> list[str]:
    problems = []
    declared = {_key(s) for s in specs}
    for spec in specs:
        param = params.get(_key(spec))
        if param is None or param.param_type_name != "option":
            problems.append(f"{spec.key}: no CLI flag {spec.flag}")
            continue
        flags = "/".join(param.opts + param.secondary_opts)
        if flags != spec.flag:
            problems.append(f"{spec.key}: CLI flag {flags}, declared {spec.flag}")
        default = Path(param.default) if isinstance(spec.default, Path) else param.default
        if default != spec.default:
            problems.append(f"{spec.key}: CLI default {param.default!r}, declared {spec.default!r}")
        if param.help != spec.help:
            problems.append(f"{spec.key}: CLI help differs from the declaration")
    problems += [f"CLI option {name} is declared nowhere" for name in params if name not in declared | CLI_ONLY]
    return problems


def api_problems(specs: Sequence[OptionSpec], schemas: dict[str, Any]) -> list[str]:
    problems = []
    for spec in specs:
        props = schemas[API_SCHEMA[spec.family]]["properties"]
        prop = props.get(spec.name)
        if prop is None:
            problems.append(f"{spec.key}: not in the API schema {API_SCHEMA[spec.family]}")
            continue
        if prop.get("default") != spec.default:
            problems.append(f"{spec.key}: API default {prop.get('default')!r}, declared {spec.default!r}")
        if prop.get("description") != spec.help:
            problems.append(f"{spec.key}: API description differs from the declaration")
    for family, schema in API_SCHEMA.items():
        declared = {s.name for s in specs if s.family == family}
        extra = set(schemas[schema]["properties"]) - declared - (API_ONLY if schema == "JobOptions" else set())
        problems += [f"API option {schema}.{name} is declared nowhere" for name in sorted(extra)]
    return problems


# ------------------------------------------------------------------------------------------------ the tests
def test_every_declared_option_is_listed_once() -> None:
    specs = declared_options()
    assert len({s.key for s in specs}) == len(specs)
    flags = [f for s in declared_options("cli") for f in s.flag.split("/")]
    assert len(set(flags)) == len(flags), flags
    assert {s.family for s in specs} == set(option_families()) == {"analysis", "captions", "haptics", "foley",
                                                                   "remux"}
    for spec in specs:
        assert spec.help.strip() and spec.surfaces, spec.key
        assert spec.default is None or not isinstance(spec.default, (list, dict, set)), spec.key
    # what the issue names must be shared: frame rate and stream choice are on both surfaces
    both = {s.key for s in specs if s.surfaces == {"cli", "api"}}
    assert {"captions.frame_rate", "captions.style", "analysis.audio_stream", "haptics.profile",
            "foley.audio_format", "foley.profile", "foley.music_intensity", "remux.replace_audio"} <= both


def test_cli_flags_are_the_declared_options(cli_options: dict[str, Any]) -> None:
    assert cli_problems(declared_options("cli"), cli_options) == []


def test_api_schema_is_the_declared_options(openapi: dict[str, Any]) -> None:
    assert api_problems(declared_options("api"), openapi["components"]["schemas"]) == []


def test_the_checks_fail_on_drift(cli_options: dict[str, Any], openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    style = next(s for s in declared_options() if s.key == "captions.style")
    missing = dataclasses.replace(style, name="shade", flag="--shade")
    other_default = dataclasses.replace(style, default="bbc")
    for specs, words in (((*declared_options("cli"), missing), "no CLI flag --shade"),
                         ([s for s in declared_options("cli") if s != style], "captions__style is declared nowhere"),
                         ([other_default if s == style else s for s in declared_options("cli")], "CLI default")):
        assert any(words in p for p in cli_problems(specs, cli_options)), words
    for specs, words in (((*declared_options("api"), missing), "not in the API schema"),
                         ([s for s in declared_options("api") if s != style], "CaptionSettings.style is declared"),
                         ([other_default if s == style else s for s in declared_options("api")], "API default")):
        assert any(words in p for p in api_problems(specs, schemas)), words


def test_every_output_family_is_on_both_surfaces(cli_options: dict[str, Any],
                                                 openapi: dict[str, Any]) -> None:
    """events.json and the caption tracks are always written by the CLI; every other output has a switch."""
    api_names = set(openapi["components"]["schemas"]["JobOptions"]["properties"]["outputs"]["items"]["enum"])
    api_families = {OUTPUT_FAMILIES.get(n, n) for n in api_names - set(UNIMPLEMENTED_OUTPUTS)}
    assert api_families == set(OUTPUTS)
    switches = {name: param for name, param in cli_options.items() if name in CLI_ONLY}
    for family in set(OUTPUTS) - {"events", "captions"}:
        flag = OUTPUT_FLAGS.get(family, f"--{family}")
        assert any(flag in p.opts for p in switches.values()), family


def test_defaults_are_the_same_on_every_surface(cli_options: dict[str, Any]) -> None:
    """No option given: the CLI and the service build exactly the library's defaults."""
    library = build_families({})
    assert library == {"analysis": AnalysisOptions(), "captions": CaptionOptions(), "haptics": HapticOptions(),
                       "foley": FoleyOptions(), "remux": RemuxOptions()}
    cli_defaults: dict[str, dict[str, Any]] = {}
    for spec in declared_options("cli"):
        cli_defaults.setdefault(spec.family, {})[spec.name] = cli_options[_key(spec)].default
    assert build_families(cli_defaults) == library
    analysis, outputs = JobOptions().to_domain()
    assert analysis == library["analysis"]
    assert outputs == OutputOptions(outputs=frozenset({"events", "captions"}), captions=library["captions"],
                                    haptics=library["haptics"], foley=library["foley"], remux=library["remux"])


def test_api_options_reach_the_library_unchanged() -> None:
    job = JobOptions.model_validate({"outputs": ["vtt", "haptics", "audio", "video"], "ambience": False,
                                     "audio_stream": 2, "captions": {"style": "bbc", "frame_rate": 5, "line": None},
                                     "haptics": {"profile": "calm"},
                                     "foley": {"audio_format": "mp3", "music": True, "music_intensity": 0.6,
                                               "sample_rate": None},
                                     "remux": {"replace_audio": True}})
    analysis, outputs = job.to_domain(max_duration_s=60.0)
    assert analysis == AnalysisOptions(ambience=False, audio_stream=2, max_duration_s=60.0)
    assert outputs.outputs == {"events", "captions", "haptics", "audio", "video"}
    assert outputs.captions == CaptionOptions(style="bbc", frame_rate=5.0)  # null kept the default
    assert outputs.haptics == HapticOptions(profile="calm")
    assert outputs.foley == FoleyOptions(audio_format="mp3", music=True, music_intensity=0.6)
    assert outputs.remux == RemuxOptions(replace_audio=True)


def test_options_on_one_surface_are_the_listed_ones() -> None:
    """Every option missing from a surface is listed, with its URL form on the API where it has one."""
    one = {s.key: next(iter(s.surfaces)) for s in declared_options() if len(s.surfaces) == 1}
    assert one == ONE_SURFACE
    for path_key, url_key in URL_FORMS.items():
        path, url = option_spec(*path_key.split(".")), option_spec(*url_key.split("."))
        assert (path.surfaces, url.surfaces) == ({"cli"}, {"api"})
        assert (path.type, url.type, path.default, url.default) == (Path | None, str | None, None, None)
        assert path.flag in url.help, "the URL form's help names the CLI flag it stands for"
        assert url.name == f"{path.name}_url" and path.family == url.family


def test_the_url_form_follows_the_rules_of_the_path_form() -> None:
    """hls_video_playlist_url is refused exactly where hls_video_playlist is (no hls, with hls_mpegts)."""
    for name, value in (("hls_video_playlist", Path("v.m3u8")), ("hls_video_playlist_url", "https://cdn.test/v.m3u8")):
        CaptionOptions(hls=True, **{name: value})
        for bad in ({}, {"hls": True, "hls_mpegts": 0}):
            with pytest.raises(InvalidOptionsError):
                CaptionOptions(**bad, **{name: value})
    with pytest.raises(InvalidOptionsError, match="http"):
        CaptionOptions(hls=True, hls_video_playlist_url="file:///etc/passwd")
    job = JobOptions.model_validate({"captions": {"hls": True, "hls_segment_s": 6, "hls_mpegts": 133200}})
    assert job.to_domain()[1].captions == CaptionOptions(hls=True, hls_segment_s=6.0, hls_mpegts=133200)
