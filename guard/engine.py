"""One engine for every door: identify -> check -> decide. Imports no door and no platform SDK."""

from __future__ import annotations

import contextlib

from guard import budget
from guard.checks import run_checks
from guard.checks.ci_reach import Reach
from guard.checks.interface import CheckContext
from guard.codeowners import CodeOwners
from guard.decide import decide
from guard.fingerprints import load_fingerprints
from guard.gitai import attach_provenance
from guard.identify_change import identify_change
from guard.model import Change, Decision, Mode
from guard.policy import Policy
from guard.redact import redact_decision
from guard.secrets.baseline import load_baseline


def attach_tagged_commits(change: Change) -> None:
    """Every door's tag updates name the commit they tag: a tag on an agent's commit is an agent's
    release boundary whoever pushes it, and with whatever branch (or none) it arrives."""
    read = getattr(change.blobs, "tagged_commit", None)
    if read is None:
        return
    for u in change.ref_updates:
        if u.is_tag and u.ref not in change.tagged_commits:
            commit = read(u.old if u.deleted else u.new)
            if commit is not None:
                change.tagged_commits[u.ref] = commit


def evaluate(
    change: Change,
    policy: Policy,
    mode: Mode,
    *,
    policy_source: str = "builtin:default",
    notes: list[str] | None = None,
    deadline: budget.Deadline | None = None,
    baseline: tuple[str, str] | None = None,
    codeowners: CodeOwners | None = None,
    ci_reach: dict[str, Reach] | None = None,
    how: tuple[str, ...] = (),
) -> Decision:
    """With a `deadline`, every stage (and every loop that calls `budget.check()`) runs under it and
    `BudgetExceeded` ends the evaluation once it has passed. `baseline` is (text, where) of the
    secret baseline as read at the trusted ref (see trusted.py); never read from the change."""
    ctx = CheckContext(
        change,
        policy,
        baseline=load_baseline(*baseline) if baseline is not None else None,
        codeowners=codeowners,
        ci_reach=ci_reach or {},  # files privileged CI runs, derived at the trusted ref (trusted.py)
    )
    with deadline.active() if deadline is not None else contextlib.nullcontext():
        attach_tagged_commits(change)
        attach_provenance(change, load_fingerprints(policy))
        budget.check("identifying")
        identify_change(change, policy)
        budget.check("running checks")
        findings = run_checks(ctx)
        budget.check("deciding")
        decision = decide(
            change,
            policy,
            findings,
            mode,
            policy_source=policy_source,
            notes=[*(notes or []), *change.notes],
            codeowners=codeowners,
            how=how,
        )
        budget.check("redacting")
        return redact_decision(decision)  # what leaves the engine is fit for every output
