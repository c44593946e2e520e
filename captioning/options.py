"""Every user-facing option, declared once, in the library (issue 9, DESIGN.md "Options are declared once").

Each family is one frozen dataclass; a field that a front end shows is declared with :func:`option`, which
puts its help text and the surfaces that show it into the field's metadata:

    family     dataclass                                   CLI (soundcue caption)     API (JobOptions)
    analysis   captioning.pipeline.AnalysisOptions         --audio-stream, ...        top level
    captions   captioning.captions.CaptionOptions          --style, --frame-rate, ..  captions.*
    haptics    captioning.haptics.HapticOptions            --haptic-profile, ...      haptics.*
    foley      captioning.foley.FoleyOptions               --audio-format, ...        foley.*
    remux      captioning.foley.remux.RemuxOptions         --replace-audio            remux.*
    outputs    captioning.outputs.OutputOptions            --haptics, --audio, ...    outputs

The CLI's flags are built from :func:`declared_options` (name, type, default, help); the API schema takes each
default and description from it; tests/test_options_parity.py checks all three surfaces against it. Defaults
that depend on the media (the caption frame rate) are None here and resolved by the library from the
Analysis, so every front end gets the same result. Fields declared without :func:`option` are tuning
parameters no front end shows.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from captioning.errors import InvalidOptionsError

Surface = Literal["cli", "api"]
SURFACES: tuple[Surface, ...] = ("cli", "api")


def option(default: Any, *, help: str, surfaces: Iterable[Surface] = SURFACES, flag: str | None = None,
           metavar: str | None = None) -> Any:
    """A dataclass field that front ends show.

    Parameters:
        default: the default (immutable).
        help: one or two sentences for ``--help`` and the API description, with units.
        surfaces: which front ends show it: ``"cli"`` (``soundcue caption``), ``"api"`` (``JobOptions``).
        flag: the CLI flag when it is not ``--`` plus the field name with dashes (booleans that default to
            True get ``--name/--no-name``).
        metavar: the CLI's name for the value (e.g. ``N``).
    """
    unknown = set(surfaces) - set(SURFACES)
    if unknown:
        raise ValueError(f"unknown surfaces {sorted(unknown)}")
    return dataclasses.field(default=default, metadata={
        "help": help, "surfaces": frozenset(surfaces), "flag": flag, "metavar": metavar})


@dataclass(frozen=True)
class OptionSpec:
    """One declared option, as front ends read it.

    Attributes:
        family: ``"analysis"``, ``"captions"``, ``"haptics"``, ``"foley"`` or ``"remux"``.
        name: the dataclass field name (also its API name).
        type: the field's resolved type, e.g. ``float | None``.
        default: the field's default (None for a media-dependent default the library resolves).
        help: the help text.
        surfaces: the front ends that show it.
        flag: the CLI flag, e.g. ``--hls-segment`` or ``--ambience/--no-ambience``.
        metavar: the CLI's name for the value, or None.
    """

    family: str
    name: str
    type: Any
    default: Any
    help: str
    surfaces: frozenset[str]
    flag: str
    metavar: str | None = None

    @property
    def key(self) -> str:
        """``family.name``, unique across families."""
        return f"{self.family}.{self.name}"


def option_families() -> dict[str, type[Any]]:
    """Family name -> its options dataclass (imported here, so each family module imports this one freely)."""
    from captioning.captions.options import CaptionOptions
    from captioning.foley.options import FoleyOptions
    from captioning.foley.remux import RemuxOptions
    from captioning.haptics.model import HapticOptions
    from captioning.pipeline import AnalysisOptions

    return {"analysis": AnalysisOptions, "captions": CaptionOptions, "haptics": HapticOptions,
            "foley": FoleyOptions, "remux": RemuxOptions}


def _default_flag(name: str, type_: Any, default: Any) -> str:
    dashed = name.replace("_", "-")
    return f"--{dashed}/--no-{dashed}" if type_ is bool and default is True else f"--{dashed}"


@functools.cache
def declared_options(surface: Surface | None = None) -> tuple[OptionSpec, ...]:
    """Every declared option of every family (those a ``surface`` shows, if given), in declaration order."""
    specs = []
    for family, cls in option_families().items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if "help" not in f.metadata:
                continue
            flag = f.metadata["flag"] or _default_flag(f.name, hints[f.name], f.default)
            specs.append(OptionSpec(family, f.name, hints[f.name], f.default, f.metadata["help"],
                                    f.metadata["surfaces"], flag, f.metadata["metavar"]))
    return tuple(s for s in specs if surface is None or surface in s.surfaces)


def option_spec(family: str, name: str) -> OptionSpec:
    """The declaration of ``family.name`` (KeyError if it is not declared)."""
    for spec in declared_options():
        if spec.family == family and spec.name == name:
            return spec
    raise KeyError(f"{family}.{name} is not a declared option")


def build_families(values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Every family's options from ``{family: {field: value}}`` (a family or field not given keeps its default).

    The one conversion every front end uses: the CLI from its flags, the service from ``JobOptions``.

    Raises:
        InvalidOptionsError: an unknown family or field, or a value the dataclass refuses.
    """
    families = option_families()
    unknown = sorted(set(values) - set(families))
    if unknown:
        raise InvalidOptionsError(f"unknown option family {unknown[0]!r}; choose from {sorted(families)}")
    built = {}
    for family, cls in families.items():
        given = dict(values.get(family, {}))
        names = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(given) - names)
        if extra:
            raise InvalidOptionsError(f"{family}.{extra[0]} is not an option")
        built[family] = cls(**given)
    return built


def plain_type(type_: Any) -> Any:
    """``type_`` with Literal choices widened to their value type (front ends check choices via the dataclass)."""
    args = typing.get_args(type_)
    if typing.get_origin(type_) is Literal:
        return type(args[0])
    if isinstance(type_, types.UnionType) or typing.get_origin(type_) is typing.Union:
        return functools.reduce(lambda a, b: a | b, [plain_type(a) for a in args])
    return type_
