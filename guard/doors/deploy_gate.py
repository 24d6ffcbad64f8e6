"""The deploy gate, once for every platform: where the judged range starts, and who vouches.

1. The range starts at the last successful deployment the platform records for the environment
   (`last_trusted`), passing over records an agent made: a record an agent's token wrote must not
   move the start. `--since` can be written by the change's own workflow, so it may only widen the
   range (`choose_base`); with neither a readable record nor --since nothing trustworthy says what
   is deployed now, and the guard stops with a usage error (exit 2) rather than guess.
2. Each agent commit in the range is vouched for by the approvals of the merged request that
   brought it in, on the head that was merged (`vouch`): those approvals' `covers` name the
   request's commits in the range. At most MAX_LOOKUPS commits are looked up.
Reads that fail are notes, and what they would have shown counts as absent (an agent commit stays
unapproved). The platforms differ only in how they read; each door's deploy module is a
`DeployRecords` adapter (github/deploy.py, gitlab/deploy.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from guard.errors import UsageError
from guard.fingerprints import load_fingerprints
from guard.git.repo import GitRepo
from guard.identify import IsAgent, agent_account_test, identify_commit
from guard.model import Actor, Approval, Change
from guard.policy import Policy


@dataclass(frozen=True)
class Recorded:
    """The platform's record of the last successful deployment to an environment."""

    sha: str
    where: str  # e.g. "deployment 42 by octocat" (shown in notes)


MAX_LOOKUPS = 300  # agent commits looked up for their merged request; the rest stay unapproved


@dataclass(frozen=True)
class Deployment:
    """One deployment record, newest first as the platform lists them."""

    sha: str
    label: str  # "deployment 42"
    login: str  # who made it ("" when the platform does not say)
    uid: str | None
    type: str | None
    successful: Callable[[], bool]  # read lazily: GitHub keeps states apart from the record


@dataclass(frozen=True)
class Merged:
    """The merged pull or merge request a commit came in with."""

    label: str  # "#12" / "!12"
    data: dict[str, Any]


@dataclass
class Vouched:
    approvals: list[Approval] = field(default_factory=list)
    delegators: list[Actor] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class DeployRecords(Protocol):
    """How one platform reads what the gate needs. Every read may raise; the gate notes why."""

    platform: str  # "GitHub"
    request: str  # "pull request"
    approvals_noun: str  # "reviews": what vouches, in notes

    def describe(self, e: BaseException) -> str:
        """One line for a failed read (never a token, never a traceback)."""
        ...

    def merged_request(self, sha: str) -> Merged | None: ...

    def request_commits(self, req: Merged) -> set[str]:
        """The request's commits, with the merge or squash commit it made."""
        ...

    def approvals(self, req: Merged, covers: tuple[str, ...], policy: Policy, out: Vouched) -> None:
        """Append the approvals given on the merged head, each covering `covers`; notes on the rest."""
        ...

    def delegators(self, req: Merged) -> list[Actor]: ...


def last_trusted(deployments: Iterable[Deployment], is_agent: IsAgent) -> tuple[Recorded | None, list[str]]:
    """The newest successful deployment no agent made (raises when the list cannot be read)."""
    notes: list[str] = []
    for d in deployments:
        if not d.successful():
            continue
        if d.login and is_agent(d.login, d.uid, d.type):
            notes.append(f"{d.label} of {d.sha[:12]} was made by the agent {d.login}: not trusted")
            continue
        return Recorded(d.sha, d.label + (f" by {d.login}" if d.login else "")), notes
    return None, notes


def vouch(records: DeployRecords, change: Change, agent_commits: list[str], policy: Policy) -> Vouched:
    """Approvals for the agent commits of a deploy, from the merged requests that brought them in."""
    out = Vouched()
    in_range = {c.sha for c in change.commits}
    covered: set[str] = set()
    delegators: dict[str, Actor] = {}
    noun = records.request
    for n_lookup, sha in enumerate(agent_commits):
        if sha in covered:
            continue
        if n_lookup >= MAX_LOOKUPS:
            out.notes.append(f"more than {MAX_LOOKUPS} agent commits: the rest were not looked up")
            break
        try:
            req = records.merged_request(sha)
        except Exception as e:
            out.notes.append(f"could not read the {noun} of {sha[:12]} ({records.describe(e)}): unapproved")
            continue
        if req is None:
            out.notes.append(
                f"{sha[:12]} came in without a merged {noun}: no {records.approvals_noun} vouch for it"
            )
            continue
        try:
            brought = tuple(sorted(records.request_commits(req) & in_range))
        except Exception as e:
            out.notes.append(f"could not read the commits of {req.label} ({records.describe(e)}): unapproved")
            continue
        if sha not in brought:
            out.notes.append(
                f"{records.platform} links {sha[:12]} to {req.label}, but it is not among its commits: "
                "unapproved"
            )
            continue
        covered |= set(brought)
        try:
            records.approvals(req, brought, policy, out)
        except Exception as e:
            out.notes.append(
                f"could not read the {records.approvals_noun} of {req.label} ({records.describe(e)}): "
                "they count as absent"
            )
        try:
            for d in records.delegators(req):
                delegators.setdefault(d.login.lower(), d)
        except Exception as e:
            out.notes.append(f"could not read who delegated {req.label} ({records.describe(e)}): unknown")
    out.delegators = list(delegators.values())
    return out


def attach(change: Change, got: Vouched) -> None:
    """The approvals and delegators found become the change's (a delegator is excluded from approving)."""
    change.approvals += got.approvals
    change.notes += got.notes
    known = {(a.login.lower(), a.role) for a in change.actors}
    change.actors += [d for d in got.delegators if (d.login.lower(), d.role) not in known]


FIRST_DEPLOY_HINT = (
    "pass --since REV: the commit the environment runs now, or the root commit "
    "(`git rev-list --max-parents=0 HEAD`) to judge the whole history"
)


def choose_base(
    repo: GitRepo,
    head: str,
    environment: str,
    recorded: Recorded | None,
    unreadable: str | None,
    since: str | None,
) -> tuple[str, list[str]]:
    """(base, notes). `unreadable` says why the record could not be read (None: it was read)."""
    since_sha = repo.resolve(since, "--since") if since else None
    if recorded is None:
        if since_sha is None:
            if unreadable:
                raise UsageError(
                    f"cannot read the deployments of {environment} ({unreadable}) and no --since was "
                    f"given: nothing says what {environment} runs now; fix the token or {FIRST_DEPLOY_HINT}"
                )
            raise UsageError(
                f"no successful deployment to {environment} on record and no --since: "
                f"for a first deploy {FIRST_DEPLOY_HINT}"
            )
        why = (
            f"the deployment record could not be read ({unreadable})"
            if unreadable
            else (f"no successful deployment to {environment} on record")
        )
        return since_sha, [f"deploy to {environment}: {why}; judging from --since {since_sha[:12]}"]
    notes = [f"deploy to {environment}: last successful deployment {recorded.sha[:12]} ({recorded.where})"]
    if not repo.is_ancestor(recorded.sha, head):
        notes.append(
            f"{recorded.sha[:12]} is not an ancestor of {head[:12]} (a rollback, or another branch): "
            "judging the commits of the head it lacks"
        )
    if since_sha is None or since_sha == recorded.sha:
        return recorded.sha, notes
    mb = repo.merge_base(since_sha, recorded.sha)
    if mb is None:
        raise UsageError(
            f"--since {since_sha[:12]} shares no history with the last deployment {recorded.sha[:12]}",
            where="--since",
        )
    if mb == recorded.sha:
        notes.append(f"--since {since_sha[:12]} would shrink the range: ignored (it may only widen it)")
    elif mb == since_sha:
        notes.append(f"--since {since_sha[:12]} is older than the last deployment: the range is widened")
    else:
        notes.append(
            f"--since {since_sha[:12]} and the last deployment diverge: judging from their merge-base "
            f"{mb[:12]}"
        )
    return mb, notes


def agent_test(policy: Policy | None) -> IsAgent:
    """Is this platform account an agent, by the policy's fingerprints?"""
    return agent_account_test(load_fingerprints(policy))


def agent_shas(change: Change, policy: Policy, is_agent: IsAgent) -> list[str]:
    """Commits the engine will call agent work: by their own metadata, or all when an agent ran it."""
    fp = load_fingerprints(policy)
    by_agent = any(
        a.verified and is_agent(a.login, a.id, a.type) for a in change.actors if a.role != "delegator"
    )
    return [
        c.sha for c in change.commits if by_agent or identify_commit(c, fp, change.source_ref).kind == "agent"
    ]
