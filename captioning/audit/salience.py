"""How much a detected sound needs a caption: salience 0..1 from its loudness, duration and class importance.

    salience = importance(category) x background factor x loudness term x duration term

* importance: :data:`IMPORTANCE` by vocabulary category. Sounds that carry the story or a warning (alarms,
  gunshots, explosions, breaking, impacts, doors, non-speech voice such as screams and laughter) weigh 1.0 or
  0.9; steady beds (ambience, insects) 0.4. These are this project's judgement from the SDH guides' rule
  that captions convey the sound effects needed to follow the content (DCMP Captioning Key, "Sound Effects";
  FCC 14-12 caption quality "completeness"), not measured numbers. Speech (the ``dialogue`` role) and
  ``ignore`` labels (room tone, silence) are not sound captions: salience 0.
* background factor: 0.5 for a steady ambience bed (``event.background``), captioned once if at all.
* loudness term (0.1..1): the mean of an absolute term, -60 dBFS -> 0 .. -20 dBFS -> 1, and a term relative
  to the loudest event of the file, 40 dB below it -> 0 (a sound far under the rest of the mix is not heard).
* duration term (0.6..1): 0.6 + 0.4 x duration / 1 s, so a blip counts a little less than a sound that lasts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from captioning.events import SoundEvent
from captioning.vocabulary import Vocabulary

#: Vocabulary category -> importance 0..1 (module docstring). Categories not listed weigh DEFAULT_IMPORTANCE.
IMPORTANCE: dict[str, float] = {
    "alarm": 1.0, "explosion": 1.0, "gunshot": 1.0, "breaking": 1.0, "impact": 0.9, "door": 0.9, "voice": 0.9,
    "human": 0.8, "animal": 0.8, "vehicle": 0.8, "aircraft": 0.8, "music": 0.8, "footsteps": 0.7, "fire": 0.8,
    "weather": 0.7, "household": 0.7, "tools": 0.7, "mechanical": 0.6, "water": 0.6, "bird": 0.6, "other": 0.7,
    "insect": 0.4, "ambience": 0.4, "speech": 0.0,
}
DEFAULT_IMPORTANCE = 0.7
BACKGROUND_FACTOR = 0.5
ABS_FLOOR_DBFS, ABS_FULL_DBFS = -60.0, -20.0  # absolute loudness term: 0 at the floor, 1 at full
RELATIVE_RANGE_DB = 40.0  # relative loudness term: 0 this far below the file's loudest event
LOUDNESS_MIN = 0.1
DURATION_FULL_S = 1.0  # duration term reaches 1 here
DURATION_MIN = 0.6


def importance(event: SoundEvent, vocabulary: Vocabulary) -> float:
    """Class importance 0..1 of ``event`` (0 for speech and ``ignore`` labels; see the module docstring)."""
    entry = vocabulary.get(event.label)
    if entry is not None and entry.role in ("dialogue", "ignore"):
        return 0.0
    category = entry.category if entry is not None else event.category
    return IMPORTANCE.get(category, DEFAULT_IMPORTANCE)


def saliences(events: Sequence[SoundEvent], vocabulary: Vocabulary) -> np.ndarray:
    """Salience of each event, shape=(len(events),) float64 in 0..1 (module docstring).

    The relative loudness term compares each event with the loudest event of ``events`` that is not speech,
    so pass the whole event list of one file.
    """
    if not events:
        return np.zeros(0)
    imp = np.array([importance(e, vocabulary) for e in events])
    imp *= np.array([BACKGROUND_FACTOR if e.background else 1.0 for e in events])
    level = np.array([e.loudness for e in events], dtype=np.float64)  # dBFS
    ref = float(level[imp > 0].max()) if (imp > 0).any() else float(level.max())
    absolute = np.clip((level - ABS_FLOOR_DBFS) / (ABS_FULL_DBFS - ABS_FLOOR_DBFS), 0.0, 1.0)
    relative = np.clip(1.0 - (ref - level) / RELATIVE_RANGE_DB, 0.0, 1.0)
    loud = np.clip((absolute + relative) / 2, LOUDNESS_MIN, 1.0)
    duration = np.array([e.duration for e in events])
    dur = np.clip(DURATION_MIN + (1 - DURATION_MIN) * duration / DURATION_FULL_S, DURATION_MIN, 1.0)
    out: np.ndarray = imp * loud * dur
    return out
