"""Caption style profiles: the rules professional caption writers work to, as data.

Each profile is a frozen :class:`StyleProfile`; the cue builder (:mod:`captioning.captions.cues`) and the
rule checker (:mod:`captioning.captions.checker`) read the same numbers, so a track built for a style passes
the checker for that style by construction.

Profiles:
    netflix  (default) lowercase bracketed descriptions, no italics, 2 lines of 42 characters, on screen
             5/6 s to 7 s, 20 characters per second, 2 frames between cues, gaps of 0.5 s or less chained.
    dcmp     lowercase bracketed, source named unless on screen, italics for off-screen sounds, music
             between note signs, 32 characters a line, at least 2 s on screen, optional onomatopoeia on
             its own line ("[dog barking]" over "woof woof") when ``CaptionOptions.onomatopoeia`` is set.
    bbc      upper case without brackets, subject + active verb ("FLOORBOARDS CREAK"), 37 characters.

In every profile the minimum time on screen (``min_duration_s``, and the reading time ``max_chars_per_s`` asks
for) yields to the end of the media: a caption cannot outlast the programme, so a cue near the end ends with the
media, shorter if need be, and a cue that would start at or after the end is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from captioning.errors import InvalidOptionsError

Case = Literal["lower", "upper", "keep"]
WordForm = Literal["by_kind", "abrupt"]


@dataclass(frozen=True)
class StyleProfile:
    """One captioning style.

    Attributes:
        name: profile key, e.g. ``"netflix"``.
        case: letter case of descriptions: ``"lower"``, ``"upper"`` or ``"keep"``.
        open_bracket: text before a description (``"["``; empty for none).
        close_bracket: text after a description (``"]"``; empty for none).
        word_form: ``"by_kind"``: sustained sounds in the present participle ("dog barking"), abrupt ones
            in simple present ("door slams"); ``"abrupt"``: always subject + active verb (BBC).
        italics_off_screen: wrap descriptions of sounds not seen on screen (event source ``"audio"``) in
            italics.
        name_source_on_screen: False to drop the source of a sustained sound that is on screen
            ("barking" rather than "dog barking"), as DCMP asks.
        music_open: text before a music description (replaces ``open_bracket`` for music).
        music_close: text after a music description.
        max_lines: lines per cue.
        max_chars_per_line: characters per line, spaces and brackets included.
        min_duration_s: shortest time a cue stays on screen, seconds (unless the media ends first).
        max_duration_s: longest time a cue stays on screen, seconds.
        max_chars_per_s: reading speed limit: characters (line breaks not counted) per second on screen.
        min_gap_frames: frames between two cues (the gap in seconds depends on the frame rate).
        chain_gap_s: gaps of this many seconds or less are closed by extending the earlier cue (chaining).
        combine_window_s: events starting within this many seconds of each other share one cue.
        max_delay_s: how late after its sound a cue may start when the screen is busy; beyond that the
            event is left out and listed in the review file.
        recaption_after_s: a sustained sound still going this many seconds after its last caption appeared,
            with no other cue shown since, is captioned again with its "continues" wording.
        recaption_interval_s: a sustained sound whose caption was followed by other cues (other sounds,
            dialogue) while it goes on is captioned again ("[barking continues]") as soon as the screen is
            free, but no sooner than this many seconds after its last caption appeared.
        resume_within_s: a sustained sound that comes back within this many seconds of the same sound
            ending is worded as "continues".
        stop_categories: categories whose end is noted ("[music stops]") when it matters.
        stop_min_duration_s: only sounds at least this long get a "stops" cue.
        onomatopoeia: the style may show a sound's onomatopoeia (vocabulary column ``onomatopoeia``) on
            its own line under its description (DCMP); only when ``CaptionOptions.onomatopoeia`` asks.
    """

    name: str
    case: Case = "lower"
    open_bracket: str = "["
    close_bracket: str = "]"
    word_form: WordForm = "by_kind"
    italics_off_screen: bool = False
    name_source_on_screen: bool = True
    music_open: str = "["
    music_close: str = "]"
    max_lines: int = 2
    max_chars_per_line: int = 42
    min_duration_s: float = 5 / 6
    max_duration_s: float = 7.0
    max_chars_per_s: float = 20.0
    min_gap_frames: int = 2
    chain_gap_s: float = 0.5
    combine_window_s: float = 0.5
    max_delay_s: float = 1.5
    recaption_after_s: float = 20.0
    recaption_interval_s: float = 8.0
    resume_within_s: float = 10.0
    stop_categories: frozenset[str] = frozenset({"music", "alarm"})
    stop_min_duration_s: float = 8.0
    onomatopoeia: bool = False

    def __post_init__(self) -> None:
        if self.max_lines < 1 or self.max_chars_per_line < 8:
            raise InvalidOptionsError(f"style {self.name}: needs at least 1 line of 8 characters")
        if not 0 < self.min_duration_s < self.max_duration_s:
            raise InvalidOptionsError(f"style {self.name}: needs 0 < min_duration_s < max_duration_s")
        # The builder relies on a full cue being readable within max_duration_s minus one chaining gap
        # (it may trim a cue by that much to keep gaps either closed or wider than chain_gap_s).
        if self.max_need_ms + self.chain_gap_ms + 1 > self.max_duration_ms:
            raise InvalidOptionsError(
                f"style {self.name}: a full cue ({self.max_lines}x{self.max_chars_per_line} characters) "
                f"cannot be read at {self.max_chars_per_s} characters/s within max_duration_s"
            )

    # Millisecond views used by the builder and the checker (caption files carry milliseconds).
    @property
    def min_duration_ms(self) -> int:
        return math.ceil(self.min_duration_s * 1000 - 1e-6)

    @property
    def max_duration_ms(self) -> int:
        return math.floor(self.max_duration_s * 1000 + 1e-6)

    @property
    def chain_gap_ms(self) -> int:
        return round(self.chain_gap_s * 1000)

    def min_gap_ms(self, frame_rate: float) -> int:
        """The smallest gap between two cues in whole milliseconds at ``frame_rate`` frames per second."""
        return math.ceil(self.min_gap_frames * 1000 / frame_rate - 1e-6)

    def need_ms(self, n_chars: int) -> int:
        """Shortest time on screen, in ms, for a cue of ``n_chars`` characters (min duration and speed)."""
        return max(self.min_duration_ms, math.ceil(n_chars * 1000 / self.max_chars_per_s - 1e-6))

    @property
    def max_need_ms(self) -> int:
        return self.need_ms(self.max_lines * self.max_chars_per_line)


NETFLIX = StyleProfile(name="netflix")

DCMP = StyleProfile(
    name="dcmp",
    italics_off_screen=True,
    name_source_on_screen=False,
    music_open="♪ ",
    music_close=" ♪",
    max_chars_per_line=32,
    min_duration_s=2.0,
    max_duration_s=6.0,
    max_chars_per_s=15.0,
    onomatopoeia=True,
)

BBC = StyleProfile(
    name="bbc",
    case="upper",
    open_bracket="",
    close_bracket="",
    word_form="abrupt",
    music_open="",
    music_close="",
    max_chars_per_line=37,
    min_duration_s=1.2,
    max_duration_s=8.0,
    max_chars_per_s=15.0,
)

#: Every built-in profile by name.
STYLES: dict[str, StyleProfile] = {s.name: s for s in (NETFLIX, DCMP, BBC)}


def get_style(style: str | StyleProfile) -> StyleProfile:
    """The profile named ``style`` (or ``style`` itself); raises InvalidOptionsError for unknown names."""
    if isinstance(style, StyleProfile):
        return style
    try:
        return STYLES[style.lower()]
    except KeyError:
        raise InvalidOptionsError(f"unknown caption style {style!r}; choose from {sorted(STYLES)}") from None
