"""Progress reporting through one injected callable.

Core functions never print; they call ``hook(stage, completed=..., total=...)`` where ``completed`` and
``total`` are seconds of media time (so ``completed / total`` is the fraction done). The CLI passes a Rich
progress bar, the service a hook that writes progress to the job record.
"""

from __future__ import annotations

from typing import Protocol


class ProgressHook(Protocol):
    def __call__(self, stage: str, *, completed: float, total: float) -> None: ...


def no_progress(stage: str, *, completed: float, total: float) -> None:
    """The default hook: ignore progress."""
