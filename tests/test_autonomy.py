"""Issue 16 (part): the autonomy level in every agent verdict, and policy `actors:` selecting by it.

Real repositories and the real CLI; the levels follow docs/identification.md: autonomous (an agent
account authored and pushed, or a cloud agent's session), supervised (an agent authored, a person
committed or pushed), assisted (a person authored with an AI co-author or assistance trailer).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cliutil import cli
from gitutil import CLAUDE_TRAILER, COPILOT, HUMAN, Repo
from standins.github import WORKFLOW, actions_env, pr_repos, pull_request_event

from guard.fingerprints import load_fingerprints
from guard.git.repo import GitRepo
from guard.identify import identify_commit
from guard.policy import builtin_policy

FP = load_fingerprints(builtin_policy())
FOOTER = "🤖 Generated with [Claude Code](https://claude.com/claude-code)"


def level(
    repo: Repo, message: str, author: tuple[str, str] = HUMAN, committer: tuple[str, str] | None = None
) -> Any:
    repo.commit(message, files={"a.txt": message[:20]}, author=author, committer=committer)
    (c,) = list(GitRepo(repo.path).iter_commits(["HEAD^..HEAD"]))
    ident = identify_commit(c, FP)
    return ident.kind, ident.autonomy


@pytest.mark.parametrize(
    ("message", "author", "committer", "expected"),
    [
        (f"fix\n\n{CLAUDE_TRAILER}", HUMAN, None, ("agent", "assisted")),
        ("fix\n\nAssisted-by: Claude Code", HUMAN, None, ("agent", "assisted")),
        (f"fix\n\n{FOOTER}\n\n{CLAUDE_TRAILER}", HUMAN, None, ("agent", "supervised")),
        ("fix", ("Alice (aider)", "alice@example.com"), HUMAN, ("agent", "supervised")),
        ("fix\n\nClaude-Session: https://claude.ai/code/session_01", HUMAN, None, ("agent", "autonomous")),
        ("fix", COPILOT, COPILOT, ("agent", "autonomous")),
        ("fix", HUMAN, None, ("human", None)),
    ],
    ids=[
        "co-author",
        "assisted-by",
        "generated-footer",
        "aider-author",
        "session-trailer",
        "agent-committed",
        "human",
    ],
)
def test_commit_levels(
    repo: Repo,
    message: str,
    author: tuple[str, str],
    committer: tuple[str, str] | None,
    expected: tuple[str, str | None],
) -> None:
    assert level(repo, message, author, committer) == expected


def test_an_agent_account_pushing_makes_the_change_autonomous_in_json(tmp_path: Path) -> None:
    # Markerless commit; the platform says Copilot opened the PR: verified, autonomous.
    _, ws, base, head = pr_repos(tmp_path, "tweak ci", {".github/workflows/guard.yml": WORKFLOW + "# x\n"})
    payload = pull_request_event(head=head, base=base, author=("Copilot", 198982749, "Bot"))
    env = {"GITHUB_TOKEN": "", **actions_env(tmp_path / "run", "pull_request", payload, ws)}
    r = cli(["check", "--format", "json"], env=env)
    data = json.loads(r.stdout[: r.stdout.rindex("}") + 1])
    assert data["identity"]["kind"] == "agent" and data["identity"]["autonomy"] == "autonomous"
    assert data["commits"][0]["identity"]["autonomy"] == "autonomous"


POLICY = """rules:
  - id: autonomous-src
    kind: path
    actors: [agent:autonomous]
    action: step-up
    match: {paths: ["src/**"]}
"""


def _check(repo: Repo, base: str) -> tuple[int, dict[str, Any]]:
    r = cli(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD", "--format", "json"])
    return r.exit_code, json.loads(r.stdout)


def test_policy_actors_select_by_autonomy(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": POLICY})
    base = repo.head()
    repo.git("checkout", "-q", "-b", "assisted")
    repo.commit(f"edit\n\n{CLAUDE_TRAILER}", files={"src/app.py": "x = 1\n"})
    code, data = _check(repo, base)
    assert code == 0 and "autonomous-src" not in {f["rule"] for f in data["findings"]}
    repo.git("checkout", "-q", "-b", "cloud", base)
    repo.commit("edit\n\nClaude-Session: https://claude.ai/code/session_01", files={"src/app.py": "x = 2\n"})
    code, data = _check(repo, base)
    assert code == 1 and "autonomous-src" in {f["rule"] for f in data["findings"]}
    text = cli(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD"]).stdout
    assert "(autonomous)" in text


def test_an_unknown_level_name_in_a_policy_is_a_clear_error(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": POLICY.replace("agent:autonomous", "agent:reckless")})
    r = cli(["check", "--repo", str(repo.path), "--base", "HEAD", "--head", "HEAD"])
    assert r.exit_code == 2 and "actors" in r.stderr and "Traceback" not in r.stderr
