"""The command line under odd paths (issue 9): an unreadable input, a symbolic link loop, a FIFO, a directory or
an output path that is a file each get one line naming what the path is; the other inputs still run (exit 2).

Unreadable files: root reads any file, so as root the command runs under ``setpriv`` without the two
capabilities that let it (``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``); the path check itself is also tested
with a failing ``open`` in process, which needs no privileges at all.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_server import ROOT, TESTS
from media_factory import knock, noise_floor, place, write_audio

from captioning.errors import CaptionFormatError, MediaNotFoundError
from captioning.media import probe
from captioning.paths import input_problem, output_dir_problem

SETPRIV = shutil.which("setpriv")
NO_DAC = [SETPRIV or "setpriv", "--bounding-set=-dac_override,-dac_read_search",
          "--inh-caps=-dac_override,-dac_read_search"]


def _as_unprivileged() -> list[str]:
    """A command prefix under which a mode-000 file cannot be read, or skip the test."""
    if os.geteuid() != 0:
        return []
    if SETPRIV is None:
        pytest.skip("running as root, which reads any file, and setpriv (util-linux) is not installed")
    return NO_DAC


def run(*args: str | Path, module: str = "captioning", prefix: list[str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The command line as users run it (``python -m app`` is the ``soundcue`` console script)."""
    return subprocess.run([*(prefix or []), sys.executable, "-m", module, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{TESTS}"})


def errors(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("soundcue: error:")]


@pytest.fixture()
def odd(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """One path of each odd kind, next to a good input."""
    d = tmp_path / "in"
    d.mkdir()
    paths = {"good": write_audio(d / "good.wav", place(noise_floor(3.0), knock(), (1.0,)))}
    locked = d / "locked.wav"
    shutil.copy(paths["good"], locked)
    locked.chmod(0)
    paths["locked"] = locked
    (d / "loop_a.wav").symlink_to(d / "loop_b.wav")
    (d / "loop_b.wav").symlink_to(d / "loop_a.wav")
    paths["loop"] = d / "loop_a.wav"
    paths["fifo"] = d / "pipe.wav"
    os.mkfifo(paths["fifo"])
    paths["dir"] = d / "folder.wav"
    paths["dir"].mkdir()
    paths["dangling"] = d / "gone.wav"
    paths["dangling"].symlink_to(d / "deleted.wav")
    yield paths
    locked.chmod(0o644)


# ------------------------------------------------------------------------------------------- the one check
def test_input_problem_names_each_kind_of_path(odd: dict[str, Path], tmp_path: Path) -> None:
    assert input_problem(odd["good"]) is None
    assert input_problem(odd["loop"]) == "it is a symbolic link loop"
    assert input_problem(odd["fifo"]) == "it is a FIFO (named pipe), not a regular file"
    assert input_problem(odd["dir"], "media file") == "it is a directory, not a media file"
    assert input_problem(tmp_path / "missing.wav") == "no such file"
    # a URL given where a file is read (the shell keeps "//", pathlib folds it): say where URLs go
    url = input_problem(Path("https://media.example.org/clip.mp4"))
    assert url is not None and url.startswith("no such file") and "soundcue submit" in url
    assert input_problem(odd["good"] / "below") == "no such file"
    assert input_problem(odd["dangling"]) == f"no such file (a symbolic link to the missing {odd['dangling'].parent}" \
                                            "/deleted.wav)"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "sock"))
        assert input_problem(tmp_path / "sock") == "it is a socket, not a regular file"
    assert input_problem(Path("/dev/null")) == "it is a character device, not a regular file"


def test_permission_denied_is_found_by_opening_the_file(odd: dict[str, Path], monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    real_open = os.open

    def refuse(path: str | Path, flags: int, *args: int) -> int:
        if Path(path) == odd["good"]:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    assert input_problem(odd["good"]) == "permission denied"
    with pytest.raises(MediaNotFoundError, match="good.wav: permission denied"):
        probe(odd["good"])
    from captioning.captions.reader import read_caption_bytes

    with pytest.raises(CaptionFormatError, match="cannot read .*good.wav: permission denied"):
        read_caption_bytes(odd["good"])


def test_media_probe_names_the_kind(odd: dict[str, Path]) -> None:
    for key, words in (("loop", "symbolic link loop"), ("fifo", "FIFO"), ("dir", "directory, not a media file")):
        with pytest.raises(MediaNotFoundError, match=words):
            probe(odd[key])


def test_output_dir_problem(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert output_dir_problem(tmp_path) is None
    assert output_dir_problem(tmp_path / "new" / "deeper") is None
    assert output_dir_problem(tmp_path / "file") == "the output path is a file, not a directory"
    assert output_dir_problem(tmp_path / "file" / "sub") == f"its parent {tmp_path / 'file'} is not a directory"
    os.mkfifo(tmp_path / "fifo")
    assert output_dir_problem(tmp_path / "fifo") == "the output path is a FIFO (named pipe), not a directory"


# ------------------------------------------------------------------------------------------ soundcue caption
def test_one_odd_input_does_not_stop_the_batch(odd: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    order = ("locked", "good", "loop", "fifo", "dir", "dangling")
    r = run("caption", *(odd[k] for k in order), "-o", out, "--json", prefix=_as_unprivileged(), timeout=120)
    assert r.returncode == 2
    lines = errors(r.stderr)
    expected = {
        "locked": "locked.wav: permission denied",
        "loop": "loop_a.wav: it is a symbolic link loop",
        "fifo": "pipe.wav: it is a FIFO (named pipe), not a regular file",
        "dir": "folder.wav: it is a directory, not a media file",
        "dangling": "gone.wav: no such file (a symbolic link to the missing",
    }
    assert len(lines) == len(expected), r.stderr
    for line, key in zip(lines, [k for k in order if k != "good"], strict=True):
        assert expected[key] in line, (key, line)
    assert sorted(p.name for p in out.iterdir()) == ["good"]
    assert (out / "good" / "captions.vtt").read_text().startswith("WEBVTT")


def test_output_path_that_is_a_file_is_one_line(odd: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    r = run("caption", odd["good"], "-o", target)
    assert r.returncode == 2
    assert errors(r.stderr) == [f"soundcue: error: {target}: the output path is a file, not a directory"]
    assert target.read_text() == "keep me"
    r = run("caption", odd["good"], "-o", target / "sub")
    assert errors(r.stderr) == [f"soundcue: error: {target / 'sub'}: its parent {target} is not a directory"]


def test_dialogue_fifo_is_refused_before_any_work(odd: dict[str, Path], tmp_path: Path) -> None:
    r = run("caption", odd["good"], "--dialogue", odd["fifo"], "-o", tmp_path / "out", timeout=60)
    assert r.returncode == 2
    assert errors(r.stderr) == [f"soundcue: error: --dialogue {odd['fifo']}: it is a FIFO (named pipe), "
                                "not a regular file"]


# ------------------------------------------------------------------------------------ soundcue check-captions
def test_check_captions_refuses_a_fifo_instead_of_waiting(odd: dict[str, Path]) -> None:
    r = run("check-captions", odd["fifo"], timeout=60)  # a read would wait forever for a writer
    assert r.returncode == 2
    assert errors(r.stderr) == [f"soundcue: error: cannot read {odd['fifo']}: it is a FIFO (named pipe), "
                                "not a regular file"]


def test_check_captions_unreadable_file(odd: dict[str, Path]) -> None:
    srt = odd["locked"].with_name("locked.srt")
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    srt.chmod(0)
    r = run("check-captions", srt, prefix=_as_unprivileged(), timeout=60)
    assert r.returncode == 2 and errors(r.stderr) == [f"soundcue: error: cannot read {srt}: permission denied"]


# ------------------------------------------------------------------------------------------- soundcue submit
@pytest.mark.parametrize("key, words", [
    ("locked", "permission denied"),
    ("loop", "it is a symbolic link loop"),
    ("fifo", "it is a FIFO (named pipe), not a regular file"),
    ("dir", "it is a directory, not a media file"),
])
def test_submit_names_the_kind_of_path(odd: dict[str, Path], key: str, words: str) -> None:
    # Nothing listens on port 9: the path is refused before any connection is tried.
    prefix = _as_unprivileged() if key == "locked" else []
    r = run("submit", odd[key], "--server", "http://127.0.0.1:9", module="app", prefix=prefix, timeout=60)
    assert r.returncode == 2
    assert errors(r.stderr) == [f"soundcue: error: {odd[key]}: {words}"]


def test_submit_output_that_is_a_file(odd: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "results.txt"
    target.write_text("")
    r = run("submit", odd["good"], "-o", target, "--server", "http://127.0.0.1:9", module="app", timeout=60)
    assert r.returncode == 2
    assert errors(r.stderr) == [f"soundcue: error: {target}: the output path is a file, not a directory"]
