"""The labelled set: real-world-style before/after pairs in tests/data/permissions/*.yml.

Each case says whether it is an escalation/release boundary or a hard negative. Expected findings
are marked in the after-files themselves (`# expect: category` on the line that must be flagged,
or an explicit `expect:` list for formats without comments). Every case must produce exactly its
expected (category, file, line) set: negatives nothing at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_permissions_helpers import cases, dict_change, findings, git_change, triples

MARK = re.compile(r"expect:\s*([\w-]+(?:\s*,\s*[\w-]+)*)")
CASES = cases()
GIT_SAMPLE = {c["name"] for c in CASES if c.get("git")}


def expected(case: dict[str, Any]) -> set[tuple[str, str, int | None]]:
    out = {(e[0], e[1], e[2]) for e in case["expect"]}
    for path, text in case["after"].items():
        for i, line in enumerate(text.splitlines(), 1):
            m = MARK.search(line)
            if m:
                out.update((cat.strip(), path, i) for cat in m.group(1).split(","))
    return out


def test_set_is_large_and_balanced() -> None:
    labels = [c["label"] for c in CASES]
    assert labels.count("escalation") >= 40
    assert labels.count("negative") >= 30
    assert set(labels) == {"escalation", "negative"}
    for c in CASES:
        assert (c["label"] == "escalation") == bool(expected(c)), c["name"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    change = dict_change(case["before"], case["after"], case["renames"], case.get("refs"))
    assert triples(findings(change)) == expected(case)


@pytest.mark.parametrize("case", [c for c in CASES if c["name"] in GIT_SAMPLE], ids=sorted(GIT_SAMPLE))
def test_case_through_git(case: dict[str, Any], tmp_path: Path) -> None:
    """The same judgement on a real repository: blobs, renames and added lines from git itself."""
    change = git_change(tmp_path, case["before"], case["after"], case["renames"])
    assert triples(findings(change)) == expected(case)


def test_detection_and_false_alarm_rates() -> None:
    """The issue's targets: >= 90 % of escalations flagged (with the right category), <= 5 % false alarms."""
    hits = misses = alarms = negatives = 0
    for case in CASES:
        change = dict_change(case["before"], case["after"], case["renames"], case.get("refs"))
        got = {f.category for f in findings(change)}
        if case["label"] == "escalation":
            want = {e[0] for e in expected(case)}
            hits, misses = (hits + 1, misses) if want <= got else (hits, misses + 1)
        else:
            negatives += 1
            alarms += bool(got)
    detection = hits / (hits + misses)
    false_alarm = alarms / negatives
    print(f"\ndetection {hits}/{hits + misses} = {detection:.1%}")
    print(f"false alarms {alarms}/{negatives} = {false_alarm:.1%}")
    assert detection >= 0.90
    assert false_alarm <= 0.05
