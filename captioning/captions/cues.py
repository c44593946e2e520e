"""Event list + style -> sound-caption cues (pure functions, no I/O).

The builder works in whole milliseconds, the precision of caption files, in four steps:

1. *select*: events below ``min_confidence`` go to the review list (and into the track only if asked);
   speech (``dialogue`` role) and ``ignore`` labels are never sound-captioned.
2. *word*: each event becomes one or more items: its onset ("[dog barking]", abrupt sounds in the simple
   present, sustained ones in the present participle), "[barking continues]" when a long sound is captioned
   again or comes back after a pause, and "[music stops]" where the end matters. Wording comes from the
   vocabulary (labels missing from it keep ``event.caption``) and the style (case, brackets, italics).
3. *lay out*: items starting within ``combine_window_s`` share a cue, combined on one line when they fit
   ("[thunder rumbling, rain pouring]") or stacked one per line.
4. *time*: cues start on the frame of their sound, stay at least ``need`` (the style's minimum duration and
   reading speed) and otherwise end with their sound (chaining below may add less than ``chain_gap_s``,
   within the half second Netflix allows after a sound), never longer than ``max_duration_s``; a cue that would overlap
   its predecessor shortens it (never below its need) or starts later, by at most ``max_delay_s``, else
   the event is listed for review as crowded out. Last, gaps of ``chain_gap_s`` or less are closed to
   ``min_gap_frames`` (chaining).

Every rule the checker tests holds by construction; ``tests/test_captions_checker.py`` verifies it on dense
random event lists.
"""

from __future__ import annotations

import bisect
import logging
import math
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from webvtt import CueSettings

from captioning.captions.model import Cue, CueLine, CueTrack, ReviewItem
from captioning.captions.options import CaptionOptions
from captioning.captions.styles import StyleProfile
from captioning.events import Analysis, SoundEvent
from captioning.vocabulary import Vocabulary, VocabularyEntry, load_vocabulary

logger = logging.getLogger("captioning")

Form = Literal["onset", "continues", "stops"]

#: Horizontal cue settings for a sound panned hard left or right.
_LEFT = {"position": "10%", "align": "left"}
_RIGHT = {"position": "90%", "align": "right"}


def default_vocabulary() -> Vocabulary:
    """The packaged vocabulary, or an empty one (wording falls back to ``event.caption``) if it is missing."""
    try:
        return load_vocabulary()
    except FileNotFoundError:
        logger.warning("captions: vocabulary.csv not found; using the detection wording of each event")
        return Vocabulary([])


@dataclass(frozen=True)
class _Item:
    """One thing to say: an event's onset, continuation or stop."""

    time_ms: int  # the frame of the sound, in ms
    sound_end_ms: int  # when the sound ends, ms
    text: str  # description with the style's case, no brackets
    music: bool
    italic: bool
    form: Form
    event: SoundEvent

    @property
    def priority(self) -> tuple[bool, float]:
        # foreground sounds before background beds, then the surer ones
        return (self.event.background, -self.event.confidence)


@dataclass
class _Slot:
    """A cue being timed (mutable while the builder works)."""

    start: int
    end: int
    need: int
    lines: list[CueLine]
    items: list[_Item] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- wording
def _clean(text: str) -> str:
    # brackets would clash with the style's own; "<", ">" read as markup in SRT (which cannot escape them)
    text = text.replace("-->", "->")
    for ch in "[]<>":
        text = text.replace(ch, "")
    return " ".join(text.split())


def describe(event: SoundEvent, form: Form, style: StyleProfile, entry: VocabularyEntry | None) -> str | None:
    """Wording of one event in ``style``, without brackets (None if the form cannot be worded).

    Parameters
    ----------
    event : the sound event.
    form : ``"onset"``, ``"continues"`` (the sound goes on, or comes back after a pause) or ``"stops"``.
    style : the style profile (word form, case, whether an on-screen source is named).
    entry : the event's vocabulary row, or None for labels missing from the vocabulary.
    """
    continues = entry.caption_continues if entry is not None else ""
    if form == "onset":
        if entry is None:
            text = event.caption
        elif style.word_form == "abrupt" or event.kind == "abrupt":
            text = entry.caption_abrupt or event.caption
        else:
            text = entry.caption_sustained or event.caption
        on_screen = event.source != "audio"
        if (not style.name_source_on_screen and on_screen and event.kind == "sustained"
                and continues.endswith(" continues")):
            text = continues.removesuffix(" continues")  # "barking" for a dog we can see
    elif form == "continues":
        text = continues or f"{event.caption} continues"
    elif continues.endswith(" continues"):
        text = continues.removesuffix(" continues") + " stops"
    elif event.category == "music":
        text = "music stops"
    else:
        return None
    text = _clean(text)
    if not text:
        return None
    if style.case == "lower":
        return text.lower()
    if style.case == "upper":
        return text.upper()
    return text


def _entry(vocab: Vocabulary, label: str) -> VocabularyEntry | None:
    try:
        return vocab[label]
    except KeyError:
        return None


def _is_music(event: SoundEvent, entry: VocabularyEntry | None) -> bool:
    return entry.role == "music" if entry is not None else event.category == "music"


def _frame_ms(t: float, frame_rate: float) -> int:
    """The start of the frame holding time ``t`` (seconds), in ms."""
    return round(math.floor(t * frame_rate + 1e-6) * 1000 / frame_rate)


def _items(
    events: list[SoundEvent], analysis: Analysis, style: StyleProfile, vocab: Vocabulary, frame_rate: float
) -> list[_Item]:
    media_end_ms = round(analysis.media.duration * 1000)
    starts_by_label: dict[str, list[float]] = defaultdict(list)
    for e in events:
        starts_by_label[e.label].append(e.start)
    last_end: dict[str, float] = {}
    items: list[_Item] = []

    def add(event: SoundEvent, form: Form, time_s: float, entry: VocabularyEntry | None) -> None:
        text = describe(event, form, style, entry)
        if text is None:
            return
        t = _frame_ms(time_s, frame_rate)
        end = t if form == "stops" else round(event.end * 1000)
        italic = style.italics_off_screen and event.source == "audio"
        items.append(_Item(t, end, text, _is_music(event, entry), italic, form, event))

    for e in events:
        entry = _entry(vocab, e.label)
        sustained = e.kind == "sustained"
        resumed = sustained and e.label in last_end and e.start - last_end[e.label] <= style.resume_within_s
        add(e, "continues" if resumed else "onset", e.start, entry)
        last_end[e.label] = max(e.end, last_end.get(e.label, 0.0))
        if sustained and not e.background:
            k = 1
            while e.start + k * style.recaption_after_s + style.min_duration_s <= e.end:
                add(e, "continues", e.start + k * style.recaption_after_s, entry)
                k += 1
        stops_matter = e.category in style.stop_categories or _is_music(e, entry)
        starts = starts_by_label[e.label]  # sorted, as events are
        after = bisect.bisect_right(starts, e.end)
        resumes_soon = after < len(starts) and starts[after] <= e.end + style.resume_within_s
        ends_early = media_end_ms <= 0 or round(e.end * 1000) < media_end_ms - 500
        if stops_matter and e.duration >= style.stop_min_duration_s and ends_early and not resumes_soon:
            add(e, "stops", e.end, entry)
    items.sort(key=lambda it: (it.time_ms, it.priority))
    return items


# ----------------------------------------------------------------------------------------------- layout
def _bracket(style: StyleProfile, music: bool) -> tuple[str, str]:
    return (style.music_open, style.music_close) if music else (style.open_bracket, style.close_bracket)


def _wrap(text: str, open_: str, close: str, style: StyleProfile) -> list[str]:
    """``open_ + text + close`` wrapped to the style's line length and line count (shortened with …)."""
    width = style.max_chars_per_line
    full = f"{open_}{text}{close}"
    lines = textwrap.wrap(full, width=width)
    budget = style.max_lines * width
    while len(lines) > style.max_lines:
        budget -= 4
        short = textwrap.shorten(text, width=max(budget - len(open_) - len(close), 4), placeholder="…")
        lines = textwrap.wrap(f"{open_}{short}{close}", width=width)
    return lines


@dataclass
class _Block:
    texts: list[str]
    music: bool
    italic: bool
    lines: list[str]  # rendered; a block of one line can take more texts


def _layout(items: list[_Item], style: StyleProfile) -> tuple[list[CueLine], list[_Item], list[_Item]]:
    """Lay items (priority order) out in one cue: returns (lines, items used, items left for later)."""
    blocks: list[_Block] = []
    used: list[_Item] = []
    left: list[_Item] = []
    for it in items:
        if any(it.text in b.texts and b.music == it.music for b in blocks) or any(
            u.event.label == it.event.label for u in used
        ):
            used.append(it)  # the same sound (or the same words) is already in this cue
            continue
        open_, close = _bracket(style, it.music)
        last = blocks[-1] if blocks else None
        if last is not None and len(last.lines) == 1 and (last.music, last.italic) == (it.music, it.italic):
            joined = f"{open_}{', '.join([*last.texts, it.text])}{close}"
            if len(joined) <= style.max_chars_per_line:
                last.texts.append(it.text)
                last.lines = [joined]
                used.append(it)
                continue
        lines = _wrap(it.text, open_, close, style)
        if sum(len(b.lines) for b in blocks) + len(lines) <= style.max_lines:
            blocks.append(_Block([it.text], it.music, it.italic, lines))
            used.append(it)
        else:
            left.append(it)
    return [CueLine(text, b.italic) for b in blocks for text in b.lines], used, left


# ------------------------------------------------------------------------------------------------ timing
def _settings(items: list[_Item], options: CaptionOptions) -> str:
    pans = [it.event.pan for it in items]
    kw: dict[str, str] = {}
    if pans and all(p is not None and p <= -options.pan_threshold for p in pans):
        kw.update(_LEFT)
    elif pans and all(p is not None and p >= options.pan_threshold for p in pans):
        kw.update(_RIGHT)
    if options.line is not None:
        kw["line"] = options.line
    return str(CueSettings(**kw)) if kw else ""


def _schedule(
    items: list[_Item], style: StyleProfile, gap_ms: int
) -> tuple[list[_Slot], list[_Item]]:
    """Time the items' cues; returns the slots and the items crowded out."""
    slots: list[_Slot] = []
    crowded: list[_Item] = []
    max_ms, chain_ms = style.max_duration_ms, style.chain_gap_ms
    max_delay_ms = round(style.max_delay_s * 1000)
    window_ms = round(style.combine_window_s * 1000)

    groups: list[list[_Item]] = []
    for it in items:
        if groups and it.time_ms - groups[-1][0].time_ms <= window_ms:
            groups[-1].append(it)
        else:
            groups.append([it])

    for group in groups:
        todo = sorted(group, key=lambda it: it.priority)
        while todo:
            lines, used, todo = _layout(todo, style)
            t = min(it.time_ms for it in used)
            need = style.need_ms(sum(len(line.text) for line in lines))
            start = t
            if slots and t < slots[-1].end + gap_ms:
                prev = slots[-1]
                start = max(t, prev.start + prev.need + gap_ms)
                if start - t > max_delay_ms:
                    crowded.extend(used)
                    continue
                prev.end = start - gap_ms  # never below prev.need, by the max() above
            sound_end = max(it.sound_end_ms for it in used)
            end = max(start + need, min(sound_end, start + max_ms))
            slots.append(_Slot(start, end, need, lines, used))

    # Chaining: a gap of chain_gap_s or less is closed to the minimum gap by extending the earlier cue, or,
    # where that would pass max_duration_s, widened past chain_gap_s (the cue keeps its need: the style
    # guarantees max_duration - chain_gap - 1 ms >= the longest need).
    for a, b in zip(slots, slots[1:], strict=False):
        g = b.start - a.end
        if gap_ms < g <= chain_ms:
            a.end = b.start - gap_ms if b.start - gap_ms - a.start <= max_ms else b.start - chain_ms - 1
    return slots, crowded


# ------------------------------------------------------------------------------------------------- build
def select_events(
    analysis: Analysis, options: CaptionOptions, vocab: Vocabulary
) -> tuple[list[SoundEvent], list[ReviewItem]]:
    """Events to caption, and the low-confidence ones for the review list (see :func:`build_cues`)."""
    keep: list[SoundEvent] = []
    review: list[ReviewItem] = []
    for e in sorted(analysis.events, key=lambda e: (e.start, e.end, e.label)):
        entry = _entry(vocab, e.label)
        if entry is not None and entry.role in ("dialogue", "ignore"):
            continue
        if e.confidence < options.min_confidence:
            review.append(ReviewItem(e, "low_confidence", included=options.include_low_confidence))
            if not options.include_low_confidence:
                continue
        keep.append(e)
    return keep, review


def build_cues(
    analysis: Analysis, options: CaptionOptions | None = None, *, vocabulary: Vocabulary | None = None
) -> CueTrack:
    """Build the sound-caption cues of ``analysis`` in the options' style.

    Parameters
    ----------
    analysis : the event list (times in seconds) and media info (``media.duration`` in seconds).
    options : caption options; None for the defaults (Netflix style, ``min_confidence`` 0.5, 25 fps).
    vocabulary : wording table; None for the packaged vocabulary. Labels missing from it keep
        ``event.caption``.

    Returns
    -------
    CueTrack
        Cues sorted by start, non-overlapping, separated by at least ``min_gap_frames`` frames, with ids
        ``s0001``..; plus the review list (low-confidence events, and events crowded out).
    """
    options = options or CaptionOptions()
    style = options.profile
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    events, review = select_events(analysis, options, vocab)
    items = _items(events, analysis, style, vocab, options.frame_rate)
    slots, crowded = _schedule(items, style, style.min_gap_ms(options.frame_rate))

    cues = tuple(
        Cue(
            start_ms=s.start,
            end_ms=s.end,
            lines=tuple(s.lines),
            identifier=f"s{i:04d}",
            settings=_settings(s.items, options),
            event_ids=tuple(dict.fromkeys(it.event.id for it in s.items if it.event.id)),
        )
        for i, s in enumerate(slots, 1)
    )
    seen = {id(r.event) for r in review}
    for it in crowded:
        if it.form == "onset" and id(it.event) not in seen:
            review.append(ReviewItem(it.event, "crowded"))
            seen.add(id(it.event))
    review.sort(key=lambda r: (r.event.start, r.event.end, r.event.label))
    return CueTrack(cues=cues, review=tuple(review), style=style.name)
