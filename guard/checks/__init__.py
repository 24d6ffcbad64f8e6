"""Checks: one module per rule kind (interface.py: `check(ctx, rule)`; registry.py lists them).

`run_checks(ctx)` is the pure `(Change, Policy) -> list[Finding]` of the design: it runs every
enabled rule through its kind's checks, attributes each finding to the identities of the commits
(and verified actors) behind it, and keeps it only when the rule applies to those actors.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

from guard import budget
from guard.checks.interface import CheckContext
from guard.checks.registry import checks_for
from guard.gitai import path_agents
from guard.model import Change, Finding, Identity

if TYPE_CHECKING:
    from guard.policy import Rule


def identities_for(change: Change, commits: tuple[str, ...], path: str | None = None) -> list[Identity]:
    """Who is behind a finding: the named commits (all commits when none are named) plus every
    verified actor of the change that is not a person (a human-looking commit pushed by an agent's
    token is agent work). A commit whose git-ai note says an agent wrote lines of the finding's
    path adds that agent (`assisted`: a person committed what it wrote)."""
    named = set(commits)
    mine = [c for c in change.commits if not named or c.sha in named]
    out = [c.identity for c in mine]
    if path is not None:
        for c in mine:
            vendors = path_agents(c, path)
            if vendors and c.identity.kind != "agent":
                out.append(Identity("agent", vendors[0], c.ai_evidence, "assisted"))
    out += [
        c.identity for c in change.tagged_commits.values() if c.sha in named and change.commit(c.sha) is None
    ]
    out.extend(a.identity for a in change.actors if a.verified and a.identity.kind != "human")
    if not out:
        out.append(change.identity)
    return out


def target_branch(change: Change) -> str | None:
    ref = change.target_ref
    if ref and ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :]
    return ref


def rule_targets(rule: Rule, change: Change) -> bool:
    """Rules limited to `branches:` apply only when the change goes to a matching branch."""
    if not rule.branches:
        return True
    branch = target_branch(change)
    return branch is not None and any(fnmatch.fnmatchcase(branch, pat) for pat in rule.branches)


def run_checks(ctx: CheckContext) -> list[Finding]:
    change = ctx.change
    findings: list[Finding] = []
    for rule in ctx.policy.active_rules():
        budget.check(f"checking rule {rule.id}")
        if not rule_targets(rule, change):
            continue
        found = [f for fn in checks_for(rule.kind) for f in fn(ctx, rule)]
        for f in found:
            ids = identities_for(change, f.commits, f.path)
            kinds = {sel for i in ids for sel in i.selectors}  # `agent`, `agent:autonomous`...
            if not rule.applies_to(kinds):
                continue
            if not f.actors:
                f.actors = tuple(sorted({i.label for i in ids}))
            findings.append(f)
    return findings
