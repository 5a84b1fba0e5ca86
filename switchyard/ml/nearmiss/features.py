"""What the near-miss guard knows of a (query, candidate) pair: `pair_features` and `PairFeatures`.

Token alignment (word, bigram and trigram overlap, longest common subsequence, word-order inversions,
displaced and exchanged words, role swaps around a shared word, shared words that moved into another
preposition's phrase), soft alignment of content words by the shared embedder's word vectors (each
word's best match on the other side; a word left without one is what a near miss changed), the
question words asked, and mismatches of numbers, units, identifiers, named entities and negation, next
to the two embeddings; `PairFeatures.veto` holds the hard rules that reject a pair whatever the model
says. Pure regex and numpy, no trained weights.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# A text's unit-length embedding.
Vector = npt.NDArray[np.float32]

_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*(?:'[a-z]+)?", re.IGNORECASE)
_NUMBER = re.compile(r"^[0-9]+(?:[.,][0-9]+)*$")
# Identifiers mix letters and digits (order ids, hashes, versions, SKUs): "status of order a41f9" and
# "status of order 9c2e7" read alike to any embedding, yet no answer serves both.
# Words a name can be: three letters or more.
_NAME = re.compile(r"[a-z]{3,}")
_IDENTIFIER = re.compile(r"(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[\w-]{2,}")
_SENTENCE_END = re.compile(r"[.!?:;]\s*$")


def _words(text: str) -> tuple[str, ...]:
    """Returns the space-separated words of a word-list literal."""
    return tuple(text.split())


_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        _words(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen twenty"
        )
    )
}
_NUMBER_WORDS.update(thirty="30", forty="40", fifty="50", hundred="100", thousand="1000", million="1000000")
# Quantities said in words: "a half marathon" is not "a marathon", "twice a day" not "a day".
_NUMBER_WORDS.update(half="0.5", quarter="0.25", double="2", twice="2", triple="3", dozen="12")
# "one" is as often a pronoun or an article as a count ("which one should I buy", "live on Mars one
# day"): it counts as a number only against a side that has a 1 of its own.
_SOFT_ONE = "one"
_NEGATIONS = frozenset(
    _words(
        "not n't no never none nothing nobody nowhere neither nor without cannot can't won't don't doesn't didn't "
        "isn't aren't wasn't weren't shouldn't wouldn't couldn't hasn't haven't hadn't mustn't needn't"
    )
)
# Function words: they carry grammar, not the question's subject. Question words are kept out of this
# list on purpose ("how" and "why" ask different things).
_STOPWORDS = frozenset(
    _words(
        "a an the and or but if then so than that this these those there here it its it's of to in on at by for "
        "from with as into onto about over under between through during before after above below up down out "
        "again further once is are was were be been being am do does did doing done have has had having i "
        "me my mine we us our you your yours he him his she her hers they them their theirs myself yourself "
        "itself themselves can could would should will shall may might must also just very too quite really "
        "please some any each every all both few more most other such only own same s t d ll m re ve y "
        "'s get got make made let tell give show"
    )
)
_ROLE_REASON = "roles swapped"
# Units of measure by one name each (after the plural "s" is dropped): "in meters" and "in feet", "for 2
# weeks" and "for 2 months" ask for different answers; "km" and "kilometres" for the same one.
_UNITS = {
    **dict.fromkeys(_words("m meter metre"), "m"),
    **dict.fromkeys(_words("km kms kilometer kilometre"), "km"),
    **dict.fromkeys(_words("cm centimeter centimetre"), "cm"),
    **dict.fromkeys(_words("mm millimeter millimetre"), "mm"),
    **dict.fromkeys(_words("ft feet foot"), "ft"),
    **dict.fromkeys(_words("inch inche inches"), "inch"),
    **dict.fromkeys(_words("yard yd"), "yard"),
    **dict.fromkeys(_words("mi mile"), "mile"),
    **dict.fromkeys(_words("kg kilogram kilo"), "kg"),
    **dict.fromkeys(_words("g gram"), "g"),
    **dict.fromkeys(_words("mg milligram"), "mg"),
    **dict.fromkeys(_words("lb lbs pound"), "lb"),
    **dict.fromkeys(_words("oz ounce"), "oz"),
    **dict.fromkeys(_words("l liter litre"), "l"),
    **dict.fromkeys(_words("ml milliliter millilitre"), "ml"),
    **dict.fromkeys(_words("gallon"), "gallon"),
    **dict.fromkeys(_words("mph"), "mph"),
    **dict.fromkeys(_words("kmh kph"), "kmh"),
    **dict.fromkeys(_words("celsius centigrade"), "celsius"),
    **dict.fromkeys(_words("fahrenheit"), "fahrenheit"),
    **dict.fromkeys(_words("minute min mins"), "minute"),
    **dict.fromkeys(_words("hour hr hrs h"), "hour"),
    **dict.fromkeys(_words("day"), "day"),
    **dict.fromkeys(_words("week"), "week"),
    **dict.fromkeys(_words("month"), "month"),
    **dict.fromkeys(_words("year yr yrs"), "year"),
    **dict.fromkeys(_words("decade"), "decade"),
    **dict.fromkeys(_words("century"), "century"),
    # Days said relative to now: "weather today" is not "weather tomorrow".
    **{word: word for word in _words("today tonight tomorrow yesterday weekend")},
}
# What a question asks for, by its question word: "who wrote X" and "when was X written" share their
# subject and ask different things. "how" counts with the word after it ("how long" is not "how often").
_ASKS = frozenset(_words("who whom whose when where why what which how"))
_HOW = frozenset(_words("long much many often old tall far big fast"))
# The question words that ask for one kind of answer: a person, a time, a place or a reason.
_ANSWER_KINDS = {"who": "who", "whom": "who", "when": "when", "where": "where", "why": "why"}
# Words that give the words around them a direction: "from Europe to the US" is not "from the US to
# Europe", "English to French" not "French to English", "bigger than" runs one way.
_DIRECTIONS = frozenset(_words("to into from than vs versus over against for"))
# Words that tie the phrase after them to the rest of the sentence: which phrase each one takes says which
# role its words play ("moved to New York from Chapel Hill" / "from New York to Chapel Hill", "rocky with
# steep sides" / "steep with rocky sides").
_PREPOSITIONS = frozenset(
    _words(
        "of in on at by for from to with into onto about over under between through during before after above "
        "below against without as via per than like toward towards"
    )
)
# A preposition's phrase is at most this many content words: enough for "the 33d Fighter Group".
_PHRASE_WORDS = 3
# The most common function words of the languages users most often write in besides English: a text
# whose words are mostly of one list is taken to be in that language. An answer in one language never
# serves a question in another, even the same question translated.
_LANGUAGES = {
    "en": frozenset(_words("the is are was of and to in what how why who which where when does do can you i it")),
    "de": frozenset(_words("der die das ist sind und zu mit wie was warum wer wo wann ich ein eine nicht für auf")),
    "fr": frozenset(_words("le la les est sont et de des du un une que qui quoi pourquoi comment où je pour pas")),
    "es": frozenset(_words("el la los las es son y de del un una que qué cómo por para dónde cuál no con")),
    "it": frozenset(_words("il lo la gli le è sono e di del un una che cosa come perché dove non per con")),
    "pt": frozenset(_words("o os as é são e do da dos um uma que como por para onde não com você qual")),
    "nl": frozenset(_words("de het een is zijn en van wat hoe waarom wie waar wanneer ik niet met voor op")),
}


def _tokens(text: str) -> list[tuple[str, str, bool]]:
    """Returns (normalised word, word as written, starts a sentence) for each word of text."""
    out: list[tuple[str, str, bool]] = []
    last_end = 0
    for match in _WORD.finditer(text):
        raw = match.group()
        starts = not out or bool(_SENTENCE_END.search(text[last_end : match.start()]))
        last_end = match.end()
        word = raw.lower().replace(",", "") if _NUMBER.match(raw) else raw.lower()
        if raw == "US":
            # The country, not the pronoun "us" (a function word): "from Europe to the US" has a direction.
            word = "usa"
        word = _NUMBER_WORDS.get(word, word)
        if word.endswith("'s"):
            word = word[:-2]
        if (
            len(word) > 3
            and word.endswith("s")
            and not word.endswith("ss")
            and word not in _STOPWORDS  # "does", "this": not the plural of "doe", "thi"
            and not _NUMBER.match(word)
        ):
            word = word[:-1]
        out.append((word, raw, starts))
    return out


def _lcs(a: list[str], b: list[str]) -> int:
    """Returns the length of the longest common subsequence of two word lists (bit-parallel, Hyyrö 2004)."""
    masks: dict[str, int] = {}
    for position, word in enumerate(b):
        masks[word] = masks.get(word, 0) | (1 << position)
    full = (1 << len(b)) - 1
    row = full
    for word in a:
        matched = row & masks.get(word, 0)
        row = ((row + matched) | (row - matched)) & full
    return len(b) - row.bit_count()


def _order(a: list[str], b: list[str]) -> tuple[float, float]:
    """Returns (share of inverted pairs, share of inverted pairs with a shared word between them).

    Over the content words both sides use exactly once: "Alice sued Bob" vs "Bob sued Alice" inverts
    (alice, bob) around "sued", a role swap; a moved clause inverts pairs with nothing between them.
    """
    shared = _shared_once(a, b)
    if len(shared) < 2:
        return 0.0, 0.0
    # shared is in a's order, so a pair (i < j) is inverted when b has them the other way round, and
    # pivoted when a word between them in a is also between them in b. Plain loops: a question has a
    # dozen such words, too few for arrays to pay off on the hot path.
    pb = [b.index(w) for w in shared]
    inverted = pivoted = 0
    for i, first in enumerate(pb):
        for j in range(i + 1, len(pb)):
            if first > pb[j]:
                inverted += 1
                pivoted += any(pb[j] < pb[k] < first for k in range(i + 1, j))
    pairs = len(shared) * (len(shared) - 1) / 2
    return inverted / pairs, pivoted / pairs


def _shared_once(a: list[str], b: list[str]) -> list[str]:
    """Returns the content words each side uses exactly once, in a's order."""
    return [w for w in dict.fromkeys(a) if w not in _STOPWORDS and a.count(w) == 1 and b.count(w) == 1]


def _context(a: list[str], b: list[str]) -> tuple[float, float]:
    """Returns (share of shared words that lost both neighbours, share whose place another shared word took).

    A moved clause keeps its words next to the same words, except at its edges; a swap of two words
    ("BARLA Cumbria ... Britain" vs "BARLA Britain ... Cumbria") puts each into the other's context.
    """
    shared = _shared_once(a, b)
    if not shared:
        return 0.0, 0.0
    edge_a, edge_b = ["<s>", *a, "</s>"], ["<s>", *b, "</s>"]
    displaced: set[str] = set()
    for word in shared:
        i, j = a.index(word) + 1, b.index(word) + 1
        if edge_a[i - 1] != edge_b[j - 1] and edge_a[i + 1] != edge_b[j + 1]:
            displaced.add(word)
    exchanged = 0
    for word in displaced:
        i = a.index(word) + 1
        left, right = edge_a[i - 1], edge_a[i + 1]
        exchanged += any(
            edge_b[j] in displaced and edge_b[j] != word and (edge_b[j - 1] == left or edge_b[j + 1] == right)
            for j in range(1, len(edge_b) - 1)
        )
    return len(displaced) / len(shared), exchanged / len(shared)


def _phrases(words: list[str]) -> dict[str, set[str]]:
    """Returns the content words of the phrases each preposition of a text takes, by preposition.

    A phrase starts at the first content word after its preposition and ends before the next function,
    question or preposition word: "consolidated with the 33d Fighter Group as ..." gives "with": {"33d",
    "fighter", "group"}.
    """
    found: dict[str, set[str]] = {}
    for index, word in enumerate(words):
        if word not in _PREPOSITIONS:
            continue
        phrase: list[str] = []
        for after in words[index + 1 : index + 1 + 2 * _PHRASE_WORDS]:
            if after in _STOPWORDS or after in _ASKS or after in _PREPOSITIONS:
                if phrase:
                    break
                continue
            phrase.append(after)
            if len(phrase) == _PHRASE_WORDS:
                break
        if phrase:
            found.setdefault(word, set()).update(phrase)
    return found


def _moved_phrases(a: list[str], b: list[str], ca: set[str], cb: set[str]) -> float:
    """Returns the share of the words in prepositional phrases that the other side uses too, but outside
    the same preposition's phrases: the same bag of words, with another word in the role.

    Over the prepositions both sides use. "Putnam County ... in Jennings Township" and "Jennings Township
    in Putnam County" put all four words in another role, as "rocky with steep sides" and "steep with
    rocky sides" do two. A phrase with a word more ("for data analysis" / "for data analysis work"), a
    reworded one ("in Python" / "using Python") or another word in it (a substitution, measured
    elsewhere) moves none.
    """
    pa, pb = _phrases(a), _phrases(b)
    attached = moved = 0
    for preposition in pa.keys() & pb.keys():
        wa, wb = pa[preposition], pb[preposition]
        attached += len(wa) + len(wb)
        moved += len((wa - wb) & cb) + len((wb - wa) & ca)
    return moved / attached if attached else 0.0


def _entities(tokens: list[tuple[str, str, bool]]) -> dict[str, str]:
    """Returns the capitalised words that do not start a sentence (names, places, products): normalised to written."""
    return {
        word: raw.removesuffix("'s")
        for word, raw, starts in tokens
        if raw[0].isupper() and not starts and word not in _STOPWORDS
    }


@dataclass(frozen=True)
class PairFeatures:
    """What the guard knows of a (query, candidate) pair: its scalar features and the embeddings."""

    NAMES = (
        "cosine",
        "log_distance",
        "word_jaccard",
        "content_jaccard",
        "bigram_jaccard",
        "trigram_jaccard",
        "lcs_ratio",
        "inverted_pairs",
        "pivoted_pairs",
        "displaced_words",
        "exchanged_words",
        "unmatched_content",
        "substituted_content",
        "numbers_differ",
        "entities_differ",
        "entities_substituted",
        "negation_differs",
        "length_ratio",
        "diff_norm_l1",
        "log_words",
        "languages_differ",
        "substitution_similarity",
        "aligned_mean",
        "aligned_least",
        "unaligned_words",
        "units_differ",
        "asks_differ",
        "moved_phrases",
        "asks_conflict",
    )
    EMBEDDING_TERMS = 2  # |a - b| and a ⊙ b, one block of the embedding's width each

    scalars: tuple[float, ...]
    query_vec: Vector
    candidate_vec: Vector
    numbers: tuple[tuple[str, ...], tuple[str, ...]]
    entities: tuple[tuple[str, ...], tuple[str, ...]]
    substituted: tuple[tuple[str, ...], tuple[str, ...]]
    identifiers: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    languages: tuple[str, str] = ("", "")
    direction_swapped: bool = False
    units: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    def __getitem__(self, name: str) -> float:
        return self.scalars[self.NAMES.index(name)]

    def embedding_terms(self) -> npt.NDArray[np.float64]:
        """Returns |a - b| then a ⊙ b of the two embeddings: what the embedding score reads."""
        a = self.query_vec.astype(np.float64)
        b = self.candidate_vec.astype(np.float64)
        return np.concatenate([np.abs(a - b), a * b])

    def veto(self) -> str:
        """Returns why the pair can never be the same question, or "" when no hard rule applies."""
        if self.direction_swapped:
            return _ROLE_REASON
        if self["languages_differ"]:
            return f"languages differ: {self.languages[0]} vs {self.languages[1]}"
        if self.numbers[0] != self.numbers[1]:
            return f"numbers differ: {' '.join(self.numbers[0]) or '-'} vs {' '.join(self.numbers[1]) or '-'}"
        if self.identifiers[0] != self.identifiers[1]:
            left, right = (
                sorted(self.identifiers[0] - self.identifiers[1]),
                sorted(self.identifiers[1] - self.identifiers[0]),
            )
            return f"identifiers differ: {' '.join(left[:2]) or '-'} vs {' '.join(right[:2]) or '-'}"
        if self["negation_differs"]:
            return "negation differs"
        if self["asks_conflict"]:
            return "asks for another kind of answer"
        if self["units_differ"]:
            return f"units differ: {' '.join(self.units[0])} vs {' '.join(self.units[1])}"
        if self["entities_substituted"]:
            return f"entities differ: {', '.join(self.entities[0])} vs {', '.join(self.entities[1])}"
        return ""

    def explain(self) -> str:
        """Returns the most telling difference of a pair the model rejected, or "" when none stands out."""
        if self["pivoted_pairs"] > 0:
            return _ROLE_REASON
        if self.entities[0] or self.entities[1]:
            return f"entities differ: {', '.join(self.entities[0]) or '-'} vs {', '.join(self.entities[1]) or '-'}"
        if self.substituted[0] and self.substituted[1]:
            return f"words differ: {', '.join(self.substituted[0])} vs {', '.join(self.substituted[1])}"
        return ""


def _jaccard(a: set[Any], b: set[Any]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


# Returns the unit-length embedding of a single word.
WordVector = Callable[[str], Vector]


def pair_features(
    query: str, candidate: str, query_vec: Vector, candidate_vec: Vector, word_vector: WordVector | None = None
) -> PairFeatures:
    """Returns the features of a (query, candidate) pair; pure regex and numpy, well under a millisecond.

    word_vector, when given, embeds single words: how alike the words one side put in place of the
    other's are ("quickest" for "fastest" is a synonym, "tall" for "old" asks something else).
    """
    ta, tb = _tokens(query), _tokens(candidate)
    a, b = [t[0] for t in ta], [t[0] for t in tb]
    sa, sb = set(a), set(b)
    ca, cb = sa - _STOPWORDS, sb - _STOPWORDS
    only_a = sorted(w for w in ca - cb if not _NUMBER.match(w))
    only_b = sorted(w for w in cb - ca if not _NUMBER.match(w))
    numbers_a, numbers_b = _numbers(ta, "1" in b), _numbers(tb, "1" in a)
    ents_a = tuple(raw for word, raw in _entities(ta).items() if word not in sb)
    ents_b = tuple(raw for word, raw in _entities(tb).items() if word not in sa)
    units_a = tuple(sorted({_UNITS[w] for w in a if w in _UNITS}))
    units_b = tuple(sorted({_UNITS[w] for w in b if w in _UNITS}))
    measured_a, measured_b = _measured(a), _measured(b)
    # The same number of another unit: "10 miles in km" asks the reverse of "how many miles is 10 km".
    units_swapped = any(measured_a[n] != measured_b[n] for n in measured_a.keys() & measured_b.keys())
    inverted, pivoted = _order(a, b)
    displaced, exchanged = _context(a, b)
    cosine = float(np.dot(query_vec, candidate_vec))
    longest = max(len(a), len(b), 1)
    lang_a, lang_b = _language(a), _language(b)
    content = max(len(ca | cb), 1)
    scalars = (
        cosine,
        math.log(max(1.0 - cosine, 1e-4)),
        _jaccard(sa, sb),
        _jaccard(ca, cb),
        _jaccard(set(itertools.pairwise(a)), set(itertools.pairwise(b))),
        _jaccard(set(zip(a, a[1:], a[2:], strict=False)), set(zip(b, b[1:], b[2:], strict=False))),
        _lcs(a, b) / longest,
        inverted,
        pivoted,
        displaced,
        exchanged,
        (len(only_a) + len(only_b)) / content,
        float(min(len(only_a), len(only_b)) > 0),
        float(numbers_a != numbers_b),
        float(bool(ents_a or ents_b)),
        float(bool(ents_a and ents_b)),
        float(sum(w in _NEGATIONS for w in a) % 2 != sum(w in _NEGATIONS for w in b) % 2),
        min(len(a), len(b)) / longest,
        float(np.abs(query_vec - candidate_vec).sum()),
        # Lets the trees treat a short chat query apart from a long sentence, where word order carries more.
        math.log1p(longest),
        float(bool(lang_a and lang_b and lang_a != lang_b)),
        _substitution_similarity(only_a, only_b, word_vector),
        *_alignment(ca, cb, word_vector),
        # Each side names a unit the other does not ("in meters" / "in feet"); "grams a day" / "per day" is
        # the same question with one unit more spelled out.
        float(bool(set(units_a) - set(units_b) and set(units_b) - set(units_a)) or units_swapped),
        float(_asks(a) != _asks(b)),
        _moved_phrases(a, b, ca, cb),
        _asks_conflict(a, b),
    )
    return PairFeatures(
        scalars,
        query_vec,
        candidate_vec,
        (numbers_a, numbers_b),
        (ents_a, ents_b),
        (tuple(only_a[:3]), tuple(only_b[:3])),
        (identifiers(query), identifiers(candidate)),
        (lang_a, lang_b),
        _directions(a) & {(right, left) for left, right in _directions(b) if left != right} != set(),
        (units_a, units_b),
    )


def _measured(words: list[str]) -> dict[str, frozenset[str]]:
    """Returns the units each number of a text is followed by ("10 miles" gives 10: mile)."""
    found: dict[str, set[str]] = {}
    for word, after in itertools.pairwise(words):
        if _NUMBER.match(word) and after in _UNITS:
            found.setdefault(word, set()).add(_UNITS[after])
    return {number: frozenset(units) for number, units in found.items()}


def _asks(words: list[str]) -> frozenset[str]:
    """Returns what a question asks for: its question words, "how" with the word after it."""
    asks = set()
    for index, word in enumerate(words):
        if word in _ASKS:
            after = words[index + 1] if index + 1 < len(words) else ""
            asks.add(f"how {after}" if word == "how" and after in _HOW else word)
    return frozenset(asks)


def _asks_conflict(a: list[str], b: list[str]) -> float:
    """Returns 1.0 when both sides open with a question word asking for a person, a time, a place or a
    reason, and not the same kind: "who wrote X" / "when was X published", "when did ..." / "where did
    ...". "what", "which" and "how" ask for anything ("what year" is a "when"), and a question word inside
    a sentence may open a clause ("the hearing, where he testified"), so neither counts."""
    first_a, first_b = (_ANSWER_KINDS.get(side[0], "") if side else "" for side in (a, b))
    return float(bool(first_a and first_b and first_a != first_b))


def _numbers(tokens: list[tuple[str, str, bool]], other_has_one: bool) -> tuple[str, ...]:
    """Returns a side's numbers, sorted; a "one" in words only when the other side has a 1 too."""
    return tuple(
        sorted(word for word, raw, _ in tokens if _NUMBER.match(word) and (other_has_one or raw.lower() != _SOFT_ONE))
    )


def early_veto(query: str, candidate: str) -> str:
    """Returns why a pair can never be the same question judging by what a regex alone finds (different
    identifiers: order ids, hashes, versions), or "": the cheap check that runs before any feature."""
    left, right = identifiers(query), identifiers(candidate)
    if left == right:
        return ""
    only_left, only_right = sorted(left - right), sorted(right - left)
    return f"identifiers differ: {' '.join(only_left[:2]) or '-'} vs {' '.join(only_right[:2]) or '-'}"


def renamed(query: str, candidate: str, pieces: Callable[[str], list[int]]) -> str:
    """Returns why a pair names two different things spelled alike ("numpy" / "sympy", "rabbitmq" /
    "activemq": a word of three or more word pieces on each side, all but the first shared), or "".

    The embedding and the word vectors see such names as near synonyms, and lower-case names are no
    entities to the other checks; a real paraphrase does not swap one for the other (none of the 5,114
    paraphrase pairs of the guard's training and held-out sets is refused by this).
    """
    left, right = set(_NAME.findall(query.lower())), set(_NAME.findall(candidate.lower()))
    mine = {word: spelled for word in left - right if len(spelled := pieces(word)) >= 3}
    if not mine:
        return ""
    for other in right - left:
        theirs = pieces(other)
        for word, spelled in mine.items():
            if theirs[1:] == spelled[1:] and theirs[0] != spelled[0]:
                return f"names differ: {word} vs {other}"
    return ""


# A lookup's query meets up to three candidates, and a stored text is a candidate of many lookups.
@functools.lru_cache(maxsize=1024)
def identifiers(text: str) -> frozenset[str]:
    """Returns the tokens of text that mix letters and digits, lower-cased: two texts whose sets differ
    are never the same question (early_veto), so the cache keeps them apart before any search."""
    return frozenset(match.group().lower() for match in _IDENTIFIER.finditer(text))


_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _code, _stop in _LANGUAGES.items():
    for _word in _stop:
        _LANGUAGES_OF[_word] = (*_LANGUAGES_OF.get(_word, ()), _code)


def _language(words: list[str]) -> str:
    """Returns the language most of a text's function words belong to ("" when none or a tie)."""
    counts = dict.fromkeys(_LANGUAGES, 0)
    for word in words:
        for code in _LANGUAGES_OF.get(word, ()):
            counts[code] += 1
    best = max(counts, key=counts.__getitem__)
    runner_up = max(count for code, count in counts.items() if code != best)
    # More of one language's function words than of any other's (they share some: "de", "la").
    return best if counts[best] > runner_up else ""


def _directions(words: list[str]) -> set[tuple[str, str]]:
    """Returns (before, after) content-word pairs around each direction word ("from X to Y" gives (x, y)
    around "to" and the word before "from" with x)."""
    content = [(i, w) for i, w in enumerate(words) if w not in _STOPWORDS]
    found: set[tuple[str, str]] = set()
    for index, word in enumerate(words):
        if word not in _DIRECTIONS:
            continue
        before = [w for i, w in content if i < index]
        after = [w for i, w in content if i > index]
        if before and after:
            found.add((before[-1], after[0]))
    return found


# A content word whose best match on the other side is less alike than this counts as unmatched.
_ALIGNED = 0.5
# At most this many content words of each side are aligned (the hot path's cost stays bounded).
_ALIGN_WORDS = 12


def _alignment(ca: set[str], cb: set[str], word_vector: WordVector | None) -> tuple[float, float, float]:
    """Returns how well each side's content words find a match on the other side: (mean best match,
    least best match, share of words without a match), over both sides' content words.

    A word's best match is 1.0 for the same word, else its word vector's best cosine with the other
    side's words ("quickest" finds "fastest"; "tall" finds nothing like it in "how old is ..."). A
    paraphrase has every word matched; a near miss leaves one word, the one that changes the
    question, without a partner. Without word vectors only the same word matches.
    """
    # Question words are left to asks_differ: "what is the best way to" and "how do I" ask the same.
    a = sorted(w for w in ca if w not in _ASKS and not _NUMBER.match(w))[:_ALIGN_WORDS]
    b = sorted(w for w in cb if w not in _ASKS and not _NUMBER.match(w))[:_ALIGN_WORDS]
    if not a or not b:
        return (1.0, 1.0, 0.0) if not a and not b else (0.0, 0.0, 1.0)
    # A word both sides use matches itself (1.0 exactly, even one without a known word piece).
    in_a, in_b = set(a), set(b)
    shared = [float(w in in_b) for w in a] + [float(w in in_a) for w in b]
    if word_vector is None:
        best = shared
    else:
        similarity = np.array([word_vector(w) for w in a]) @ np.array([word_vector(w) for w in b]).T
        closest = [float(v) for v in similarity.max(axis=1).tolist() + similarity.max(axis=0).tolist()]
        best = [max(s, c) for s, c in zip(shared, closest, strict=True)]
    return sum(best) / len(best), min(best), sum(v < _ALIGNED for v in best) / len(best)


def _substitution_similarity(only_a: list[str], only_b: list[str], word_vector: WordVector | None) -> float:
    """Returns how alike the content words each side has and the other lacks are: for each on the
    shorter side, its best cosine with the other side's, averaged (1.0 when nothing was substituted,
    0.0 when only one side adds words or no word vectors are given)."""
    if not only_a and not only_b:
        return 1.0
    if not (only_a and only_b) or word_vector is None:
        return 0.0
    short, long = (only_a, only_b) if len(only_a) <= len(only_b) else (only_b, only_a)
    others = np.stack([word_vector(w) for w in long[:6]])
    return float(np.mean([float((others @ word_vector(w)).max()) for w in short[:6]]))
