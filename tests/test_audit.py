"""Audit trail: one JSON line per decision, hash-chained, verifiable and queryable."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from cliutil import cli
from gitutil import Repo

from guard.audit import verify
from guard.cli import main

SECRET = "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8"
MSG = (
    "Fix flaky test\n\n"
    "Agent-Logs-Url: https://github.com/acme/widget/sessions/3f2a9c1e-1111-2222-3333-444455556666\n"
    "Co-authored-by: alice <alice@example.com>"
)
COPILOT = ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com")


def check(repo: Repo, log: Path, *extra: str) -> int:
    result = cli(["check", "--repo", str(repo.path), "--base", "main", "--audit-log", str(log), *extra])
    return result.exit_code


def test_records_chain_and_link_the_agent_session(repo: Repo, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    repo.git("checkout", "-q", "-b", "fix")
    repo.commit(MSG, files={".github/workflows/ci.yml": "on: push\n"}, author=COPILOT)
    assert check(repo, log) == 1
    repo.commit("human follow-up", files={"b.txt": "b\n"})
    assert check(repo, log) == 1
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(x) for x in lines)
    assert second["prev"] == first["hash"]
    assert first["verdict"] == "step-up" and first["door"] == "local"
    assert first["sessions"][0]["key"] == "agent-logs-url"
    assert {c["identity"] for c in second["commits"]} == {"agent:copilot", "human"}
    assert verify(log).ok

    runner = CliRunner()
    out = runner.invoke(main, ["audit", "query", str(log), "--session", "3f2a9c1e", "--format", "json"])
    assert out.exit_code == 0 and len(json.loads(out.stdout)) == 2
    out = runner.invoke(main, ["audit", "query", str(log), "--agent", "copilot"])
    assert "2 record(s)" in out.stdout and "approved by nobody" in out.stdout
    out = runner.invoke(main, ["audit", "query", str(log), "--agent", "devin"])
    assert "0 record(s)" in out.stdout


def test_tampering_is_detected(repo: Repo, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    repo.git("checkout", "-q", "-b", "f")
    for i in range(3):
        repo.commit(f"c{i}", files={f"f{i}.txt": "x\n"})
        assert check(repo, log) == 0
    head = verify(log).head
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify", str(log), "--expect-head", head])
    assert ok.exit_code == 0 and "3 records, intact" in ok.stdout

    lines = log.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["verdict"] = "allow-everything"
    log.write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    bad = runner.invoke(main, ["audit", "verify", str(log)])
    assert bad.exit_code == 1 and "line 2: record was edited" in bad.stderr

    log.write_text("\n".join([lines[0], lines[2]]) + "\n")
    bad = runner.invoke(main, ["audit", "verify", str(log)])
    assert bad.exit_code == 1 and "chain broken" in bad.stderr

    log.write_text("\n".join(lines[:2]) + "\n")
    assert verify(log).ok  # a removed tail is invisible without an anchor...
    bad = runner.invoke(main, ["audit", "verify", str(log), "--expect-head", head])
    assert bad.exit_code == 1 and "records removed" in bad.stderr  # ...and caught with one


def test_secret_value_never_reaches_the_audit_log(repo: Repo, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    repo.git("checkout", "-q", "-b", "leak")
    repo.commit("add config", files={"settings.py": f'GITHUB_TOKEN = "{SECRET}"\n'})
    assert check(repo, log) == 1
    text = log.read_text()
    assert json.loads(text)["verdict"] == "block"
    assert SECRET not in text and SECRET[4:] not in text


def test_unwritable_audit_log_fails_closed(repo: Repo, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli(
        ["check", "--repo", str(repo.path), "--base", "main", "--audit-log", str(blocker / "a.jsonl")]
    )
    assert result.exit_code == 3 and "cannot write audit record" in result.stderr


def test_verify_rejects_non_json(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_text("not json\n")
    result = cli(["audit", "verify", str(log)])
    assert result.exit_code == 2 and "line 1 is not JSON" in result.stderr
