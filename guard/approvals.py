"""Step-up judgement: which gathered approvals count, and why the others do not.

Doors gather evidence (reviews, labels, MR approvals, signatures, push options); the engine judges
it here, the same way for every door: a person (not a bot, not an agent, not the PR author and by
default not whoever delegated the task to the agent), with enough access, approving the *current*
head. An approval on an older head is stale.
"""

from __future__ import annotations

from guard.model import Approval, Change, StepUp
from guard.policy import BreakGlassConfig, StepUpSpec

PERMISSION_RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
# Mechanisms whose authority is the door's own verification (allowed-signers file, a verified
# human pusher), not a platform permission level.
SELF_VERIFIED_KINDS = {"signature", "push-option"}
# `owners` passed to the judgement: None = CODEOWNERS not consulted; this = required but absent
# (fails closed: nobody qualifies); an empty set = the gated paths have no owner (no restriction).
NO_CODEOWNERS: frozenset[str] = frozenset({"\0no-codeowners-file"})
# A comment/note line `break-glass: <reason>` gives the reason for (GitHub) or is (GitLab) a
# break-glass request; every door reads it the same way.
BREAK_GLASS_PREFIX = "break-glass:"


def break_glass_request(text: str) -> str | None:
    """The reason of the first `break-glass: <reason>` line of a comment or note; None if none."""
    for line in text.splitlines():
        if line.strip().lower().startswith(BREAK_GLASS_PREFIX):
            return line.strip()[len(BREAK_GLASS_PREFIX) :].strip()
    return None


HEAD_BOUND_KINDS = {"review", "label", "mr-approval", "signature", "push-option", "break-glass"}

# What a step-up report says to do when the door gives no instructions of its own (each door
# passes its own: guard/judge.py `how`).
GENERIC_HOW = ("a qualifying person approves the change on its current head, then re-run the guard",)


def _people(change: Change, role: str) -> set[str]:
    return {a.login.lower() for a in change.actors if a.role == role}


def _not_a_person(approval: Approval) -> str | None:
    if approval.approver_type and approval.approver_type.lower() == "bot":
        return "approver is a bot account"
    if approval.identity.kind == "agent":
        return f"approver is an agent identity ({approval.identity.label})"
    if approval.identity.kind == "automation":
        return f"approver is automation ({approval.identity.label})"
    return None


def _party_to_change(approval: Approval, change: Change, spec: StepUpSpec) -> str | None:
    who = approval.approver.lower()
    if not spec.allow_pr_author and who in _people(change, "pr-author"):
        return "approver opened the change"
    if not spec.allow_delegator and who in _people(change, "delegator"):
        return "approver delegated the task to the agent"
    return None


def excluded_reason(approval: Approval, change: Change, spec: StepUpSpec) -> str | None:
    """Who can never approve (nor break glass on) this change: bots, agents, automation, the PR
    author and the person who delegated the task (co-authors of agent commits count as such)."""
    return _not_a_person(approval) or _party_to_change(approval, change, spec)


def reject_reason(
    approval: Approval,
    change: Change,
    spec: StepUpSpec,
    expected_head: str | None = None,
    owners: frozenset[str] | None = None,
) -> str | None:
    """None when the approval counts under `spec`; otherwise a short reason.

    `expected_head` is the head the approval must name (default: the change's head; a deploy
    passes the head of the pull/merge request that brought a commit in)."""
    head = expected_head or change.head
    who = approval.approver.lower()
    not_a_person = _not_a_person(approval)
    if not_a_person is not None:
        return not_a_person
    if approval.kind in HEAD_BOUND_KINDS:
        if approval.head_sha is None:
            return "approval is not bound to a head commit"
        if approval.head_sha != head:
            return f"stale: given for {approval.head_sha[:12]}, the head is now {head[:12]}"
    if approval.base_ref and change.target_ref and approval.base_ref != change.target_ref:
        return f"stale: given while the target was {approval.base_ref}"
    party = _party_to_change(approval, change, spec)
    if party is not None:
        return party
    if approval.kind not in SELF_VERIFIED_KINDS:
        if approval.permission is None:
            return "approver's access level could not be verified"
        if PERMISSION_RANK.get(approval.permission, 0) < PERMISSION_RANK[spec.min_permission]:
            return f"approver has {approval.permission} access; {spec.min_permission} is needed"
    if spec.from_:
        allowed = {x.lower() for x in spec.from_}
        teams = {t.lower() for t in approval.teams}
        if who not in allowed and not (teams & allowed):
            return "approver is not among those the policy names"
    if spec.codeowners and owners is not None:
        if owners == NO_CODEOWNERS:
            return "the policy requires a code owner, and no CODEOWNERS file is on the trusted ref"
        if owners and f"@{who}" not in owners and not ({t.lower() for t in approval.teams} & owners):
            return "approver does not own the gated paths in CODEOWNERS"
    return None


def break_glass_reason(
    approval: Approval, change: Change, cfg: BreakGlassConfig, specs: list[StepUpSpec] | None = None
) -> str | None:
    """None when an emergency override counts. It is bound to the head and open to nobody an
    approval under `specs` would exclude: otherwise the author or delegator of an agent's change
    could wave it through alone, which is what step-up exists to prevent."""
    if not cfg.enabled:
        return "break-glass is disabled by the policy"
    if approval.identity.kind in ("agent", "automation") or (approval.approver_type or "").lower() == "bot":
        return f"break-glass is never honoured from {approval.identity.label or 'a bot'}"
    for spec in specs or [StepUpSpec()]:  # type: ignore[call-arg]
        excluded = excluded_reason(approval, change, spec)
        if excluded is not None:
            return f"break-glass refused: {excluded}"
    if approval.head_sha != change.head:
        return "break-glass was given for another head" if approval.head_sha else "break-glass names no head"
    if len((approval.reason or "").strip()) < cfg.min_reason_chars:
        return f"break-glass needs a reason of at least {cfg.min_reason_chars} characters"
    if cfg.allowed:
        allowed = {x.lower() for x in cfg.allowed}
        if approval.approver.lower() not in allowed and not {t.lower() for t in approval.teams} & allowed:
            return "approver is not allowed to break glass"
    if approval.kind != "break-glass" or approval.permission is None:
        return None if approval.kind != "break-glass" else "approver's access level could not be verified"
    if PERMISSION_RANK.get(approval.permission, 0) < PERMISSION_RANK["write"]:
        return f"approver has {approval.permission} access; write is needed"
    return None


def eligible(spec: StepUpSpec) -> list[str]:
    if spec.from_:
        return list(spec.from_)
    return [
        f"any person with {spec.min_permission} access who is not an agent or bot"
        + ("" if spec.allow_pr_author else ", not the author of the change")
        + ("" if spec.allow_delegator else ", and not the person who delegated the task to the agent")
    ]


def judge(
    change: Change,
    specs: list[StepUpSpec],
    break_glass: BreakGlassConfig | None = None,
    owners: frozenset[str] | None = None,
    how: tuple[str, ...] = (),
) -> StepUp:
    """Counts an approval only when it satisfies every step-up spec in play (the strictest wins).

    A break-glass request that qualifies satisfies the step-up on its own; it is reported and
    audited as such, never silently."""
    required = max((s.approvals for s in specs), default=1)
    names: list[str] = []
    for s in specs:
        names.extend(n for n in eligible(s) if n not in names)
    if any(s.codeowners for s in specs) and owners and owners != NO_CODEOWNERS:
        names.append("code owners of the gated paths: " + ", ".join(sorted(owners)))
    result = StepUp(approvals_required=required, eligible=names, how=list(how or GENERIC_HOW))
    seen: set[str] = set()
    for appr in change.approvals:
        if appr.kind == "break-glass":
            why = break_glass_reason(appr, change, break_glass or BreakGlassConfig(), specs)
            if why is None and result.break_glass is None:
                result.break_glass = appr
            elif why is not None:
                result.rejected.append((appr, why))
            continue
        reason = next((r for s in specs if (r := reject_reason(appr, change, s, owners=owners))), None)
        if reason is None and appr.approver.lower() in seen:
            reason = "approver already counted"
        if reason is None:
            seen.add(appr.approver.lower())
            result.counted.append(appr)
        else:
            result.rejected.append((appr, reason))
    return result
