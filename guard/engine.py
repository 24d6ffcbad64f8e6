"""One engine for every door: identify -> check -> decide. Imports no door and no platform SDK."""

from __future__ import annotations

from guard.checks import run_checks
from guard.decide import decide
from guard.identify import identify_change
from guard.model import Change, Decision, Mode
from guard.policy import Policy


def evaluate(
    change: Change,
    policy: Policy,
    mode: Mode,
    *,
    policy_source: str = "builtin:default",
    notes: list[str] | None = None,
) -> Decision:
    identify_change(change, policy)
    findings = run_checks(change, policy)
    return decide(
        change, policy, findings, mode, policy_source=policy_source, notes=[*(notes or []), *change.notes]
    )
