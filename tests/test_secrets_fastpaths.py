"""The scanner's shortcuts change nothing it finds: the prefilter's two passes find the same
candidate lines as every anchor on its own; the distinct-character bound drops only values whose
entropy could not pass."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from guard.secrets import engine

DATA = Path(__file__).parent / "data" / "secrets_corpus"
sys.path.insert(0, str(DATA))

import corpus  # noqa: E402


def _corpus_lines() -> list[str]:
    return [ln for c in corpus.load(17) for ln in c.lines]


re2 = pytest.importorskip("re2")
ANCHORS = [d.anchor for d in engine.DETECTORS] + [g for _, g in engine.DS_GATES]


def _alone(anchors: list[str], lines: list[str]) -> list[int]:
    """Lines where any one anchor matches, each searched on its own."""
    pats = [re2.compile(a) for a in anchors]
    return [i for i, ln in enumerate(lines) if any(p.search(ln) for p in pats)]


def test_the_passes_find_exactly_the_lines_any_single_anchor_finds() -> None:
    pf = engine._prefilter()
    assert len(pf.passes) == 2  # the wide anchors are searched apart
    lines = _corpus_lines()
    expected = _alone(ANCHORS, lines)
    assert expected  # the corpus has candidates, or the comparison says nothing
    assert pf.candidates(lines) == expected
    # and as raw added lines of a patch: every candidate line's number, in order
    blob = "\n".join(lines).encode()
    starts = pf.starts(blob)
    assert starts == sorted(set(starts))
    hit_lines = sorted({blob.count(b"\n", 0, s) for s in starts})
    assert hit_lines == expected


def test_no_anchor_match_reaches_into_the_next_line() -> None:
    """The split relies on it: a match may end on its line's newline (`password>` then `[^<]`),
    never take a character of the next line, so it never hides a match there."""
    lines = [*_corpus_lines(), "<password>", "<value>x</value>"]
    blob = "\n".join(lines).encode()
    ends_on_newline = 0
    for p in engine._prefilter().passes:
        for m in p.finditer(blob):
            text = m.group(0)
            assert b"\n" not in text[:-1]
            ends_on_newline += text.endswith(b"\n")
    assert ends_on_newline  # the case the rule is about is in the material


def test_one_pattern_or_two_the_same_candidates() -> None:
    lines = _corpus_lines()
    one = engine._Prefilter(ANCHORS)
    two = engine._Prefilter(ANCHORS, frozenset({0, len(ANCHORS) - 1}))
    assert len(one.passes) == 1 and len(two.passes) == 2
    assert one.candidates(lines) == two.candidates(lines)
    assert one.texts_hit(lines[:300]) == two.texts_hit(lines[:300])


WIDE_AND_NARROW = ["password = 'hunter2hunter2'", 'x = "QWxhZGRpbjpvcGVuIHNlc2FtZQ+bm90LWEtc2VjcmV0"']


@pytest.mark.parametrize("text", WIDE_AND_NARROW)
def test_which_keeps_gate_order(text: str) -> None:
    """`which` numbers gates as DETECTORS then DS_GATES, whatever pass found the line."""
    found = [i for i, a in enumerate(ANCHORS) if re2.search(a, text)]
    assert found  # the text hits some gate
    assert engine._prefilter().which(text) == found


def test_the_distinct_character_bound_drops_only_values_below_the_entropy_limit() -> None:
    """Strings of every number of distinct characters around the limits, uniform (the highest
    entropy for that number) and skewed: the bound keeps every value detect-secrets would keep."""
    import random

    plugins, _ = engine._ds()
    rng = random.Random(17)
    checked = 0
    for _name, _group, plugin in plugins:
        limit = getattr(plugin, "entropy_limit", None)
        if limit is None:
            continue
        charset = plugin.charset
        for distinct in range(1, min(len(charset), 40) + 1):
            for length in (distinct, distinct * 2, distinct * 3 + 1):
                chars = rng.sample(charset, distinct)
                value = "".join(chars[i % distinct] for i in range(length))
                kept_by_bound = engine._may_pass(value, limit)
                if plugin.calculate_shannon_entropy(value) > limit:
                    assert kept_by_bound, (plugin.__class__.__name__, distinct, length)
                    checked += 1
    assert checked  # some values pass the limit, so the assertion was exercised


def test_the_re_fallback_finds_the_same_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without google-re2 the prefilter runs on Python's `re`: it must compile (a `(?i)` inside a
    pattern is an error there) and pick the same lines and gates."""
    lines = _corpus_lines()
    with_re2 = engine._Prefilter(ANCHORS, frozenset({0}))
    monkeypatch.setattr(engine, "_re2", None)
    fallback = engine._Prefilter(ANCHORS, frozenset({0}))
    assert not fallback.re2
    assert fallback.candidates(lines) == with_re2.candidates(lines)
    for text in WIDE_AND_NARROW:
        assert fallback.which(text) == with_re2.which(text)
