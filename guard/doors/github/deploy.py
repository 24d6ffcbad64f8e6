"""The GitHub deploy gate: what a deploy to an environment brings, and which person vouched for it.

Used by `check --deploy ENV` in Actions (`prepare`) and by `pipeline-guard serve` (the reads only).
The gate's algorithm is guard/doors/deploy_gate.py; this module is its GitHub reads: deployments
and their statuses (Deployments API), the merged pull request of a commit, its commits, its
reviews on the merged head, and who delegated it (issue timeline).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from guard.doors.deploy_gate import (
    Deployment,
    Merged,
    Recorded,
    Vouched,
    agent_shas,
    agent_test,
    attach,
    choose_base,
    last_trusted,
)
from guard.doors.deploy_gate import vouch as gate_vouch
from guard.doors.github.api import Reader, describe, get_all, get_json
from guard.doors.github.approvals import commit_delegators, review_approvals, timeline_evidence
from guard.doors.github.event import GitHubContext, Payload, api_client, read_context
from guard.doors.interface import CheckOptions
from guard.git.repo import GitRepo
from guard.gitai import fetch_notes
from guard.identify import IsAgent
from guard.model import Actor, Change
from guard.policy import Policy
from guard.trusted import load_trusted_policy

if TYPE_CHECKING:
    from github import Github

    from guard.doors.github.door import GitHubPrepared

ENV_SOURCE = "github-actions-env"
MAX_DEPLOYMENTS = 50  # newest deployments whose statuses are read for the last success


def last_success(
    gh: Github, repository: str, environment: str, is_agent: IsAgent, skip: Iterable[int] = ()
) -> tuple[Recorded | None, list[str]]:
    """The newest successful deployment no agent created (GitHub lists newest first); raises on
    an unreadable deployment list (the caller decides)."""
    return last_trusted(_deployments(gh, repository, environment, set(skip)), is_agent)


def _deployments(gh: Github, repository: str, environment: str, skip: set[int]) -> Iterator[Deployment]:
    base = f"/repos/{repository}"
    data = get_json(
        gh, f"{base}/deployments?environment={quote(environment, safe='')}&per_page={MAX_DEPLOYMENTS}"
    )
    for dep in data if isinstance(data, list) else []:
        if not isinstance(dep, dict) or not isinstance(dep.get("id"), int) or dep["id"] in skip:
            continue
        sha = dep.get("sha")
        if not isinstance(sha, str) or len(sha) != 40:
            continue
        raw = dep.get("creator")
        creator: dict[str, Any] = raw if isinstance(raw, dict) else {}
        path = f"{base}/deployments/{dep['id']}/statuses?per_page=100"

        def successful(path: str = path) -> bool:
            statuses = get_json(gh, path)
            return any(isinstance(s, dict) and s.get("state") == "success" for s in statuses or [])

        yield Deployment(
            sha=sha,
            label=f"deployment {dep['id']}",
            login=str(creator.get("login") or ""),
            uid=str(creator["id"]) if creator.get("id") is not None else None,
            type=creator.get("type"),
            successful=successful,
        )


class GitHubRecords:
    """The deploy gate's reads on GitHub (guard/doors/deploy_gate.py: DeployRecords)."""

    platform = "GitHub"
    request = "pull request"
    approvals_noun = "reviews"

    def __init__(self, gh: Github, repository: str, is_agent: IsAgent) -> None:
        self.gh, self.reader, self.is_agent = gh, Reader(gh, repository), is_agent

    def describe(self, e: BaseException) -> str:
        return describe(e)

    def merged_request(self, sha: str) -> Merged | None:
        for pr in _list(get_json(self.gh, f"{self.reader.base}/commits/{sha}/pulls")):
            if isinstance(pr, dict) and pr.get("merged_at") and isinstance(pr.get("number"), int):
                return Merged(f"#{pr['number']}", pr)
        return None

    def request_commits(self, req: Merged) -> set[str]:
        n = req.data["number"]
        shas = {str(c.get("sha")) for c in get_all(self.gh, f"{self.reader.base}/pulls/{n}/commits")}
        if req.data.get("merge_commit_sha"):  # a squash or merge commit is the PR's too
            shas.add(str(req.data["merge_commit_sha"]))
        return shas

    def approvals(self, req: Merged, covers: tuple[str, ...], policy: Policy, out: Vouched) -> None:
        """The PR's approving reviews on its merged head, each vouching for `covers`."""
        pr, n = req.data, req.label
        head = pr.get("head", {}).get("sha") if isinstance(pr.get("head"), dict) else None
        user = pr.get("user")
        author = str(user.get("login") or "").lower() if isinstance(user, dict) else ""
        if not isinstance(head, str):
            out.notes.append(f"pull request {n} names no head: its reviews cannot vouch for anything")
            return
        reviews = review_approvals(get_all(self.gh, f"{self.reader.base}/pulls/{pr['number']}/reviews"))
        for appr in reviews:
            if appr.head_sha != head:
                given = appr.head_sha[:12] if appr.head_sha else "no head"
                out.notes.append(
                    f"{n}: {appr.approver}'s approval was given on {given}, not on the merged head "
                    f"{head[:12]}: not counted"
                )
                continue
            if appr.approver.lower() == author and not policy.step_up.allow_pr_author:
                out.notes.append(f"{n}: {appr.approver} opened the pull request: their review does not count")
                continue
            appr.covers = covers
            try:
                appr.permission = self.reader.permission(appr.approver)
            except Exception as e:
                out.notes.append(f"could not read {appr.approver}'s access ({describe(e)})")
            out.approvals.append(appr)

    def delegators(self, req: Merged) -> list[Actor]:
        items = get_all(self.gh, f"{self.reader.base}/issues/{req.data['number']}/timeline")
        return list(timeline_evidence(items, set(), None, self.is_agent).delegators)


def _list(data: Any) -> list[Any]:
    return data if isinstance(data, list) else []


def vouch(
    gh: Github, repository: str, change: Change, agent_commits: list[str], policy: Policy, is_agent: IsAgent
) -> Vouched:
    """Approvals for the agent commits of a deploy (deploy_gate.vouch), plus the people named on
    the agent commits themselves (who delegated the task may not approve it)."""
    out = gate_vouch(GitHubRecords(gh, repository, is_agent), change, agent_commits, policy)
    known = {d.login.lower() for d in out.delegators}
    human = lambda login: not is_agent(login, None, None)  # noqa: E731
    out.delegators += [
        d for d in commit_delegators(change, set(agent_commits), {}, human) if d.login.lower() not in known
    ]
    return out


def _actor(login: str | None, role: str, source: str, uid: str | None = None) -> Actor | None:
    return Actor(login, role, source, id=uid) if login else None


def trigger_actors(env: dict[str, str], ctx: GitHubContext | None) -> list[Actor]:
    """Who started this run, as the runner and the event vouch: an agent here is a finding."""
    found = [
        _actor(env.get("GITHUB_ACTOR"), "run-actor", ENV_SOURCE, env.get("GITHUB_ACTOR_ID") or None),
        _actor(env.get("GITHUB_TRIGGERING_ACTOR"), "triggering-actor", ENV_SOURCE),
    ]
    if ctx is not None:
        p = Payload(ctx.payload, ctx.event_path)
        found.append(p.actor("sender", "sender"))
        if ctx.event_name == "workflow_run":  # the run that triggered this one
            found += [
                p.actor("workflow_run.actor", "run-actor"),
                p.actor("workflow_run.triggering_actor", "triggering-actor"),
            ]
    out: dict[tuple[str, str], Actor] = {}
    for a in found:
        if a is not None:
            out.setdefault((a.login.lower(), a.role), a)
    return list(out.values())


def prepare(opts: CheckOptions) -> GitHubPrepared:
    """`check --deploy ENV` in Actions: range from GitHub's deployment record, approvals from PRs."""
    from guard.doors.github.door import GitHubPrepared, reports_requested
    from guard.doors.github.git import ensure_range

    assert opts.deploy is not None
    environment = opts.deploy
    env = dict(os.environ)
    ctx = read_context(env)
    if opts.reports is None:
        opts.reports = "none"  # the PR check's name is not the deploy's verdict
    reports_requested(opts)  # a typo is a usage error before any work
    repo = GitRepo(opts.repo or ctx.workspace)
    head = opts.head or ctx.sha or "HEAD"
    if len(head) != 40 or not all(ch in "0123456789abcdef" for ch in head):
        head = repo.resolve(head, "--head")
    default_branch = Payload(ctx.payload, ctx.event_path).get("repository.default_branch", str, False)
    notes = [f"deploy of {head[:12]} to {environment} ({ctx.event_name} on {ctx.repository})"]
    gh, no_token = api_client(ctx)
    builtin_agent = agent_test(None)  # the trusted policy is read once the range is known
    recorded: Recorded | None = None
    unreadable = no_token
    if gh is not None:
        try:
            recorded, rnotes = last_success(gh, ctx.repository, environment, builtin_agent)
            notes += rnotes
        except Exception as e:
            unreadable = describe(e)
    notes += ensure_range(
        repo, head, recorded.sha if recorded else None, base_branch=None, default_branch=default_branch
    )
    notes += fetch_notes(repo)
    base, bnotes = choose_base(repo, head, environment, recorded, unreadable, opts.since)
    notes += bnotes
    change = repo.build_change(
        base,
        head,
        door="github",
        repository=f"{ctx.server_url.rstrip('/')}/{ctx.repository}",
        environment=environment,
        actors=trigger_actors(env, ctx),
    )
    trusted = load_trusted_policy(repo, change.base, change.head, opts.policy, opts.trusted_refs)
    prepared = GitHubPrepared(change, trusted, notes + trusted.notes, ctx=ctx, gh=gh, no_token=no_token)
    is_agent = agent_test(trusted.policy)
    shas = agent_shas(change, trusted.policy, is_agent)
    if gh is None:
        if shas:
            change.notes.append(
                f"{no_token}: the pull request reviews could not be read, so every agent commit counts "
                "as unapproved"
            )
        return prepared
    got = vouch(gh, ctx.repository, change, shas, trusted.policy, is_agent)
    attach(change, got)
    return prepared
