"""The one-shot cache of the Foley engine (issue 11): memory and disk hits, switching it off, no false hits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from captioning.events import Analysis, MediaInfo, SoundEvent, sort_events
from captioning.foley import FoleyOptions
from captioning.foley.cache import OneShotCache, SoundKey, shared_cache
from captioning.foley.render import foley_report, render_foley


def _analysis() -> Analysis:
    events = [SoundEvent(start=t, end=t + 0.2, label=label, caption=label, category="impact", confidence=0.9,
                         loudness=-20.0) for t, label in ((0.3, "knock"), (0.9, "hammer"), (1.5, "dog_bark"))]
    steps = SoundEvent(start=2.0, end=4.0, label="footsteps", caption="footsteps", category="footsteps",
                       confidence=0.9, loudness=-22.0, kind="sustained")
    return Analysis(media=MediaInfo(path="/m/clip.mp4", duration=4.5, format="mp4"),
                    events=sort_events([*events, steps]))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("SOUNDCUE_CACHE_DIR", str(d))
    return d / "foley"


def test_second_render_comes_from_the_cache(cache_dir: Path, tmp_path: Path) -> None:
    first = foley_report(_analysis(), tmp_path / "a.wav", FoleyOptions())
    assert first.cache.misses > 0 and first.cache.hits >= 0
    stored = list(cache_dir.glob("*.npz"))
    assert len(stored) == first.cache.misses  # every rendered take went to disk
    shared_cache().clear_memory()  # as a new process would start
    second = foley_report(_analysis(), tmp_path / "b.wav", FoleyOptions())
    assert second.cache.misses == 0 and second.cache.disk_hits > 0
    third = foley_report(_analysis(), tmp_path / "c.wav", FoleyOptions())
    assert third.cache.misses == 0 and third.cache.memory_hits > 0
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes() == (tmp_path / "c.wav").read_bytes()


def test_enable_cache_false_skips_it(cache_dir: Path) -> None:
    cached = render_foley(_analysis(), FoleyOptions(enable_cache=True))
    shared_cache().reset_stats()
    uncached = render_foley(_analysis(), FoleyOptions(enable_cache=False))
    assert shared_cache().stats.hits == shared_cache().stats.misses == 0
    assert np.array_equal(cached, uncached)  # the cache changes the speed, never the sound


def test_nothing_is_written_with_the_cache_off(cache_dir: Path) -> None:
    render_foley(_analysis(), FoleyOptions(enable_cache=False))
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def test_different_parameters_never_share_an_entry(tmp_path: Path) -> None:
    cache = OneShotCache(directory=tmp_path)
    a = SoundKey("modal", {"f0_hz": 400.0}, {"pitch": 1.0}, 48000, 1)
    b = SoundKey("modal", {"f0_hz": 401.0}, {"pitch": 1.0}, 48000, 1)
    assert a.digest() != b.digest()
    got_a = cache.get_or_render(a, lambda: np.ones(10))
    got_b = cache.get_or_render(b, lambda: np.full(10, 2.0))
    assert got_a[0] == 1.0 and got_b[0] == 2.0
    # an entry stored under b's name but holding a's key (a collision, a stale or copied file) is refused
    (tmp_path / f"{b.digest()}.npz").write_bytes((tmp_path / f"{a.digest()}.npz").read_bytes())
    fresh = OneShotCache(directory=tmp_path)
    assert fresh.get_or_render(b, lambda: np.full(10, 2.0))[0] == 2.0
    assert fresh.stats.rejected == 1 and fresh.stats.misses == 1


def test_a_damaged_entry_is_rendered_again(tmp_path: Path) -> None:
    cache = OneShotCache(directory=tmp_path)
    key = SoundKey("burst", {"decay_ms": 20.0}, {}, 48000, 3)
    cache.get_or_render(key, lambda: np.ones(5))
    (tmp_path / f"{key.digest()}.npz").write_bytes(b"not a zip file")
    fresh = OneShotCache(directory=tmp_path)
    assert fresh.get_or_render(key, lambda: np.full(5, 7.0))[0] == 7.0


def test_memory_stays_within_its_bound() -> None:
    cache = OneShotCache(directory=None, max_memory_bytes=10_000)
    for seed in range(20):
        cache.get_or_render(SoundKey("modal", {}, {}, 48000, seed), lambda: np.zeros(1000))  # 4 kB each
    assert cache._memory_bytes <= 10_000
    assert cache.stats.misses == 20


def test_disk_store_is_pruned_to_its_bound(tmp_path: Path) -> None:
    cache = OneShotCache(directory=tmp_path, max_disk_bytes=50_000)
    for seed in range(30):
        cache.get_or_render(SoundKey("modal", {}, {}, 48000, seed), lambda: np.zeros(4000))  # ~16 kB each
    cache.prune()
    assert sum(p.stat().st_size for p in tmp_path.glob("*.npz")) <= 50_000
