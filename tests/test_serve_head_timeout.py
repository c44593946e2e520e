"""`soundcue serve` cuts off a request head that takes too long (app/protocol.py): the "slowloris" defence.

A real `soundcue serve` process with SOUNDCUE_REQUEST_HEAD_TIMEOUT_S=1, spoken to over raw sockets, so every
byte and every pause is the test's own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from api_server import ROOT, TESTS, free_port

HEAD_LIMIT_S = 1.0
SLACK_S = 4.0  # a loaded machine may be slow to notice


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("head-timeout")
    env = {**os.environ, "SOUNDCUE_REQUEST_HEAD_TIMEOUT_S": str(HEAD_LIMIT_S), "SOUNDCUE_API_KEYS": "",
           "SOUNDCUE_ANALYZER": "fake_analysis:analyze", "PYTHONPATH": f"{ROOT}{os.pathsep}{TESTS}"}
    with (data / "server.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--no-auth", "--workers",
                                 "1", "--data-dir", str(data / "d")], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert proc.poll() is None, (data / "server.log").read_text()
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=HEAD_LIMIT_S + SLACK_S + 5)


def _read_all(s: socket.socket) -> bytes:
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    return answer


def _response(s: socket.socket) -> tuple[int, bytes]:
    """One response read off a kept-alive connection: status and body (by its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += s.recv(65536)
    return int(head.split()[1]), body


def test_a_head_trickled_past_the_limit_is_answered_408_and_closed(url: str) -> None:
    with _connect(url) as s:
        t0 = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(int((HEAD_LIMIT_S + SLACK_S) / 0.2)):  # a header byte every 0.2 s: never finishing
                s.sendall(b"X")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed it while the test was still sending
        answer = _read_all(s)
        elapsed = time.monotonic() - t0
    assert HEAD_LIMIT_S - 0.1 <= elapsed < HEAD_LIMIT_S + SLACK_S + 0.5, elapsed
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(payload)
    assert problem["status"] == 408 and problem["type"].endswith(":head-timeout"), problem
    assert f"within {HEAD_LIMIT_S:g} s" in problem["detail"]


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(url: str) -> None:
    with _connect(url) as s:
        t0 = time.monotonic()
        answer = _read_all(s)
        elapsed = time.monotonic() - t0
    assert answer == b""
    assert HEAD_LIMIT_S - 0.1 <= elapsed < HEAD_LIMIT_S + SLACK_S, elapsed


def test_the_limit_is_on_the_head_alone(url: str) -> None:
    """A head sent slowly but within the limit is served; the next request on the kept-alive connection, after
    a pause longer than the limit, is served too (the clock starts at a request's first byte); a body slower
    than the head limit is the application's to judge (here 422: the JSON is read whole and found wrong)."""
    host = url.removeprefix("http://").encode()  # a no-auth server answers its own address only (DNS rebinding)
    with _connect(url) as s:
        for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: %s\r\n" % host, b"\r\n"):
            s.sendall(part)
            time.sleep(HEAD_LIMIT_S / 5)
        assert _response(s)[0] == 200
        time.sleep(HEAD_LIMIT_S * 2)  # under uvicorn's 5 s keep-alive, over the head limit
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n" % host)
        assert _response(s)[0] == 200

        body = b'{"video_url": 12}'
        s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (host, len(body)))
        for i in range(len(body)):  # the body over twice the head limit
            s.sendall(body[i:i + 1])
            time.sleep(HEAD_LIMIT_S * 2 / len(body))
        status, payload = _response(s)
    assert status == 422, payload
    assert "video_url" in payload.decode()
