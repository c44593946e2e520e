"""Foley recipes, materials and profiles are data (issue 11): every table is complete and every recipe sounds."""

from __future__ import annotations

import numpy as np
import pytest

from captioning.analysis.scene import MATERIALS
from captioning.foley.score import profile_shape, resolve_params
from captioning.foley.synth import FAMILIES, Params, Shape
from captioning.foley.tables import load_tables, parse_params
from captioning.vocabulary import load_vocabulary

TABLES = load_tables()
SR = 48000


def test_every_recipe_the_vocabulary_names_exists() -> None:
    named = {e.foley for e in load_vocabulary()}
    assert "none" in named
    missing = sorted(named - {"none"} - set(TABLES.recipes))
    assert not missing, f"vocabulary foley recipes without a row in foley_recipes.csv: {missing}"


def test_every_material_the_scene_classifier_reports_has_a_row() -> None:
    assert set(MATERIALS) <= set(TABLES.materials)


def test_every_profile_option_has_a_row() -> None:
    from captioning.foley.options import PROFILES

    assert set(PROFILES) == set(TABLES.profiles)


def test_parameters_are_checked() -> None:
    assert parse_params("f0_hz=420 ratios=1|2.5 wave=saw") == {"f0_hz": 420.0, "ratios": (1.0, 2.5), "wave": "saw"}
    with pytest.raises(ValueError, match="key=value"):
        parse_params("f0_hz")
    with pytest.raises(ValueError, match="twice"):
        parse_params("a=1 a=2")


def _render(name: str, seed: int = 0, shape: Shape | None = None, material: str | None = None) -> np.ndarray:
    recipe = TABLES.recipes[name]
    family = FAMILIES[recipe.family]
    params = Params(family.defaults, resolve_params(recipe, material, TABLES))
    rng = np.random.default_rng(seed)
    shape = shape or Shape()
    if recipe.mode == "oneshot":
        assert family.oneshot is not None
        return family.oneshot(params, SR, rng, shape)
    assert family.stream is not None
    out: np.ndarray = family.stream(params, SR, rng, shape).render(SR)
    return out


@pytest.mark.parametrize("name", sorted(TABLES.recipes))
def test_every_recipe_renders_finite_sound_starting_on_its_first_sample(name: str) -> None:
    y = _render(name)
    assert np.isfinite(y).all()
    assert np.abs(y).max() > 1e-3
    if TABLES.recipes[name].mode == "oneshot":
        assert y[0] != 0.0, "a one-shot's onset is its first sample"
        assert abs(float(np.ravel(y)[-1])) < 1e-2 * np.abs(y).max(), "a one-shot ends faded out, not cut"


@pytest.mark.parametrize("name", ["impact_metal", "footstep", "bark", "clap"])
def test_takes_differ_by_seed_and_repeat_by_seed(name: str) -> None:
    a, b = _render(name, 1), _render(name, 2)
    assert np.array_equal(a, _render(name, 1))
    assert a.shape != b.shape or not np.allclose(a, b)


def test_materials_change_a_hit() -> None:
    metal = _render("impact_wood", material="metal")
    wood = _render("impact_wood")
    # metal rings: far more of its energy comes after the first 100 ms than wood's
    def tail_share(y: np.ndarray) -> float:
        e = y.astype(np.float64) ** 2
        return float(e[int(0.1 * SR):].sum() / e.sum())
    assert tail_share(metal) > 5 * tail_share(wood)


def test_streams_do_not_depend_on_how_they_are_read() -> None:
    recipe = TABLES.recipes["noise_rain"]
    family = FAMILIES[recipe.family]
    assert family.stream is not None
    params = Params(family.defaults, resolve_params(recipe, None, TABLES))
    whole = family.stream(params, SR, np.random.default_rng(3), Shape()).render(30000)
    s = family.stream(params, SR, np.random.default_rng(3), Shape())
    pieces = np.concatenate([s.render(n) for n in (1, 999, 7000, 21000, 1000)])
    assert np.array_equal(whole, pieces)


def _peak_hz(y: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(y.shape[0])))
    return float(np.fft.rfftfreq(y.shape[0], 1 / SR)[np.argmax(spec)])


def test_profiles_scale_pitch_and_decay() -> None:
    realistic = profile_shape(TABLES.profiles["realistic"])
    cartoon = profile_shape(TABLES.profiles["cartoon"])
    dramatic = profile_shape(TABLES.profiles["dramatic"])
    beep = _render("tone_beep", shape=realistic)[:, 0]
    beep_cartoon = _render("tone_beep", shape=Shape(pitch=cartoon.pitch, decay=cartoon.decay))[:, 0]
    assert _peak_hz(beep_cartoon) / _peak_hz(beep) == pytest.approx(cartoon.pitch, rel=0.01)
    hit = _render("impact_metal", shape=realistic)
    hit_dramatic = _render("impact_metal", shape=Shape(decay=dramatic.decay))
    assert hit_dramatic.shape[0] > 1.3 * hit.shape[0]  # longer tails
