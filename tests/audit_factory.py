"""Inputs for the caption-audit tests (issue 12): an Analysis with known sounds and caption tracks written here.

The scene (20 s, no video, so cues are timed at 25 frames/s):

    1.0   knock          "someone knocks"     captioned: [someone knocking]
    4.0   dog_bark       "dog barks"          NOT captioned (a speaker label and dialogue are on screen)
    7.0   glass_shatter  "glass shatters"     NOT captioned
    10-14 siren          "siren wailing"      captioned: (siren wailing)
    15-17 speech                              dialogue, never a sound to caption
    18.0  door_slam      "door slams"         captioned in capitals: DOOR BANGS
    19.2  bird_chirp     at -62 dBFS          too quiet to count

and the track has one wrong cue, [gunshot] at 15 s, where nothing but speech is heard.
"""

from __future__ import annotations

from captioning.events import Analysis, MediaInfo, SoundEvent, sort_events
from captioning.vocabulary import load_vocabulary

DURATION_S = 20.0


def event(start: float, end: float, label: str, loudness: float = -20.0, confidence: float = 0.85) -> SoundEvent:
    """An event worded from the packaged vocabulary (caption, category, kind, AudioSet names)."""
    entry = load_vocabulary()[label]
    return SoundEvent(start=start, end=end, label=label, caption=entry.caption_for(end - start),
                      category=entry.category, confidence=confidence, loudness=loudness, kind=entry.kind,
                      audioset=entry.audioset)


def scene(name: str = "scene.mp4") -> Analysis:
    events = [
        event(1.0, 1.3, "knock", -20.0),
        event(4.0, 4.4, "dog_bark", -18.0, 0.9),
        event(7.0, 7.8, "glass_shatter", -15.0),
        event(10.0, 14.0, "siren", -22.0, 0.9),
        event(15.0, 17.0, "speech", -20.0, 0.95),
        event(18.0, 18.3, "door_slam", -16.0, 0.8),
        event(19.2, 19.3, "bird_chirp", -62.0, 0.6),
    ]
    media = MediaInfo(path=f"/somewhere/{name}", duration=DURATION_S, format="mov,mp4,m4a,3gp,3g2,mj2")
    return Analysis(media=media, events=sort_events(events), models={"audio_tagger": "hand-built (tests)"})


#: The track a captioner wrote for the scene: two sounds missed, one wrong cue.
SCENE_VTT = """WEBVTT

1
00:00:01.000 --> 00:00:02.500
[someone knocking]

2
00:00:03.000 --> 00:00:05.000
[Alba] ¿Quién es?

3
00:00:10.000 --> 00:00:12.000
(siren wailing)

4
00:00:13.000 --> 00:00:14.500
MAN:
Get inside, now!

5
00:00:15.000 --> 00:00:16.500
[gunshot]

6
00:00:18.000 --> 00:00:19.000
DOOR BANGS
"""

#: The same scene captioned in Spanish SDH: every sound, none missed.
SCENE_ES_VTT = """WEBVTT

00:00:01.000 --> 00:00:02.000
[llaman a la puerta]

00:00:04.000 --> 00:00:05.000
[perro ladrando]

00:00:07.000 --> 00:00:08.000
[cristal se rompe]

00:00:10.000 --> 00:00:12.000
[sirena]

00:00:18.000 --> 00:00:19.000
[portazo]
"""
