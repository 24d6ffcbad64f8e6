"""How each verdict and each finding action looks, in every output: defined once.

Texts (markdown titles, check-run titles, pre-receive labels), levels (SARIF, workflow
commands, GitLab code quality severities) and the order findings are listed in all come from
here, so a GitHub check, a GitLab note and a rejected push never describe one verdict two ways.
"""

from __future__ import annotations

from dataclasses import dataclass

from guard.model import Action, Finding, Verdict


@dataclass(frozen=True)
class Look:
    label: str  # terse, upper-case where it gates: text report, pre-receive stderr
    title: str  # a sentence fragment: check-run titles, statuses, markdown headings
    icon: str  # markdown only
    push: str  # a ref of a push, on the pre-receive hook's stderr


VERDICT: dict[Verdict, Look] = {
    "allow": Look("ALLOW", "allowed", "✅", "accepted"),
    "warn": Look("WARN", "allowed with warnings", "⚠️", "accepted with warnings"),
    "step-up": Look("STEP-UP REQUIRED", "a person's approval is required", "⛔", "needs a person's step-up"),
    "block": Look("BLOCKED", "blocked", "🛑", "BLOCKED"),
}


@dataclass(frozen=True)
class Severity:
    order: int  # findings are listed most severe first
    level: str  # SARIF `level` and GitHub workflow command (error / warning)
    codequality: str  # GitLab code quality severity


ACTION: dict[Action, Severity] = {
    "block": Severity(0, "error", "blocker"),
    "step-up": Severity(1, "error", "critical"),
    "warn": Severity(2, "warning", "minor"),
}


def by_severity(findings: list[Finding]) -> list[Finding]:
    """Most severe first; stable, so the checks' own order holds within an action."""
    return sorted(findings, key=lambda f: ACTION[f.action].order)
