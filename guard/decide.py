"""The verdict: findings + identities + approvals + policy -> allow | warn | step-up | block.

Every decision carries its reasons in order, so `explain` can print the chain from evidence to
verdict. `block` cannot be approved away; `step-up` turns into `warn` once enough qualifying
approvals on the current head are counted.
"""

from __future__ import annotations

from guard.approvals import NO_CODEOWNERS, judge
from guard.codeowners import CodeOwners, normalise
from guard.model import Change, Decision, Finding, Mode, Verdict
from guard.policy import Policy, StepUpSpec


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


def identity_reasons(change: Change) -> list[str]:
    out = [f"change identity: {change.identity.label}" + (" (verified)" if change.identity.verified else "")]
    for a in change.actors:
        state = "verified" if a.verified else "claimed"
        out.append(f"{a.role} {a.login} ({state}, {a.source}) is {a.identity.label}")
    if change.actors and not any(a.verified for a in change.actors):
        out.append("nothing about the actor is verified")
    for c in change.commits:
        if c.identity.kind in ("agent", "automation"):
            ev = next((e for e in c.identity.evidence if e.points_to.startswith(c.identity.kind)), None)
            why = f" ({ev.signal}: {ev.value}, {'verified' if ev.verified else 'claimed'})" if ev else ""
            out.append(f"commit {_short(c.sha)} is {c.identity.label}{why}")
        for e in c.ai_evidence:
            out.append(f"commit {_short(c.sha)}: its git-ai note claims {e.points_to} wrote {e.value}")
    return out


def decide(
    change: Change,
    policy: Policy,
    findings: list[Finding],
    mode: Mode,
    *,
    policy_source: str = "builtin:default",
    notes: list[str] | None = None,
    codeowners: CodeOwners | None = None,
    how: tuple[str, ...] = (),
) -> Decision:
    reasons = [*(notes or []), *identity_reasons(change)]
    verdict: Verdict = "allow"
    blocks = [f for f in findings if f.action == "block"]
    steps = [f for f in findings if f.action == "step-up"]
    warns = [f for f in findings if f.action == "warn"]
    for f in findings:
        where = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "")
        reasons.append(f"{f.action}: rule {f.rule} ({f.kind}) {where} -> {f.message}".replace("  ", " "))
    step_up = None
    if steps:
        rules = {r.id: r for r in policy.rules}
        specs: list[StepUpSpec] = []
        for f in steps:
            spec = policy.step_up_for(rules[f.rule]) if f.rule in rules else policy.step_up
            if spec not in specs:
                specs.append(spec)
        owners = None
        if any(s.codeowners for s in specs):
            owners = NO_CODEOWNERS
            if codeowners is not None:
                paths = {f.path for f in steps if f.path}
                owners = frozenset(normalise(o) for p in paths for o in codeowners.owners_for(p))
        step_up = judge(change, specs, policy.break_glass, owners, how)
        for appr, why in step_up.rejected:
            reasons.append(f"approval by {appr.approver} ({appr.kind}) not counted: {why}")
        for appr in step_up.counted:
            reasons.append(f"approval by {appr.approver} ({appr.kind}) on {_short(appr.head_sha)} counted")
        if step_up.break_glass is not None:
            bg = step_up.break_glass
            reasons.append(f"BREAK-GLASS by {bg.approver} on {_short(bg.head_sha)}: {bg.reason}")
    if blocks:
        verdict = "block"
        reasons.append(f"verdict block: {len(blocks)} finding(s) no approval can pass")
    elif steps and step_up is not None and not step_up.satisfied:
        verdict = "step-up"
        reasons.append(
            f"verdict step-up: {len(step_up.counted)} of {step_up.approvals_required} qualifying approval(s)"
        )
    elif steps or warns:
        verdict = "warn"
        if steps and step_up is not None and step_up.break_glass is not None:
            reasons.append("verdict warn: step-up overridden by break-glass (recorded)")
        elif steps:
            reasons.append("verdict warn: step-up satisfied by qualifying approval(s) on the current head")
        else:
            reasons.append(f"verdict warn: {len(warns)} warning(s), nothing gated")
    else:
        reasons.append("verdict allow: no rule matched")
    return Decision(
        verdict=verdict,
        mode=mode,
        findings=findings,
        reasons=reasons,
        change=change,
        step_up=step_up,
        policy_source=policy_source,
        policy_digest=policy.digest(),
    )
