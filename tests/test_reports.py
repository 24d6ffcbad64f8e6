"""Reports: hostile text escaped in every format; SARIF validated by Microsoft's SARIF Multitool."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from conftest import node_modules
from gitutil import CLAUDE_TRAILER, Repo

from guard.doors.interface import CheckOptions
from guard.doors.local import prepare
from guard.engine import evaluate
from guard.model import Decision
from guard.report import render
from guard.report.escape import markdown, plain, workflow_data, workflow_property

EVIL_PATH = ".github/workflows/[x](https://evil.example)<img src=x onerror=alert(1)>\u202egpj.yml"


def decide_for(repo: Repo) -> Decision:
    prepared = prepare(CheckOptions(repo=str(repo.path), base="main"))
    return evaluate(
        prepared.change, prepared.trusted.policy, "enforce", policy_source=prepared.trusted.source
    )


def hostile_decision(repo: Repo) -> Decision:
    repo.git("checkout", "-q", "-b", "evil")
    msg = f"Subject **bold** <script>alert(1)</script>\n\n{CLAUDE_TRAILER}"
    repo.commit(msg, files={EVIL_PATH: "on: push\n", "src/ok.py": "x = 1\n"})
    return decide_for(repo)


def test_escapers() -> None:
    assert markdown("[x](https://evil") == "\\[x\\]\\(https\\:\u200b//evil"
    assert markdown("<img>") == "&lt;img&gt;"
    assert "\u202e" not in plain("a\u202eb") and "\\u202e" in plain("a\u202eb")
    assert "\x1b" not in plain("\x1b[31mred") and "\n" not in plain("a\nb")
    assert workflow_data("a\n::error::x%") == "a\\n::error::x%25"
    assert workflow_property("a:b,c") == "a%3Ab%2Cc"


def test_markdown_renders_nothing_live(repo: Repo) -> None:
    md = render(hostile_decision(repo), "markdown")
    assert md.startswith("<!-- pipeline-guard:report -->")
    # Code spans render literally (their backticks are neutralised): check everything outside them.
    outside = re.sub(r"`[^`\n]*`", "", md.removeprefix("<!-- pipeline-guard:report -->"))
    assert "`" not in outside.replace("``", "")
    md = outside
    assert "<img" not in md and "<script" not in md and "](https://" not in md
    assert "\u202e" not in md


def test_text_report_has_no_control_characters(repo: Repo) -> None:
    text = render(hostile_decision(repo), "text", explain=True)
    assert "\u202e" not in text and "\x1b" not in text
    assert "STEP-UP REQUIRED" in text


def test_json_report_contract(repo: Repo) -> None:
    data = json.loads(render(hostile_decision(repo), "json"))
    assert data["schema_version"] == 1 and data["decision"] == "step-up"
    for f in data["findings"]:
        assert f["kind"] in ("path", "secret", "permission", "release", "identity")
        assert {"rule", "kind", "action", "path", "line", "message"} <= set(f)
    for c in data["commits"]:
        assert c["identity"]["kind"] in ("human", "agent", "automation", "unknown")
        assert "vendor" in c["identity"] and isinstance(c["identity"]["evidence"], list)


def test_sarif_passes_the_multitool(repo: Repo, tmp_path: Path) -> None:
    decision = hostile_decision(repo)
    assert decision.findings
    sarif = tmp_path / "guard.sarif"
    sarif.write_text(render(decision, "sarif"))
    tool = node_modules() / "@microsoft/sarif-multitool-linux/Sarif.Multitool"
    out = tmp_path / "validation.sarif"
    proc = subprocess.run(
        [str(tool), "validate", str(sarif), "--output", str(out), "--log", "ForceOverwrite"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())["runs"][0]["results"]
    errors = [r for r in results if r.get("level") == "error"]
    assert errors == [], errors
    data = json.loads(sarif.read_text())
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in data["runs"][0]["results"]
        for loc in r.get("locations", [])
    ]
    assert all(" " not in u and "<" not in u and "\u202e" not in u for u in uris)
