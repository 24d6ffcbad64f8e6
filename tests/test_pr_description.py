"""PR/MR text as (claimed) identity evidence: an agent that opens its PR under a person's account
(Codex cloud, Jules "publish as user") leaves its markers in the PR body, not in the commits."""

from __future__ import annotations

import json
from pathlib import Path

from gitutil import Repo
from standins.github import WORKFLOW, actions_env, pr_repos, pull_request_event
from test_github_event import run
from test_gitlab_door import CI, check, mr_env

from guard.engine import evaluate
from guard.git.repo import GitRepo
from guard.policy import builtin_policy

CODEX_BODY = (
    "## Summary\nFix the CI cache\n\n[Codex Task](https://chatgpt.com/codex/tasks/task_e_68a1b2c3d4e5f6)"
)
JULES_BODY = (
    "PR created automatically by Jules for task [1234567890](https://jules.google.com/task/1234567890)"
)


def _change(repo: Repo, description: str | None):  # type: ignore[no-untyped-def]
    repo.git("checkout", "-q", "-b", "fix-ci")
    repo.commit("Fix the CI cache", files={".github/workflows/ci.yml": WORKFLOW})
    change = GitRepo(repo.path).build_change("main", "fix-ci", door="github", description=description)
    return evaluate(change, builtin_policy(), "enforce")


def test_codex_task_link_in_the_pr_body_makes_markerless_commits_agent_work(repo: Repo) -> None:
    d = _change(repo, CODEX_BODY)
    ident = d.change.commits[0].identity
    assert ident.kind == "agent" and ident.vendor == "codex"
    ev = next(e for e in ident.evidence if e.signal == "pr-body")
    assert ev.verified is False and "chatgpt.com/codex/tasks" in ev.value
    assert d.verdict == "step-up"


def test_people_writing_about_agents_in_a_pr_body_are_not_evidence(repo: Repo) -> None:
    d = _change(repo, "We compared Codex and Jules output for this fix; Copilot suggested the cache key.")
    assert d.change.commits[0].identity.kind == "human" and d.verdict == "allow"


def test_github_door_reads_the_pr_body(tmp_path: Path) -> None:
    _, ws, base, head = pr_repos(tmp_path, "tweak ci", {".github/workflows/guard.yml": WORKFLOW + "# x\n"})
    payload = pull_request_event(head=head, base=base, head_ref="fix-ci")
    payload["pull_request"]["body"] = CODEX_BODY
    code, out, _ = run(actions_env(tmp_path / "run", "pull_request", payload, ws), "--format", "json")
    data = json.loads(out[: out.rindex("}") + 1])
    assert code == 1 and data["commits"][0]["identity"]["vendor"] == "codex"


def test_gitlab_door_reads_the_mr_description(repo: Repo) -> None:
    repo.commit("ci", files={".gitlab-ci.yml": CI})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("widen ci", files={".gitlab-ci.yml": CI + "  when: always\n"})
    code, data, _ = check(
        repo, mr_env(repo, CI_MERGE_REQUEST_TITLE="Widen CI", CI_MERGE_REQUEST_DESCRIPTION=JULES_BODY)
    )
    assert code == 1 and data["commits"][0]["identity"]["vendor"] == "jules"
    code, data, _ = check(repo, mr_env(repo, CI_MERGE_REQUEST_DESCRIPTION="A person's own change."))
    assert code == 0 and data["commits"][0]["identity"]["kind"] == "human"
