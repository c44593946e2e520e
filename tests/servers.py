"""Real servers for the tests: Redis and PostgreSQL for the distributed backend (Debian's redis-server and
postgresql, installed by scripts/install_test_deps.sh), each started on a free loopback port in its own temporary
directory and stopped at the end, and a plain HTTP server standing in for a public host (:func:`loopback_http`).
Nothing assumes a server is already running.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

#: The address loopback_http listens on: a second loopback address, which the service under test is told to allow
#: (SOUNDCUE_URL_ALLOW_CIDRS) while 127.0.0.1, where it runs, stays refused.
PUBLIC_HOST = "127.0.0.2"


@contextmanager
def loopback_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threading HTTP server on a free port of :data:`PUBLIC_HOST` answering with ``handler``; yields its base
    URL (``http://127.0.0.2:PORT``) and shuts it down on exit."""
    httpd = ThreadingHTTPServer((PUBLIC_HOST, 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://{PUBLIC_HOST}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout_s} s")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RedisServer:
    """``redis-server`` on 127.0.0.1:<free port>, no persistence, its files in a temporary directory."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = Path(tempfile.mkdtemp(prefix="soundcue-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (run scripts/install_test_deps.sh)")
        log = self.dir / "redis.log"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, self.proc, "redis-server", log)
        return self

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError("PostgreSQL is not installed (run scripts/install_test_deps.sh)")
    return found[-1]


class PostgresServer:
    """A throw-away PostgreSQL cluster (initdb) on 127.0.0.1:<free port>, trust authentication, no fsync.

    PostgreSQL refuses to run as root: as root the cluster belongs to Debian's ``postgres`` user.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="soundcue-pg-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        data = self.dir / "data"
        log = self.dir / "postgres.log"
        if not data.exists():  # a restart (after stop_server) keeps the cluster
            subprocess.run([*self._prefix, _pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                            "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        self.proc = subprocess.Popen(
            [*self._prefix, _pg_bin("postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.dir),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, self.proc, "postgres", log)
        deadline = time.monotonic() + 30
        while True:  # the port opens a moment before the server accepts logins
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_schema(self, name: str) -> str:
        """A new empty schema (much quicker to make than a database); returns a URL whose connections use it."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]
        return self.url() + f"?options=-csearch_path%3D{name}"

    def stop_server(self) -> None:
        """Stop the server process only (an outage); :meth:`start` brings the same cluster back."""
        _stop(self.proc)
        self.proc = None

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)
