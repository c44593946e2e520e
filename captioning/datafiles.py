"""The data tables shipped in ``captioning/data/`` (CSV with ``#`` comment lines), read one way."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from importlib import resources
from typing import Any


def data_text(name: str) -> str:
    """Text of ``captioning/data/<name>`` (UTF-8)."""
    return resources.files("captioning").joinpath("data", name).read_text(encoding="utf-8")


def csv_records(text: str) -> tuple[Sequence[str] | None, list[tuple[int, dict[str, Any]]]]:
    """The header and the (line, record) pairs of CSV ``text`` whose ``#`` lines are comments.

    ``line`` is the record's physical line in ``text`` (1-based, comments counted), so errors can point at
    the file rather than at the filtered stream. Records are ``csv.DictReader`` rows: surplus fields sit under
    None, missing ones are None.
    """
    kept = [(n, line) for n, line in enumerate(text.splitlines(), 1) if not line.lstrip().startswith("#")]
    reader = csv.DictReader(line for _, line in kept)
    records = [(kept[reader.line_num - 1][0], row) for row in reader]
    return reader.fieldnames, records
