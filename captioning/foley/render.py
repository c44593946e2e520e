"""Render an Analysis into a Foley track (issue 11): score, mix, loudness normalisation, true-peak limiting, encoding.

Two passes over the track, block by block, so memory stays flat however long the media:

1. measure: mix every block (one-shots rendered once and cached) and measure the integrated loudness
   (ITU-R BS.1770-4); the mix is also spooled to a temporary file on disk (float32) when that file stays under
   :data:`SPOOL_MAX_BYTES`;
2. final: read the spooled mix back (or, for longer media, mix again: the mix is deterministic, so the samples
   are the same), apply the gain that meets the loudness target and the true-peak limiter, measure again, and
   encode. The mix comes as two buses (:func:`captioning.foley.mixer.mix_blocks`): the effects bus gets the gain
   that meets the target, make-up for what the limiter takes included; the beds bus (background beds and music)
   gets the gain that would meet it without limiting, so beds stay where the mix put them under the effects
   rather than rising by the limiter's make-up. When the limiter had to work hard enough to pull the loudness more than
   :data:`LOUDNESS_TOLERANCE_LU` under the target, the gain is corrected and the final pass repeated (at most
   :data:`MAX_FINAL_PASSES` times).

Public entry points: :func:`write_foley` (a file), :func:`foley_blocks` (float blocks, e.g. for a remux),
:func:`render_foley` (the whole track as one array, for short clips) and :func:`foley_report` (what was done).
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from captioning.events import Analysis
from captioning.foley.cache import CacheStats, OneShotCache, shared_cache
from captioning.foley.encode import Encoder, atomic_path
from captioning.foley.loudness import (
    LoudnessMeter,
    TruePeakLimiter,
    interpolator_gain,
    stream_loudness,
    true_peak_dbtp,
)
from captioning.foley.mixer import BLOCK, band_limiter, has_beds_bus, mix_blocks
from captioning.foley.options import FoleyOptions
from captioning.foley.score import Voice, plan
from captioning.foley.tables import Tables, load_tables
from captioning.vocabulary import Vocabulary, load_vocabulary

#: The final pass is accepted when its integrated loudness is this close to the target (LU).
LOUDNESS_TOLERANCE_LU = 0.3
#: Final passes at most (each corrects the gain for what the limiter took).
MAX_FINAL_PASSES = 4
#: The gain may exceed the unlimited estimate by at most this much (dB): the loudness the true-peak limiter may
#: take off the mix to meet the target. A sparse track of short knocks needs 13.6-14.3 dB of it for -16 LUFS under
#: -1 dBTP (greatesthit_hitting_bag / chopping, docs/benchmarks.md); the program-dependent limiter then takes the
#: clicks down and leaves the bodies, and the renders' crest factor (peak over RMS in 50 ms windows near the peak,
#: min / median 6-7 / 9-10 dB) is that of the real chopping recording at -16.9 LUFS (8.7 / 11.4 dB). Past it the
#: hits would be flattened: the target is reported missed instead.
MAX_MAKEUP_DB = 16.0
#: A track of background beds alone (room tone, rain) is not normalised up to the target: it is brought to the
#: level its events were measured at in the source (their RMS, dBFS, read as LUFS: near enough for broadband
#: beds), never louder than the target, so a bed keeps its natural level.

log = logging.getLogger("captioning")
#: The mix is spooled to a temporary file between passes when the file stays under this size (bytes: 20 minutes of
#: 48 kHz stereo float32, 10 with a beds bus); longer media is mixed again in each pass.
SPOOL_MAX_BYTES = 440_000_000

Progress = Callable[[float], None]


@dataclass
class FoleyReport:
    """What a render did (for logs and the service's detailed log).

    Attributes:
        samples: length of the track in samples (``round(media.duration * sample_rate)``).
        sample_rate, channels: of the track.
        voices: sounds placed (one-shot hits, streams and layers).
        events_rendered: events that produced sound; events_silent: events whose recipe is ``none`` or unknown.
        recipes: recipe -> number of voices.
        mood: background-music mood, None without music.
        unlimited_lufs: integrated loudness of the mix before gain (-inf if silent; for a track shorter than
            BS.1770-4's 400 ms gating block, the loudness of that block: see
            :meth:`~captioning.foley.loudness.LoudnessMeter.loudness`).
        gain_db: gain applied to the effects before the limiter.
        beds_gain_db: gain applied to the beds and music (the gain without make-up; equal to ``gain_db`` when
            there are no effects).
        loudness_lufs: integrated loudness of the result (-inf if silent; measured as ``unlimited_lufs`` is).
        limiter_db: deepest gain reduction of the true-peak limiter (<= 0).
        true_peak_dbtp: true peak of the result in dBTP (4x oversampled; -inf if silent).
        target_lufs: the loudness target asked for.
        shortfall: None when the target is met (within :data:`LOUDNESS_TOLERANCE_LU`), else why it is not (one
            sentence, also logged as a warning), a silent track included.
        passes: passes over the track (measure + final ones).
        cache: one-shot cache counters of this render.
    """

    samples: int
    sample_rate: int
    channels: int
    voices: int = 0
    events_rendered: int = 0
    events_silent: int = 0
    recipes: dict[str, int] = field(default_factory=dict)
    mood: str | None = None
    unlimited_lufs: float = -math.inf
    gain_db: float = 0.0
    beds_gain_db: float = 0.0
    loudness_lufs: float = -math.inf
    limiter_db: float = 0.0
    true_peak_dbtp: float = -math.inf
    target_lufs: float = -16.0
    shortfall: str | None = None
    passes: int = 0
    cache: CacheStats = field(default_factory=CacheStats)

    def to_dict(self) -> dict[str, object]:
        def num(x: float) -> float | None:
            return round(x, 2) if math.isfinite(x) else None
        return {"samples": self.samples, "sample_rate": self.sample_rate, "channels": self.channels,
                "voices": self.voices, "events_rendered": self.events_rendered,
                "events_silent": self.events_silent, "recipes": dict(sorted(self.recipes.items())),
                "mood": self.mood, "unlimited_lufs": num(self.unlimited_lufs), "gain_db": num(self.gain_db),
                "beds_gain_db": num(self.beds_gain_db),
                "loudness_lufs": num(self.loudness_lufs), "limiter_db": num(self.limiter_db),
                "true_peak_dbtp": num(self.true_peak_dbtp), "target_lufs": self.target_lufs,
                "target_met": self.shortfall is None, "shortfall": self.shortfall,
                "passes": self.passes, "cache_hits": self.cache.hits, "cache_misses": self.cache.misses}


class _Render:
    """One render's score and passes."""

    def __init__(self, analysis: Analysis, options: FoleyOptions, *, tables: Tables, vocabulary: Vocabulary,
                 cache: OneShotCache | None, progress: Progress | None) -> None:
        self.analysis = analysis
        self.options = options
        self.tables = tables
        self.profile = tables.profiles[options.profile]
        self.sr = options.sample_rate
        self.channels = options.channels
        self.n_total = max(0, int(round(analysis.media.duration * self.sr)))
        self.voices: list[Voice] = plan(analysis, options, tables, vocabulary)
        if cache is None:
            cache = shared_cache() if options.enable_cache else OneShotCache(directory=None)
        self.cache = cache
        before = CacheStats(**vars(cache.stats))
        self._stats_before = before
        self._progress = progress
        self._done_units = 0.0
        self._reported = 0.0
        self._planned_units = 2.0
        self._spool: IO[bytes] | None = None
        self.mood: str | None = None
        if options.music:
            from captioning.foley.music import choose_mood

            self.mood = choose_mood(analysis, tables, vocabulary).name
        rendered = {v.event_index for v in self.voices}
        recipes: dict[str, int] = {}
        for v in self.voices:
            recipes[v.recipe.name] = recipes.get(v.recipe.name, 0) + 1
        self.report = FoleyReport(samples=self.n_total, sample_rate=self.sr, channels=self.channels,
                                  voices=len(self.voices), events_rendered=len(rendered),
                                  events_silent=len(analysis.events) - len(rendered), recipes=recipes,
                                  mood=self.mood, target_lufs=options.loudness_lufs)
        self.bed_only = bool(self.voices) and not options.music and all(
            analysis.events[v.event_index].background for v in self.voices if v.event_index >= 0)
        self._true_peak = 0.0
        self._effects_heard = False
        self._has_beds = has_beds_bus(self.voices, options.music)  # else the beds bus is all zeros
        self._spool_width = self.channels * (2 if self._has_beds else 1)  # float32 values per spooled sample

    # ---------------------------------------------------------------------------------------------- passes
    def _source(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The unscaled mix as (effects, beds) blocks: read back from the spool when there is one, else mixed
        again."""
        if self._spool is None:
            yield from self._mix()
            return
        self._spool.seek(0)
        left = self.n_total
        width = self._spool_width
        while left > 0:
            n = min(BLOCK, left)
            block = np.fromfile(self._spool, dtype=np.float32, count=n * width)
            if block.shape[0] != n * width:
                raise OSError("the Foley spool file came back short")
            left -= n
            self._tick(n)
            both = block.reshape(n, width).astype(np.float64)
            yield both[:, :self.channels], (both[:, self.channels:] if self._has_beds
                                            else np.zeros((n, self.channels)))

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def _mix(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        music = None
        if self.options.music:
            from captioning.foley.music import MusicBed

            music = MusicBed(self.tables.moods[self.mood or "neutral"], self.sr, self.channels,
                             seed=self.options.seed, intensity=self.options.music_intensity)
        for fx, beds in mix_blocks(self.voices, self.n_total, sample_rate=self.sr, channels=self.channels,
                                   profile=self.profile, cache=self.cache, music=music):
            self._tick(fx.shape[0])
            yield fx, beds

    def _tick(self, samples: int) -> None:
        if self._progress is None or self.n_total == 0:
            return
        self._done_units += samples / self.n_total
        fraction = min(0.999, self._done_units / max(self._planned_units, self._done_units + 1e-9))
        self._reported = max(self._reported, fraction)  # an extra pass stalls the bar, never moves it back
        self._progress(self._reported)

    def measure(self) -> tuple[LoudnessMeter, LoudnessMeter | None]:
        """Pass 1: the meters (loudness, per-hop energies and sample peaks) of the unscaled mix and of its beds
        bus (None without one)."""
        meter = LoudnessMeter(self.sr, self.channels, track_peaks=True)
        beds_meter = LoudnessMeter(self.sr, self.channels) if self._has_beds else None
        spool = None
        if 0 < self.n_total * self._spool_width * 4 <= SPOOL_MAX_BYTES:
            spool = tempfile.TemporaryFile(prefix="soundcue-foley-")  # noqa: SIM115 (closed by close())
        try:
            for fx, beds in self._mix():
                self._effects_heard = self._effects_heard or bool(np.any(fx))
                spooled = fx
                if beds_meter is not None:
                    meter.push(fx + beds)
                    beds_meter.push(beds)
                    spooled = np.hstack([fx, beds])
                else:
                    meter.push(fx)
                if spool is not None:
                    spooled.astype(np.float32).tofile(spool)
        except BaseException:
            if spool is not None:
                spool.close()
            raise
        self._spool = spool
        self.report.passes += 1
        return meter, beds_meter

    def beds_gain(self, gain_db: float, base_db: float) -> float:
        """The beds bus's gain: the gain without make-up (``base_db``), or ``gain_db`` when there are no effects."""
        return base_db if self._effects_heard else gain_db

    def final(self, gain_db: float, beds_gain_db: float, meter: LoudnessMeter,
              limiter: TruePeakLimiter) -> Iterator[np.ndarray]:
        """A final pass: gains, limiter, loudness measured into ``meter``; yields float64 blocks."""
        g = 10.0 ** (gain_db / 20.0)
        gb = 10.0 ** (beds_gain_db / 20.0)
        self._true_peak = 0.0
        band_limit = band_limiter(self.sr, self.channels)
        for fx, beds in self._source():
            out = limiter.process(band_limit(fx * g + beds * gb if self._has_beds else fx * g))
            if out.shape[0]:
                meter.push(out)
                self._peak(out)
                yield out
        out = limiter.flush()
        if out.shape[0]:
            meter.push(out)
            self._peak(out)
            yield out
        self.report.passes += 1
        self.report.true_peak_dbtp = 20.0 * math.log10(self._true_peak) if self._true_peak > 0 else -math.inf

    def _peak(self, block: np.ndarray) -> None:
        """Track the true peak; a block whose sample peak cannot beat the running maximum (times the
        interpolator's largest gain) is not oversampled."""
        if float(np.abs(block).max(initial=0.0)) * interpolator_gain(self.sr) > self._true_peak:
            self._true_peak = max(self._true_peak, 10.0 ** (true_peak_dbtp(block, self.sr) / 20.0))

    def run(self, sink: Callable[[Iterator[np.ndarray]], None] | None) -> None:
        """Measure, then final passes until the loudness is met; ``sink`` consumes each final pass's blocks
        (None: the passes run, their blocks are dropped). The last pass given to ``sink`` is the accepted one."""
        target = self.options.loudness_lufs
        meter, beds_meter = self.measure()
        lufs = meter.loudness()
        self.report.unlimited_lufs = lufs
        base = target - lufs if math.isfinite(lufs) else 0.0
        cap = base + MAX_MAKEUP_DB
        if self.bed_only and math.isfinite(lufs):  # beds alone keep their natural level
            level = max(e.loudness for e in self.analysis.events if e.background)
            if math.isfinite(level):
                base = cap = min(base, level - lufs)
        model = _LimiterModel(meter, beds_meter, self.options.true_peak_dbtp,
                              lambda g: self.beds_gain(g, base))
        gain = model.solve(target, base, cap) if math.isfinite(lufs) else 0.0
        for attempt in range(MAX_FINAL_PASSES):
            self._planned_units = self.report.passes + 1
            out_meter = LoudnessMeter(self.sr, self.channels)
            limiter = TruePeakLimiter(self.sr, self.channels, self.options.true_peak_dbtp)
            blocks = self.final(gain, self.beds_gain(gain, base), out_meter, limiter)
            if sink is not None:
                sink(blocks)
            else:
                for _ in blocks:
                    pass
            measured = out_meter.loudness()
            self.report.gain_db = gain
            self.report.beds_gain_db = self.beds_gain(gain, base)
            self.report.loudness_lufs = measured
            self.report.limiter_db = limiter.min_gain_db
            self.report.shortfall = None
            if not math.isfinite(measured):
                self.report.shortfall = ("the track is silent: no event has a sound to render (speech and music are "
                                         "not rendered, nor labels without a Foley recipe)")
                log.warning("Foley: %s", self.report.shortfall)
                break
            if abs(measured - target) <= LOUDNESS_TOLERANCE_LU:
                break
            at_cap = gain >= cap - 1e-6 and measured < target
            if at_cap or attempt == MAX_FINAL_PASSES - 1:
                self.report.shortfall = self._shortfall(measured, at_cap)
                log.warning("Foley loudness %.1f LUFS (true peak %.1f dBTP) misses the %.1f LUFS target: %s",
                            measured, self.report.true_peak_dbtp, target, self.report.shortfall)
                break
            model.fit(gain, measured)
            gain = model.solve(target, base, cap)
        now = self.cache.stats
        self.report.cache = CacheStats(**{k: getattr(now, k) - getattr(self._stats_before, k)
                                          for k in vars(now)})
        if self._progress is not None:
            self._progress(1.0)
            self._progress = None  # reported done once: a pass run after this one (foley_blocks') reports nothing


    def _shortfall(self, measured: float, at_cap: bool) -> str:
        """Why the target is missed (see :attr:`FoleyReport.shortfall`)."""
        if self.bed_only:
            return ("the track is background beds alone, kept at their natural level (a bed is never "
                    "normalised up to the target)")
        if at_cap:
            return (f"the sounds are too short and sparse for it under the {self.options.true_peak_dbtp:.1f} dBTP "
                    f"ceiling: the limiter already takes up to {-self.report.limiter_db:.0f} dB off the hits, and "
                    f"more than {MAX_MAKEUP_DB:.0f} dB of make-up gain for that limiting would flatten them")
        return f"the gain did not converge within {MAX_FINAL_PASSES} passes"


class _LimiterModel:
    """Predicts the integrated loudness after gain and limiting from the measure pass's 100 ms hops.

    A hop whose sample peak would pass the ceiling after the gain loses ``alpha`` of the excess in level (in dB,
    its energy scales by ``(ceiling / peak) ** (2 * alpha)``): alpha 1 when the limiter pulls the whole hop
    down, nearer 0 when it only touches the peak. The beds bus is scaled by its own gain (``beds_gain``, a
    function of the effects' gain) and left out of the limiting (beds have no peaks near the ceiling). Fitted on
    each final pass's measurement, so the next gain is a model-guided secant step rather than a blind one.
    """

    def __init__(self, meter: LoudnessMeter, beds_meter: LoudnessMeter | None, ceiling_dbtp: float,
                 beds_gain: Callable[[float], float]) -> None:
        total = meter.hop_energy()
        self.beds = beds_meter.hop_energy() if beds_meter is not None else np.zeros_like(total)
        self.effects = np.maximum(total - self.beds, 0.0)  # the buses are uncorrelated
        self.peaks = meter.hop_peaks()
        self.samples = meter.samples
        self.sr = meter.sample_rate
        self.ceiling = 10.0 ** ((ceiling_dbtp - 0.7) / 20.0)  # where TruePeakLimiter aims
        self.beds_gain = beds_gain
        self.alpha = 0.5
        self.offset = 0.0  # model error at the last measured point (LU)

    def predict(self, gain_db: float, alpha: float | None = None) -> float:
        a = self.alpha if alpha is None else alpha
        g = 10.0 ** (gain_db / 20.0)
        gb = 10.0 ** (self.beds_gain(gain_db) / 20.0)
        r = np.minimum(1.0, self.ceiling / np.maximum(self.peaks * g, 1e-12)) ** a
        energy = self.effects * (g * g) * (r * r)[:, None] + self.beds * (gb * gb)
        return stream_loudness(energy, self.samples, self.sr)

    def solve(self, target: float, lo: float, hi: float) -> float:
        """The gain in [lo, hi] whose predicted loudness (+ the fitted offset) is the target (bisection)."""
        if self.predict(hi) + self.offset <= target:
            return hi
        if self.predict(lo) + self.offset >= target:
            return lo
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if self.predict(mid) + self.offset < target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def fit(self, gain_db: float, measured: float) -> None:
        """Fit alpha so the model predicts ``measured`` at ``gain_db`` (what is left goes into an offset)."""
        lo, hi = 0.0, 1.0
        if not self.predict(gain_db, hi) <= measured <= self.predict(gain_db, lo):
            self.offset = measured - self.predict(gain_db)
            return
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if self.predict(gain_db, mid) > measured:
                lo = mid
            else:
                hi = mid
        self.alpha = 0.5 * (lo + hi)
        self.offset = 0.0


def _resolve(options: FoleyOptions | None) -> FoleyOptions:
    if options is None:
        return FoleyOptions()
    if not isinstance(options, FoleyOptions):
        raise TypeError(f"options must be FoleyOptions, got {type(options).__name__}")
    return options


def foley_report(analysis: Analysis, path: Path, options: FoleyOptions | None = None, *,
                 progress: Progress | None = None, vocabulary: Vocabulary | None = None,
                 cache: OneShotCache | None = None) -> FoleyReport:
    """:func:`write_foley`, returning what the render did (loudness, gain, limiter, passes, cache counters).

    ``vocabulary`` (default: the packaged one) maps labels to recipes; ``cache`` overrides the one-shot cache
    (default: the shared memory+disk cache, or a private memory-only one when ``options.enable_cache`` is off).
    """
    opts = _resolve(options)
    r = _Render(analysis, opts, tables=load_tables(), vocabulary=vocabulary or load_vocabulary(), cache=cache,
                progress=progress)
    path = Path(path)

    def sink(blocks: Iterator[np.ndarray]) -> None:
        with atomic_path(path) as tmp, Encoder(tmp, opts.audio_format, r.sr, r.channels) as enc:
            for block in blocks:
                enc.write(block.astype(np.float32))

    try:
        r.run(sink)
    finally:
        r.close()
    return r.report


def write_foley(analysis: Analysis, path: Path, options: FoleyOptions | None = None, *,
                progress: Callable[[float], None] | None = None) -> Path:
    """Render ``analysis`` into an audio file at ``path``, exactly ``analysis.media.duration`` seconds long.

    Every event whose vocabulary recipe is not ``none`` sounds at its onset (``round(start * sample_rate)``,
    or the nearest whole second with ``sync="second"``; a one-shot also on each further stroke heard in the
    event's envelope), panned by its ``pan`` (constant power) and scaled by its loudness; the track is normalised
    to ``options.loudness_lufs`` (ITU-R BS.1770-4 integrated, within :data:`LOUDNESS_TOLERANCE_LU` unless
    meeting it would take more than :data:`MAX_MAKEUP_DB` of limiting: then a warning, and the report says why)
    under a true-peak ceiling of ``options.true_peak_dbtp`` (4x oversampled). An event list without sound gives
    a silent track.

    Parameters:
        analysis: the event list and media info (the track spans media time 0 .. ``media.duration``).
        path: where to write (atomically: a temporary file beside it, then a rename); its suffix should match
            ``options.audio_format`` (``.wav``, ``.mp3``, ``.m4a`` for AAC: see
            :func:`captioning.foley.encode.suffix_for`).
        options: Foley options (None: defaults: 48 kHz stereo 16-bit WAV, realistic, -16 LUFS, -1 dBTP).
        progress: called with the fraction of the work done, 0..1 (1.0 once, at the end).

    Returns:
        ``path``.

    Raises:
        TypeError: ``options`` is not a FoleyOptions.
        OSError: the file cannot be written (nothing is left at ``path`` then).
    """
    foley_report(analysis, path, options, progress=progress)
    return Path(path)


def foley_blocks(analysis: Analysis, options: FoleyOptions | None = None, *, progress: Progress | None = None,
                 vocabulary: Vocabulary | None = None, cache: OneShotCache | None = None,
                 on_report: Callable[[FoleyReport], None] | None = None) -> Iterator[np.ndarray]:
    """The finished track as float32 blocks of shape ``(n, options.channels)`` at ``options.sample_rate``.

    Same rendering as :func:`write_foley` (normalised, limited), ``round(media.duration * sample_rate)`` samples
    in all, block sizes vary. The loudness passes run before the first block is yielded (the generator does
    the work lazily, on first ``next``), and ``progress`` reaches 1.0 when they are done: the final pass is the
    caller's work (a remux reports its own progress). Memory stays bounded whatever the duration. ``on_report``
    is called with what the render did (:class:`FoleyReport`) once the last block is out.
    """
    opts = _resolve(options)
    r = _Render(analysis, opts, tables=load_tables(), vocabulary=vocabulary or load_vocabulary(), cache=cache,
                progress=progress)
    try:
        r.run(None)  # progress reaches 1.0 here: consuming the blocks is the caller's work (a remux reports its own)
        meter = LoudnessMeter(r.sr, r.channels)
        limiter = TruePeakLimiter(r.sr, r.channels, opts.true_peak_dbtp)
        for block in r.final(r.report.gain_db, r.report.beds_gain_db, meter, limiter):
            yield block.astype(np.float32)
    finally:
        r.close()
    if on_report is not None:
        on_report(r.report)


def render_foley(analysis: Analysis, options: FoleyOptions | None = None, **kwargs: object) -> np.ndarray:
    """The whole finished track as one float32 array of shape ``(samples, channels)`` (short clips, tests)."""
    opts = _resolve(options)
    n = int(round(analysis.media.duration * opts.sample_rate))
    blocks = list(foley_blocks(analysis, opts, **kwargs))  # type: ignore[arg-type]
    if not blocks:
        return np.zeros((n, opts.channels), np.float32)
    out: np.ndarray = np.concatenate(blocks)
    return out
