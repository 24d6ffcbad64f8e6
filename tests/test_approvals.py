"""Step-up judgement (engine side, shared by every door) and break-glass.

Approvals are built as the doors build them; the change comes from a real repository with an
agent commit on a CI file, so identification and checks run for real.
"""

from __future__ import annotations

import pytest
from gitutil import CLAUDE_TRAILER, Repo

from guard.engine import evaluate
from guard.git.repo import GitRepo
from guard.model import Actor, Approval, Change, Decision
from guard.policy import build_policy, builtin_policy

WORKFLOW = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"


@pytest.fixture
def agent_change(repo: Repo) -> Change:
    repo.git("checkout", "-q", "-b", "agent")
    repo.commit(f"CI\n\n{CLAUDE_TRAILER}", files={".github/workflows/ci.yml": WORKFLOW})
    change = GitRepo(repo.path).build_change("main", "agent", door="github", target_ref="main")
    change.actors.append(Actor(login="alice", role="pr-author", source="github-event", type="User"))
    change.actors.append(Actor(login="dave", role="delegator", source="github-api", type="User"))
    return change


def review(change: Change, who: str, **kw: object) -> Approval:
    fields: dict[str, object] = {
        "approver": who,
        "kind": "review",
        "source": "github-api",
        "head_sha": change.head,
        "permission": "write",
        "approver_type": "User",
    }
    fields.update(kw)
    return Approval(**fields)  # type: ignore[arg-type]


def judge(change: Change, policy_text: str | None = None) -> Decision:
    policy = build_policy(policy_text, "p.yml") if policy_text else builtin_policy()
    return evaluate(change, policy, "enforce")


def rejected(d: Decision) -> dict[str, str]:
    assert d.step_up is not None
    return {a.approver: why for a, why in d.step_up.rejected}


def test_no_approval_means_step_up(agent_change: Change) -> None:
    d = judge(agent_change)
    assert d.verdict == "step-up" and d.exit_code == 1


def test_qualifying_review_on_current_head_passes(agent_change: Change) -> None:
    agent_change.approvals.append(review(agent_change, "bob"))
    d = judge(agent_change)
    assert d.verdict == "warn" and d.exit_code == 0
    assert d.step_up is not None and [a.approver for a in d.step_up.counted] == ["bob"]


def bg(
    change: Change, who: str, reason: str | None = "prod is down, hotfix INC-123", **kw: object
) -> Approval:
    return review(change, who, kind="break-glass", reason=reason, **kw)


# (approver, fields that differ from a qualifying one, why it is refused)
REVIEW_REFUSALS = [
    ("bob", {"head_sha": "0" * 40}, "stale"),
    ("bob", {"head_sha": None}, "not bound to a head"),
    ("renovate[bot]", {"approver_type": "Bot"}, "bot"),
    ("alice", {}, "opened the change"),
    ("dave", {}, "delegated the task"),
    ("bob", {"permission": "read"}, "read access; write is needed"),
    ("bob", {"permission": None}, "could not be verified"),
    ("bob", {"base_ref": "release/1.0"}, "stale: given while the target was"),
    ("Copilot", {"approver_id": "198982749"}, "agent identity"),
]
BREAK_GLASS_REFUSALS = [
    ("bob", {"reason": "x"}, "needs a reason"),
    ("bob", {"reason": None}, "needs a reason"),
    ("bob", {"head_sha": "1" * 40}, "another head"),
    ("claude[bot]", {"approver_type": "Bot"}, "never honoured"),
    ("Copilot", {"approver_id": "198982749"}, "never honoured"),
    ("alice", {}, "break-glass refused: approver opened the change"),
    ("dave", {}, "break-glass refused: approver delegated the task to the agent"),
]


def assert_refused(change: Change, approval: Approval, why: str) -> None:
    change.approvals.append(approval)
    d = judge(change)
    assert d.verdict == "step-up"
    assert why in rejected(d)[approval.approver]


@pytest.mark.parametrize(("who", "kw", "why"), REVIEW_REFUSALS)
def test_approvals_that_do_not_count(agent_change: Change, who: str, kw: dict[str, object], why: str) -> None:
    assert_refused(agent_change, review(agent_change, who, **kw), why)


@pytest.mark.parametrize(("who", "kw", "why"), BREAK_GLASS_REFUSALS)
def test_break_glass_refusals(agent_change: Change, who: str, kw: dict[str, object], why: str) -> None:
    assert_refused(agent_change, bg(agent_change, who, **kw), why)


def test_named_approvers_and_two_approvals(agent_change: Change) -> None:
    policy = "step_up:\n  approvals: 2\n  from: ['@acme/security', carol]\n"
    agent_change.approvals += [
        review(agent_change, "bob"),
        review(agent_change, "erin", teams=("@acme/security",)),
        review(agent_change, "erin", teams=("@acme/security",)),
    ]
    d = judge(agent_change, policy)
    assert d.verdict == "step-up"
    assert "not among those the policy names" in rejected(d)["bob"]
    assert any("already counted" in why for _, why in d.step_up.rejected)  # type: ignore[union-attr]
    agent_change.approvals.append(review(agent_change, "carol"))
    assert judge(agent_change, policy).verdict == "warn"


def test_pr_author_may_approve_when_policy_allows(agent_change: Change) -> None:
    agent_change.approvals.append(review(agent_change, "alice"))
    assert judge(agent_change, "step_up: {allow_pr_author: true}\n").verdict == "warn"


def test_block_is_never_approved(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "agent")
    repo.commit("leak", files={"cfg.py": 'TOKEN = "ghp_' + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + '"\n'})
    change = GitRepo(repo.path).build_change("main", "agent")
    change.approvals.append(review(change, "bob"))
    d = judge(change)
    assert d.verdict == "block" and d.exit_code == 1


def test_break_glass_by_a_person_overrides_step_up_and_is_recorded(agent_change: Change) -> None:
    agent_change.approvals.append(bg(agent_change, "bob"))
    d = judge(agent_change)
    assert d.verdict == "warn"
    assert d.step_up is not None and d.step_up.break_glass is not None
    assert any("BREAK-GLASS by bob" in r for r in d.reasons)


def test_break_glass_limited_to_named_people(agent_change: Change) -> None:
    agent_change.approvals.append(bg(agent_change, "bob"))
    d = judge(agent_change, "break_glass: {allowed: [oncall-lead]}\n")
    assert d.verdict == "step-up" and "not allowed to break glass" in rejected(d)["bob"]
    d = judge(agent_change, "break_glass: {enabled: false}\n")
    assert d.verdict == "step-up" and "disabled" in rejected(d)["bob"]


def test_break_glass_by_the_author_counts_only_where_approvals_would(agent_change: Change) -> None:
    agent_change.approvals.append(bg(agent_change, "alice"))
    assert judge(agent_change, "step_up: {allow_pr_author: true}\n").verdict == "warn"
