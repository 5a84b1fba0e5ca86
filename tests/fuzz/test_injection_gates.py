"""A guard pattern gated by words (and cues) is searched only when the text has them: whatever text the pattern
matches has them, so the skipped searches are exactly those that would have found nothing.

Texts are drawn from each pattern itself (anything it matches, with anything around it), then read as the
guard reads them (lower-cased, runs of spaces and tabs collapsed). The patterns are those whose gates are
argued from the pattern's shape: a persona's name or "mode" as a whole word, the model's name after a space,
"the user's" data, and a verb of sending with an address.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchyard.ml.injection import signals

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
# The patterns whose gates are argued from their shape, found by a gate word only they have.
_ARGUED = frozenset(("evilb", "ais", "users", "exfil"))
_GATED: list[tuple[re.Pattern[str], frozenset[str], tuple[str, ...]]] = [
    (pattern, gates, ()) for _, _, pattern, gates in signals._WORD_COMPILED if gates & _ARGUED
]
_GATED += [
    (pattern, gates, letters + tuple(cue for _, cue in others))
    for _, _, pattern, gates, letters, others in signals._WORD_AND_CUE_COMPILED
    if gates & _ARGUED
]


@pytest.mark.parametrize(("pattern", "gates", "cues"), _GATED, ids=[p.pattern[:24] for p, _, _ in _GATED])
@FUZZ
@given(data=st.data())
def test_a_text_a_gated_pattern_matches_has_a_gate_word_and_a_cue(
    pattern: re.Pattern[str], gates: frozenset[str], cues: tuple[str, ...], data: st.DataObject
) -> None:
    lowered = signals._SPACE_RUN.sub(" ", data.draw(st.from_regex(pattern)).lower())
    if not pattern.search(lowered):
        return
    assert not gates.isdisjoint(word[: signals._GATE] for word in signals._LETTERS.findall(lowered)), lowered
    assert not cues or any(cue in lowered for cue in cues), lowered
