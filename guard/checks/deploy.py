"""Deploy gate (release findings): no agent work reaches an environment without a person's step-up.

Active only when the change is a deploy (`change.environment` set by `check --deploy ENV`). Each
agent commit in the deployed range needs a qualifying approval that vouches for it: the doors
attach the reviews of the pull/merge request that brought the commit in (on the head that was
merged) as approvals whose `covers` names the commit; a signed commit or tag approval names its
own commit. A deploy triggered by an agent identity, and an empty range, are findings too.
"""

from __future__ import annotations

from typing import Any

from guard.approvals import reject_reason
from guard.checks.interface import CheckContext
from guard.model import Approval, Change, Commit, Finding
from guard.policy import Policy, ReleaseMatch, Rule

TRIGGER_ROLES = ("run-actor", "triggering-actor", "sender", "pusher")


def _wanted(m: ReleaseMatch, category: str) -> bool:
    return (not m.categories or category in m.categories) and category not in m.exclude_categories


def vouching(change: Change, commit: Commit, policy: Policy, rule: Rule) -> tuple[Approval | None, list[str]]:
    """The first approval that vouches for `commit`, and why the others that named it did not."""
    spec = policy.step_up_for(rule)
    why_not: list[str] = []
    for appr in change.approvals:
        if commit.sha not in appr.covers and appr.head_sha != commit.sha:
            continue
        reason = reject_reason(appr, change, spec, expected_head=appr.head_sha)
        if reason is None:
            return appr, []
        why_not.append(f"{appr.approver} ({appr.kind}): {reason}")
    return None, why_not


def check(ctx: CheckContext, rule: Rule) -> list[Finding]:
    change, policy = ctx.change, ctx.policy
    if not change.environment:
        return []
    m: ReleaseMatch = rule.matcher()
    env = change.environment
    out: list[Finding] = []

    def add(category: str, message: str, key: str, **extra: Any) -> None:
        if _wanted(m, category):
            out.append(
                Finding(
                    rule=rule.id,
                    kind="release",
                    action=rule.action,
                    category=category,
                    message=message,
                    id=f"{rule.id}:{category}:{env}:{key}",
                    **extra,
                )
            )

    if not change.commits:
        add(
            "empty-deploy-range",
            f"deploy to {env} judges no commits: the range may have been shrunk "
            "(--since) so that nothing is checked",
            "-",
        )
    for actor in change.actors:
        if actor.verified and actor.identity.kind == "agent" and actor.role in TRIGGER_ROLES:
            add(
                "agent-triggered-deploy",
                f"the deploy to {env} was triggered by {actor.identity.label} ({actor.role} {actor.login})",
                actor.login,
                actors=(actor.identity.label,),
            )
    for c in change.commits:
        if c.identity.kind != "agent" or not _wanted(m, "unapproved-agent-deploy"):
            continue
        appr, why_not = vouching(change, c, policy, rule)
        if appr is None:
            extra = f"; not counted: {'; '.join(why_not)}" if why_not else ""
            add(
                "unapproved-agent-deploy",
                f"agent commit {c.sha[:12]} ({c.identity.label}) would reach "
                f"{env} without a person's approval{extra}",
                c.sha,
                commit=c.sha,
                commits=(c.sha,),
            )
    return out
