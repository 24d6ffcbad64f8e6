"""The GitHub deploy gate: what a deploy to an environment brings, and which person vouched for it.

Used by `check --deploy ENV` in Actions (`prepare`) and by `pipeline-guard serve` (the reads only).
The range starts at the last successful deployment GitHub records for the environment (Deployments
API), widened by --since (deploy_range.py). Each agent commit in it is vouched for by the reviews
of the merged pull request that brought it in, on the head that was merged: those reviews become
approvals whose `covers` names the PR's commits in the range. Reads that fail are notes, and what
they would have shown counts as absent (an agent commit stays unapproved).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from guard.doors.deploy_gate import IsAgent, Recorded, agent_shas, agent_test, choose_base
from guard.doors.github.api import Reader, describe, get_all, get_json
from guard.doors.github.approvals import commit_delegators, review_approvals, timeline_evidence
from guard.doors.github.event import GitHubContext, Payload, read_context
from guard.doors.interface import CheckOptions
from guard.gitrepo import GitRepo
from guard.model import Actor, Approval, Change
from guard.policy import Policy
from guard.trusted import load_trusted_policy

if TYPE_CHECKING:
    from github import Github

    from guard.doors.github.door import GitHubPrepared

ENV_SOURCE = "github-actions-env"
MAX_DEPLOYMENTS = 50  # newest deployments whose statuses are read for the last success
MAX_PR_LOOKUPS = 300  # agent commits looked up for their pull request; the rest stay unapproved


def last_success(
    gh: Github, repository: str, environment: str, is_agent: IsAgent, skip: Iterable[int] = ()
) -> tuple[Recorded | None, list[str]]:
    """The newest deployment to `environment` with a `success` status (GitHub lists newest first).

    Deployments an agent created are passed over: a record an agent's token wrote must not move
    the start of the range. Raises on an unreadable deployment list (the caller decides)."""
    notes: list[str] = []
    skipped = set(skip)
    base = f"/repos/{repository}"
    data = get_json(
        gh, f"{base}/deployments?environment={quote(environment, safe='')}&per_page={MAX_DEPLOYMENTS}"
    )
    for dep in data if isinstance(data, list) else []:
        if not isinstance(dep, dict) or not isinstance(dep.get("id"), int) or dep["id"] in skipped:
            continue
        sha = dep.get("sha")
        raw = dep.get("creator")
        creator: dict[str, Any] = raw if isinstance(raw, dict) else {}
        login = str(creator.get("login") or "")
        uid = str(creator["id"]) if creator.get("id") is not None else None
        if not isinstance(sha, str) or len(sha) != 40:
            continue
        statuses = get_json(gh, f"{base}/deployments/{dep['id']}/statuses?per_page=100")
        if not any(isinstance(s, dict) and s.get("state") == "success" for s in statuses or []):
            continue
        if login and is_agent(login, uid, creator.get("type")):
            notes.append(
                f"deployment {dep['id']} of {sha[:12]} was created by the agent {login}: not trusted"
            )
            continue
        return Recorded(sha, f"deployment {dep['id']}" + (f" by {login}" if login else "")), notes
    return None, notes


@dataclass
class Vouched:
    approvals: list[Approval] = field(default_factory=list)
    delegators: list[Actor] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _merged_pr(pulls: Any) -> dict[str, Any] | None:
    for pr in pulls if isinstance(pulls, list) else []:
        if isinstance(pr, dict) and pr.get("merged_at") and isinstance(pr.get("number"), int):
            return pr
    return None


def _pr_approvals(
    gh: Github, reader: Reader, pr: dict[str, Any], covers: tuple[str, ...], policy: Policy, out: Vouched
) -> None:
    """The PR's approving reviews on its merged head, each vouching for `covers`."""
    n = pr["number"]
    head = pr.get("head", {}).get("sha") if isinstance(pr.get("head"), dict) else None
    author = str(pr.get("user", {}).get("login") or "").lower() if isinstance(pr.get("user"), dict) else ""
    if not isinstance(head, str):
        out.notes.append(f"pull request #{n} names no head: its reviews cannot vouch for anything")
        return
    try:
        reviews = review_approvals(get_all(gh, f"{reader.base}/pulls/{n}/reviews"))
    except Exception as e:
        out.notes.append(f"could not read the reviews of #{n} ({describe(e)}): they count as absent")
        return
    for appr in reviews:
        if appr.head_sha != head:
            given = appr.head_sha[:12] if appr.head_sha else "no head"
            out.notes.append(
                f"#{n}: {appr.approver}'s approval was given on {given}, not on the merged head "
                f"{head[:12]}: not counted"
            )
            continue
        if appr.approver.lower() == author and not policy.step_up.allow_pr_author:
            out.notes.append(f"#{n}: {appr.approver} opened the pull request: their review does not count")
            continue
        appr.covers = covers
        try:
            appr.permission = reader.permission(appr.approver)
        except Exception as e:
            out.notes.append(f"could not read {appr.approver}'s access ({describe(e)})")
        out.approvals.append(appr)


def vouch(
    gh: Github, repository: str, change: Change, agent_shas: list[str], policy: Policy, is_agent: IsAgent
) -> Vouched:
    """Approvals for the agent commits of a deploy, from the merged PRs that brought them in."""
    out = Vouched()
    reader = Reader(gh, repository)
    in_range = {c.sha for c in change.commits}
    covered: set[str] = set()
    delegators: dict[str, Actor] = {}
    for n_lookup, sha in enumerate(agent_shas):
        if sha in covered:
            continue
        if n_lookup >= MAX_PR_LOOKUPS:
            out.notes.append(f"more than {MAX_PR_LOOKUPS} agent commits: the rest were not looked up")
            break
        try:
            pr = _merged_pr(get_json(gh, f"{reader.base}/commits/{sha}/pulls"))
        except Exception as e:
            out.notes.append(f"could not read the pull request of {sha[:12]} ({describe(e)}): unapproved")
            continue
        if pr is None:
            out.notes.append(f"{sha[:12]} came in without a merged pull request: no review vouches for it")
            continue
        n = pr["number"]
        try:
            pr_shas = {str(c.get("sha")) for c in get_all(gh, f"{reader.base}/pulls/{n}/commits")}
        except Exception as e:
            out.notes.append(
                f"could not read the commits of #{n} ({describe(e)}): its reviews vouch for none"
            )
            continue
        if pr.get("merge_commit_sha") in in_range:  # a squash or merge commit is the PR's too
            pr_shas.add(str(pr["merge_commit_sha"]))
        brought = tuple(sorted(pr_shas & in_range))
        if sha not in brought:
            out.notes.append(f"GitHub links {sha[:12]} to #{n}, but it is not among its commits: unapproved")
            continue
        covered |= set(brought)
        _pr_approvals(gh, reader, pr, brought, policy, out)
        try:
            tl = timeline_evidence(get_all(gh, f"{reader.base}/issues/{n}/timeline"), set(), None, is_agent)
            for d in tl.delegators:
                delegators.setdefault(d.login.lower(), d)
        except Exception as e:
            out.notes.append(
                f"could not read the timeline of #{n} ({describe(e)}): who delegated it is unknown"
            )
    out.delegators = list(delegators.values())
    out.delegators += commit_delegators(
        change, set(agent_shas), {}, lambda login: not is_agent(login, None, None)
    )
    return out


def attach(change: Change, got: Vouched) -> None:
    change.approvals += got.approvals
    known = {(a.login.lower(), a.role) for a in change.actors}
    change.actors += [d for d in got.delegators if (d.login.lower(), d.role) not in known]


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
    gh: Github | None = None
    no_token: str | None = None
    if not ctx.token:
        no_token = "no token (set the action's `token` input or GITHUB_TOKEN)"
    else:
        try:
            from guard.doors.github.api import client

            gh = client(ctx)
        except ImportError:
            no_token = "PyGithub is not installed (pip install 'pipeline-guard[github]')"
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
    change.notes += got.notes
    return prepared
