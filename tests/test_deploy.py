"""Deploy gate (engine and local door): agent commits in a deployed range need a person's approval."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from gitutil import CLAUDE_TRAILER, COPILOT, Repo

from guard.engine import evaluate
from guard.git.repo import GitRepo
from guard.model import Actor, Approval, Change
from guard.policy import builtin_policy

AGENT = f"Agent work\n\n{CLAUDE_TRAILER}"


def history(repo: Repo) -> tuple[str, list[str]]:
    """main: deployed commit, then a human commit, an agent commit and a Copilot commit."""
    deployed = repo.head()
    shas = [
        repo.commit("human fix", files={"a.txt": "a\n"}),
        repo.commit(AGENT, files={"b.txt": "b\n"}),
        repo.commit("Initial plan", files={"c.txt": "c\n"}, author=COPILOT),
    ]
    return deployed, shas


def deploy(repo: Repo, *args: str) -> tuple[int, dict[str, Any], str]:
    r = CliRunner().invoke(main_cmd(), ["check", "--repo", str(repo.path), "--format", "json", *args])
    return r.exit_code, (json.loads(r.stdout) if r.stdout else {}), r.stderr


def main_cmd() -> Any:
    from guard.cli import main

    return main


def test_local_deploy_lists_every_unapproved_agent_commit(repo: Repo) -> None:
    deployed, shas = history(repo)
    code, data, err = deploy(repo, "--deploy", "production", "--since", deployed)
    assert code == 1, err
    offending = [f["commit"] for f in data["findings"] if f["category"] == "unapproved-agent-deploy"]
    assert offending == [shas[2], shas[1]]  # newest first, as git log lists them
    assert shas[0] not in offending
    assert all("production" in f["message"] for f in data["findings"])


def test_local_deploy_of_human_work_passes(repo: Repo) -> None:
    deployed = repo.head()
    repo.commit("human fix", files={"a.txt": "a\n"})
    code, data, _ = deploy(repo, "--deploy", "production", "--since", deployed)
    assert code == 0 and data["decision"] == "allow"


def test_local_deploy_needs_since(repo: Repo) -> None:
    code, _, err = deploy(repo, "--deploy", "production")
    assert code == 2 and "needs --since" in err


def test_empty_range_is_a_finding(repo: Repo) -> None:
    code, data, _ = deploy(repo, "--deploy", "production", "--since", "HEAD")
    assert any(f["category"] == "empty-deploy-range" for f in data["findings"])
    # A local deploy names no actor and brings no commit: nobody vouches for it, and an unknown
    # maker is gated like an agent on a release boundary (fail closed). The doors name their actor.
    assert data["decision"] == "step-up" and code == 1


def change_for(repo: Repo, since: str) -> Change:
    return GitRepo(repo.path).build_change(since, "HEAD", door="github", environment="production")


def approval(who: str, head: str, covers: tuple[str, ...], **kw: Any) -> Approval:
    base: dict[str, Any] = {
        "kind": "review",
        "source": "github-api",
        "permission": "write",
        "approver_type": "User",
    }
    base.update(kw)
    return Approval(approver=who, head_sha=head, covers=covers, **base)


def test_reviews_of_the_merged_pr_vouch_for_its_commits(repo: Repo) -> None:
    deployed, shas = history(repo)
    change = change_for(repo, deployed)
    pr_head = "9" * 40  # the head the PR had when it was approved and merged
    change.approvals.append(approval("bob", pr_head, covers=(shas[1],)))
    d = evaluate(change, builtin_policy(), "enforce")
    left = [f.commit for f in d.findings if f.category == "unapproved-agent-deploy"]
    assert left == [shas[2]]
    change.approvals.append(approval("carol", pr_head, covers=(shas[2],)))
    d = evaluate(change, builtin_policy(), "enforce")
    assert not [f for f in d.findings if f.category == "unapproved-agent-deploy"]
    assert d.exit_code == 0


def test_bot_or_author_reviews_do_not_vouch(repo: Repo) -> None:
    deployed, shas = history(repo)
    change = change_for(repo, deployed)
    change.actors.append(Actor(login="alice", role="pr-author", source="github-api"))
    change.approvals += [
        approval("renovate[bot]", "9" * 40, covers=(shas[1], shas[2]), approver_type="Bot"),
        approval("alice", "9" * 40, covers=(shas[1], shas[2])),
    ]
    d = evaluate(change, builtin_policy(), "enforce")
    msgs = [f.message for f in d.findings if f.category == "unapproved-agent-deploy"]
    assert len(msgs) == 2 and all("bot account" in m and "opened the change" in m for m in msgs)
    assert d.exit_code == 1


def test_deploy_triggered_by_an_agent_is_a_finding(repo: Repo) -> None:
    deployed = repo.head()
    repo.commit("human fix", files={"a.txt": "a\n"})
    change = change_for(repo, deployed)
    change.actors.append(
        Actor(login="Copilot", role="triggering-actor", source="github-event", id="198982749")
    )
    d = evaluate(change, builtin_policy(), "enforce")
    assert any(f.category == "agent-triggered-deploy" for f in d.findings)
    assert d.exit_code == 1


def test_a_deploy_in_ci_uses_the_ci_door_even_with_head() -> None:
    from guard.doors.interface import CheckOptions
    from guard.doors.registry import select_door

    env = {"GITHUB_ACTIONS": "true"}
    assert select_door(CheckOptions(deploy="production", head="abc"), env) == "github"
    assert select_door(CheckOptions(deploy="production", head="abc"), {"GITLAB_CI": "true"}) == "gitlab"
    assert select_door(CheckOptions(head="abc"), env) == "local"  # a named range stays local
