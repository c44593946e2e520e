"""Shared fixtures: tiny real media files generated on the fly (see media_factory.py)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from media_factory import knock, noise_floor, place, write_audio, write_video  # noqa: E402

KNOCK_TIMES = (1.0, 2.5, 4.2)

#: Loggers whose set-up the service and the CLI change in-process: the root logger (the CLI's basicConfig sets
#: its level) and ours (app.core.logging.configure stops their propagation to the root, where caplog listens).
_CONFIGURED_LOGGERS = ("", "soundcue", "captioning", "models", "uvicorn", "uvicorn.error")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """A test that builds the app or runs a CLI in-process must not change logging for the tests after it."""
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate)
             for lg in map(logging.getLogger, _CONFIGURED_LOGGERS)]
    disabled = logging.root.manager.disable
    yield
    logging.disable(disabled)
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def knocks_wav(media_dir: Path) -> Path:
    """6 s: three knocks at KNOCK_TIMES over a faint noise floor."""
    return write_audio(media_dir / "knocks.wav", place(noise_floor(6.0), knock(), KNOCK_TIMES))


@pytest.fixture(scope="session")
def knocks_mp4(media_dir: Path) -> Path:
    return write_video(media_dir / "knocks.mp4", place(noise_floor(6.0), knock(), KNOCK_TIMES), 6.0)


@pytest.fixture(scope="session")
def silence_wav(media_dir: Path) -> Path:
    return write_audio(media_dir / "silence.wav", noise_floor(3.0, level_db=-120.0))


@pytest.fixture(scope="session")
def video_only_mp4(media_dir: Path) -> Path:
    return write_video(media_dir / "video_only.mp4", None, 2.0)


@pytest.fixture(scope="session")
def not_media(media_dir: Path) -> Path:
    p = media_dir / "notes.mp4"
    p.write_text("these are meeting notes, not a video\n" * 50)
    return p


def _truncated(media_dir: Path, suffix: str) -> Path:
    """An 8 s file cut to its first third, as an interrupted download leaves it."""
    full = write_audio(media_dir / f"full{suffix}", place(noise_floor(8.0, level_db=-30.0), knock(), (1.0, 5.0)))
    data = full.read_bytes()
    p = media_dir / f"truncated{suffix}"
    p.write_bytes(data[: len(data) // 3])
    return p


@pytest.fixture(scope="session")
def truncated_mp3(media_dir: Path) -> Path:
    return _truncated(media_dir, ".mp3")


@pytest.fixture(scope="session")
def truncated_wav(media_dir: Path) -> Path:
    return _truncated(media_dir, ".wav")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[object]:
    """A real redis-server on a free loopback port for the session (tests/servers.py)."""
    from servers import RedisServer

    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A throw-away PostgreSQL cluster on a free loopback port for the session (tests/servers.py)."""
    from servers import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()
