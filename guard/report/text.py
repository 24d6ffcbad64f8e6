"""The report for people at a terminal or in a job log."""

from __future__ import annotations

from guard.model import Decision, Finding
from guard.redact import redact_decision
from guard.report.escape import plain
from guard.report.presentation import VERDICT, by_severity


def location(f: Finding) -> str:
    if f.path is None:
        return f"commit {f.commit[:12]}" if f.commit else "(change)"
    return plain(f.path) + (f":{f.line}" if f.line else "")


def finding_line(f: Finding) -> str:
    who = f" [{', '.join(f.actors)}]" if f.actors else ""
    commit = f" in {f.commit[:12]}" if f.commit and f.path is not None else ""
    return f"  {f.action.upper():8} {f.rule}: {location(f)}{commit}{who}\n           {plain(f.message)}"


def render(d: Decision, *, explain: bool = False) -> str:
    d = redact_decision(d)  # every secret value masked (a no-op for the engine's decisions)
    ch = d.change
    rng = f"{ch.base[:12] if ch.base else '(root)'}..{ch.head[:12]}"
    agents = sum(1 for c in ch.commits if c.identity.kind == "agent")
    lines = [
        f"pipeline-guard: {VERDICT[d.verdict].label} ({d.mode} mode)",
        f"  range {rng}: {len(ch.commits)} commit(s), {agents} by agents; "
        f"{len(ch.files)} file(s) changed; change identity {plain(ch.identity.shown)}",
        f"  policy: {plain(d.policy_source)}",
    ]
    for note in ch.notes:
        lines.append(f"  note: {plain(note)}")
    if d.findings:
        lines.append("findings:")
        lines.extend(finding_line(f) for f in by_severity(d.findings))
    if d.step_up is not None and d.verdict == "step-up":
        s = d.step_up
        lines.append(
            f"step-up: {len(s.counted)} of {s.approvals_required} qualifying approval(s) on the current head"
        )
        lines.append("  who may approve: " + "; ".join(plain(e) for e in s.eligible))
        lines.extend("  how: " + plain(h) for h in s.how)
        for appr, why in s.rejected:
            lines.append(f"  not counted: {plain(appr.approver)} ({appr.kind}): {plain(why)}")
    if d.step_up is not None and d.step_up.break_glass is not None:
        bg = d.step_up.break_glass
        lines.append(f"BREAK-GLASS: step-up overridden by {plain(bg.approver)}: {plain(bg.reason or '')}")
    if explain:
        lines.append("why:")
        lines.extend(f"  {i + 1}. {plain(r)}" for i, r in enumerate(d.reasons))
    if d.mode == "advisory" and d.verdict in ("step-up", "block"):
        lines.append("advisory mode: this verdict does not fail the job")
    return "\n".join(lines) + "\n"
