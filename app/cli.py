"""The ``soundcue`` console script: the library's commands plus ``serve`` (run the service) and ``submit``
(send a file or URL to one).

:func:`main` is the entry point: it takes the library's Typer app (``captioning/cli.py``: ``caption``,
``check-captions``) and adds this module's commands to it. The dependency points one way: app imports
captioning, never the reverse.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

EXIT_FAILED = 1  # the job ran and failed
EXIT_REFUSED = 2  # bad usage, or the server refused the request


def _err(msg: str) -> None:
    typer.echo(f"soundcue: error: {msg}", err=True)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Accept requests without an API key, for one person on their own "
                           "machine: anyone reaching the port owns every job, so keep --host on 127.0.0.1 (other "
                           "sites' pages in your browser are refused). The web page at / then asks for no key.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="Analysis worker processes (default: SOUNDCUE_WORKERS or 1).", min=1)
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Job store and files (default: SOUNDCUE_DATA_DIR or ./soundcue-data).")
    ] = None,
) -> None:
    """Run the HTTP service (settings from SOUNDCUE_* environment variables; keys in SOUNDCUE_API_KEYS)."""
    import uvicorn

    from app.main import create_app
    from app.protocol import head_deadline_protocol

    overrides: dict[str, Any] = {}
    if no_auth:
        overrides["no_auth"] = True
    if workers is not None:
        overrides["workers"] = workers
    settings = _settings_or_exit(overrides, data_dir)
    if settings.no_auth and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"soundcue: warning: --no-auth on {host}: anyone who can reach it can use it", err=True)
    problem = _cannot_listen(host, port)
    if problem is None and settings.backend == "distributed":
        problem = _distributed_unreachable(settings)
    if problem:
        _err(problem)
        raise typer.Exit(EXIT_REFUSED)
    # log_config=None: uvicorn's own start-up/error lines go through our handler (JSON by default) too.
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower(),
                access_log=False, log_config=None, http=head_deadline_protocol(settings.request_head_timeout_s))


def _cannot_listen(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (the port taken, an address not of this machine), or None.

    Tried with a socket bound and closed at once (with SO_REUSEADDR, as uvicorn binds), so a taken port is one
    error line before anything starts, not a log line after the service said it was ready.
    """
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        return f"--host {host}: {e.strerror}"
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use (another server?); choose a free one with --port"
            return f"cannot listen on {host}:{port}: {e.strerror}"
    return None


def _settings_or_exit(overrides: dict[str, Any], data_dir: Path | None) -> Any:
    """The service's settings (SOUNDCUE_* environment, then ``overrides`` and ``data_dir``); a bad setting is one
    error line and exit EXIT_REFUSED (2)."""
    from app.core.config import ConfigError, load_settings

    if data_dir is not None:
        overrides = {**overrides, "data_dir": data_dir}
    try:
        return load_settings(**overrides)
    except ConfigError as e:
        _err(str(e))
        raise typer.Exit(EXIT_REFUSED) from e


def _distributed_unreachable(settings: Any) -> str | None:
    """Why the distributed backend's database or queue cannot be used now (None: both answer)."""
    import redis

    from app.backends.base import StoreUnavailable
    from app.backends.postgres import PostgresJobStore

    try:
        PostgresJobStore(settings.database_url, connect_timeout_s=10).close()
    except StoreUnavailable as e:
        return f"SOUNDCUE_DATABASE_URL: {e}"
    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=10).ping()
    except redis.RedisError as e:
        return f"SOUNDCUE_REDIS_URL: the queue cannot be reached: {e}"
    return None


def worker(
    threads: Annotated[
        int | None, typer.Option(help="Jobs this process runs at once (default: SOUNDCUE_WORKER_THREADS or 1).",
                                 min=1, max=64)
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="The shared volume, mounted at the same path as on the API machines "
                                       "(default: SOUNDCUE_DATA_DIR).")
    ] = None,
) -> None:
    """Run a worker of the distributed backend on this machine (SOUNDCUE_BACKEND=distributed, with
    SOUNDCUE_DATABASE_URL, SOUNDCUE_REDIS_URL and SOUNDCUE_DATA_DIR as on the API; see docs/deploy.md).
    SIGTERM hands its running jobs back to the queue."""
    # a worker answers no HTTP: API keys are the API's concern
    settings = _settings_or_exit({"no_auth": True}, data_dir)
    if settings.backend != "distributed":
        _err("soundcue worker runs jobs of the distributed backend: set SOUNDCUE_BACKEND=distributed, "
             "SOUNDCUE_DATABASE_URL and SOUNDCUE_REDIS_URL (the embedded backend's workers are started by "
             "soundcue serve)")
        raise typer.Exit(EXIT_REFUSED)
    from app.backends.dworker import worker_main

    raise typer.Exit(worker_main(settings, threads))


def submit(
    source: Annotated[str, typer.Argument(help="A local video/audio file (uploaded) or an http(s) URL.")],
    server: Annotated[str, typer.Option(envvar="SOUNDCUE_SERVER", help="The soundcue server.")] = (
        "http://127.0.0.1:8000"
    ),
    api_key: Annotated[str | None, typer.Option(envvar="SOUNDCUE_API_KEY", help="Bearer API key.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job, showing its progress.")] = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Download the results here (implies --wait).", readable=False),
    ] = None,
    outputs: Annotated[
        str, typer.Option(help="Comma-separated outputs: events,vtt,srt,haptics,timeline,audio (the Foley "
                               "track),video (the input with the Foley track and captions added).")
    ] = "events,vtt,srt",
    style: Annotated[str | None, typer.Option(help="Caption style: netflix, dcmp or bbc.")] = None,
    options_json: Annotated[
        str | None, typer.Option("--options", help="Full job options as JSON (overrides --outputs/--style).")
    ] = None,
    webhook_url: Annotated[str | None, typer.Option(help="POSTed a signed webhook when the job ends.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final job as JSON.")] = False,
) -> None:
    """Submit a job to a soundcue server; with --wait or -o, follow it and download the results."""
    from app.client import Client, SoundcueError
    from captioning.errors import MediaError
    from captioning.paths import output_dir_problem

    out_problem = output_dir_problem(output) if output is not None else None
    if out_problem is not None:
        _err(f"{output}: {out_problem}")
        raise typer.Exit(EXIT_REFUSED)
    if options_json:
        try:
            options: dict[str, Any] = json.loads(options_json)
        except json.JSONDecodeError as e:
            _err(f"--options is not valid JSON: {e}")
            raise typer.Exit(EXIT_REFUSED) from e
    else:
        options = {"outputs": [o.strip() for o in outputs.split(",") if o.strip()]}
        if style:
            options["captions"] = {"style": style}
    with Client(server, api_key, timeout_s=300) as sc:
        try:
            job = sc.submit(source, options, webhook_url=webhook_url)
        except MediaError as e:  # not a readable file: missing, a directory, a FIFO, a link loop, permissions
            _err(str(e))
            raise typer.Exit(EXIT_REFUSED) from e
        except SoundcueError as e:
            _err(str(e))
            raise typer.Exit(EXIT_REFUSED) from e
        except Exception as e:  # connection refused, DNS, TLS: one line, no traceback
            _err(f"cannot reach {server}: {e}")
            raise typer.Exit(EXIT_REFUSED) from e
        if not (wait or output):
            typer.echo(json.dumps(job.model_dump(mode="json"), indent=1) if as_json else f"{job.id} {job.status}")
            return
        job = _follow(sc, job.id, quiet=as_json)
        if job.status != "succeeded":
            reason = job.error.detail if job.error else job.status
            _err(f"job {job.id} {job.status}: {reason}")
            if as_json:
                typer.echo(json.dumps(job.model_dump(mode="json"), indent=1))
            raise typer.Exit(EXIT_FAILED)
        written = sc.download(job, output) if output else []
    if as_json:
        typer.echo(json.dumps(job.model_dump(mode="json"), indent=1))
    elif written:
        typer.echo(f"{job.id} succeeded; {len(written)} files in {output}")
        for path in written:
            typer.echo(f"  {path}")
    else:
        typer.echo(f"{job.id} succeeded")
        for r in job.results:
            typer.echo(f"  {r.name}: {server.rstrip('/')}{r.url}")


def _follow(sc: Any, job_id: str, *, quiet: bool) -> Any:
    """Poll the job with a Rich progress bar (on a terminal) until it finishes."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if quiet or not sys.stderr.isatty():
        return sc.wait(job_id, poll_s=0.5)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(f"{job_id}: queued", total=1.0)

        def show(job: Any) -> None:
            bar.update(task, completed=job.progress, description=f"{job_id}: {job.stage or job.status}")

        return sc.wait(job_id, poll_s=0.5, on_progress=show)


def register(typer_app: typer.Typer) -> None:
    """Add ``serve`` and ``submit`` to the soundcue command line."""
    typer_app.command("serve")(serve)
    typer_app.command("worker")(worker)
    typer_app.command("submit")(submit)


def main() -> None:
    """Run the ``soundcue`` command line: ``caption``, ``check-captions``, ``audit``, ``serve``, ``worker``,
    ``submit``."""
    from captioning import cli

    cli.configure_logging()
    typer_app = cli.register_commands()
    register(typer_app)
    typer_app()
