"""A small typed client for the soundcue service (httpx).

Example::

    from app.client import Client

    with Client("http://127.0.0.1:8000", api_key="...") as sc:
        job = sc.submit("clip.mp4", {"outputs": ["events", "vtt", "srt", "haptics"]})
        job = sc.wait(job.id)
        vtt = sc.result(job.id, "captions.vtt").decode()
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from app.schemas import FINISHED, JobOptions, JobPublic, JobsPublic
from captioning.errors import MediaNotFoundError
from captioning.paths import input_problem

DEFAULT_URL = "http://127.0.0.1:8000"


class SoundcueError(Exception):
    """The service answered with an error (``problem`` is the RFC 9457 document, when there is one)."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        self.detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        super().__init__(f"{status} {problem.get('title', '')}: {self.detail}".replace(" : ", ": "))


def _check_readable(path: Path) -> None:
    """Refuse a path that is not a readable file before sending anything (a FIFO would block the upload)."""
    problem = input_problem(path, "media file")
    if problem is not None:
        raise MediaNotFoundError(f"{path}: {problem}")


class JobTimeout(TimeoutError):
    """:meth:`Client.wait` gave up before the job finished."""


def _options_json(options: JobOptions | Mapping[str, Any] | None) -> dict[str, Any]:
    if options is None:
        return {}
    if isinstance(options, JobOptions):
        return options.model_dump(mode="json", exclude_unset=True)
    return dict(options)


class Client:
    """Talk to a soundcue server.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8000``.
        api_key: Bearer key (None for a server started with ``--no-auth``).
        timeout_s: per-request timeout in seconds (uploads stream; this bounds each read/write).
        transport: an httpx transport (tests can pass ``httpx.MockTransport``).
    """

    def __init__(self, base_url: str = DEFAULT_URL, api_key: str | None = None, *, timeout_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"User-Agent": "soundcue-client"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s,
                                  transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.is_success or response.status_code == 304:
            return response
        try:
            problem = response.json()
            if not isinstance(problem, dict):
                problem = {"detail": str(problem)}
        except ValueError:
            problem = {"detail": response.text[:500] or response.reason_phrase}
        raise SoundcueError(response.status_code, problem)

    # -- jobs -------------------------------------------------------------------------------------

    def submit(self, source: str | Path, options: JobOptions | Mapping[str, Any] | None = None, *,
               webhook_url: str | None = None, idempotency_key: str | None = None) -> JobPublic:
        """Submit a local file (uploaded) or an http(s) URL (fetched by the server); returns the job.

        Raises:
            SoundcueError: the server refused the job (e.g. 413 too large, 422 bad options).
            MediaNotFoundError: ``source`` is neither a URL nor a readable file (the message says what it is:
                missing, a directory, a FIFO, a symbolic link loop, permission denied).
        """
        text = str(source)
        if text.startswith(("http://", "https://")):
            return self.submit_url(text, options, webhook_url=webhook_url, idempotency_key=idempotency_key)
        return self.submit_file(Path(source), options, webhook_url=webhook_url, idempotency_key=idempotency_key)

    def submit_file(self, path: Path, options: JobOptions | Mapping[str, Any] | None = None, *,
                    webhook_url: str | None = None, idempotency_key: str | None = None) -> JobPublic:
        _check_readable(path)
        data = {"options": json.dumps(_options_json(options))}
        if webhook_url:
            data["webhook_url"] = webhook_url
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        with path.open("rb") as f:
            response = self._http.post("/v1/jobs", data=data, headers=headers,
                                       files={"file": (path.name, f, "application/octet-stream")})
        return JobPublic.model_validate(self._check(response).json())

    def submit_url(self, url: str, options: JobOptions | Mapping[str, Any] | None = None, *,
                   webhook_url: str | None = None, idempotency_key: str | None = None) -> JobPublic:
        body: dict[str, Any] = {"video_url": url, "options": _options_json(options)}
        if webhook_url:
            body["webhook_url"] = webhook_url
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._http.post("/v1/jobs", json=body, headers=headers)
        return JobPublic.model_validate(self._check(response).json())

    def get(self, job_id: str) -> JobPublic:
        return JobPublic.model_validate(self._check(self._http.get(f"/v1/jobs/{job_id}")).json())

    def list_jobs(self, *, limit: int = 20, offset: int = 0) -> JobsPublic:
        response = self._http.get("/v1/jobs", params={"limit": limit, "offset": offset})
        return JobsPublic.model_validate(self._check(response).json())

    def wait(self, job_id: str, *, poll_s: float = 0.5, timeout_s: float | None = None,
             on_progress: Callable[[JobPublic], None] | None = None) -> JobPublic:
        """Poll until the job is finished (succeeded, failed or canceled); returns the final job.

        Raises:
            JobTimeout: not finished within ``timeout_s`` seconds.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            job = self.get(job_id)
            if on_progress is not None:
                on_progress(job)
            if job.status in FINISHED:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise JobTimeout(f"job {job_id} is still {job.status} after {timeout_s} s")
            time.sleep(poll_s)

    def cancel(self, job_id: str) -> JobPublic | None:
        """Cancel a queued/running job (returns it) or delete a finished one (returns None)."""
        response = self._check(self._http.delete(f"/v1/jobs/{job_id}"))
        return JobPublic.model_validate(response.json()) if response.status_code == 202 else None

    delete = cancel

    # -- results ----------------------------------------------------------------------------------

    def result(self, job_id: str, name: str) -> bytes:
        """One result file's bytes, e.g. ``result(id, "captions.vtt")``."""
        return self._check(self._http.get(f"/v1/jobs/{job_id}/{name}")).content

    def download(self, job: JobPublic, out_dir: Path, names: Iterable[str] | None = None) -> list[Path]:
        """Save the job's results (all, or ``names``) into ``out_dir``; returns the written paths."""
        wanted = set(names) if names is not None else None
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for r in job.results:
            if wanted is not None and r.name not in wanted:
                continue
            target = out_dir / Path(r.name).name
            with self._http.stream("GET", f"/v1/jobs/{job.id}/{r.name}") as response:
                if not response.is_success:
                    response.read()
                    self._check(response)
                tmp = target.with_suffix(target.suffix + ".part")
                with tmp.open("wb") as f:
                    for chunk in response.iter_bytes():
                        f.write(chunk)
                tmp.replace(target)
            written.append(target)
        return written

    def caption(self, path: Path, *, format: str = "vtt",
                options: JobOptions | Mapping[str, Any] | None = None) -> str:
        """Caption a short clip synchronously (``POST /v1/captions``); returns the caption text.

        Raises:
            SoundcueError: refused or failed; a 202 (not done in time) raises with status 202.
            MediaNotFoundError: ``path`` is not a readable file.
        """
        _check_readable(path)
        with path.open("rb") as f:
            response = self._http.post("/v1/captions", params={"format": format},
                                       data={"options": json.dumps(_options_json(options))},
                                       files={"file": (path.name, f, "application/octet-stream")})
        self._check(response)
        if response.status_code == 202:
            raise SoundcueError(202, {"title": "Still running", "detail": "poll the job", **response.json()})
        return response.text

    def webhook_secret(self) -> str:
        """This key's Standard Webhooks secret (``whsec_...``), to verify webhook signatures."""
        return str(self._check(self._http.get("/v1/webhooks/secret")).json()["secret"])

    def ready(self) -> bool:
        try:
            return self._http.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False
