"""soundcue's own haptic cue format (``haptics.json``), versioned and described by
``captioning/data/haptics.schema.json``. Times in seconds (rounded to the ms), levels 0..1."""

from __future__ import annotations

from typing import Any

from captioning.haptics.model import CUE_FORMAT_VERSION, HapticCue, HapticTrack

#: ``format`` value identifying the file.
CUE_FORMAT = "soundcue-haptics"


def to_cue_json(track: HapticTrack) -> dict[str, Any]:
    """Render ``track`` in soundcue's cue format (a JSON-ready dict)."""
    return {
        "format": CUE_FORMAT,
        "version": CUE_FORMAT_VERSION,
        "source": track.source,
        "duration": round(track.duration, 3),
        "profile": track.options.profile,
        "options": track.options.to_dict(),
        "cues": [_cue(c) for c in track.cues],
    }


def _cue(cue: HapticCue) -> dict[str, Any]:
    d: dict[str, Any] = {
        "time": round(cue.time, 3),
        "duration": round(cue.duration, 3),
        "kind": cue.kind,
        "intensity": round(cue.intensity, 3),
        "sharpness": round(cue.sharpness, 3),
        "event": {"id": cue.event_id, "label": cue.label, "caption": cue.caption},
    }
    if cue.merged_ids:
        d["merged_event_ids"] = list(cue.merged_ids)
    if cue.kind == "continuous":
        d["envelope"] = [[round(t, 3), round(v, 3)] for t, v in cue.envelope]
    return d
