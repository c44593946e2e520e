"""Scene context per shot from frame classification: what the pictures make likely to be heard.

:class:`SceneClassifier` is a frame analyzer (:class:`~captioning.analysis.types.FrameAnalyzer`). It gets
frames at a low rate (``SceneOptions.fps``, 2 fps by default), classifies one every
``classify_interval_s`` (and the first frame of every shot) with EfficientNet-Lite0
(:mod:`models.frame_classifier`, 1000 ImageNet classes), and keeps one running mean of the class
probabilities per shot: memory does not grow with the video's length (one 1000-vector for the shot in
progress, a few tuples per finished shot).

Shots are bounded by cuts that the pipeline announces (:meth:`SceneClassifier.cut`, from the shot detector, or
``cuts=`` known up front) and by cuts it sees itself between two of its frames (a colour-histogram jump,
``cut_distance``), so it also works alone.

Each shot becomes a :class:`~captioning.analysis.types.SceneContext` through the data table
``captioning/data/imagenet_context.csv`` (ImageNet class -> vocabulary labels, materials, ambience beds;
its header documents the columns): a label's weight is ``sum_r mass[r] * weight[r, label]`` over the table
rows ``r`` whose mass reaches ``class_floor``, capped at 1. A row's mass is the shot's mean probability above
chance (``p - 1/1000``, floored at 0) summed over the row's classes: the 118 dog breeds of a real dog add up
(0.26 on the dev clip with a terrier), while on the other dev clips they add up to at most 0.001. The
ambience is the best-scoring bed when it reaches ``min_ambience_weight``.

What the context does NOT say: labels a picture makes unlikely are not listed anywhere. They follow from the
absence of their context (a subway train needs a station or a train on screen, weights need a gym); detection
(:mod:`captioning.detection.fusion`) lowers or renames a heard label that the classified shot does not
support. :func:`load_context_table`'s ``labels`` are the labels sight can support at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from captioning.analysis.types import SceneContext, ShotCut, VideoFrame
from captioning.datafiles import csv_records, data_text

#: A frame classifier: shape=(n, height, width, 3) uint8 RGB -> shape=(n, n_classes) probabilities.
Classifier = Callable[[np.ndarray], np.ndarray]

MATERIALS: tuple[str, ...] = (
    "metal", "wood", "glass", "plastic", "ceramic", "stone", "cloth", "paper", "rubber", "food", "water",
)
_HIST_BINS = 4  # per RGB channel for the cut check: 64 colour bins
_HIST_STEP = 4  # pixels: the cut check reads every 4th row and column


@dataclass(frozen=True)
class SceneOptions:
    """How frames become scene contexts. Units are in the names.

    Attributes:
        fps: frames a second the analyzer wants (for the cut check; classification is sparser).
        classify_interval_s: classify a frame at most this often within a shot (the first frame of each shot
            is always classified). 1 s keeps EfficientNet-Lite0 near 0.04 x media duration on 2 cores.
        detect_cuts: also cut where two consecutive frames' colour histograms differ by ``cut_distance``.
        cut_distance: Bhattacharyya distance (0 same .. 1 disjoint) of 64-bin RGB histograms that is a cut.
        top_classes: at most this many ImageNet classes in ``SceneContext.classes``.
        min_class_prob: a class needs this mean probability over the shot to be listed.
        class_floor: a table row (a class, or a run of classes summed) whose mean probability above chance
            is below this adds nothing to label, material and ambience scores (the softmax's long tail would
            otherwise add up to noise).
        min_label_weight: a label (and a material) needs this score to be listed.
        max_labels: at most this many labels and materials each.
        min_ambience_weight: the best ambience bed needs this score, else ``ambience`` is None.
    """

    fps: float = 2.0
    classify_interval_s: float = 1.0
    detect_cuts: bool = True
    cut_distance: float = 0.3
    top_classes: int = 5
    min_class_prob: float = 0.02
    class_floor: float = 0.005
    min_label_weight: float = 0.05
    max_labels: int = 8
    min_ambience_weight: float = 0.15

    def __post_init__(self) -> None:
        if self.fps <= 0 or self.classify_interval_s < 0:
            raise ValueError(f"fps must be > 0 and classify_interval_s >= 0, got {self.fps}, "
                             f"{self.classify_interval_s}")
        if not 0 < self.cut_distance <= 1:
            raise ValueError(f"cut_distance must be in (0, 1], got {self.cut_distance}")


@dataclass(frozen=True)
class ContextTable:
    """The ImageNet -> sound table as dense weights, one row per table row (a class or a run of classes).

    Attributes:
        row_of_class: shape=(n_classes,) int, the table row holding each class, -1 for none.
        labels, materials, ambience: the column names of the three weight matrices.
        label_weights: shape=(n_rows, len(labels)) float32, 0..1.
        material_weights: shape=(n_rows, len(materials)) float32.
        ambience_weights: shape=(n_rows, len(ambience)) float32.
    """

    row_of_class: np.ndarray
    labels: tuple[str, ...]
    materials: tuple[str, ...]
    ambience: tuple[str, ...]
    label_weights: np.ndarray
    material_weights: np.ndarray
    ambience_weights: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(self.row_of_class.shape[0])

    def row_mass(self, probs: np.ndarray) -> np.ndarray:
        """Probability of each table row: shape=(n_classes,) -> shape=(n_rows,), the sum over its classes."""
        held = self.row_of_class >= 0
        out: np.ndarray = np.bincount(self.row_of_class[held], weights=probs[held],
                                      minlength=self.label_weights.shape[0]).astype(np.float32)
        return out


def _pairs(field: str, line: int) -> list[tuple[str, float]]:
    out = []
    for item in (x.strip() for x in field.split("|")):
        if not item:
            continue
        key, sep, value = item.partition(":")
        if not sep:
            raise ValueError(f"imagenet_context.csv line {line}: expected name:weight, got {item!r}")
        weight = float(value)
        if not 0.0 < weight <= 1.0:
            raise ValueError(f"imagenet_context.csv line {line}: weight of {key!r} must be in (0, 1], got {weight}")
        out.append((key.strip(), weight))
    return out


def parse_context_table(text: str, class_names: Sequence[str]) -> ContextTable:
    """Parse the table's CSV text (``#`` lines are comments) against the classifier's class names.

    Raises:
        ValueError: a malformed row, an index out of range, a name that does not match its index, a class in
            two rows, or a weight outside (0, 1]; the message names the line.
    """
    fieldnames, records = csv_records(text)
    if fieldnames != ["classes", "imagenet", "labels", "materials", "ambience"]:
        raise ValueError(f"imagenet_context.csv: header must be classes,imagenet,labels,materials,ambience, "
                         f"got {fieldnames}")
    n_classes = len(class_names)
    rows: list[tuple[range, list[tuple[str, float]], list[tuple[str, float]], list[tuple[str, float]]]] = []
    seen: dict[int, int] = {}
    for line, row in records:
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"imagenet_context.csv line {line}: expected 5 fields")
        first, _, last = row["classes"].partition("-")
        try:
            span = range(int(first), int(last or first) + 1)
        except ValueError as e:
            raise ValueError(f"imagenet_context.csv line {line}: bad class index {row['classes']!r}") from e
        if not span or span.start < 0 or span.stop > n_classes:
            raise ValueError(f"imagenet_context.csv line {line}: classes {row['classes']} outside 0..{n_classes - 1}")
        expected = class_names[span.start] if len(span) == 1 else \
            f"{class_names[span.start]}..{class_names[span.stop - 1]}"
        if row["imagenet"] != expected:
            raise ValueError(f"imagenet_context.csv line {line}: classes {row['classes']} are {expected!r}, "
                             f"the row says {row['imagenet']!r}")
        for c in span:
            if c in seen:
                raise ValueError(f"imagenet_context.csv line {line}: class {c} is already on line {seen[c]}")
            seen[c] = line
        rows.append((span, _pairs(row["labels"], line), _pairs(row["materials"], line),
                     _pairs(row["ambience"], line)))

    def matrix(col: int) -> tuple[tuple[str, ...], np.ndarray]:
        names = tuple(sorted({k for r in rows for k, _ in r[col]}))  # type: ignore[misc]
        where = {k: i for i, k in enumerate(names)}
        w = np.zeros((len(rows), len(names)), np.float32)
        for i, r in enumerate(rows):
            for k, weight in r[col]:  # type: ignore[misc]
                w[i, where[k]] = weight
        return names, w

    row_of_class = np.full(n_classes, -1, np.int64)
    for i, r in enumerate(rows):
        row_of_class[r[0].start:r[0].stop] = i
    labels, lw = matrix(1)
    materials, mw = matrix(2)
    ambience, aw = matrix(3)
    return ContextTable(row_of_class, labels, materials, ambience, lw, mw, aw)


@functools.lru_cache(maxsize=1)
def load_context_table() -> ContextTable:
    """The packaged table (``captioning/data/imagenet_context.csv``) against the ImageNet class list, parsed once."""
    from models.frame_classifier import imagenet_classes

    return parse_context_table(data_text("imagenet_context.csv"), [c.name for c in imagenet_classes()])


@functools.lru_cache(maxsize=1)
def _class_names() -> tuple[str, ...]:
    from models.frame_classifier import imagenet_classes

    return tuple(c.name for c in imagenet_classes())


def _ranked(names: Sequence[str], scores: np.ndarray, minimum: float, limit: int) -> tuple[tuple[str, float], ...]:
    order = np.argsort(-scores, kind="stable")[:limit]
    return tuple((names[i], round(float(scores[i]), 4)) for i in order if scores[i] >= minimum)


def scene_context(mean_probs: np.ndarray, start: float, end: float, *, table: ContextTable,
                  class_names: Sequence[str], options: SceneOptions | None = None) -> SceneContext:
    """The context of one shot from its mean class probabilities.

    Parameters:
        mean_probs: shape=(n_classes,) mean softmax probabilities of the shot's classified frames.
        start, end: the shot's span, seconds of media time.
        table: the ImageNet -> sound weights (:func:`load_context_table`).
        class_names: names of the classifier's classes, in output order.

    Returns:
        The :class:`SceneContext`: top classes, labels and materials with their scores (best first), ambience.
    """
    opts = options or SceneOptions()
    p = np.asarray(mean_probs, np.float32)
    if p.shape != (table.n_classes,):
        raise ValueError(f"mean_probs must have shape ({table.n_classes},), got {p.shape}")
    # Probability above chance (1 / n_classes), summed per table row: a run of 118 dog breeds counts as one
    # row, and a diffuse softmax (every class near chance) adds nothing however many classes a row holds.
    mass = table.row_mass(np.maximum(p - 1.0 / table.n_classes, 0.0))
    counted = np.where(mass >= opts.class_floor, mass, 0.0).astype(np.float32)
    labels = np.minimum(counted @ table.label_weights, 1.0)
    materials = np.minimum(counted @ table.material_weights, 1.0)
    ambience = counted @ table.ambience_weights
    best_bed = int(np.argmax(ambience)) if ambience.size else -1
    has_bed = best_bed >= 0 and ambience[best_bed] >= opts.min_ambience_weight
    return SceneContext(
        start=round(start, 3), end=round(end, 3),
        classes=_ranked(class_names, p, opts.min_class_prob, opts.top_classes),
        labels=_ranked(table.labels, labels, opts.min_label_weight, opts.max_labels),
        materials=_ranked(table.materials, materials, opts.min_label_weight, opts.max_labels),
        ambience=table.ambience[best_bed] if has_bed else None,
        ambience_weight=round(min(1.0, float(ambience[best_bed])), 4) if has_bed else 0.0,
    )


def colour_histogram(rgb: np.ndarray) -> np.ndarray:
    """Normalised 64-bin RGB histogram of a frame (every 4th pixel): shape=(h, w, 3) uint8 -> shape=(64,)."""
    px = rgb[::_HIST_STEP, ::_HIST_STEP].reshape(-1, 3) >> (8 - 2)  # 2 bits per channel
    codes = (px[:, 0].astype(np.int32) << 4) | (px[:, 1].astype(np.int32) << 2) | px[:, 2]
    h = np.bincount(codes, minlength=_HIST_BINS ** 3).astype(np.float64)
    out: np.ndarray = h / max(h.sum(), 1.0)
    return out


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance of two normalised histograms: 0 identical .. 1 disjoint."""
    return float(np.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(a * b))))))


class SceneClassifier:
    """Frame analyzer: one :class:`SceneContext` per shot (see the module docstring).

    Parameters:
        classifier: frames -> class probabilities, shape=(n, h, w, 3) uint8 -> shape=(n, n_classes); default
            EfficientNet-Lite0, loaded at the first classified frame (:func:`models.frame_classifier.
            load_frame_classifier`, raises ModelLoadError then if its packages are missing).
        class_names: the classifier's class names (default: the ImageNet list).
        options: :class:`SceneOptions`.
        cuts: cut times (s) or :class:`ShotCut` known before the frames arrive.
        duration_s: media duration, the end of the last shot (default: last frame + one frame interval).
        table: the context table (default: the packaged one).
    """

    name = "scene"

    def __init__(self, classifier: Classifier | None = None, *, class_names: Sequence[str] | None = None,
                 options: SceneOptions | None = None, cuts: Iterable[float | ShotCut] = (),
                 duration_s: float | None = None, table: ContextTable | None = None) -> None:
        self.options = options or SceneOptions()
        self.fps: float | None = self.options.fps
        self._classifier = classifier
        self._names = tuple(class_names) if class_names is not None else None
        self._table = table
        self._duration = duration_s
        self._cuts = sorted(c.t if isinstance(c, ShotCut) else float(c) for c in cuts)
        self._done: list[SceneContext] = []
        self._start: float | None = None  # start of the shot in progress
        self._sum: np.ndarray | None = None  # shape=(n_classes,) float64, summed probabilities of the shot
        self._count = 0
        self._last_classified = float("-inf")
        self._last_t: float | None = None
        self._hist: np.ndarray | None = None
        self.frames_classified = 0

    @property
    def version(self) -> str | None:
        """The classifier's version string (None before it is loaded or when it has none)."""
        return getattr(self._classifier, "version", None)

    def cut(self, t: float) -> None:
        """Announce a cut at ``t`` (s, the first frame of the new shot), e.g. from the shot detector.

        A cut announced after frames past ``t`` were pushed takes effect at the next frame: the shot still
        starts at ``t``, but the frames between were already pooled into the previous shot.
        """
        self._cuts.append(float(t))
        self._cuts.sort()

    def push(self, frame: VideoFrame) -> None:
        """Take one frame (``frame.rgb`` shape=(h, w, 3) uint8, upright)."""
        t = frame.t
        hist = colour_histogram(frame.rgb) if self.options.detect_cuts else None
        if self._start is None:  # the first frame opens the first shot; earlier cuts are behind it
            self._start = t
            self._cuts = [c for c in self._cuts if c > t]
        while self._cuts and self._cuts[0] <= t:
            c = self._cuts.pop(0)
            if c > self._start:
                self._new_shot(c)
        if (hist is not None and self._hist is not None and self._count
                and histogram_distance(hist, self._hist) >= self.options.cut_distance and t > self._start):
            self._new_shot(t)
        self._hist = hist
        self._last_t = t
        if self._count == 0 or t - self._last_classified >= self.options.classify_interval_s - 1e-6:
            self._add(self._classify(frame.rgb), t)

    def finish(self) -> tuple[SceneContext, ...]:
        """The contexts of all shots, in time order; each ends where the next starts (empty if no frame)."""
        if self._start is not None and self._sum is not None and self._count:
            last = self._last_t if self._last_t is not None else self._start
            end = self._duration if self._duration is not None and self._duration > last else \
                last + 1.0 / (self.fps or 1.0)
            self._close(end)
            self._sum, self._count = None, 0
        return tuple(self._done)

    def _classify(self, rgb: np.ndarray) -> np.ndarray:
        if self._classifier is None:
            from models.frame_classifier import load_frame_classifier

            self._classifier = load_frame_classifier()
        probs = np.asarray(self._classifier(rgb[None]))
        if probs.ndim != 2 or probs.shape[0] != 1:
            raise ValueError(f"the classifier must return shape (1, n_classes), got {probs.shape}")
        self.frames_classified += 1
        out: np.ndarray = probs[0]
        return out

    def _add(self, probs: np.ndarray, t: float) -> None:
        if self._sum is None:
            self._sum = np.zeros(probs.shape[0], np.float64)
        self._sum += probs
        self._count += 1
        self._last_classified = t

    def _new_shot(self, start: float) -> None:
        if self._count:
            self._close(start)
        elif self._done:  # a shot without a classified frame: the previous context runs on to ``start``
            self._done[-1] = replace(self._done[-1], end=round(start, 3))
        self._start, self._sum, self._count = start, None, 0
        self._last_classified = float("-inf")

    def _close(self, end: float) -> None:
        assert self._sum is not None and self._start is not None
        table = self._table or load_context_table()
        names = self._names or _class_names()
        self._done.append(scene_context(self._sum / self._count, self._start, end, table=table,
                                        class_names=names, options=self.options))
