"""Where a deploy's judged range starts: the platform's record, widened (never shrunk) by --since.

Platform-neutral (git only): the GitHub and GitLab doors read their deployment record and hand it
here. `--since` can be written by the change's own workflow, so it may only make the range longer;
with neither a readable record nor --since nothing trustworthy says what is deployed now, and the
guard stops with a usage error (exit 2) rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from guard.gitrepo import GitRepo
from guard.identify import identify_actor, identify_commit, load_fingerprints
from guard.model import Actor, Change, UsageError
from guard.policy import Policy

IsAgent = Callable[[str, "str | None", "str | None"], bool]  # (login, account id, account type)


@dataclass(frozen=True)
class Recorded:
    """The platform's record of the last successful deployment to an environment."""

    sha: str
    where: str  # e.g. "deployment 42 by octocat" (shown in notes)


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
    fp = load_fingerprints(policy)

    def is_agent(login: str, uid: str | None, kind: str | None) -> bool:
        return identify_actor(Actor(login, "account", "platform-api", id=uid, type=kind), fp).kind == "agent"

    return is_agent


def agent_shas(change: Change, policy: Policy, is_agent: IsAgent) -> list[str]:
    """Commits the engine will call agent work: by their own metadata, or all when an agent ran it."""
    fp = load_fingerprints(policy)
    by_agent = any(
        a.verified and is_agent(a.login, a.id, a.type) for a in change.actors if a.role != "delegator"
    )
    return [
        c.sha for c in change.commits if by_agent or identify_commit(c, fp, change.source_ref).kind == "agent"
    ]
