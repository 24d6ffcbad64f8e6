"""Deploy gate (release findings): no agent work reaches an environment without a person's step-up.

Active only when the change is a deploy (`change.environment` set by `check --deploy ENV`). Each
agent commit in the deployed range needs a qualifying approval that vouches for it: the doors
attach the reviews of the pull/merge request that brought the commit in (on the head that was
merged) as approvals whose `covers` names the commit; a signed commit or tag approval names its
own commit. A deploy triggered by an agent identity, and an empty range, are findings too.
"""

from __future__ import annotations

from guard.approvals import reject_reason
from guard.model import Approval, Change, Commit, Finding
from guard.policy import Policy, ReleaseMatch, Rule


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


def check(change: Change, rule: Rule, policy: Policy) -> list[Finding]:
    if not change.environment:
        return []
    m: ReleaseMatch = rule.matcher()
    env = change.environment
    out: list[Finding] = []
    if _wanted(m, "empty-deploy-range") and not change.commits:
        out.append(
            Finding(
                rule=rule.id,
                kind="release",
                action=rule.action,
                category="empty-deploy-range",
                message=f"deploy to {env} judges no commits: the range may have been shrunk (--since) "
                "so that nothing is checked",
                id=f"{rule.id}:empty:{env}",
            )
        )
    if _wanted(m, "agent-triggered-deploy"):
        for actor in change.actors:
            if (
                actor.verified
                and actor.identity.kind == "agent"
                and actor.role in ("run-actor", "triggering-actor", "sender", "pusher")
            ):
                out.append(
                    Finding(
                        rule=rule.id,
                        kind="release",
                        action=rule.action,
                        category="agent-triggered-deploy",
                        message=f"the deploy to {env} was triggered by {actor.identity.label} "
                        f"({actor.role} {actor.login})",
                        id=f"{rule.id}:trigger:{env}:{actor.login}",
                        actors=(actor.identity.label,),
                    )
                )
    if _wanted(m, "unapproved-agent-deploy"):
        for c in change.commits:
            if c.identity.kind != "agent":
                continue
            appr, why_not = vouching(change, c, policy, rule)
            if appr is not None:
                continue
            extra = f"; not counted: {'; '.join(why_not)}" if why_not else ""
            out.append(
                Finding(
                    rule=rule.id,
                    kind="release",
                    action=rule.action,
                    category="unapproved-agent-deploy",
                    message=f"agent commit {c.sha[:12]} ({c.identity.label}) would reach {env} "
                    f"without a person's approval{extra}",
                    commit=c.sha,
                    commits=(c.sha,),
                    id=f"{rule.id}:{env}:{c.sha}",
                )
            )
    return out
