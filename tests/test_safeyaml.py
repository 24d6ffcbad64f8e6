"""safeyaml: caps on size, depth, aliases and expansion; line-aware results; never a traceback."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.errors import UsageError
from guard.safeyaml import DocumentError, LineDict, LineList, load_json, load_yaml, load_yaml_all, strip_jsonc


def bomb(levels: int, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_lines_of_keys_items_and_block_scalars() -> None:
    doc = load_yaml("a: 1\nb:\n  - x\n  - |\n    run\n  - {c: d}\n", "f.yml")
    assert isinstance(doc, LineDict) and isinstance(doc["b"], LineList)
    assert (doc.line_of("a"), doc.line_of("b")) == (1, 2)
    assert doc["b"].item_lines == [3, 4, 6]
    assert doc["b"].block_items == {1}
    assert doc["b"][2].line_of("c") == 6
    assert doc["b"].line_of(99) == doc["b"].line  # out of range: the sequence's own line


def test_yaml_1_1_on_key_and_unknown_tags() -> None:
    doc = load_yaml(
        "on: push\nx: !reference [.a, script]\ny: !Ref Foo\nz: !!python/object:os.system {}\n", "f"
    )
    assert doc[True] == "push"
    assert (
        doc["x"] == [".a", "script"] and doc["y"] == "Foo" and doc["z"] == {}
    )  # read as data, never executed


def test_merge_keys_and_anchors_within_caps() -> None:
    doc = load_yaml(".b: &b {image: alpine}\njob:\n  <<: *b\n  script: [x]\n", "f")
    assert doc["job"] == {"image": "alpine", "script": ["x"]}


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        (bomb(9), "expands to more than", 6),
        ("[" * 10_000, "nested deeper than 100 levels", 1),
        ("a: &a [*a]\n", "recursive alias *a", 1),
        ("a: *nope\n", "undefined alias *nope", 1),
        ("a: b: c\n", "invalid YAML", 1),
        ("a:\n\t- b\n", "invalid YAML", 2),
        ("? [a]\n: b\n", "unhashable mapping key", 1),
        ("d: 2024-13-45\n", "invalid YAML", None),
        ("n: " + "9" * 5000 + "\n", "invalid YAML", None),
    ],
)
def test_hostile_yaml_is_a_clear_error(text: str, reason: str, line: int | None) -> None:
    with pytest.raises(DocumentError) as e:
        load_yaml(text, "bad.yml")
    assert reason in e.value.reason and e.value.line == line
    assert str(e.value).startswith("bad.yml")
    assert isinstance(e.value, UsageError)  # exit 2 with a one-line message, never a traceback


def test_caps_are_parameters() -> None:
    with pytest.raises(DocumentError, match="more than 2 aliases"):
        load_yaml("a: &a 1\nb: [*a, *a, *a]\n", "f", max_aliases=2)
    with pytest.raises(DocumentError, match="nested deeper than 3"):
        load_yaml("a: {b: {c: {d: 1}}}\n", "f", max_depth=3)
    with pytest.raises(DocumentError, match="larger than 10 bytes"):
        load_yaml("a: 12345678901\n", "f", max_bytes=10)
    with pytest.raises(DocumentError, match="larger than 10 bytes"):
        load_yaml("é" * 6, "f", max_bytes=10)  # counted in UTF-8 bytes, not characters
    assert load_yaml("a: {b: {c: 1}}\n", "f", max_depth=3) == {"a": {"b": {"c": 1}}}


def test_alias_into_deep_anchor_counts_its_depth() -> None:
    deep = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 50 + "*a" + "]" * 50 + "\n"
    with pytest.raises(DocumentError, match="nested deeper"):
        load_yaml(deep, "f")


def test_big_documents_end_quickly() -> None:
    start = time.perf_counter()
    for text in (bomb(12), "x: " + "a" * 20_000_000, "[" * 900_000, "- &a x\n" + "- *a\n" * 300_000):
        with pytest.raises(DocumentError):
            load_yaml(text, "f")
    assert time.perf_counter() - start < 3


def test_multi_document_streams() -> None:
    assert load_yaml_all("spec: {inputs: {}}\n---\njob: {script: [x]}\n", "c.yml")[1] == {
        "job": {"script": ["x"]}
    }
    with pytest.raises(DocumentError, match="expected one YAML document, found 2"):
        load_yaml("a: 1\n---\nb: 2\n", "f")
    assert load_yaml("", "f") is None


def test_json_and_jsonc() -> None:
    text = '{\n  // comment "with quotes"\n  "a": "http://x//y", /* block\n */ "b": [1, 2,],\n}\n'
    assert load_json(text, "s.json", comments=True) == {"a": "http://x//y", "b": [1, 2]}
    assert strip_jsonc(text).count("\n") == text.count("\n")  # lines survive, so errors point right
    with pytest.raises(DocumentError) as e:
        load_json('{\n "a": 1,\n}', "s.json")
    assert e.value.line == 3 and "invalid JSON" in e.value.reason
    with pytest.raises(DocumentError, match="nested deeper"):
        load_json("[" * 100_000 + "]" * 100_000, "s.json")
    with pytest.raises(DocumentError, match="nested deeper than 2"):
        load_json('{"a": {"b": {}}}', "s.json", max_depth=2)
    with pytest.raises(DocumentError, match="larger than"):
        load_json('"' + "a" * 2_000_000 + '"', "s.json")


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=20))
VALUES = st.recursive(
    SCALARS,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_loads_or_fails_cleanly(text: str) -> None:
    for load in (
        lambda: load_yaml_all(text, "f"),
        lambda: load_json(text, "f"),
        lambda: load_json(text, "f", comments=True),
    ):
        try:
            load()
        except DocumentError as e:
            assert e.reason


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="[]{}:,-&*ab \n\"'|>!#?", max_size=300))
def test_yaml_punctuation_soup_is_bounded(text: str) -> None:
    start = time.perf_counter()
    try:
        docs = load_yaml_all(text, "f", max_depth=20, max_nodes=500, max_aliases=20)
        assert isinstance(docs, list)
    except DocumentError as e:
        assert e.reason
    assert time.perf_counter() - start < 0.5


@settings(max_examples=100, deadline=None)
@given(VALUES)
def test_round_trip_of_plain_data(value: object) -> None:
    assert load_yaml(yaml.safe_dump(value), "f") == value
    assert load_json(json.dumps(value), "f") == value


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 14), st.integers(2, 12))
def test_alias_bombs_of_any_shape_are_stopped_by_expanded_size(levels: int, width: int) -> None:
    expanded = sum(width**i for i in range(1, levels + 1)) + levels * 2
    start = time.perf_counter()
    try:
        load_yaml(bomb(levels, width), "f", max_nodes=10_000)
        assert expanded < 20_000  # only small ones get through
    except DocumentError as e:
        assert "expands to more than" in e.reason or "aliases" in e.reason
    assert time.perf_counter() - start < 1
