"""Markdown for PR/MR comments and step summaries. Every untrusted string goes through escape."""

from __future__ import annotations

from guard.model import Decision
from guard.redact import redact_decision
from guard.report.escape import code, markdown
from guard.report.presentation import VERDICT

MARKER = "<!-- pipeline-guard:report -->"  # finds the one comment to update in place
MAX_ROWS = 100


def render(d: Decision, *, explain: bool = False) -> str:
    del explain  # `explain` changes the text report only
    d = redact_decision(d)  # every secret value masked (a no-op for the engine's decisions)
    ch = d.change
    out = [MARKER, f"### {VERDICT[d.verdict].icon} pipeline-guard: {VERDICT[d.verdict].title}", ""]
    agents = [c for c in ch.commits if c.identity.kind == "agent"]
    out.append(
        f"Mode **{d.mode}** · {len(ch.commits)} commit(s), {len(agents)} by agents · "
        f"change identity `{code(ch.identity.shown)}` · policy `{code(d.policy_source)}`"
    )
    out.append("")
    if d.findings:
        out += ["| action | rule | where | what |", "|---|---|---|---|"]
        for f in d.findings[:MAX_ROWS]:
            where = f"`{code(f.path)}`" + (f" line {f.line}" if f.line else "") if f.path else "commit"
            out.append(f"| {f.action} | `{code(f.rule)}` | {where} | {markdown(f.message)} |")
        if len(d.findings) > MAX_ROWS:
            out.append(f"\n… and {len(d.findings) - MAX_ROWS} more (see the JSON or SARIF report).")
        out.append("")
    if d.step_up is not None and d.verdict == "step-up":
        s = d.step_up
        out.append(
            f"**Step-up needed:** {len(s.counted)} of {s.approvals_required} qualifying approval(s) "
            f"on head `{ch.head[:12]}`."
        )
        out.append("")
        out.append("Who may approve: " + "; ".join(markdown(e) for e in s.eligible))
        out.append("")
        out += [f"- {markdown(h)}" for h in s.how]
        for appr, why in s.rejected:
            out.append(f"- not counted: `{code(appr.approver)}` ({appr.kind}): {markdown(why)}")
        out.append("")
    if d.step_up is not None and d.step_up.break_glass is not None:
        bg = d.step_up.break_glass
        out.append(
            f"**Break-glass:** step-up overridden by `{code(bg.approver)}`: {markdown(bg.reason or '')}\n"
        )
    if ch.notes:
        out.append("<details><summary>Notes</summary>\n")
        out += [f"- {markdown(n)}" for n in ch.notes[:MAX_ROWS]]
        out.append("\n</details>\n")
    if agents:
        out.append("<details><summary>Agent commits</summary>\n")
        for c in agents[:MAX_ROWS]:
            out.append(f"- `{c.sha[:12]}` {markdown(c.subject)} — `{code(c.identity.shown)}`")
        out.append("\n</details>")
    return "\n".join(out) + "\n"
