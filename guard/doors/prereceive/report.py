"""What the pusher reads: short stderr lines (shown as `remote:`), one per fact.

Each gated ref names its findings (rule, file, line, commit) and the push ends with how to get a
person's approval at this server. GitLab shows hook output only with the `GL-HOOK-ERR:` prefix.
Untrusted text (paths, messages, logins, reasons) goes through `plain()`; secret findings carry a
redacted fingerprint, never the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from guard.errors import EXIT_ALLOW, EXIT_GATED
from guard.model import Finding
from guard.redact import redact_text
from guard.report.escape import plain
from guard.report.presentation import VERDICT, by_severity

if TYPE_CHECKING:
    from guard.budget import BudgetExceeded, Deadline
    from guard.doors.prereceive.door import RefResult
    from guard.doors.prereceive.hostenv import Host
    from guard.model import RefUpdate
    from guard.policy import Policy

MAX_FINDINGS = 8
MAX_TEXT = 240


class Output:
    def __init__(self, stream: TextIO, *, gitlab: bool) -> None:
        self.stream = stream
        self.prefix = "GL-HOOK-ERR: " if gitlab else ""

    def line(self, text: str) -> None:
        self.stream.write(f"{self.prefix}pipeline-guard: {redact_text(text)}\n")


def _cut(text: str) -> str:
    text = plain(redact_text(text))  # before cutting: a value cut short escapes the detectors
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def finding_text(f: Finding) -> str:
    where = ""
    if f.path is not None:
        where = f" {f.path}" + (f":{f.line}" if f.line else "")
    commit = f" commit {f.commit[:12]}" if f.commit else ""
    return _cut(f"  {f.action}: {f.rule}{where}{commit}: {f.message}")


def _how(policy: Policy, host: Host, signatures: bool) -> list[str]:
    out: list[str] = []
    if signatures:
        out.append(
            "to approve, a person signs the new tip with a key in the server's allowed-signers file "
            "(git commit --allow-empty -S -m 'Approve', or an annotated tag with git tag -s) and pushes it"
        )
    if policy.server.push_option_approval:
        lead = "or" if out else "to approve,"
        out.append(f'{lead} a verified person pushes with -o pipeline-guard.approve="<reason>" (logged)')
    if not out:
        out.append(
            "no step-up is configured on this server (server.allowed_signers, server.push_option_approval): "
            "land this change through a reviewed pull/merge request"
        )
    return out


def verdicts(
    out: Output, results: list[RefResult], policy: Policy, host: Host, deadline: Deadline, signatures: bool
) -> int:
    """One block of lines per ref that has something to say, then the push's verdict."""
    gated = []
    needs_step_up = blocked = advisory = False
    eligible: list[str] = []
    for r in results:
        d = r.decision
        if d is None:
            continue
        ref = plain(r.update.ref)
        if d.verdict != "allow":
            out.line(f"{ref}: {VERDICT[d.verdict].push} ({len(d.findings)} finding(s))")
        findings = by_severity(d.findings)
        for f in findings[:MAX_FINDINGS]:
            out.line(finding_text(f))
        if len(findings) > MAX_FINDINGS:
            out.line(f"  ... and {len(findings) - MAX_FINDINGS} more")
        if d.step_up is not None:
            for a in d.step_up.counted:
                why = f": {a.reason}" if a.reason else ""
                out.line(_cut(f"  approved by {a.approver} ({a.kind}){why}"))
            if d.step_up.break_glass is not None:
                bg = d.step_up.break_glass
                out.line(_cut(f"  BREAK-GLASS by {bg.approver} (recorded): {bg.reason}"))
            for a, reason in d.step_up.rejected:
                out.line(_cut(f"  approval by {a.approver} ({a.kind}) not counted: {reason}"))
        for note in d.change.notes:
            if note not in host.notes:  # the host's own remarks are the same on every ref
                out.line(_cut(f"  note: {note}"))
        if d.verdict in ("step-up", "block"):
            gated.append(r)
            advisory = advisory or d.mode == "advisory"
            blocked = blocked or d.verdict == "block"
            if d.verdict == "step-up" and d.step_up is not None:
                needs_step_up = True
                eligible.extend(e for e in d.step_up.eligible if e not in eligible)
    if not gated:
        out.line(f"push accepted ({len(results)} ref(s) judged in {deadline.elapsed():.2f} s)")
        return EXIT_ALLOW
    if advisory:
        out.line(f"advisory mode: {len(gated)} ref(s) would be rejected; push accepted")
        return EXIT_ALLOW
    out.line(f"push rejected: {len(gated)} of {len(results)} ref(s) gated; no ref was updated")
    if needs_step_up:
        for line in _how(policy, host, signatures):
            out.line(_cut(line))
        out.line(_cut("who may approve: " + "; ".join(eligible)))
    if blocked:
        out.line(
            "blocked findings cannot be approved: remove them from the commits (rewrite history), push again"
        )
    return EXIT_GATED


def timed_out(
    out: Output,
    err: BudgetExceeded,
    results: list[RefResult],
    updates: list[RefUpdate],
    policy: Policy,
    host: Host,
    deadline: Deadline,
) -> int:
    """Fail closed, unless the policy lets a verified person through (never an agent, never agent work)."""
    from guard.fingerprints import load_fingerprints
    from guard.identify import identify_actor

    done = {r.update.ref for r in results if r.decision is not None}
    pending = next((u.ref for u in updates if u.ref not in done), None)
    where = f" while judging {plain(pending)}" if pending else ""
    pusher = host.pusher
    if policy.server.on_timeout == "warn-verified-humans" and pusher.verified:
        ident = identify_actor(pusher, load_fingerprints(policy))
        agent_work = any(
            c.identity.kind == "agent" for r in results if r.change is not None for c in r.change.commits
        )
        if ident.kind == "human" and not agent_work:
            out.line(
                _cut(
                    f"WARNING: {err}{where} after {deadline.elapsed():.1f} s; push accepted without a full "
                    f"judgement because {pusher.login} is a verified person (server.on_timeout)"
                )
            )
            return EXIT_ALLOW
    out.line(_cut(f"push rejected: {err}{where} after {deadline.elapsed():.1f} s; failing closed"))
    out.line(
        "push fewer or smaller commits at a time, or ask the server admin to raise server.budget_seconds"
    )
    return EXIT_GATED
