"""The typed Python client and the `soundcue serve` / `soundcue submit` commands, against a real server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_server import KEY_A, ROOT, TESTS, Server, free_port

from app.client import Client, SoundcueError
from app.schemas import JobOptions, JobPublic
from captioning.errors import MediaNotFoundError


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("client") / "data").start()
    yield srv
    srv.stop()


@pytest.fixture()
def sc(server: Server) -> Iterator[Client]:
    with Client(server.url, KEY_A) as c:
        yield c


def soundcue(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real command line (`python -m app` is the `soundcue` console script)."""
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={"PATH": "/usr/bin:/bin", **(env or {}),
                                                          "PYTHONPATH": f"{ROOT}:{TESTS}"})


def test_client_submits_waits_and_downloads(sc: Client, knocks_wav: Path, tmp_path: Path) -> None:
    job = sc.submit(knocks_wav, JobOptions(outputs=["events", "vtt", "srt", "haptics"]))
    assert isinstance(job, JobPublic) and job.status in ("queued", "running")
    seen: list[float] = []
    done = sc.wait(job.id, poll_s=0.05, timeout_s=60, on_progress=lambda j: seen.append(j.progress))
    assert done.status == "succeeded" and seen[-1] == 1.0
    assert seen == sorted(seen), "progress never goes backwards"
    files = sc.download(done, tmp_path / "out")
    names = {p.name for p in files}
    assert {"captions.vtt", "captions.srt", "events.json", "haptics.json", "haptics.ahap"} <= names
    assert (tmp_path / "out" / "captions.vtt").read_text().startswith("WEBVTT")
    assert sc.result(job.id, "captions.srt") == (tmp_path / "out" / "captions.srt").read_bytes()
    assert job.id in [j.id for j in sc.list_jobs(limit=100).data]


def test_client_raises_problem_details(sc: Client, server: Server, knocks_wav: Path) -> None:
    with pytest.raises(SoundcueError) as err:
        sc.submit(knocks_wav, {"outputs": ["audio"], "foley": {"profile": "opera"}})
    assert err.value.status == 422 and "foley.profile" in err.value.detail
    assert err.value.problem["type"].endswith("validation")
    with pytest.raises(SoundcueError) as err, Client(server.url, "wrong-key-0123456789abc") as bad:
        bad.list_jobs()
    assert err.value.status == 401
    with pytest.raises(MediaNotFoundError, match="no such file"):
        sc.submit(Path("/nonexistent/clip.mp4"))


def test_client_sync_captions_cancel_and_secret(sc: Client, knocks_wav: Path) -> None:
    vtt = sc.caption(knocks_wav, format="vtt")
    assert vtt.startswith("WEBVTT") and "[" in vtt
    job = sc.wait(sc.submit(knocks_wav).id, timeout_s=60)
    assert sc.cancel(job.id) is None  # finished: deleted
    with pytest.raises(SoundcueError) as err:
        sc.get(job.id)
    assert err.value.status == 404
    assert sc.webhook_secret().startswith("whsec_")


def test_cli_submit_waits_and_downloads(server: Server, knocks_wav: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    r = soundcue("submit", str(knocks_wav), "--server", server.url, "-o", str(out),
                 "--outputs", "events,vtt,srt", env={"SOUNDCUE_API_KEY": KEY_A})
    assert r.returncode == 0, r.stderr
    assert "succeeded" in r.stdout and str(out) in r.stdout
    assert (out / "captions.vtt").read_text().startswith("WEBVTT")
    assert (out / "events.json").is_file()


def test_cli_submit_reports_refusals_in_one_line(server: Server, knocks_wav: Path) -> None:
    r = soundcue("submit", str(knocks_wav), "--server", server.url, "--api-key", KEY_A, "--outputs", "subtitles")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "outputs" in r.stderr and "Traceback" not in r.stderr
    r = soundcue("submit", "http://127.0.0.1:1/x.mp4", "--server", server.url, "--api-key", KEY_A)
    assert r.returncode == 2 and "refused" in r.stderr.lower()


def test_cli_serve_on_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = soundcue("serve", "--port", str(port), "--no-auth", "--data-dir", str(tmp_path / "d"), timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"soundcue: error: port {port} on 127.0.0.1 is in use (another server?); choose a free one " \
        "with --port\n"
    assert not (tmp_path / "d").exists()  # nothing started, nothing made


def test_cli_serve_refuses_without_keys_and_runs_with_no_auth(tmp_path: Path) -> None:
    r = soundcue("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "d0"))
    assert r.returncode == 2 and "SOUNDCUE_API_KEYS" in r.stderr and "Traceback" not in r.stderr

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--no-auth",
                             "--workers", "1", "--data-dir", str(tmp_path / "d1")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz").json()
        assert ready["checks"]["workers_configured"] == 1
        assert httpx.get(f"http://127.0.0.1:{port}/v1/jobs").json()["count"] == 0  # no key needed
    finally:
        proc.terminate()
        proc.wait(timeout=20)
