"""Step-up on GitHub: real review and timeline shapes in, the engine's judgement out.

Reviews, users, commits and label events start from the examples in GitHub's own OpenAPI
description (@octokit/openapi); a test changes only who, which head and when. The door translates
(github_approvals.py); the engine (guard/approvals.py) decides what counts and says why not.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from gitutil import CLAUDE_TRAILER, Repo
from standins.github import api_example

from guard.approvals import judge
from guard.doors.github.approvals import (
    adds_nothing_beyond,
    commit_delegators,
    rebind,
    review_approvals,
    timeline_evidence,
)
from guard.fingerprints import load_fingerprints
from guard.git.repo import GitRepo
from guard.identify import identify_actor
from guard.identify_change import identify_change
from guard.model import Actor, Approval, Change, StepUp
from guard.policy import builtin_policy

HEAD, OLD = "a" * 40, "b" * 40
POLICY = builtin_policy()
FP = load_fingerprints(POLICY)
LABEL = POLICY.step_up.labels[0]


def is_agent(login: str, uid: str | None, kind: str | None) -> bool:
    return identify_actor(Actor(login, "x", "test", id=uid, type=kind), FP).kind == "agent"


def user(login: str, uid: int, kind: str = "User") -> dict[str, Any]:
    u = copy.deepcopy(api_example("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")[0]["user"])
    u.update(login=login, id=uid, type=kind)
    return u


def review(login: str, state: str = "APPROVED", commit: str = HEAD, kind: str = "User") -> dict[str, Any]:
    r = api_example("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")[0]
    r.update(state=state, commit_id=commit, user=user(login, sum(map(ord, login)), kind))
    return r


def labeled(
    login: str, name: str = LABEL, at: str = "2026-01-02T00:00:00Z", kind: str = "User"
) -> dict[str, Any]:
    events = api_example("/repos/{owner}/{repo}/issues/{issue_number}/timeline")
    ev = next(e for e in events if e["event"] == "labeled")
    ev.update(actor=user(login, 7, kind), created_at=at)
    ev["label"]["name"] = name
    return ev


def committed(sha: str) -> dict[str, Any]:
    c = api_example("/repos/{owner}/{repo}/git/commits/{commit_sha}")
    c.update(sha=sha, event="committed")
    return c


def assigned(assignee: dict[str, Any], by: str) -> dict[str, Any]:
    ev = labeled(by)
    ev.pop("label")
    ev.update(event="assigned", assignee=assignee)
    return ev


def agent_pr(*approvals: Approval, actors: tuple[Actor, ...] = ()) -> StepUp:
    """Judge approvals for an agent PR by `Codertocat` whose head is HEAD."""
    change = Change(door="github", head=HEAD, base=OLD, target_ref="main")
    change.actors = [Actor("Codertocat", "pr-author", "github-event", id="21031067", type="User"), *actors]
    change.approvals = list(approvals)
    identify_change(change, POLICY)
    return judge(change, [POLICY.step_up], POLICY.break_glass)


def write(appr: list[Approval], perm: str = "write") -> list[Approval]:
    for a in appr:
        a.permission = perm  # the door reads it from /collaborators/{login}/permission
    return appr


def test_a_human_review_on_the_current_head_counts() -> None:
    result = agent_pr(*write(review_approvals([review("octocat")])))
    assert result.satisfied and [a.approver for a in result.counted] == ["octocat"]


def test_stale_bot_and_author_reviews_do_not_count() -> None:
    reviews = [
        review("old-head-reviewer", commit=OLD),
        review("github-actions[bot]", kind="Bot"),
        review("Codertocat"),
    ]
    result = agent_pr(*write(review_approvals(reviews)))
    why = {a.approver: r for a, r in result.rejected}
    assert not result.satisfied
    assert why["old-head-reviewer"].startswith("stale: given for bbbbbbbbbbbb")
    assert why["github-actions[bot]"] == "approver is a bot account"
    assert why["Codertocat"] == "approver opened the change"


def test_the_latest_decisive_review_wins() -> None:
    later_change_request = [review("octocat"), review("octocat", "CHANGES_REQUESTED")]
    assert review_approvals(later_change_request) == []
    comment_after_approval = [review("octocat"), review("octocat", "COMMENTED")]
    assert [a.approver for a in review_approvals(comment_after_approval)] == ["octocat"]


def test_read_access_or_unknown_access_does_not_count() -> None:
    result = agent_pr(*write(review_approvals([review("reader")]), "read"), *review_approvals([review("x")]))
    assert [r for _, r in result.rejected] == [
        "approver has read access; write is needed",
        "approver's access level could not be verified",
    ]


def test_a_label_counts_only_after_the_latest_push_and_from_a_person() -> None:
    fresh = timeline_evidence([committed(OLD), committed(HEAD), labeled("maint")], {LABEL}, None, is_agent)
    assert fresh.approvals[0].head_sha == HEAD
    assert agent_pr(*write(fresh.approvals)).satisfied
    before_push = timeline_evidence(
        [committed(OLD), labeled("maint"), committed(HEAD)], {LABEL}, None, is_agent
    )
    result = agent_pr(*write(before_push.approvals))
    assert not result.satisfied and result.rejected[0][1].startswith("stale: given for bbbbbbbbbbbb")
    by_bot = timeline_evidence(
        [committed(HEAD), labeled("renovate[bot]", kind="Bot")], {LABEL}, None, is_agent
    )
    assert agent_pr(*write(by_bot.approvals)).rejected[0][1] == "approver is a bot account"
    removed = labeled("maint")
    removed["event"] = "unlabeled"
    gone = timeline_evidence([committed(HEAD), labeled("maint"), removed], {LABEL}, None, is_agent)
    assert gone.approvals == []
    other = timeline_evidence([committed(HEAD), labeled("maint", "bug")], {LABEL}, None, is_agent)
    assert other.approvals == []


def test_whoever_assigned_the_agent_is_a_delegator_and_cannot_approve() -> None:
    copilot = user("Copilot", 198982749, "Bot")
    tl = timeline_evidence([assigned(copilot, "alice"), committed(HEAD)], {LABEL}, None, is_agent)
    assert [(d.login, d.role) for d in tl.delegators] == [("alice", "delegator")]
    result = agent_pr(*write(review_approvals([review("alice")])), actors=tuple(tl.delegators))
    assert result.rejected[0][1] == "approver delegated the task to the agent"
    human_assignee = timeline_evidence([assigned(user("bob", 3), "alice")], {LABEL}, None, is_agent)
    assert human_assignee.delegators == []


def test_break_glass_needs_a_reason_and_a_person() -> None:
    bg = POLICY.break_glass.label
    comment = api_example("/repos/{owner}/{repo}/issues/{issue_number}/timeline")
    note = next(e for e in comment if e["event"] == "commented")
    note.update(user=user("maint", 7), body="Production is down.\nbreak-glass: hotfix for incident 4711")
    with_reason = timeline_evidence([committed(HEAD), note, labeled("maint", bg)], set(), bg, is_agent)
    result = agent_pr(*write(with_reason.approvals))
    assert result.break_glass is not None and result.break_glass.reason == "hotfix for incident 4711"
    no_reason = timeline_evidence([committed(HEAD), labeled("maint", bg)], set(), bg, is_agent)
    result = agent_pr(*write(no_reason.approvals))
    assert result.break_glass is None and "needs a reason" in result.rejected[0][1]
    by_agent = timeline_evidence([committed(HEAD), labeled("Copilot", bg, kind="Bot")], set(), bg, is_agent)
    assert agent_pr(*write(by_agent.approvals)).break_glass is None


def test_humans_named_on_agent_commits_are_delegators(repo: Repo) -> None:
    base = repo.head()
    msg = f"agent work\n\n{CLAUDE_TRAILER}\nCo-authored-by: Bob <12345+bob@users.noreply.github.com>\n"
    head = repo.commit(msg, files={"src/app.py": "x = 1\n"})
    change = GitRepo(repo.path).build_change(base, head, door="github")
    found = commit_delegators(
        change, {head}, {head: "alice-gh"}, lambda login: not is_agent(login, None, None)
    )
    assert sorted(d.login for d in found) == ["alice-gh", "bob"]
    assert all(d.role == "delegator" and not d.verified for d in found)


def _group(tmp: Path, extra: dict[str, str | bytes]) -> tuple[GitRepo, str, str, str]:
    r = Repo(tmp)
    base = r.commit("initial", files={"a.txt": "1\n", "b.txt": "1\n"})
    r.git("checkout", "-q", "-b", "pr")
    pr_head = r.commit("pr", files={"a.txt": "1\n2\n"})
    r.git("checkout", "-q", "-b", "queue", base)
    r.git("merge", "-q", "--no-ff", "-m", "merge", "pr")
    group = r.commit("sneak", files=extra) if extra else r.head()
    return GitRepo(r.path), base, pr_head, group


def test_a_merge_group_keeps_approvals_only_when_it_adds_nothing(tmp_path: Path) -> None:
    g, base, pr_head, group = _group(tmp_path / "same", {})
    assert adds_nothing_beyond(g.diff(base, group), g.diff(base, pr_head)) is None
    approvals = review_approvals([review("octocat", commit=pr_head)])
    assert rebind(approvals, pr_head, group) == 1 and approvals[0].head_sha == group
    g, base, pr_head, group = _group(tmp_path / "file", {"b.txt": "1\nmore\n"})
    assert adds_nothing_beyond(g.diff(base, group), g.diff(base, pr_head)) == (
        "the group changes b.txt, which the approved head does not"
    )
    g, base, pr_head, group = _group(tmp_path / "line", {"a.txt": "1\n2\n3\n"})
    assert "adds lines to a.txt" in str(adds_nothing_beyond(g.diff(base, group), g.diff(base, pr_head)))


def test_a_group_too_large_to_compare_carries_no_approval() -> None:
    from guard.doors.github.approvals import adds_nothing_beyond
    from guard.model import FileChange

    pr = FileChange(path="a.py", status="modified")
    group = FileChange(path="a.py", status="modified", spilled=True)  # lines not held
    assert (
        adds_nothing_beyond([group], [pr])
        == "the group's change to a.py is too large to compare line by line"
    )
    assert adds_nothing_beyond([FileChange(path="a.py", status="modified")], [pr]) is None


def _break_glass_by(login: str) -> list[Approval]:
    bg = POLICY.break_glass.label
    events = api_example("/repos/{owner}/{repo}/issues/{issue_number}/timeline")
    note = next(e for e in events if e["event"] == "commented")
    note.update(user=user(login, 9), body="break-glass: prod is down, incident 4711")
    tl = timeline_evidence([committed(HEAD), note, labeled(login, bg)], set(), bg, is_agent)
    return write(tl.approvals)


def test_break_glass_is_closed_to_the_author_delegator_and_co_authors(repo: Repo) -> None:
    # Attack: whoever opened the agent's PR, or handed the task to the agent, waves it through alone.
    result = agent_pr(*_break_glass_by("Codertocat"))
    assert result.break_glass is None
    assert result.rejected[0][1] == "break-glass refused: approver opened the change"
    copilot = user("Copilot", 198982749, "Bot")
    tl = timeline_evidence([assigned(copilot, "alice"), committed(HEAD)], {LABEL}, None, is_agent)
    result = agent_pr(*_break_glass_by("alice"), actors=tuple(tl.delegators))
    assert result.break_glass is None
    assert result.rejected[0][1] == "break-glass refused: approver delegated the task to the agent"
    co_author = Actor("carol", "delegator", "commit", verified=False)  # as commit_delegators names her
    result = agent_pr(*_break_glass_by("carol"), actors=(co_author,))
    assert result.break_glass is None and "delegated the task" in result.rejected[0][1]
    # A person outside the change still can.
    assert agent_pr(*_break_glass_by("maint"), actors=tuple(tl.delegators)).break_glass is not None
