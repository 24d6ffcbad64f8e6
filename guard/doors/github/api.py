"""Reading step-up evidence from the GitHub REST API through PyGithub (imported lazily, here only).

Reads go through PyGithub's requester as raw JSON, so the approval logic (github_approvals.py)
works on GitHub's own shapes. The timeline is requested with `Accept: application/vnd.github+json`
(PyGithub's own timeline call sends a preview media type). Anything unreadable becomes a note, and
the approvals it would have carried count as absent: a needed step-up stays required.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from guard.doors.github.approvals import (
    commit_delegators,
    mark_retarget,
    review_approvals,
    timeline_evidence,
)
from guard.doors.github.event import GitHubContext
from guard.model import Actor, Approval, Change
from guard.policy import Policy

if TYPE_CHECKING:
    from github import Github

JSON = "application/vnd.github+json"
MAX_PAGES = 30
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
SOURCE = "github-api"
# GitHub asks integrations to space out writes (secondary rate limits); reads go back to back.
WRITE_INTERVAL = 1.0


def github(api_url: str, auth: Any, write_interval: float | None = None) -> Github:
    """The one PyGithub set-up every GitHub part uses (the CI door, serve)."""
    from github import Github

    # Few retries and a short timeout: an unreachable API must not hold a required check for minutes.
    return Github(
        base_url=api_url.rstrip("/"),
        auth=auth,
        timeout=15,
        retry=2,
        per_page=100,
        lazy=True,
        user_agent="pipeline-guard",
        seconds_between_requests=0.0,
        seconds_between_writes=WRITE_INTERVAL if write_interval is None else write_interval,
    )


def client(ctx: GitHubContext) -> Github:
    from github import Auth

    return github(ctx.api_url, Auth.Token(ctx.token or ""))


def describe(e: BaseException) -> str:
    """One line for a failed API call (never the token, never a traceback)."""
    from github import GithubException
    from requests.exceptions import ConnectionError, Timeout

    if isinstance(e, GithubException):
        msg = e.data.get("message") if isinstance(e.data, dict) else None
        return f"HTTP {e.status}" + (f" {str(msg)[:160]}" if msg else "")
    if isinstance(e, (ConnectionError, Timeout)):
        return f"the API is unreachable ({type(e).__name__})"
    return f"{type(e).__name__}: {str(e)[:160]}"


def get_json(gh: Github, path: str) -> Any:
    _, data = gh.requester.requestJsonAndCheck("GET", path, headers={"Accept": JSON})
    return data


def get_all(gh: Github, path: str) -> list[Any]:
    """Every page of a list endpoint, following the `Link: rel="next"` header."""
    url: str | None = f"{path}{'&' if '?' in path else '?'}per_page=100"
    out: list[Any] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        headers, data = gh.requester.requestJsonAndCheck("GET", url, headers={"Accept": JSON})
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a list")
        out.extend(data)
        m = _NEXT.search(str(headers.get("link", "")))
        url = m.group(1) if m else None
    return out


@dataclass
class Gathered:
    approvals: list[Approval] = field(default_factory=list)
    delegators: list[Actor] = field(default_factory=list)
    actors: list[Actor] = field(default_factory=list)  # verified actors the payload lacked
    pr_head: str | None = None
    notes: list[str] = field(default_factory=list)
    pushers_unread: str | None = None  # why the head's pushers could not be read (None: they were)


def step_up_labels(policy: Policy) -> set[str]:
    names = set(policy.step_up.labels)
    for rule in policy.rules:
        if rule.step_up is not None:
            names |= set(rule.step_up.labels)
    return names


def team_entries(policy: Policy) -> set[str]:
    """`@org/team` entries the policy names as approvers."""
    specs = [policy.step_up, *(r.step_up for r in policy.rules if r.step_up is not None)]
    entries = {e for s in specs for e in s.from_} | set(policy.break_glass.allowed)
    return {e for e in entries if e.startswith("@") and "/" in e}


class Reader:
    """One pull request's reviews, timeline, commits and approvers' access, read once each."""

    def __init__(self, gh: Github, repository: str) -> None:
        self.gh = gh
        self.base = f"/repos/{repository}"
        self._perm: dict[str, str | None] = {}

    def permission(self, login: str) -> str | None:
        key = login.lower()
        if key not in self._perm:
            data = get_json(self.gh, f"{self.base}/collaborators/{login}/permission")
            role = data.get("role_name") if isinstance(data, dict) else None
            perm = data.get("permission") if isinstance(data, dict) else None
            self._perm[key] = role if role in ("admin", "maintain", "write", "triage", "read") else perm
        return self._perm[key]

    def teams(self, login: str, entries: set[str]) -> tuple[str, ...]:
        found: list[str] = []
        for entry in sorted(entries):
            org, _, slug = entry[1:].partition("/")
            try:
                data = get_json(self.gh, f"/orgs/{org}/teams/{slug}/memberships/{login}")
            except Exception:  # not a member (404) or not visible to this token: not counted
                continue
            if isinstance(data, dict) and data.get("state") == "active":
                found.append(entry)
        return tuple(found)


def gather(
    gh: Github,
    ctx: GitHubContext,
    number: int,
    change: Change,
    policy: Policy,
    is_agent: Callable[[str, str | None, str | None], bool],
    agent_commits: set[str],
    owner_teams: set[str] | None = None,
) -> Gathered:
    """Approvals and delegators for PR `number`; each failed read is a note, never an exception.

    `owner_teams` are CODEOWNERS teams whose membership the approvers' judgement needs."""
    out = Gathered()
    reader = Reader(gh, ctx.repository)
    pull: dict[str, Any] = {}
    try:
        data = get_json(gh, f"{reader.base}/pulls/{number}")
        pull = data if isinstance(data, dict) else {}
    except Exception as e:
        out.notes.append(f"could not read pull request #{number} ({describe(e)}): approvals count as absent")
        return out
    head = pull.get("head")
    sha = head.get("sha") if isinstance(head, dict) else None
    out.pr_head = sha if isinstance(sha, str) else None
    user = pull.get("user")
    if isinstance(user, dict) and isinstance(user.get("login"), str):
        uid = user.get("id")
        out.actors.append(
            Actor(
                user["login"],
                "pr-author",
                SOURCE,
                id=str(uid) if uid is not None else None,
                type=user.get("type"),
            )
        )
    out.actors += _head_pushers(gh, pull, change.head, out)
    try:
        out.approvals += review_approvals(get_all(gh, f"{reader.base}/pulls/{number}/reviews"))
    except Exception as e:
        out.notes.append(f"could not read reviews ({describe(e)}): review approvals count as absent")
    try:
        tl = timeline_evidence(
            get_all(gh, f"{reader.base}/issues/{number}/timeline"),
            step_up_labels(policy),
            policy.break_glass.label,
            is_agent,
        )
        out.approvals += tl.approvals  # the walk already dropped labels removed afterwards
        out.delegators += tl.delegators
        mark_retarget(out.approvals, tl.retargeted_at)
    except Exception as e:
        out.notes.append(f"could not read the timeline ({describe(e)}): labels and delegations are unknown")
    logins: dict[str, str] = {}
    try:
        for c in get_all(gh, f"{reader.base}/pulls/{number}/commits"):
            author = c.get("author") if isinstance(c, dict) else None
            if isinstance(author, dict) and isinstance(author.get("login"), str):
                logins[str(c.get("sha"))] = author["login"]
    except Exception as e:
        out.notes.append(
            f"could not read the PR's commits ({describe(e)}): commit authors not mapped to logins"
        )
    out.delegators += commit_delegators(
        change, agent_commits, logins, lambda login: not is_agent(login, None, None)
    )
    entries = team_entries(policy) | {t.lower() for t in owner_teams or ()}
    for appr in out.approvals:
        try:
            appr.permission = reader.permission(appr.approver)
        except Exception as e:
            out.notes.append(f"could not read {appr.approver}'s access ({describe(e)})")
        if entries:
            appr.teams = reader.teams(appr.approver, entries)
    return out


# Activities that leave a branch at a commit (repository activity API, GitHub's own record of pushes).
LANDING = {"push", "force_push", "branch_creation"}


def _head_pushers(gh: Github, pull: dict[str, Any], sha: str, out: Gathered) -> list[Actor]:
    """Who pushed the PR's current head, from the head repository's activity: the payload of a
    review or label event names only the reviewer, and the head may have been pushed by an agent."""
    raw_head = pull.get("head")
    head: dict[str, Any] = raw_head if isinstance(raw_head, dict) else {}
    raw_repo = head.get("repo")
    repo: dict[str, Any] = raw_repo if isinstance(raw_repo, dict) else {}
    ref, where = head.get("ref"), repo.get("full_name")
    if not (isinstance(ref, str) and isinstance(where, str)):
        out.pushers_unread = "the pull request names no head branch or repository"
        return []
    try:
        items = get_all(gh, f"/repos/{where}/activity?ref={quote('refs/heads/' + ref, safe='')}")
    except Exception as e:
        out.pushers_unread = f"could not read the activity of {where} ({describe(e)})"
        return []
    found: dict[str, Actor] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("after") != sha or item.get("activity_type") not in LANDING:
            continue
        who = item.get("actor") if isinstance(item.get("actor"), dict) else item.get("pusher")
        if isinstance(who, dict) and isinstance(who.get("login"), str):
            actor = Actor.of_account(
                who["login"], "pusher", "github-activity", who.get("id"), who.get("type")
            )
            found.setdefault(actor.login.lower(), actor)
    if not found:
        out.pushers_unread = f"no push of {sha[:12]} is in the activity of {where}"
    return list(found.values())
