"""The vocabulary is data: one row per caption label in ``data/vocabulary.csv``.

Each row maps a label to its AudioSet classes (display names as spelled in YAMNet's class map), its
caption wording, its category, its role in detection, and its haptic/Foley recipe. Detection, captions,
haptics and Foley all read this one table; adding a sound is adding a row.

Columns:
    label            vocabulary key (snake_case), e.g. ``dog_bark``
    category         impact, footsteps, voice, animal, vehicle, music, ambience, water, weather, alarm,
                     mechanical, tools, household, explosion, human, nature, ...
    kind             ``abrupt`` (door slams) or ``sustained`` (engine running): wording and haptics default
    caption_abrupt   simple-present wording for a short sound: ``dog barks``
    caption_sustained  present-participle wording for a long sound: ``dog barking``
    caption_continues  re-caption of a long sound after a pause: ``barking continues``
    role             ``sound`` (caption it), ``ambience`` (a steady bed: caption once, as background),
                     ``music``, ``dialogue`` (speech is dialogue, never a sound caption), ``ignore``
                     (room tone, silence, too generic to caption alone)
    specificity      1 = broad fallback (``Animal``), 2 = family (``Dog``), 3 = specific (``Bark``)
    audioset         AudioSet display names, ``|``-separated, most specific first
    haptic_intensity 0..1 default intensity when the event has no audio
    haptic_sharpness 0..1 default sharpness (0 dull thud .. 1 crisp click) when the event has no audio
    foley            name of the procedural Foley recipe
    onomatopoeia     optional 13th column: the sound written as a word, ``woof woof``, ``knock knock``,
                     ``ding-dong``; empty for most rows. The ``dcmp`` caption style can show it on its own
                     line under the description (``CaptionOptions.onomatopoeia``). Tables with only the
                     first 12 columns still load (every entry then has an empty onomatopoeia).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from captioning.datafiles import csv_records, data_text

Role = Literal["sound", "ambience", "music", "dialogue", "ignore"]
ROLES: tuple[str, ...] = ("sound", "ambience", "music", "dialogue", "ignore")
#: The label of a sound heard but not named (no vocabulary entry's AudioSet classes won): "[sudden noise]".
GENERIC_LABEL = "sound"
_COLUMNS: tuple[str, ...] = (
    "label", "category", "kind", "caption_abrupt", "caption_sustained", "caption_continues", "role",
    "specificity", "audioset", "haptic_intensity", "haptic_sharpness", "foley",
)
#: Optional trailing columns, in order: a header may end after any of them.
_OPTIONAL_COLUMNS: tuple[str, ...] = ("onomatopoeia",)


@dataclass(frozen=True)
class VocabularyEntry:
    label: str
    category: str
    kind: Literal["abrupt", "sustained"]
    caption_abrupt: str
    caption_sustained: str
    caption_continues: str
    role: Role
    specificity: int
    audioset: tuple[str, ...]
    haptic_intensity: float
    haptic_sharpness: float
    foley: str
    onomatopoeia: str = ""

    def caption_for(self, duration_s: float, *, sustained_after_s: float = 2.0) -> str:
        """Wording for one occurrence: abrupt form for short sounds, participle for long ones."""
        if self.kind == "sustained" or duration_s >= sustained_after_s:
            return self.caption_sustained
        return self.caption_abrupt


class Vocabulary:
    """Lookup over the vocabulary rows, by label and by AudioSet display name."""

    def __init__(self, entries: list[VocabularyEntry]) -> None:
        self._by_label: dict[str, VocabularyEntry] = {}
        self._by_audioset: dict[str, VocabularyEntry] = {}
        for e in entries:
            if e.label in self._by_label:
                raise ValueError(f"vocabulary: duplicate label {e.label!r}")
            self._by_label[e.label] = e
            for name in e.audioset:
                if name in self._by_audioset:
                    raise ValueError(
                        f"vocabulary: AudioSet class {name!r} is mapped by both "
                        f"{self._by_audioset[name].label!r} and {e.label!r}"
                    )
                self._by_audioset[name] = e

    def __iter__(self) -> Iterator[VocabularyEntry]:
        return iter(self._by_label.values())

    def __len__(self) -> int:
        return len(self._by_label)

    def __contains__(self, label: object) -> bool:
        return label in self._by_label

    def __getitem__(self, label: str) -> VocabularyEntry:
        return self._by_label[label]

    def get(self, label: str) -> VocabularyEntry | None:
        return self._by_label.get(label)

    def for_audioset(self, display_name: str) -> VocabularyEntry | None:
        """The entry that maps an AudioSet class, or None if the class is not in the vocabulary."""
        return self._by_audioset.get(display_name)

    @property
    def audioset_names(self) -> frozenset[str]:
        return frozenset(self._by_audioset)


def _parse_row(row: dict[str, str], line: int) -> VocabularyEntry:
    try:
        # DictReader files surplus fields under None and fills missing ones with None.
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"expected {len(row) - (None in row)} comma-separated fields (as the header)")
        kind = row["kind"].strip()
        role = row["role"].strip()
        if kind not in ("abrupt", "sustained"):
            raise ValueError(f"kind must be abrupt or sustained, got {kind!r}")
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        return VocabularyEntry(
            label=row["label"].strip(),
            category=row["category"].strip(),
            kind=kind,  # type: ignore[arg-type]
            caption_abrupt=row["caption_abrupt"].strip(),
            caption_sustained=row["caption_sustained"].strip(),
            caption_continues=row["caption_continues"].strip(),
            role=role,  # type: ignore[arg-type]
            specificity=int(row["specificity"]),
            audioset=tuple(n.strip() for n in row["audioset"].split("|") if n.strip()),
            haptic_intensity=float(row["haptic_intensity"]),
            haptic_sharpness=float(row["haptic_sharpness"]),
            foley=row["foley"].strip(),
            onomatopoeia=row.get("onomatopoeia", "").strip(),
        )
    except (KeyError, ValueError) as e:
        raise ValueError(f"vocabulary.csv line {line}: {e}") from e


@functools.lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    """The packaged vocabulary (``captioning/data/vocabulary.csv``), parsed once per process."""
    return parse_vocabulary(data_text("vocabulary.csv"))


def parse_vocabulary(text: str) -> Vocabulary:
    """Parse vocabulary CSV text (same format as ``data/vocabulary.csv``; ``#`` lines are comments).

    Raises
    ------
    ValueError
        On a malformed row, naming its line in ``text`` (1-based, comments counted).
    """
    fieldnames, records = csv_records(text)
    allowed = [list(_COLUMNS + _OPTIONAL_COLUMNS[:n]) for n in range(len(_OPTIONAL_COLUMNS) + 1)]
    if fieldnames is None or list(fieldnames) not in allowed:
        raise ValueError(
            f"vocabulary.csv: header must be {','.join(_COLUMNS)} optionally followed by "
            f"{','.join(_OPTIONAL_COLUMNS)}, got {fieldnames}"
        )
    return Vocabulary([_parse_row(r, line) for line, r in records])
