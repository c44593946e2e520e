"""Event list + style -> sound-caption cues (pure functions, no I/O).

The builder works in whole milliseconds, the precision of caption files, in five steps:

1. *select*: events below ``min_confidence`` go to the review list (and into the track only if asked);
   speech (``dialogue`` role) and ``ignore`` labels are never sound-captioned.
2. *word*: each event becomes one or more items: its onset ("[dog barking]", abrupt sounds in the simple
   present, sustained ones in the present participle), "[barking continues]" when the sound comes back
   within ``resume_within_s`` of the same sound ending, and "[music stops]" where the end matters. Wording
   comes from the vocabulary (labels missing from it keep ``event.caption``) and the style (case, brackets,
   italics).
3. *lay out*: items starting within ``combine_window_s`` share a cue, combined on one line when they fit
   ("[thunder rumbling, rain pouring]") or stacked one per line. In a style that allows it (DCMP) and with
   ``CaptionOptions.onomatopoeia``, a cue holding one sound's onset gets that sound's onomatopoeia on its
   own line ("[dog barking]" over "woof woof") when the style's line count and length leave room.
4. *time*: cues start on the frame of their sound, stay at least ``need`` (the style's minimum duration and
   reading speed) and otherwise end with their sound (chaining below may add less than ``chain_gap_s``,
   within the half second Netflix allows after a sound), never longer than ``max_duration_s``; a cue that would overlap
   its predecessor shortens it (never below its need) or starts later, by at most ``max_delay_s``, else
   the event is listed for review as crowded out. Last, gaps of ``chain_gap_s`` or less are closed to
   ``min_gap_frames`` (chaining). No cue ends after the media does (``media.duration``): a caption cannot
   outlast the programme, so near the end the need yields and the cue ends with the media; a cue that would
   start at or after the end is left out (its event listed for review as ``after_end``, or as crowded out
   when other cues held the screen until the end).
5. *continue*: a long foreground sound outlasts its cue (``max_duration_s``). Once the cues are timed, it
   is captioned again as "[barking continues]" *after a pause in its captioning*: right after other cues
   (other sounds, or the dialogue cues given to :func:`build_cues`) interrupted it, as soon as the screen
   is free and at least ``recaption_interval_s`` after its last caption appeared; or, when nothing else
   was shown, ``recaption_after_s`` after its last caption appeared. A continuation only takes
   free screen time (it never delays or crowds out another cue) and only while the sound (and the media)
   still lasts ``min_duration_s``; then the cues are timed again with the continuations in.
   Background beds (``event.background``) are captioned once and never continued.

Every rule the checker tests holds by construction (given the media's duration, the checker lets a cue the
media's end cuts short be shorter than its need); ``tests/test_captions_checker.py`` verifies it on dense
random event lists.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import math
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from webvtt import CueSettings

from captioning.captions.model import NEVER_MS, Cue, CueLine, CueTrack, ReviewItem, cue_end_limit_ms, media_end_ms
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
    sound_word: str = ""  # onomatopoeia for its own line ("woof woof"), "" for none

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


def _sound_word(entry: VocabularyEntry | None, style: StyleProfile) -> str:
    """The entry's onomatopoeia in the style's case, "" if it has none."""
    word = _clean(entry.onomatopoeia) if entry is not None else ""
    return word.upper() if style.case == "upper" else word.lower() if style.case == "lower" else word


def _make_item(event: SoundEvent, form: Form, time_ms: int, style: StyleProfile, entry: VocabularyEntry | None,
               *, onomatopoeia: bool = False) -> _Item | None:
    text = describe(event, form, style, entry)
    if text is None:
        return None
    end = time_ms if form == "stops" else round(event.end * 1000)
    italic = style.italics_off_screen and event.source == "audio"
    word = _sound_word(entry, style) if onomatopoeia and form == "onset" else ""
    return _Item(time_ms, end, text, _is_music(event, entry), italic, form, event, word)


def _items(
    events: list[SoundEvent], analysis: Analysis, style: StyleProfile, vocab: Vocabulary, frame_rate: float,
    *, onomatopoeia: bool = False,
) -> list[_Item]:
    media_end = media_end_ms(analysis.media.duration)
    starts_by_label: dict[str, list[float]] = defaultdict(list)
    for e in events:
        starts_by_label[e.label].append(e.start)
    last_end: dict[str, float] = {}
    items: list[_Item] = []

    def add(event: SoundEvent, form: Form, time_s: float, entry: VocabularyEntry | None) -> None:
        item = _make_item(event, form, _frame_ms(time_s, frame_rate), style, entry, onomatopoeia=onomatopoeia)
        if item is not None:
            items.append(item)

    for e in events:
        entry = _entry(vocab, e.label)
        sustained = e.kind == "sustained"
        resumed = sustained and e.label in last_end and e.start - last_end[e.label] <= style.resume_within_s
        add(e, "continues" if resumed else "onset", e.start, entry)
        last_end[e.label] = max(e.end, last_end.get(e.label, 0.0))
        stops_matter = e.category in style.stop_categories or _is_music(e, entry)
        starts = starts_by_label[e.label]  # sorted, as events are
        after = bisect.bisect_right(starts, e.end)
        resumes_soon = after < len(starts) and starts[after] <= e.end + style.resume_within_s
        ends_early = media_end is None or round(e.end * 1000) < media_end - 500
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
    sound_word: str = ""  # the onomatopoeia of its first item


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
            blocks.append(_Block([it.text], it.music, it.italic, lines, it.sound_word))
            used.append(it)
        else:
            left.append(it)
    out = [CueLine(text, b.italic) for b in blocks for text in b.lines]
    # Onomatopoeia goes on its own line, only under a cue's single sound and only where it fits: it is
    # dropped rather than break the line count or length (DCMP: "[dog barking]" over "woof woof").
    if (len(blocks) == 1 and len(blocks[0].texts) == 1 and blocks[0].sound_word
            and len(out) < style.max_lines and len(blocks[0].sound_word) <= style.max_chars_per_line):
        out.append(CueLine(blocks[0].sound_word, blocks[0].italic))
    return out, used, left


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
    items: list[_Item], style: StyleProfile, gap_ms: int, end_ms: int = NEVER_MS
) -> tuple[list[_Slot], list[_Item]]:
    """Time the items' cues; returns the slots and the items left out (crowded out, or at or after ``end_ms``).

    ``end_ms`` is the media's end: no cue ends after it, its need (minimum duration, reading speed) yields to
    it, and a cue that would start at or after it is left out.
    """
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
            prev = slots[-1] if slots and t < slots[-1].end + gap_ms else None
            start = t if prev is None else max(t, prev.start + prev.need + gap_ms)
            if start - t > max_delay_ms or start >= end_ms:
                crowded.extend(used)
                continue
            if prev is not None:
                prev.end = start - gap_ms  # never below prev.need, by the max() above
            sound_end = max(it.sound_end_ms for it in used)
            # a caption cannot outlast the programme: the media's end cuts even the cue's need short
            end = min(max(start + need, min(sound_end, start + max_ms)), end_ms)
            slots.append(_Slot(start, end, need, lines, used))

    # Chaining: a gap of chain_gap_s or less is closed to the minimum gap by extending the earlier cue, or,
    # where that would pass max_duration_s, widened past chain_gap_s (the cue keeps its need: the style
    # guarantees max_duration - chain_gap - 1 ms >= the longest need). b starts before end_ms, so a stays within it.
    for a, b in zip(slots, slots[1:], strict=False):
        g = b.start - a.end
        if gap_ms < g <= chain_ms:
            a.end = b.start - gap_ms if b.start - gap_ms - a.start <= max_ms else b.start - chain_ms - 1
    return slots, crowded


# --------------------------------------------------------------------------------------------- continue
@dataclass(frozen=True)
class _Busy:
    """Screen time taken by a cue: a sound cue (with the events it describes) or a dialogue cue."""

    start: int
    end: int
    events: frozenset[int] = frozenset()  # id() of the events the cue describes


def _frame_ceil_ms(t_ms: int, frame_rate: float) -> int:
    """The first frame start at or after ``t_ms``, in ms."""
    return round(math.ceil(t_ms * frame_rate / 1000 - 1e-6) * 1000 / frame_rate)


def _continuation_times(
    event: SoundEvent, busy: list[_Busy], style: StyleProfile, need_ms: int, gap_ms: int, frame_rate: float,
    media_end_ms: int = NEVER_MS,
) -> list[tuple[int, int]]:
    """When to caption ``event`` again as "continues": (start, expected end) in ms, given the screen time
    already taken (``busy``, sorted by start). See step 5 of the module docstring."""
    key = id(event)
    end_ms = min(round(event.end * 1000), media_end_ms)  # what is heard of it: the media may end first
    first = next((i for i, b in enumerate(busy) if key in b.events), None)
    if first is None:
        return []
    last_start = busy[first].start
    interrupted = False
    free_from = max(b.end for b in busy[: first + 1]) + gap_ms  # a dialogue cue may overlap the first
    after_ms, interval_ms = round(style.recaption_after_s * 1000), round(style.recaption_interval_s * 1000)
    out: list[tuple[int, int]] = []
    for b in [*busy[first + 1:], _Busy(NEVER_MS, NEVER_MS)]:
        # the screen is free from free_from to b.start - gap_ms
        while True:
            if free_from + style.min_duration_ms > end_ms:
                return out  # the sound is (nearly) over
            t = _frame_ceil_ms(max(free_from, last_start + (interval_ms if interrupted else after_ms)), frame_rate)
            if t + style.min_duration_ms > end_ms or t + need_ms + gap_ms > b.start:
                break  # too late here, or no room before the next cue (an interruption may allow it sooner)
            cue_end = min(max(t + need_ms, min(end_ms, t + style.max_duration_ms)), b.start - gap_ms)
            out.append((t, cue_end))
            last_start, interrupted, free_from = t, False, cue_end + gap_ms
        if key in b.events:
            last_start, interrupted = b.start, False
        else:
            interrupted = True
        free_from = max(free_from, b.end + gap_ms)
    return out


def _continuations(
    slots: list[_Slot], dialogue: Sequence[Cue], style: StyleProfile, vocab: Vocabulary, gap_ms: int,
    frame_rate: float, media_end_ms: int = NEVER_MS,
) -> list[_Item]:
    """"Continues" items for long foreground sounds, fitted into the free screen time around ``slots`` and
    ``dialogue`` (each one taken before the next sound is fitted, so they never collide)."""
    busy = sorted(
        [*(_Busy(s.start, s.end, frozenset(id(it.event) for it in s.items)) for s in slots),
         *(_Busy(c.start_ms, c.end_ms) for c in dialogue)],
        key=lambda b: (b.start, b.end),
    )
    shown: dict[int, SoundEvent] = {}
    for s in slots:
        for it in s.items:
            if it.form != "stops" and it.event.kind == "sustained" and not it.event.background:
                shown.setdefault(id(it.event), it.event)
    out: list[_Item] = []
    for event in sorted(shown.values(), key=lambda e: (e.start, e.end, e.label)):
        entry = _entry(vocab, event.label)
        item = _make_item(event, "continues", 0, style, entry)
        if item is None:
            continue
        open_, close = _bracket(style, item.music)
        need = style.need_ms(sum(len(line) for line in _wrap(item.text, open_, close, style)))
        for t, cue_end in _continuation_times(event, busy, style, need, gap_ms, frame_rate, media_end_ms):
            out.append(dataclasses.replace(item, time_ms=t))
            bisect.insort(busy, _Busy(t, cue_end, frozenset({id(event)})), key=lambda b: (b.start, b.end))
    return out


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
    analysis: Analysis, options: CaptionOptions | None = None, *, vocabulary: Vocabulary | None = None,
    dialogue: Sequence[Cue] = (),
) -> CueTrack:
    """Build the sound-caption cues of ``analysis`` in the options' style.

    Parameters
    ----------
    analysis : the event list (times in seconds) and media info (``media.duration`` in seconds: no cue ends
        after it; unknown when 0).
    options : caption options; None for the defaults (Netflix style, ``min_confidence`` 0.5, the video's own
        frame rate, else 25 fps: see :meth:`CaptionOptions.for_media`).
    vocabulary : wording table; None for the packaged vocabulary. Labels missing from it keep
        ``event.caption``.
    dialogue : dialogue cues the sound cues will be merged with (see
        :func:`~captioning.captions.merge.merge_dialogue`): a long sound they interrupt is captioned again
        as "continues" in the first free time after them. They are not part of the returned track.

    Returns
    -------
    CueTrack
        Cues sorted by start, non-overlapping, separated by at least ``min_gap_frames`` frames, ending by the
        media's end, with ids ``s0001``..; plus the review list (low-confidence events, events crowded out,
        and events whose cue would start at or after the media's end).
    """
    options = (options or CaptionOptions()).for_media(analysis.media)
    style = options.profile
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    events, review = select_events(analysis, options, vocab)
    gap_ms = style.min_gap_ms(options.fps)
    end_ms = cue_end_limit_ms(analysis.media.duration)
    items = _items(events, analysis, style, vocab, options.fps,
                   onomatopoeia=options.onomatopoeia and style.onomatopoeia)
    slots, crowded = _schedule(items, style, gap_ms, end_ms)
    more = _continuations(slots, dialogue, style, vocab, gap_ms, options.fps, end_ms)
    if more:  # time again with the continuations in (they only take free time, so the rest stays put)
        items = sorted([*items, *more], key=lambda it: (it.time_ms, it.priority))
        slots, crowded = _schedule(items, style, gap_ms, end_ms)

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
            review.append(ReviewItem(it.event, "after_end" if it.time_ms >= end_ms else "crowded"))
            seen.add(id(it.event))
    review.sort(key=lambda r: (r.event.start, r.event.end, r.event.label))
    return CueTrack(cues=cues, review=tuple(review), style=style.name)
