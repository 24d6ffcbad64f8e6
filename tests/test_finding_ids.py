"""One stable finding id (rule, category, anchor): lines moving or wording never change it."""

from __future__ import annotations

import json

from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo

WF = ".github/workflows/release.yml"
BODY = (
    "on: push\npermissions: write-all\njobs:\n  r:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: make\n"
)


def _ids(repo: Repo, text: str) -> dict[str, str]:
    base = repo.head()
    repo.commit(f"release\n\n{CLAUDE_TRAILER}", files={WF: text, "src/k.py": "x = 1\n"})
    r = cli(["check", "--repo", str(repo.path), "--base", base, "--format", "json"])
    findings = json.loads(r.stdout)["findings"]
    repo.git("reset", "-q", "--hard", base)
    return {f"{f['rule']}/{f['category']}": f["id"] for f in findings}


def test_the_same_finding_keeps_its_id_when_its_line_moves(repo: Repo) -> None:
    first = _ids(repo, BODY)
    moved = _ids(repo, "# release workflow\n\n" + BODY)
    assert first and any(v.startswith("permission:") for v in first.values())
    assert {k: v for k, v in moved.items() if k in first} == first


def test_two_findings_never_share_an_id(repo: Repo) -> None:
    ids = list(
        _ids(repo, BODY.replace("      - run: make\n", "      - run: make\n      - run: make\n")).values()
    )
    assert len(ids) == len(set(ids))
