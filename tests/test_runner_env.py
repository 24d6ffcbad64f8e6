"""Agent runtime variables where the guard runs (a local check, the pre-push hook, a CI job) are
claimed evidence: an agent pushing a person's markerless commits from its own shell is still seen.
The report names the variable, never its value."""

from __future__ import annotations

import json

from cliutil import cli
from gitutil import Repo
from test_gitlab_door import CI, check, mr_env

WF = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"


def local(repo: Repo, env: dict[str, str]) -> tuple[int, dict[str, object]]:
    r = cli(["check", "--repo", str(repo.path), "--base", "main", "--format", "json"], env=env)
    return r.exit_code, json.loads(r.stdout)


def test_a_check_run_by_claude_code_makes_markerless_commits_agent_work(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "work")
    repo.commit("tweak ci", files={".github/workflows/ci.yml": WF})  # a person's name, no marker
    code, data = local(repo, {"CLAUDECODE": ""})  # unset-like: no evidence
    assert code == 0 and data["commits"][0]["identity"]["kind"] == "human"  # type: ignore[index]
    code, data = local(repo, {"CLAUDECODE": "1", "CLAUDE_CODE_SESSION_ID": "s3cr3t-session"})
    ident = data["commits"][0]["identity"]  # type: ignore[index]
    assert code == 1 and ident["kind"] == "agent" and ident["vendor"] == "claude-code"
    ev = next(e for e in ident["evidence"] if e["signal"] == "env:CLAUDECODE")
    assert ev == {"signal": "env:CLAUDECODE", "value": "CLAUDECODE", "source": "runner-environment",
                  "verified": False, "points_to": "agent:claude-code"}  # fmt: skip
    assert any("agent runtime is running this check" in r for r in data["reasons"])  # type: ignore[union-attr]


def test_codex_sandbox_value_is_matched_but_never_shown(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "work")
    repo.commit("tweak ci", files={".github/workflows/ci.yml": WF})
    code, data = local(repo, {"CODEX_SANDBOX": "seatbelt-7f3a"})
    assert code == 1 and data["commits"][0]["identity"]["vendor"] == "codex"  # type: ignore[index]
    assert "seatbelt-7f3a" not in json.dumps(data)


def test_a_gitlab_duo_flow_job_is_agent_work(repo: Repo) -> None:
    repo.commit("ci", files={".gitlab-ci.yml": CI})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("widen ci", files={".gitlab-ci.yml": CI + "  when: always\n"})
    code, data, _ = check(repo, mr_env(repo, AI_FLOW_CONTEXT='{"token": "glpat-not-shown"}'))
    assert code == 1 and data["commits"][0]["identity"]["vendor"] == "gitlab-duo"
    assert "glpat-not-shown" not in json.dumps(data)
