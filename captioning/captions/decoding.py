"""Caption file bytes -> text, in the encoding the file was written in, and that encoding's name for the user.

Real caption files come in UTF-8 (with or without a byte-order mark), UTF-16 with a BOM (Windows tools), and
legacy code pages: Windows-1252 for Western European dialogue, Windows-1250/1251, ISO-8859-x, KOI8-R,
Shift_JIS, GB18030... In order:

1. a byte-order mark names the encoding (UTF-8, UTF-16LE/BE, UTF-32);
2. text that is valid UTF-8 is UTF-8;
3. a file mostly in UTF-8 with some lines in a legacy code page (text pasted in from another file) is read
   line by line;
4. anything else is detected by charset-normalizer, restricted to the encodings caption files use (see
   :func:`_detect` for how its candidates are ranked: a few lines of dialogue decode without fault in
   several code pages). A detected encoding is a guess, so callers report it; short Turkish or Baltic text
   cannot be told from Windows-1252 this way (``check-captions --encoding`` names it).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from captioning.errors import CaptionFormatError

#: Largest caption file read, bytes (a feature film's SRT is well under 1 MB; this refuses videos).
MAX_CAPTION_BYTES = 64 * 1024 * 1024

#: Encodings tried for files that are not UTF-8, most used for subtitles first (ties go to the earliest).
PREFERRED: tuple[str, ...] = (
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "latin_1", "iso8859_15", "iso8859_2", "iso8859_7", "iso8859_9", "iso8859_8", "iso8859_6", "iso8859_13",
    "iso8859_5", "koi8_r", "koi8_u", "cp874", "shift_jis", "cp932", "euc_jp", "gb18030", "big5", "euc_kr",
    "cp949", "mac_roman", "cp437", "cp850", "utf_16", "utf_16_le", "utf_16_be", "utf_32",
)

_BOMS: tuple[tuple[bytes, str], ...] = (  # longest first: the UTF-32LE BOM starts with the UTF-16LE one
    (codecs.BOM_UTF32_LE, "utf_32_le"), (codecs.BOM_UTF32_BE, "utf_32_be"), (codecs.BOM_UTF8, "utf_8"),
    (codecs.BOM_UTF16_LE, "utf_16_le"), (codecs.BOM_UTF16_BE, "utf_16_be"),
)
_LABELS = {
    "utf_8": "UTF-8", "utf_16": "UTF-16", "utf_16_le": "UTF-16LE", "utf_16_be": "UTF-16BE", "utf_32": "UTF-32",
    "utf_32_le": "UTF-32LE", "utf_32_be": "UTF-32BE", "koi8_r": "KOI8-R", "koi8_u": "KOI8-U",
    "shift_jis": "Shift_JIS", "cp932": "Windows-31J", "euc_jp": "EUC-JP", "gb18030": "GB18030", "big5": "Big5",
    "euc_kr": "EUC-KR", "cp949": "Windows-949", "mac_roman": "Mac OS Roman", "cp437": "IBM437",
    "cp850": "IBM850", "cp874": "Windows-874", "latin_1": "ISO-8859-1", "iso8859_1": "ISO-8859-1",
}


def encoding_label(codec: str) -> str:
    """The usual name of a Python codec: ``"cp1252"`` -> ``"Windows-1252"``, ``"iso8859_2"`` -> ``"ISO-8859-2"``."""
    name = codecs.lookup(codec).name.replace("-", "_")
    if m := re.fullmatch(r"cp(125\d)", name):
        return f"Windows-{m[1]}"
    if m := re.fullmatch(r"iso8859_(\d+)", name):
        return f"ISO-8859-{m[1]}"
    return _LABELS.get(name, name.upper())


_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI", "HANGUL", "HIRAGANA",
                      "KATAKANA", "CJK"})
_LETTER_SYMBOL_LETTER = re.compile(r"[^\W\d_][^\w\s'’.,!?;:()\-][^\W\d_]")


def _scripts(text: str) -> set[str]:
    return {name for c in text if c.isalpha() and (name := unicodedata.name(c, "?").split()[0]) in _SCRIPTS}


def _odd_words(text: str) -> int:
    """Words that read as mojibake: mixing scripts ("cafй"), a symbol between letters ("žlu»ouèký"), or three
    or more letters that are all accented Latin ("Ïðèâåò": Cyrillic read in a Western code page)."""
    n = 0
    for token in text.split():
        letters = [c for c in token if c.isalpha()]
        if not letters:
            continue
        scripts = _scripts(token)
        latin_accented = len(letters) >= 3 and all(ord(c) > 127 for c in letters) and scripts == {"LATIN"}
        if len(scripts) > 1 or latin_accented or _LETTER_SYMBOL_LETTER.search(token):
            n += 1
    return n


def _detect(data: bytes) -> str | None:
    """The most likely legacy codec of ``data`` (see the module docstring), None if none fits.

    charset-normalizer proposes the codecs whose decoding is not a mess (grouping those that give the same
    text) and is good at telling scripts apart. Between Latin code pages, on a few lines of dialogue, its
    scores mislead (French scores better in Windows-1257, which turns "où" into "oł"): when its best reading
    is Latin, every candidate is ranked by words that read as mojibake, then by how much subtitles use the
    code page (:data:`PREFERRED`), then by its score. Otherwise its best score wins, ties going to the
    code page subtitles use most.
    """
    from charset_normalizer import from_bytes

    matches = from_bytes(data, cp_isolation=list(PREFERRED))
    best = matches.best()
    if best is None:
        return None
    latin = _scripts(str(best)) <= {"LATIN"}
    ranked = []
    for m in matches:
        if not latin and (m.chaos > best.chaos + 1e-3 or m.coherence < best.coherence - 1e-3):
            continue  # another script: charset-normalizer's scores decide, the preference only breaks ties
        odd = _odd_words(str(m)) if latin else 0
        for codec in m.could_be_from_charset or [m.encoding]:
            pref = PREFERRED.index(codec) if codec in PREFERRED else len(PREFERRED)
            ranked.append((odd, pref, m.chaos, codec))
    return min(ranked)[3]


def _mixed(data: bytes) -> tuple[str, str] | None:
    """UTF-8 with some lines in a legacy code page: (text, label), or None if the file is not like that."""
    lines = data.split(b"\n")
    bad = []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(i)
    fixed = set(bad)
    if all(line.isascii() for i, line in enumerate(lines) if i not in fixed):
        return None  # no line is non-ASCII UTF-8: the whole file is in one legacy code page
    codec = _detect(b"\n".join(lines[i] for i in bad))
    if codec is None:
        return None
    text = "\n".join(line.decode(codec if i in fixed else "utf-8", errors="replace") for i, line in enumerate(lines))
    shown = ", ".join(str(i + 1) for i in bad[:5]) + (" ..." if len(bad) > 5 else "")
    return text, f"UTF-8 (line {shown} in {encoding_label(codec)})"


def decode_caption_bytes(data: bytes, name: str = "captions", encoding: str | None = None) -> tuple[str, str]:
    """Text of a caption file's bytes and the name of the encoding used (e.g. ``"Windows-1252"``).

    Parameters
    ----------
    data : the whole file.
    name : file name for messages.
    encoding : a Python codec name to use instead of detecting one (a BOM is still skipped).

    Raises
    ------
    CaptionFormatError
        The bytes are not text in ``encoding``, or in any encoding caption files use (e.g. a video).
    """
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise CaptionFormatError(f"unknown text encoding {encoding!r}") from None
        try:
            return data.decode("utf-8-sig" if codec == "utf-8" else codec), encoding_label(codec)
        except UnicodeDecodeError as e:
            raise CaptionFormatError(f"{name}: not {encoding_label(codec)} text ({e.reason} at byte {e.start})") from e
    for bom, codec in _BOMS:
        if data.startswith(bom):
            label = encoding_label(codec)
            try:
                return data[len(bom):].decode(codec), f"{label} with BOM"
            except UnicodeDecodeError as e:
                raise CaptionFormatError(f"{name}: starts with a {label} byte-order mark but is not {label} text "
                                         f"({e.reason} at byte {e.start})") from e
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as e:
        utf8_error = e
    if b"\x00" not in data and (mixed := _mixed(data)) is not None:
        return mixed
    guess = _detect(data)
    if guess is None:
        raise CaptionFormatError(
            f"{name}: not text: not UTF-8 ({utf8_error.reason} at byte {utf8_error.start}) and no other text "
            "encoding fits") from utf8_error
    return data.decode(guess), encoding_label(guess)
