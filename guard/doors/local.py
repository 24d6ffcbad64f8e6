"""The local door: any git range on this machine (also the base the CI doors build on)."""

from __future__ import annotations

import os

from guard.doors.interface import CheckOptions, FunctionDoor, Prepared
from guard.errors import UsageError
from guard.fingerprints import load_fingerprints
from guard.git.repo import GitRepo
from guard.identify import runner_evidence
from guard.model import Decision
from guard.trusted import load_trusted_policy


def default_base(repo: GitRepo, head: str) -> tuple[str | None, str]:
    """The merge-base with the upstream or the default branch; None (whole history) without either."""
    for cand in (repo.upstream(), repo.default_branch()):
        if cand:
            mb = repo.merge_base(cand, head)
            if mb:
                return mb, f"base: merge-base of {head} with {cand} ({mb[:12]})"
    return None, "no upstream or default branch found: judging every commit reachable from the head"


def prepare(opts: CheckOptions) -> Prepared:
    repo = GitRepo(opts.repo or ".")
    head = repo.resolve(opts.head or "HEAD", "head")
    notes: list[str] = []
    base = opts.base
    if opts.deploy:
        # No platform record of the last deployment here: the range must be named, and it is
        # judged in full (with no approvals to read, agent commits in it fail the gate).
        if not opts.since:
            raise UsageError(
                f"--deploy {opts.deploy} needs --since REV locally (the commit last deployed there); "
                "in CI the platform's deployment record is used"
            )
        base = opts.since
        notes.append(f"deploy to {opts.deploy}: judging {opts.since}..{opts.head or 'HEAD'}")
    elif base is None:
        base, note = default_base(repo, head)
        notes.append(note)
    branch = repo.current_branch() if opts.head is None else None
    change = repo.build_change(base, head, door="local", source_ref=branch, environment=opts.deploy)
    trusted = load_trusted_policy(repo, change.base, head, opts.policy, opts.trusted_refs)
    change.runner = runner_evidence(os.environ, load_fingerprints(trusted.policy))
    if change.runner:
        names = ", ".join(e.value for e in change.runner)
        notes.append(f"an agent runtime is running this check ({names}): every commit counts as its work")
    if change.base == head:
        notes.append("the range is empty: nothing to judge")
    return Prepared(change, trusted, notes + trusted.notes)


def publish(decision: Decision, opts: CheckOptions, prepared: Prepared) -> list[str]:
    return []


HOW: tuple[str, ...] = (
    "no approvals can be read in a local run: open a pull/merge request and let a person approve it",
)


DOOR = FunctionDoor("local", prepare, publish, HOW)  # registered in guard/doors/registry.py
