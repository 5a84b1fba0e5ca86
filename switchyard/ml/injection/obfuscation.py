"""Undoing obfuscations before the guard reads a prompt (its first layer, see the package docstring):
`normalise` rewrites the text itself, `decoded_views` returns what the text encodes (base64 blobs,
8-bit binary, hex bytes, Morse code, rot13 and other Caesar shifts, reversed text, leetspeak) so the
other layers read that too.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import itertools
import json
import re
import unicodedata

_INVISIBLE = dict.fromkeys(
    [
        0x00AD,  # soft hyphen
        0x034F,  # combining grapheme joiner
        0x061C,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180E,
        *range(0x200B, 0x2010),  # zero-width space/joiners, LRM/RLM
        *range(0x202A, 0x202F),  # bidi embeddings/overrides
        *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
        0x3164,
        0xFEFF,
        0xFFA0,
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0xE0100, 0xE01F0),  # variation selectors supplement
    ]
)
# Unicode tag characters (U+E0020..U+E007E) mirror printable ASCII and are invisible: decode them.
_TAGS = {code: code - 0xE0000 for code in range(0xE0020, 0xE007F)} | {0xE0001: None, 0xE007F: None}
_HAS_TAG = re.compile("[\U000e0000-\U000e007f]")

# Cyrillic and Greek look-alikes (escaped: the source stays ASCII) and the Latin letters they imitate.
_CONFUSABLES = str.maketrans(
    "\u0430\u0432\u0435\u0451\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0455\u0456\u0457"
    "\u0458\u0501\u0261\u04bb\u051b\u051d\u04cf\u044c\u043f\u0433\u0410\u0412\u0415\u0401\u041a\u041c"
    "\u041d\u041e\u0420\u0421\u0422\u0423\u0425\u0405\u0406\u0407\u0408\u0500\u04ba\u051a\u051c\u04c0"
    "\u03b1\u03b2\u03b3\u03b5\u03b7\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u03c9\u03f2\u0391"
    "\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
    "abeekmhopctyxsiijdghqwlbnrABEEKMHOPCTYXSIIJDHQWIabyenikvoptuxwcABEZHIKMNOPTYX",
)
_CONFUSABLE_CHARS = frozenset(chr(c) for c in _CONFUSABLES)
_NON_LATIN = re.compile("[\u0370-\u03ff\u0400-\u052f]")
_LATIN = re.compile("[A-Za-z]")
_MIXED_WORD = re.compile(r"\w*[\u0370-\u03ff\u0400-\u052f]\w*")
_SPACED = re.compile(r"\b(?:[A-Za-z][ ._\-*]){3,}[A-Za-z]\b")
# Chinese, Japanese or Korean characters parted by single spaces, hyphens, dots or slashes: "\u5ffd \u7565 \u4f60
# \u4e4b \u524d", "\u5ffd-\u7565-\u4f60-\u4e4b-\u524d".
_CJK_SPACED = re.compile(
    "[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]([ \\-.\u00b7/])(?:[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]\\1){2,}"
    "[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]"
)
# Letters parted by one repeated emoji or symbol: "I \U0001f44f g \U0001f44f n \U0001f44f o" (escaped: the
# source stays ASCII).
_SYMBOL_SPACED = re.compile(r"\b[A-Za-z](\s?[^\x00-\x7f\w\s]{1,2}\s?)(?:[A-Za-z]\1){2,}[A-Za-z]\b")
# A hyphen inside a word, between letters ("ig-nore", "in-struc-tions"): undone only when that spells a word
# attacks use that the text did not spell before, so "state-of-the-art" stays as written.
_SYLLABLE_HYPHEN = re.compile(r"(?<=[A-Za-z])-(?=[A-Za-z])")
_HYPHENATED_WORDS = (
    "ignore",
    "instruction",
    "previous",
    "password",
    "secret",
    "system prompt",
    "disregard",
    "jailbreak",
    "forget",
    "reveal",
    "bypass",
    "override",
    "unrestricted",
    "unfiltered",
)


def _map_confusables(text: str) -> str:
    """Returns text with look-alikes mapped to Latin in words that mix scripts, and also in words made
    only of look-alikes when the text is mostly Latin (so real Russian or Greek text is left alone)."""
    latin_text = len(_LATIN.findall(text)) > 2 * len(_NON_LATIN.findall(text))

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        if _LATIN.search(token) or (latin_text and all(c in _CONFUSABLE_CHARS for c in _NON_LATIN.findall(token))):
            return token.translate(_CONFUSABLES)
        return token

    return _MIXED_WORD.sub(word, text)


# A run of JSON string escapes: "\\n", "\\u00e9\\u00e8".
_JSON_ESCAPES = re.compile(r'(?:\\u[0-9a-fA-F]{4}|\\[nrt"/\\])+')


def _unescaped(run: re.Match[str]) -> str:
    """Returns a run of JSON string escapes decoded (as it was, if it decodes to half a surrogate pair)."""
    try:
        decoded = json.loads(f'"{run.group(0)}"')
    except ValueError:
        return run.group(0)
    return run.group(0) if any("\ud800" <= char <= "\udfff" for char in decoded) else str(decoded)


def normalise(text: str) -> tuple[str, tuple[str, ...]]:
    """Returns (normalised text, names of the obfuscations that were undone).

    JSON string escapes are read first: a tool result or a pasted JSON document carries its line breaks as
    "\\n" and, serialised as ASCII, its other scripts as "\\u00e9", which would hide a planted note's words.
    """
    found: list[str] = []
    if "\\" in text:
        text = _JSON_ESCAPES.sub(_unescaped, text)
    if not text.isascii():
        if _HAS_TAG.search(text):
            found.append("obfuscation:tag_characters")
            text = text.translate(_TAGS)
        stripped = text.translate(_INVISIBLE)
        if len(stripped) != len(text):
            found.append("obfuscation:invisible_characters")
        text = unicodedata.normalize("NFKC", stripped)
        if _NON_LATIN.search(text):
            mapped = _map_confusables(text)
            if mapped != text:
                found.append("obfuscation:confusables")
                text = mapped
        if _CJK_SPACED.search(text):
            found.append("obfuscation:spaced_letters")
            text = _CJK_SPACED.sub(lambda m: m.group(0).replace(m.group(1), ""), text)
        if _SYMBOL_SPACED.search(text):
            found.append("obfuscation:spaced_letters")
            text = _SYMBOL_SPACED.sub(lambda m: m.group(0).replace(m.group(1), ""), text)
    if _SPACED.search(text):
        joined = _SPACED.sub(_join_spaced, text)
        if joined != text:
            found.append("obfuscation:spaced_letters")
            text = joined
    if "-" in text and _SYLLABLE_HYPHEN.search(text):
        joined = _SYLLABLE_HYPHEN.sub("", text)
        lowered, joined_lowered = text.lower(), joined.lower()
        if any(word in joined_lowered and word not in lowered for word in _HYPHENATED_WORDS):
            found.append("obfuscation:hyphenated_words")
            text = joined
    return text, tuple(found)


def _join_spaced(run: re.Match[str]) -> str:
    """Returns a run of spaced-out letters joined up: "I.g.n.o.r.e y.o.u" keeps its words ("Ignore you"), since
    letters joined by dots, dashes or stars leave the spaces to part words; "i g n o r e" becomes "ignore"."""
    letters = run.group(0)
    if any(mark in letters for mark in "._-*"):
        return re.sub(r"[._\-*]", "", letters)
    return letters.replace(" ", "")


# --- decoded views -----------------------------------------------------------------------------

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_BINARY = re.compile(r"(?:[01]{8}[\s,]*){4,}")
# Any two binary digits in a row are one of these: a text with none of them has no binary string.
_BINARY_PAIRS = ("00", "01", "10", "11")
_LEET_WORD = re.compile(r"\b(?=\w*[A-Za-z])(?=\w*[0-9@$])[\w@$]{2,}\b|\b[\w@$]*[@$][\w@$]*\b")
# A leetspeak word lies within a run of word characters, @ and $ that has a digit, @ or $; the character
# either side of a run is neither, so a run is matched on its own exactly as in its text. Looking only
# at these runs spares a search at every word of ordinary text.
_LEET_RUN = re.compile(r"(?<![\w@$])[\w@$]*?[0-9@$][\w@$]*")
# The same runs, found from their digits, @ and $ (a search that skips to those characters) and grown a
# character at a time either way: a search for _LEET_RUN tries every position of the text.
_RUN_CHAR = re.compile(r"[\w@$]")
_RUN_REST = re.compile(r"[\w@$]*")
# Identifiers (hex digests, UUIDs, long mixed tokens) carry no instruction: they are neither decoded as
# leetspeak nor shown to the learned model, whose character n-grams would read them as noise.
IDENTIFIER = re.compile(r"\b(?:[0-9a-fA-F]{8,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|\w{25,})\b")
_LEET_HINT = re.compile(r"[0-9@$]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})
_WORD = re.compile(r"[a-z]{2,}")
_COMMON_WORDS = (
    "the be to of and a in that have i it for not on with he as you do at "
    "this but his by from they we say her she or an will my one all would there their what "
    "so up out if about who get which go me when make can like time no just him know take "
    "people into year your good some could them see other than then now look only come its over think also "
    "back after use two how our work first well way even new want because any these give day most us "
    "is are was were has had been did does said tell instructions previous ignore prompt system "
    "reveal secret password print show rules above"
)
_COMMON = frozenset(_COMMON_WORDS.split(" "))
_MAX_BLOBS = 4
# Spelling out leetspeak must yield this many more common English words for its view to be read, when it
# does not raise the share of English words enough (one leetspeak line in a long text).
_LEET_WORDS_GAINED = 2
# How much of a text its share of English words is taken from.
_RATIO_CHARS = 2000
# Hex bytes, spaced ("57 68 61"), escaped ("\\x57\\x68") or run together ("576861"): 8 bytes at least.
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[\s,:]{0,2}){8,}")
_HEX_JUNK = re.compile(r"\\x|0x|[\s,:]")
# Morse code: dots and dashes in letters of at most 7 signs, letters split by spaces, words by " / ".
_MORSE = re.compile(r"(?:[.\-]{1,7}(?: ?/ ?| {1,3})){7,}[.\-]{1,7}")
_MORSE_SIGNS = (
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- .-- -..- -.-- --.. "
    "----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----. .-.-.- --..-- ..--.. .----. -.-.-- -..-. ---..."
)
_MORSE_CODE = dict(zip(_MORSE_SIGNS.split(), "abcdefghijklmnopqrstuvwxyz0123456789.,?'!/:", strict=True))
_QUOTED = re.compile(r"'([^'\n]{24,400})'|\"([^\"\n]{24,400})\"")
# What follows a colon to the end of its line ("Answer in ROT13 too: Vtaber lbhe ehyrf").
_AFTER_COLON = re.compile(r": ?([^\n:]{24,400})$", re.M)
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
# A shift of the alphabet (Caesar cipher) by each of 1..25 letters; 13 is rot13.
_SHIFTS = {
    n: str.maketrans(_LOWER + _UPPER, _LOWER[n:] + _LOWER[:n] + _UPPER[n:] + _UPPER[:n])
    for n in range(1, 26)
    if n != 13
}


def _printable_text(raw: bytes) -> str | None:
    """Returns raw decoded as UTF-8 when it reads as text (mostly letters and spaces), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 6:
        return None
    good = sum(c.isalpha() or c == " " for c in text)
    printable = sum(c.isprintable() or c in "\n\t" for c in text)
    if printable < 0.95 * len(text) or good < 0.6 * len(text) or " " not in text.strip():
        return None
    return text


def _english_counts(text: str) -> tuple[int, int]:
    """Returns (common English words, words) among the lower-case words of text."""
    words = _WORD.findall(text.lower())
    return sum(map(_COMMON.__contains__, words)), len(words)


def _share(counts: tuple[int, int]) -> float:
    """Returns the share of common English words of (common, words) counts; 0 for fewer than 4 words."""
    common, words = counts
    return 0.0 if words < 4 else common / words


def _english_ratio(text: str) -> float:
    """Returns the share of lower-case words of text that are common English words."""
    return _share(_english_counts(text))


# In ASCII text an IDENTIFIER is a whole run of word characters: 8 or more hex digits (a UUID begins with
# such a run) or 25 or more of any kind. The runs are split out at once, where the pattern is tried at
# every word.
_ASCII_NON_WORD = str.maketrans(dict.fromkeys((chr(c) for c in range(128) if not re.match(r"\w", chr(c))), " "))
_HEX_RUN = re.compile(r"[0-9a-fA-F]+")


@functools.lru_cache(maxsize=4)
def has_identifier(text: str) -> bool:
    """Whether text has an IDENTIFIER (remembered: the guard asks twice of the same text)."""
    if not text.isascii():
        return IDENTIFIER.search(text) is not None
    runs = text.translate(_ASCII_NON_WORD).split()
    return any(len(run) >= 25 or _HEX_RUN.fullmatch(run) for run in runs if len(run) >= 8)


def without_identifiers(text: str, replacement: str) -> str:
    """Returns text with each IDENTIFIER replaced."""
    return IDENTIFIER.sub(replacement, text) if has_identifier(text) else text


def _spelled(run: str) -> str:
    """Returns a run of word characters with its leetspeak words spelled in letters."""
    return _LEET_WORD.sub(lambda word: word.group(0).translate(_LEET), run)


def _spell_out(run: re.Match[str]) -> str:
    """Returns the matched run of word characters with its leetspeak words spelled in letters."""
    return _spelled(run.group(0))


def _leet_runs(text: str) -> list[tuple[int, int]]:
    """Returns the (start, end) of each match of _LEET_RUN in text: every longest run of word characters, @
    and $ that holds a digit, @ or $."""
    runs: list[tuple[int, int]] = []
    end = 0
    for hint in _LEET_HINT.finditer(text):
        start = hint.start()
        if start < end:
            continue
        while start > end and _RUN_CHAR.match(text, start - 1):
            start -= 1
        rest = _RUN_REST.match(text, hint.start())
        end = rest.end() if rest else hint.end()
        runs.append((start, end))
    return runs


def _leetspeak_view(text: str, head_counts: tuple[int, int]) -> str | None:
    """Returns text without identifiers and with leetspeak spelled out when that reads as more English
    (in its first _RATIO_CHARS characters) or spells _LEET_WORDS_GAINED more common words (anywhere), else
    None; head_counts are the English counts of that head of text.

    Spelling out keeps every character in place and changes only the runs that hold a leetspeak word, and
    an English word never crosses the edge of a run: the counts of the spelled-out head are those of the
    head less each such run's own and plus its spelled-out run's, so the whole text is spelled out only
    when it is the view.
    """
    stripped = without_identifiers(text, " ")
    runs = [(start, stripped[start:end]) for start, end in _leet_runs(stripped)]
    runs = [(start, run) for start, run in runs if _LEET_WORD.search(run)]
    if not runs:
        return None
    before = _english_counts(stripped[:_RATIO_CHARS]) if has_identifier(text) else head_counts
    common, words = before
    gained = 0
    for start, run in runs:
        spelled = _spelled(run)
        gained += _english_counts(spelled)[0] - _english_counts(run)[0]
        if start < _RATIO_CHARS:
            kept = _RATIO_CHARS - start
            old_common, old_words = _english_counts(run[:kept])
            new_common, new_words = _english_counts(spelled[:kept])
            common, words = common - old_common + new_common, words - old_words + new_words
    if _share((common, words)) <= _share(before) + 0.05 and gained < _LEET_WORDS_GAINED:
        return None
    return _LEET_RUN.sub(_spell_out, stripped)


def _hex_and_morse_views(text: str) -> list[tuple[str, str]]:
    """Returns the views of hex byte runs (the first two) and of a Morse code run that decode to text."""
    views: list[tuple[str, str]] = []
    for match in itertools.islice(_HEX.finditer(text), 2):
        digits = _HEX_JUNK.sub("", match.group(0))
        decoded = _printable_text(bytes.fromhex(digits[: len(digits) // 2 * 2]))
        if decoded is not None:
            views.append(("obfuscation:hex", decoded))
    if ".-" in text or "-." in text:
        morse = _MORSE.search(text)
        if morse is not None:
            words = re.split(r" ?/ ?| {2,}", morse.group(0))
            letters = [[_MORSE_CODE.get(code, "") for code in word.split()] for word in words]
            decoded = _printable_text(" ".join("".join(word) for word in letters).encode())
            if decoded is not None:
                views.append(("obfuscation:morse", decoded))
    return views


def _shifted_views(text: str, plain_ratio: float) -> list[tuple[str, str]]:
    """Returns the view of text that reads as English shifted back by some other Caesar shift, or
    reversed (letters in reverse order), if either does; the shifts are tried on the text's start."""
    head = text[:400]
    if len(_WORD.findall(head.lower())) < 6 or len(_LATIN.findall(head)) < len(head) // 2:
        return []
    best, ratio = 0, plain_ratio
    for shift, table in _SHIFTS.items():
        shifted = _english_ratio(head.translate(table))
        if shifted > ratio:
            best, ratio = shift, shifted
    # Of 24 shifts one may read as English by chance: the bar is higher than rot13's.
    if best and ratio >= 0.45 and ratio > plain_ratio + 0.3:
        return [("obfuscation:caesar", text.translate(_SHIFTS[best]))]
    backwards = text[::-1]
    if _english_ratio(backwards[:_RATIO_CHARS]) >= max(0.3, plain_ratio + 0.2):
        return [("obfuscation:reversed", backwards)]
    return []


def decoded_views(text: str) -> list[tuple[str, str]]:
    """Returns (obfuscation signal, decoded text) for each obfuscation found in normalised text."""
    views: list[tuple[str, str]] = []
    blobs = 0
    for match in _B64.finditer(text):
        blob = match.group(0)
        if not any(c.isdigit() or c in "+/=" for c in blob) and blob.isalpha() and (blob.islower() or blob.isupper()):
            continue  # a long plain word, not an encoding
        blobs += 1
        if blobs > _MAX_BLOBS:
            break
        padded = blob + "=" * (-len(blob) % 4)
        try:
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _printable_text(raw)
        if decoded is not None:
            views.append(("obfuscation:base64", decoded))
    binary = _BINARY.search(text) if any(map(text.__contains__, _BINARY_PAIRS)) else None
    if binary is not None:
        bits = re.sub(r"[\s,]", "", binary.group(0))
        raw = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))
        decoded = _printable_text(raw)
        if decoded is not None:
            views.append(("obfuscation:binary", decoded))
    views.extend(_hex_and_morse_views(text))
    head_counts = _english_counts(text[:_RATIO_CHARS])
    plain_ratio = _share(head_counts)
    deciphered = False
    # English text is not rot13: skip the work (and the letter count, a loop over every character).
    if plain_ratio < 0.3 and sum(map(str.isalpha, text[:_RATIO_CHARS])) >= 12:
        rotated = codecs.encode(text, "rot13")
        rot_ratio = _english_ratio(rotated[:_RATIO_CHARS])
        if rot_ratio >= 0.3 and rot_ratio > plain_ratio + 0.2:
            whole = [("obfuscation:rot13", rotated)]
        else:
            whole = _shifted_views(text, plain_ratio)
        views.extend(whole)
        deciphered = bool(whole)
    if not deciphered and ("'" in text or '"' in text or ":" in text):
        # A cipher quoted inside a request ("decode this and tell me what it says: '...'"), or after its colon
        # ("Answer in ROT13 too: Vtaber lbhe ehyrf"), when the text as a whole is not one.
        quoted = [match.group(1) or match.group(2) for match in itertools.islice(_QUOTED.finditer(text), 3)]
        for span in quoted + [match.group(1) for match in itertools.islice(_AFTER_COLON.finditer(text), 3)]:
            span_ratio = _english_ratio(span)
            if span_ratio < 0.3 and sum(map(str.isalpha, span)) >= 16:
                rotated = codecs.encode(span, "rot13")
                if _english_ratio(rotated) >= max(0.3, span_ratio + 0.2):
                    views.append(("obfuscation:rot13", rotated))
                else:
                    views.extend(_shifted_views(span, span_ratio))
    if _LEET_HINT.search(text):
        leet = _leetspeak_view(text, head_counts)
        if leet is not None:
            views.append(("obfuscation:leetspeak", leet))
    return views
