"""A Foley engine that fails, for the service test of a failed render (``SOUNDCUE_ANALYZER=foley_faults:analyze``).

Importing this module (the worker does, to find the analyzer) replaces ``captioning.foley.render.write_foley``
and ``foley_report`` in that worker process with one that raises, as a bug in a synthesis recipe would.
"""

from __future__ import annotations

from typing import Any

from fake_analysis import analyze

import captioning.foley.render as render

__all__ = ["analyze"]


def _broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a synthesis recipe failed")


render.write_foley = _broken
render.foley_report = _broken
