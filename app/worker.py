"""Local worker processes: run jobs outside the API process, supervised, durable.

Each worker is a separate OS process (``python -m app.worker``) that loads the models once and then
claims queued jobs from the SQLite store one at a time. A crash or a ``kill -9`` of a worker cannot take
the API down: the :class:`WorkerPool` supervisor thread (in the API process) notices the exit, re-queues
the job the worker held (or fails it after ``max_attempts`` with a clear reason) and starts a new
worker. Workers read their standard input; when the API process dies, the pipe closes and they exit at
once, so a restarted server never races an orphan (and every worker write is conditional on its lease
anyway, see :mod:`app.store`).

The supervisor also stops workers whose job was canceled or ran past ``job_timeout_s``, and deletes
expired jobs with their files (retention).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import mimetypes
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.backends.base import JobRepository
from app.backends.base import options_hash as options_hash  # moved there (the routes' import); kept here
from app.core.config import Settings
from app.job_errors import job_error, job_timeout_error
from app.problems import ApiProblem, problem_for_exception
from app.schemas import JobOptions
from app.store import JobRow, JobStore

log = logging.getLogger("soundcue.worker")

POLL_S = 0.2  # how often an idle worker looks for a queued job
SUPERVISE_S = 0.25  # how often the supervisor checks its workers
RETENTION_SWEEP_S = 60.0
PROGRESS_WRITE_S = 0.2  # at most one progress write per this many seconds (plus one per stage change)
#: Share of the progress bar per phase: fetching a URL, analysing, writing outputs.
FETCH_SHARE, ANALYSIS_SHARE = 0.05, 0.85
#: With the Foley outputs (audio, video), the analysis' share and the outputs' stages (rendering the Foley
#: track, remuxing the video) get these shares instead.
FOLEY_ANALYSIS_SHARE = 0.55
FOLEY_STAGE_SHARES = {"foley": 0.30, "remux": 0.10}

MEDIA_TYPES = {
    ".vtt": "text/vtt; charset=utf-8",
    ".webvtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".ahap": "application/json",
    ".png": "image/png",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
}
#: Results whose entry also gives their length in seconds (``duration_s``).
TIMED_SUFFIXES = frozenset({".wav", ".mp3", ".m4a", ".mp4", ".mkv", ".webm"})


def media_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class JobAborted(Exception):
    """The worker lost the job (canceled or re-queued) and must stop working on it."""


# ------------------------------------------------------------------------------------------------
# In the worker process
# ------------------------------------------------------------------------------------------------


@dataclass
class _Progress:
    """The progress hook handed to the pipeline: throttled writes to the store, stage timings."""

    store: JobRepository
    job_id: str
    lease: str
    base: float = 0.0
    share: float = 1.0
    stage: str | None = None
    stage_started: float = 0.0
    stage_wall: float = 0.0
    last_write: float = 0.0
    done: float = 0.0
    log: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> what it did, not yet logged

    def attach(self, stage: str, details: dict[str, Any]) -> None:
        """Record what ``stage`` did (its detailed-log ``details``), whether or not it has closed yet."""
        for entry in self.log:
            if entry["stage"] == stage:
                entry["details"] = details
                return
        self.details[stage] = details

    def enter(self, stage: str, base: float, share: float) -> None:
        self.base, self.share = base, share
        self(stage, completed=0.0, total=1.0)

    def __call__(self, stage: str, *, completed: float, total: float) -> None:
        now = time.monotonic()
        changed = stage != self.stage
        if changed:
            self.close_stage()
            self.stage, self.stage_started, self.stage_wall = stage, now, time.time()
        frac = min(max(completed / total, 0.0), 1.0) if total > 0 else 0.0
        self.done = max(self.done, self.base + self.share * frac)
        if changed or now - self.last_write >= PROGRESS_WRITE_S:
            self.last_write = now
            if not self.store.progress(self.job_id, self.lease, stage, self.done):
                raise JobAborted(self.job_id)

    def stages(self, shares: Mapping[str, float]) -> Callable[..., None]:
        """A hook for the output stages: each stage in ``shares`` gets that share of the bar after the last."""
        starts: dict[str, float] = {}

        def hook(stage: str, *, completed: float, total: float) -> None:
            if stage in shares and stage not in starts:
                starts[stage] = self.done
                self.enter(stage, self.done, shares[stage])
            self(stage, completed=completed, total=total)

        return hook

    def close_stage(self) -> None:
        if self.stage is not None:
            entry: dict[str, Any] = {
                "stage": self.stage,
                "started_at": self.stage_wall,
                "duration_s": round(time.monotonic() - self.stage_started, 4),
            }
            if self.stage in self.details:
                entry["details"] = self.details.pop(self.stage)
            self.log.append(entry)
            self.stage = None


def _file_entry(name: str, path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {
        "name": name,
        "size_bytes": path.stat().st_size,
        "etag": digest.hexdigest()[:32],
        "media_type": media_type(name),
    }


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def job_dir(settings: Settings, job_id: str) -> Path:
    return settings.jobs_dir / job_id


def _load(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise TypeError(f"{path} is not callable")
    return fn  # type: ignore[no-any-return]


def run_job(store: JobRepository, settings: Settings, job: JobRow, lease: str, analyze: Callable[..., Any]) -> str:
    """Run one claimed job to its end; returns the final status written (or "aborted")."""
    from captioning.errors import MediaError
    from captioning.media import probe
    from captioning.outputs import write_outputs

    extra = {"job_id": job.id}
    directory = job_dir(settings, job.id)
    input_path = directory / "input"
    display = job.source.get("filename") or job.source.get("url") or "input"
    progress = _Progress(store, job.id, lease)
    options = JobOptions.model_validate(job.options)
    limits = job.limits
    t0 = time.monotonic()
    log.info("job started (attempt %d)", job.attempts, extra=extra)
    try:
        sha = job.input_sha256
        if job.source["kind"] == "url" and not input_path.exists():
            from app.fetch import AddressPolicy, fetch_to_file

            progress.enter("fetch", 0.0, FETCH_SHARE)
            directory.mkdir(parents=True, exist_ok=True)
            fetched = fetch_to_file(
                job.source["url"],
                input_path,
                policy=AddressPolicy(tuple(settings.url_allow_cidrs)),
                max_bytes=settings.max_upload_bytes,
                timeout_s=settings.fetch_timeout_s,
                max_redirects=settings.max_redirects,
            )
            sha = fetched.sha256
            store.set_input_sha256(job.id, lease, sha)
        if not input_path.exists():
            raise ApiProblem(
                422, "input-missing", "the uploaded file is no longer on the server; submit again"
            )
        if sha is None:
            sha = _file_entry("input", input_path)["etag"]
        if options.enable_cache and sha and job.options_hash:
            cached = store.find_cached(job.owner, sha, job.options_hash, exclude=job.id)
            if cached is not None and _reuse(settings, cached, directory):
                progress.enter("cache", 0.95, 0.05)
                # what the stages that made the files reported (e.g. the Foley render's loudness) comes along
                made = {e["stage"]: e["details"] for e in cached.log if e.get("details")}
                progress.attach("cache", {"served_from": cached.id, **made})
                progress.close_stage()
                if store.succeed(job.id, lease, cached.results, progress.log):
                    log.info("job served from the cache of %s", cached.id, extra=extra)
                    input_path.unlink(missing_ok=True)
                    return "succeeded"
                return "aborted"
        progress.enter("probe", FETCH_SHARE, 0.0)
        max_duration = float(limits.get("max_duration_s", settings.max_duration_s))
        analysis_options, output_options = options.to_domain(max_duration_s=max_duration)
        info = probe(input_path, audio_stream=analysis_options.audio_stream)  # the one probe: analyze reuses it
        if info.duration > max_duration:
            raise ApiProblem(
                422,
                "media-too-long",
                f"the media lasts {info.duration:.1f} s; the limit here is {max_duration:.0f} s",
                title="Media too long",
            )
        video = info.video
        if video and video.width and video.height and video.width * video.height > settings.max_video_pixels:
            raise ApiProblem(
                422,
                "media-resolution",
                f"the video is {video.width}x{video.height}; the limit is "
                f"{settings.max_video_pixels} pixels a frame",
                title="Video resolution too high",
            )
        hls_video = None
        captions = output_options.captions
        if "captions" in output_options.outputs and captions is not None and captions.hls_video_playlist_url:
            from app.hls import fetch_video_rendition

            # before the analysis: a rendition that cannot be read fails the job at once
            hls_video = fetch_video_rendition(captions.hls_video_playlist_url, settings)
        foley = bool(output_options.outputs & {"audio", "video"})
        analysis_share = FOLEY_ANALYSIS_SHARE if foley else ANALYSIS_SHARE
        progress.base, progress.share = FETCH_SHARE, analysis_share
        # The user's name for the media, not the server's path, in every result (events.json, haptics.json).
        analysis = analyze(info, analysis_options, hook=progress, name=display)
        outputs_share = 1 - FETCH_SHARE - analysis_share - (sum(FOLEY_STAGE_SHARES.values()) if foley else 0.0)
        progress.enter("outputs", FETCH_SHARE + analysis_share, outputs_share)
        results_dir = directory / "results"
        # the remux reads the input file (stored as "input"); its name is the user's (display)
        written = write_outputs(analysis, results_dir, output_options, hls_video=hls_video, source=input_path,
                                hook=progress.stages(FOLEY_STAGE_SHARES) if foley else None,
                                on_foley_report=lambda report: progress.attach("foley", report.to_dict()))
        results = [_file_entry(name, path) for name, path in sorted(written.items())]
        for entry in results:
            if Path(entry["name"]).suffix in TIMED_SUFFIXES:
                entry["duration_s"] = round(analysis.media.duration, 3)
        progress.close_stage()
        if not store.succeed(job.id, lease, results, progress.log):
            return "aborted"
        log.info("job succeeded in %.2f s", time.monotonic() - t0, extra=extra)
        input_path.unlink(missing_ok=True)
        return "succeeded"
    except JobAborted:
        log.info("job no longer ours (canceled or re-queued); stopping", extra=extra)
        return "aborted"
    except Exception as e:
        problem = problem_for_exception(e)
        if problem.slug == "internal" and progress.stage in FOLEY_STAGE_SHARES:
            what = "the Foley track could not be rendered" if progress.stage == "foley" else "the remux failed"
            problem = ApiProblem(500, "foley-failed", f"{what} ({type(e).__name__}); the error has been logged",
                                 title="Foley rendering failed")
        if problem.status >= 500 and not isinstance(e, MediaError):
            log.exception("job failed with an unexpected error", extra=extra)
        else:
            log.info("job failed: %s", problem.detail, extra=extra)
        detail = problem.detail.replace(str(input_path), str(display)).replace(str(directory), "")
        error = job_error(problem.slug, problem.title, problem.status, detail)
        progress.close_stage()
        if store.fail(job.id, lease, error, progress.log):
            input_path.unlink(missing_ok=True)
            return "failed"
        return "aborted"


def _reuse(settings: Settings, cached: JobRow, directory: Path) -> bool:
    src = job_dir(settings, cached.id) / "results"
    paths = [src / r["name"] for r in cached.results]
    if not paths or not all(p.is_file() for p in paths):
        return False
    for r, p in zip(cached.results, paths, strict=True):
        _link_or_copy(p, directory / "results" / r["name"])
    return True


def _watch_parent() -> None:
    """Exit at once when the API process goes away (our stdin pipe reaches EOF)."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(3)


def worker_main() -> int:
    """Entry point of ``python -m app.worker``: one JSON line of configuration on stdin, then work."""
    from app.core import logging as app_logging

    config = json.loads(sys.stdin.buffer.readline())
    settings = Settings(**config["settings"])
    lease: str = config["lease"]
    app_logging.configure(settings.log_format, settings.log_level)
    threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
    store = JobStore(settings.db_path, retention_s=settings.retention_s)
    analyze = _load(settings.analyzer)
    try:
        from captioning.pipeline import load_analyzers

        load_analyzers()  # load the models once, before taking jobs
    except Exception:
        log.exception("model warm-up failed; jobs will report the error", extra={"worker": lease})
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        job = store.claim(lease)
        if job is None:
            time.sleep(POLL_S)
            continue
        run_job(store, settings, job, lease, analyze)


# ------------------------------------------------------------------------------------------------
# In the API process
# ------------------------------------------------------------------------------------------------


@dataclass
class _Slot:
    index: int
    lease: str = ""
    process: subprocess.Popen[bytes] | None = None
    ready: bool = False
    started: float = 0.0
    crashes: int = 0


class WorkerPool:
    """Start, watch and restart the worker processes; the job store is their only channel.

    Args:
        settings: service settings (``workers``, ``max_attempts``, ``job_timeout_s``, ``retention_s``).
        store: the job store.
    """

    def __init__(self, settings: Settings, store: JobStore) -> None:
        self.settings = settings
        self.store = store
        self.slots = [_Slot(i) for i in range(settings.workers)]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)
        self._last_sweep = 0.0
        self.restarts = 0

    def start(self) -> None:
        """Recover jobs left running by a previous server, then start the workers."""
        for lease in self.store.running_leases():
            for job_id, status in self.store.release(
                lease, "the server stopped while this job was running", self.settings.max_attempts
            ):
                log.warning("job left running by a previous server: now %s", status, extra={"job_id": job_id})
        for slot in self.slots:
            self._spawn(slot)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for slot in self.slots:
            proc = slot.process
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for slot in self.slots:
            proc = slot.process
            if proc is None:
                continue
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if slot.lease:
                self.store.release(
                    slot.lease,
                    "the server stopped while this job was running",
                    self.settings.max_attempts + 1,
                )

    @property
    def alive(self) -> int:
        return sum(1 for s in self.slots if s.process is not None and s.process.poll() is None)

    @property
    def ready(self) -> int:
        return sum(1 for s in self.slots if s.ready and s.process is not None and s.process.poll() is None)

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.slots if s.process is not None]

    def _spawn(self, slot: _Slot) -> None:
        slot.lease = f"w{slot.index}-{secrets.token_hex(6)}"
        slot.ready = False
        slot.started = time.monotonic()
        config = {
            "lease": slot.lease,
            "settings": self.settings.model_dump(
                mode="json", exclude={"api_keys", "no_auth", "webhook_secret"}
            )
            | {"no_auth": True},
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=os.getcwd(),
            close_fds=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(config).encode() + b"\n")
        proc.stdin.flush()
        slot.process = proc
        threading.Thread(target=self._read_ready, args=(slot, proc), daemon=True).start()
        log.info("worker started (pid %d)", proc.pid, extra={"worker": slot.lease})

    def _read_ready(self, slot: _Slot, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == b"ready" and slot.process is proc:
                slot.ready = True
                slot.crashes = 0

    def _kill(self, slot: _Slot, reason: str) -> None:
        proc = slot.process
        if proc is not None and proc.poll() is None:
            log.info("stopping worker pid %d: %s", proc.pid, reason, extra={"worker": slot.lease})
            proc.kill()
            proc.wait()

    def _supervise(self) -> None:
        while not self._stop.wait(SUPERVISE_S):
            try:
                self._check()
            except Exception:
                log.exception("worker supervisor error")

    def _check(self) -> None:
        by_lease = {s.lease: s for s in self.slots}
        # Canceled jobs still held by a worker: stop that worker (the job's files go with the job).
        for job_id, lease in self.store.stale_leases():
            slot = by_lease.get(lease)
            if slot is not None:
                self._kill(slot, f"job {job_id} canceled")
            self.store.clear_lease(job_id)
            shutil.rmtree(job_dir(self.settings, job_id) / "results", ignore_errors=True)
            (job_dir(self.settings, job_id) / "input").unlink(missing_ok=True)
        # Jobs past the time limit.
        for job_id, lease in self.store.overdue(self.settings.job_timeout_s):
            self.store.fail(job_id, lease, job_timeout_error(self.settings.job_timeout_s))
            slot = by_lease.get(lease)
            if slot is not None:
                self._kill(slot, f"job {job_id} timed out")
        # Dead workers: release their job, start a replacement (with a pause if they keep crashing).
        for slot in self.slots:
            proc = slot.process
            if proc is None or proc.poll() is None or self._stop.is_set():
                continue
            code = proc.returncode
            for job_id, status in self.store.release(
                slot.lease,
                f"the worker process stopped unexpectedly (exit code {code})",
                self.settings.max_attempts,
            ):
                log.warning("worker died during the job; job is now %s", status, extra={"job_id": job_id})
            slot.crashes += 1
            if time.monotonic() - slot.started < 2.0 * slot.crashes and slot.crashes > 3:
                continue  # crash loop: wait before restarting
            self.restarts += 1
            self._spawn(slot)
        now = time.monotonic()
        if now - self._last_sweep >= RETENTION_SWEEP_S:
            self._last_sweep = now
            self.sweep()

    def sweep(self) -> int:
        """Delete expired jobs and their files; returns how many."""
        expired = self.store.expired()
        for job_id in expired:
            shutil.rmtree(job_dir(self.settings, job_id), ignore_errors=True)
            self.store.delete(job_id)
        if expired:
            log.info("retention: deleted %d expired jobs", len(expired))
        return len(expired)


if __name__ == "__main__":
    sys.exit(worker_main())
