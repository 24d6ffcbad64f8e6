"""GitLab Code Quality report: the fields GitLab reads, stable distinct fingerprints, no raw controls."""

from __future__ import annotations

import json
from pathlib import Path

from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo

from guard.model import Change, Decision, Finding
from guard.report import render

SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def _decision(*findings: Finding) -> Decision:
    return Decision("step-up", "enforce", list(findings), [], Change(door="gitlab", head="a" * 40))


def test_fields_gitlab_reads() -> None:
    f = Finding("agent-ci-config", "path", "step-up", "An agent changed CI.", path=".gitlab-ci.yml")
    g = Finding("secret-in-added-line", "secret", "block", "A credential", path="/src/a.py", line=7)
    items = json.loads(render(_decision(f, g), "codequality"))
    assert [i["severity"] for i in items] == ["critical", "blocker"]
    for i in items:
        assert set(i) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert i["severity"] in SEVERITIES
    assert items[0]["location"] == {"path": ".gitlab-ci.yml", "lines": {"begin": 1}}
    assert items[1]["location"] == {"path": "src/a.py", "lines": {"begin": 7}}
    assert items[0]["check_name"] == "pipeline-guard/agent-ci-config"


def test_fingerprints_stable_and_distinct() -> None:
    a = Finding("r", "path", "warn", "m", path="x", line=1)
    b = Finding("r", "path", "warn", "m", path="x", line=2)
    first = [i["fingerprint"] for i in json.loads(render(_decision(a, b), "codequality"))]
    again = [i["fingerprint"] for i in json.loads(render(_decision(a, b), "codequality"))]
    assert first == again and first[0] != first[1]


def test_untrusted_text_has_no_raw_controls() -> None:
    f = Finding("r", "identity", "warn", "evil\u202ename\x1b[31m", path="a\nb")
    item = json.loads(render(_decision(f), "codequality"))[0]
    assert "\u202e" not in item["description"] and "\x1b" not in item["description"]
    assert "\n" not in item["location"]["path"]


def test_pathless_finding_still_has_a_location() -> None:
    item = json.loads(render(_decision(Finding("r", "identity", "warn", "m")), "codequality"))[0]
    assert item["location"]["path"] == "." and item["location"]["lines"]["begin"] == 1


def test_cli_report_file_writes_codequality(repo: Repo, tmp_path: Path) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(f"ci\n\n{CLAUDE_TRAILER}\n", files={".gitlab-ci.yml": "test:\n  script: [make]\n"})
    out = tmp_path / "gl-code-quality.json"
    result = cli(["check", "--repo", str(repo.path), "--base", "main", "--report-file", f"codequality={out}"])
    assert result.exit_code == 1, result.output
    items = json.loads(out.read_text())
    assert any(i["check_name"] == "pipeline-guard/agent-ci-config" for i in items)


def test_cli_report_file_typo_is_usage_error(repo: Repo) -> None:
    result = cli(["check", "--repo", str(repo.path), "--report-file", "cq:x.json"])
    assert result.exit_code == 2 and "FORMAT=PATH" in result.stderr and "Traceback" not in result.output
