"""Read an existing caption track's cues: which parts describe sounds, which name speakers, which are dialogue.

A cue's text (the plain lines the reader gives, markup removed) is split into parts by these rules, in order:

1. **Brackets and parentheses** (``[door slams]``, ``(deep rumbling)``, also across a line break) are taken
   out of the text and each is read by :func:`classify_bracket`:

   a. ending in a colon (``[MAN:]``): a speaker label;
   b. made only of *note* words (a language, ``inaudible``; see ``captioning/data/cue_lexicon.csv``) and
      function words: a note about the speech, not a sound (``[in Spanish]``, ``[en inglés]``); a trailing
      note is cut off and the rest read on (``[Alfonso XIII en inglés]`` is a speaker);
   c. one word ending in ``-ly`` or ``-mente`` (``[sarcastically]``): a manner note, not a sound;
   d. made only of *person* words (``man``, ``young``, ``hombre``, ``joven``), capitalised words (names:
      ``Alba``, ``ALBA``) and function words, with no *sound word* (a word of the vocabulary's wordings or
      AudioSet names, or a gloss term; ``[Door Slams]``): a speaker label (``[Alba]``, ``[man]``,
      ``[joven Francisco]``). A name followed by a verb in lower case (``[Ángeles ríe]``) is a sound;
   e. anything else: a sound description. Lower-case bracket text is how SDH styles write sounds in every
      language (Netflix, DCMP, BBC), so an unknown lower-case word (``[portazo]``) is a sound.

2. **Music**: a line with ``♪``/``♫`` (lyrics or a bare note) describes music playing.
3. **Speaker prefixes**: ``MAN:``, ``Alba:`` or ``>>`` at the start of a line (at most three words before the
   colon, capitalised or in capitals, and no quotation after it): a speaker label; the rest of the line is
   dialogue.
4. **Capitals**: a line in capitals with no brackets (BBC style, ``DOOR BANGS``) is a sound description when it
   has a sound word, or two or more words and no ``?``/``!`` (``GET OUT!`` is shouted dialogue); not when most
   of the file's dialogue lines, and at least :data:`CAPS_TRACK_MIN_LINES`, are in capitals (old broadcast
   captions write dialogue in capitals).
5. Whatever text is left (dialogue dashes removed) is dialogue.

A sound description with commas or semicolons (``[thunder rumbling, rain pouring]``) holds one description per
piece. Nothing here loads a model: a caller may pass ``sound_like``, a test that a text means a sound (the audit
passes the embedding model's similarity to the vocabulary), used in rule 1d for bracket text in capitals or
capitalised words that are no known sound word.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from captioning.captions.model import Cue
from captioning.datafiles import csv_records, data_text
from captioning.vocabulary import Vocabulary

SegmentKind = Literal["sound", "speaker", "note", "dialogue"]
SoundForm = Literal["bracket", "paren", "caps", "music"]

_BRACKETS = re.compile(r"\[([^\[\]]*)\]|\(([^()]*)\)")
_MUSIC = re.compile(r"[♪♫]")
_SPEAKER_PREFIX = re.compile(r"^\s*(?:>>\s*)?([^\W\d_][\w .'’\-]{0,40}?)\s*:(?!\d)\s*(.*)$", re.DOTALL)
_WORD = re.compile(r"[^\W_][\w'’\-]*")
_DASH = re.compile(r"^\s*(?:[-–—]|>>)\s*")
_PLURALS = ("es", "s")
_SUFFIXES = ("ing", "es", "ed", "s")  # for sound words: "beeping" -> "beep", "slams" -> "slam"


def fold(word: str) -> str:
    """A word as the lexicons hold it: lower case, accents removed (``"Ríe"`` -> ``"rie"``)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'")


def words(text: str) -> list[str]:
    """The words of ``text`` as written (letters and digits, inner apostrophes and hyphens kept)."""
    return _WORD.findall(text)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class Lexicon:
    """The word lists of ``captioning/data/cue_lexicon.csv`` (folded) plus the vocabulary's sound words.

    Attributes:
        person: words naming who speaks.
        note: words of notes about the speech (languages, inaudible).
        function: articles and prepositions.
        glosses: foreign caption word -> English wording.
        sound_words: stems of the words of the vocabulary's wordings and AudioSet names, and of the gloss terms.
    """

    person: frozenset[str]
    note: frozenset[str]
    function: frozenset[str]
    glosses: dict[str, str]
    sound_words: frozenset[str]

    def gloss(self, word: str) -> str | None:
        """The English wording of a folded ``word`` (also with a plural ending), None if it has none."""
        if word in self.glosses:
            return self.glosses[word]
        for ending in _PLURALS:
            if word.endswith(ending) and word[: -len(ending)] in self.glosses:
                return self.glosses[word[: -len(ending)]]
        return None

    def is_sound_word(self, word: str) -> bool:
        """Whether a folded ``word`` is a word sounds are described with (vocabulary or gloss)."""
        return (word in self.sound_words or _stem(word) in self.sound_words or self.gloss(word) is not None) \
            and word not in self.function


def parse_lexicon(text: str, vocabulary: Vocabulary | None = None) -> Lexicon:
    """Parse lexicon CSV text (the format of ``captioning/data/cue_lexicon.csv``).

    Raises:
        ValueError: a row of an unknown kind, or a gloss without its English wording (naming the line).
    """
    fieldnames, records = csv_records(text)
    if fieldnames is None or list(fieldnames) != ["kind", "language", "term", "english"]:
        raise ValueError(f"cue_lexicon.csv: header must be kind,language,term,english, got {fieldnames}")
    sets: dict[str, set[str]] = {"person": set(), "note": set(), "function": set()}
    glosses: dict[str, str] = {}
    for line, row in records:
        kind, term, english = ((row.get(k) or "").strip() for k in ("kind", "term", "english"))
        if kind == "gloss":
            if not english:
                raise ValueError(f"cue_lexicon.csv line {line}: gloss {term!r} has no English wording")
            glosses.setdefault(fold(term), english)
        elif kind in sets:
            sets[kind].add(fold(term))
        else:
            raise ValueError(f"cue_lexicon.csv line {line}: kind must be person, note, function or gloss, got {kind!r}")
    sound: set[str] = set()
    for entry in vocabulary or ():
        if entry.role == "dialogue":
            continue
        for text_ in (entry.caption_abrupt, entry.caption_sustained, entry.caption_continues, *entry.audioset):
            sound.update(_stem(fold(w)) for w in words(text_) if len(w) >= 3)
    sound.update(_stem(t) for t in glosses)
    function = frozenset(sets["function"])
    person = frozenset(sets["person"])
    # a vocabulary word that also names people ("man", "child", "baby") stays a person word
    return Lexicon(person, frozenset(sets["note"]), function, glosses,
                   frozenset(sound - function - {_stem(p) for p in person} - person))


@functools.lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """The packaged lexicon with the packaged vocabulary's sound words, parsed once per process."""
    from captioning.vocabulary import load_vocabulary

    return parse_lexicon(data_text("cue_lexicon.csv"), load_vocabulary())


@dataclass(frozen=True)
class SoundText:
    """One sound description in a cue.

    Attributes:
        text: the description as written, without its brackets (``"door slams"``, ``"DOOR BANGS"``).
        form: how it was marked: ``"bracket"``, ``"paren"``, ``"caps"`` (a line in capitals) or ``"music"``.
    """

    text: str
    form: SoundForm


@dataclass(frozen=True)
class CueReading:
    """What one cue holds.

    Attributes:
        sounds: the sound descriptions, in order.
        speakers: speaker labels (``"Alba"``, ``"MAN"``), in order.
        notes: notes about the speech that are not sounds (``"en inglés"``, ``"sarcastically"``).
        dialogue: the dialogue text left, lines joined with ``\\n`` ("" for none).
    """

    sounds: tuple[SoundText, ...] = ()
    speakers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    dialogue: str = ""

    @property
    def kind(self) -> Literal["sound", "mixed", "dialogue", "other"]:
        """``"sound"`` (only sound descriptions), ``"mixed"`` (sounds and dialogue), ``"dialogue"``, or
        ``"other"`` (only labels or notes)."""
        if self.sounds:
            return "mixed" if self.dialogue else "sound"
        return "dialogue" if self.dialogue else "other"


SoundLike = Callable[[str], bool]


def classify_bracket(text: str, lexicon: Lexicon, sound_like: SoundLike | None = None) -> SegmentKind:
    """What the text of one ``[...]``/``(...)`` is: ``"sound"``, ``"speaker"`` or ``"note"`` (rules 1a-1e of
    the module docstring). ``text`` is without its brackets."""
    text = text.strip()
    if text.endswith(":"):
        return "speaker"
    ws = words(text)
    if not ws:
        return "note"
    folded = [fold(w) for w in ws]
    noteish = [f in lexicon.note or f in lexicon.function for f in folded]
    if all(noteish):
        return "note"
    # a trailing note ("en inglés", "in Spanish"): read the rest
    cut = len(ws)
    while cut > 0 and noteish[cut - 1]:
        cut -= 1
    if cut < len(ws) and any(folded[i] in lexicon.note for i in range(cut, len(ws))):
        ws, folded = ws[:cut], folded[:cut]
    if len(ws) == 1 and folded[0].endswith(("ly", "mente")) and len(folded[0]) > 5 \
            and not lexicon.is_sound_word(folded[0]):
        return "note"
    if any(lexicon.is_sound_word(f) for f in folded if f not in lexicon.person):
        return "sound"
    if all(f in lexicon.person or f in lexicon.function or w[0].isupper() for w, f in zip(ws, folded, strict=True)):
        named = [w for w, f in zip(ws, folded, strict=True) if f not in lexicon.person and f not in lexicon.function]
        if named and sound_like is not None and sound_like(" ".join(ws)):
            return "sound"  # "[THUNDERCLAP]": capitals, but a sound by meaning
        return "speaker"
    return "sound"


def _is_caps_line(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _caps_sound(line: str, lexicon: Lexicon) -> bool:
    """A line in capitals is a sound description (rule 4 of the module docstring)."""
    ws = [fold(w) for w in words(line)]
    if any(lexicon.is_sound_word(w) for w in ws if w not in lexicon.person):
        return True
    return len([w for w in ws if len(w) > 1]) >= 2 and not re.search(r"[?!¿¡]", line)


def _split_descriptions(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;]", " ".join(text.split())) if p.strip()]


#: A track is read as written in capitals (rule 4) when at least this many of its text lines (outside brackets,
#: speaker prefixes removed) are, and more than half of them.
CAPS_TRACK_MIN_LINES = 8


def caps_file(cues: Iterable[Cue]) -> bool:
    """Whether most text lines of a track are in capitals (then capitals do not mark sounds, rule 4)."""
    lines = []
    for c in cues:
        for line in c.lines:
            text = _DASH.sub("", _BRACKETS.sub(" ", line.text)).strip()
            m = _SPEAKER_PREFIX.match(text)
            if m is not None and _speaker_name(m.group(1)):
                text = m.group(2)
            if sum(ch.isalpha() for ch in text) >= 2:
                lines.append(text)
    n_caps = sum(_is_caps_line(t) for t in lines)
    return n_caps >= CAPS_TRACK_MIN_LINES and n_caps > len(lines) / 2


def read_cue(cue: Cue, lexicon: Lexicon | None = None, *, caps_dialogue: bool = False,
             sound_like: SoundLike | None = None) -> CueReading:
    """Split one cue's text into sound descriptions, speaker labels, notes and dialogue (module docstring).

    Parameters
    ----------
    cue : a cue as the caption reader gives it (plain lines).
    lexicon : word lists; None for the packaged ones.
    caps_dialogue : the track writes dialogue in capitals (see :func:`caps_file`): capitals are not sounds.
    sound_like : optional test that a text means a sound, for bracket text in capitals or capitalised words.
    """
    lex = lexicon or load_lexicon()
    sounds: list[SoundText] = []
    speakers: list[str] = []
    notes: list[str] = []

    def bracket(m: re.Match[str]) -> str:
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        inner = " ".join(inner.split())
        kind = classify_bracket(inner, lex, sound_like)
        if kind == "sound":
            form: SoundForm = "bracket" if m.group(1) is not None else "paren"
            sounds.extend(SoundText(d, form) for d in _split_descriptions(inner))
        elif kind == "speaker":
            speakers.append(inner.rstrip(":").strip())
        else:
            notes.append(inner)
        return " "

    rest = _BRACKETS.sub(bracket, cue.text)
    dialogue: list[str] = []
    for line in rest.split("\n"):
        line = _DASH.sub("", line).strip()
        if not line:
            continue
        if _MUSIC.search(line):
            lyrics = _MUSIC.sub(" ", line).strip()
            sounds.append(SoundText("music" if not lyrics else f"music: {lyrics}", "music"))
            continue
        m = _SPEAKER_PREFIX.match(line)
        if m is not None and _speaker_name(m.group(1)) and not m.group(2).startswith(('"', "'", "«", "“")):
            speakers.append(m.group(1).strip())
            line = m.group(2).strip()
            if not line:
                continue
        if not caps_dialogue and _is_caps_line(line) and _caps_sound(line, lex):
            sounds.extend(SoundText(d, "caps") for d in _split_descriptions(line.strip(" .!")))
            continue
        dialogue.append(line)
    return CueReading(tuple(sounds), tuple(speakers), tuple(notes), "\n".join(dialogue))


def _speaker_name(name: str) -> bool:
    ws = words(name)
    return 1 <= len(ws) <= 3 and (name.isupper() or all(w[0].isupper() for w in ws))


def read_cues(cues: Sequence[Cue], lexicon: Lexicon | None = None, *,
              sound_like: SoundLike | None = None) -> list[CueReading]:
    """:func:`read_cue` for every cue of a track, with the track's own capitals rule (:func:`caps_file`)."""
    caps = caps_file(cues)
    return [read_cue(c, lexicon, caps_dialogue=caps, sound_like=sound_like) for c in cues]
