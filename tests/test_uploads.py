"""Multipart uploads cut off before their end (issue 14): refused at once, nothing queued, nothing left on disk.

A client whose connection drops mid-upload, or a proxy that cuts a body short, can still deliver a request whose
Content-Length matches the bytes sent: only the missing closing boundary (``--BOUNDARY--``, RFC 7578 / RFC 2046
section 5.1.1) shows that the form is incomplete. Before, such an upload was accepted with 202 and the job failed
later on a partial file. The bodies here are written by hand and sent by a real HTTP client to the real server.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import KEY_A, Server, client, wait_job

BOUNDARY = "soundcue-test-7f3a9c"
PROBLEM = "application/problem+json"
UPLOAD_LIMIT_S = 5.0  # the whole request body must arrive within this (the other uploads here take < 1 s)
SLACK_S = 5.0  # a loaded machine may be slow to notice; the test's own trickle stops after a minute


def form(file_bytes: bytes, *, options: dict[str, Any] | None = None) -> bytes:
    """A complete multipart/form-data body: the options field, then the file part, then the closing boundary."""
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="options"\r\n\r\n'
        f"{json.dumps(options or {})}\r\n"
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="knocks.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode() + file_bytes + f"\r\n--{BOUNDARY}--\r\n".encode()


def post_form(http: httpx.Client, body: bytes, path: str = "/v1/jobs") -> httpx.Response:
    """POST ``body`` as it is; httpx sends a Content-Length that matches it."""
    return http.post(path, content=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("uploads") / "data", {
        "SOUNDCUE_WORKERS": "1",
        "SOUNDCUE_UPLOAD_TIMEOUT_S": str(UPLOAD_LIMIT_S),
    }).start()
    yield srv
    srv.stop()


@pytest.fixture()
def http(server: Server) -> Iterator[httpx.Client]:
    with client(server, KEY_A) as c:
        yield c


def _stored(server: Server) -> list[str]:
    """The job folders, and everything in the staging folder (where an upload is written as it arrives)."""
    jobs, staging = server.data_dir / "jobs", server.data_dir / "staging"
    return sorted([*(p.name for p in (jobs.iterdir() if jobs.exists() else ())),
                   *(str(p.relative_to(staging)) for p in (staging.rglob("*") if staging.exists() else ()))])


def _cut(whole: bytes, where: str, file_bytes: bytes) -> bytes:
    file_at = whole.index(file_bytes)
    closing = whole.rindex(f"--{BOUNDARY}--".encode())
    return {
        "in the file's headers": whole[: whole.index(b'filename="knocks.wav"')],
        "in the file": whole[: file_at + len(file_bytes) // 2],
        "after the file": whole[: file_at + len(file_bytes)],
        "before the closing dashes": whole[: closing + len(f"--{BOUNDARY}")],
        "before a part that never comes": whole[:closing] + f"--{BOUNDARY}\r\n".encode(),
    }[where]


@pytest.mark.parametrize("where", ["in the file's headers", "in the file", "after the file",
                                   "before the closing dashes", "before a part that never comes"])
@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/captions?format=vtt"])
def test_a_form_cut_before_its_closing_boundary_is_refused(server: Server, http: httpx.Client, knocks_wav: Path,
                                                          where: str, path: str) -> None:
    data = knocks_wav.read_bytes()
    body = _cut(form(data), where, data)
    jobs_before = http.get("/v1/jobs").json()["count"]
    stored_before = _stored(server)
    r = post_form(http, body, path)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["type"].endswith(":bad-form") and "closing boundary" in problem["detail"], problem
    assert "Traceback" not in r.text
    assert http.get("/v1/jobs").json()["count"] == jobs_before  # nothing queued
    assert _stored(server) == stored_before  # and no partial file kept


def test_the_same_form_whole_is_accepted(http: httpx.Client, knocks_wav: Path) -> None:
    """The control: the uncut body is a valid upload whose job succeeds."""
    r = post_form(http, form(knocks_wav.read_bytes(), options={"outputs": ["events", "vtt"]}))
    assert r.status_code == 202, r.text
    assert wait_job(http, r.json()["id"])["status"] == "succeeded"


def test_an_epilogue_after_the_closing_boundary_is_allowed(http: httpx.Client, knocks_wav: Path) -> None:
    """RFC 2046 lets text follow the closing boundary; it is ignored, not mistaken for a cut-off form."""
    r = post_form(http, form(knocks_wav.read_bytes()) + b"this epilogue is ignored\r\n")
    assert r.status_code == 202, r.text


def _trickle(server: Server, path: str, content_type: str, body: bytes) -> tuple[float, bytes]:
    """Send the request headers at once, then the body 10 bytes every 0.1 s (100 bytes a second) until the
    server answers; returns (seconds until the answer began, the whole answer)."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {KEY_A}\r\n"
                   f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode())
        t0 = time.monotonic()
        sent = 0
        while sent < len(body) and time.monotonic() - t0 < 60:
            if select.select([s], [], [], 0.1)[0]:
                break
            try:
                s.sendall(body[sent:sent + 10])
            except OSError:  # the server closed the connection after answering
                break
            sent += 10
        answered = time.monotonic() - t0
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answered, answer


@pytest.mark.parametrize("kind", ["multipart", "json"])
def test_a_body_trickled_slower_than_the_upload_limit_is_cut_off(server: Server, http: httpx.Client,
                                                                   knocks_wav: Path, kind: str) -> None:
    """A client sending 100 bytes a second cannot hold a connection, a file and a staging folder for hours."""
    jobs_before = http.get("/v1/jobs").json()["count"]
    stored_before = _stored(server)
    if kind == "multipart":
        answered, answer = _trickle(server, "/v1/jobs", f"multipart/form-data; boundary={BOUNDARY}",
                                    form(knocks_wav.read_bytes()))
    else:
        answered, answer = _trickle(server, "/v1/jobs", "application/json",
                                    json.dumps({"video_url": "https://media.example.org/" + "a" * 2000}).encode())
    assert UPLOAD_LIMIT_S - 0.1 <= answered < UPLOAD_LIMIT_S + SLACK_S, f"answered after {answered:.1f} s"
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:500]
    assert f"content-type: {PROBLEM}".encode() in head.lower()
    problem = json.loads(payload)
    assert problem["type"].endswith(":upload-timeout"), problem
    assert f"time limit of {UPLOAD_LIMIT_S:g} s" in problem["detail"], problem
    assert http.get("/v1/jobs").json()["count"] == jobs_before
    assert _stored(server) == stored_before
