"""The one judge path every door takes: mode -> evaluate -> audit.

`check`/`explain` (any door), the pre-receive hook (once per ref) and `serve` (once per
deployment) all come here with a door's `Prepared`, so the mode a policy allows, the trusted
baseline, CODEOWNERS and CI reach, and the audit record before any output can never drift apart
between doors. Rendering and publishing stay with the caller: what a door shows differs, what it
decides does not.
"""

from __future__ import annotations

from collections.abc import Mapping

from guard import budget
from guard.doors.interface import Prepared
from guard.engine import evaluate
from guard.model import Decision, Mode
from guard.policy import effective_mode


def judge(
    prepared: Prepared,
    *,
    mode: Mode | None = None,
    audit_log: str | None = None,
    deadline: budget.Deadline | None = None,
    how: tuple[str, ...] = (),
    run: Mapping[str, str] | None = None,
) -> Decision:
    """`mode` is what the caller asked for (a flag); the trusted policy may refuse to relax it.

    With `audit_log`, the record is appended before the decision is returned: a decision that
    cannot be recorded fails closed (GuardError) and nothing is shown as if it had been judged.
    `how` is the door's instructions for a step-up; `run` its CI run identifiers (audit only)."""
    trusted = prepared.trusted
    effective, refused = effective_mode(trusted.policy, mode)
    # The door's notes (range chosen, policy source, what could not be read) belong to the change:
    # every report shows them, not only `explain`.
    prepared.change.notes[:0] = [*prepared.notes, *([refused] if refused else [])]
    decision = evaluate(
        prepared.change,
        trusted.policy,
        effective,
        policy_source=trusted.source,
        deadline=deadline,
        baseline=trusted.baseline,
        codeowners=trusted.codeowners,
        ci_reach=trusted.ci_reach,
        how=how,
    )
    if audit_log:
        from guard.audit import append, build_record

        append(audit_log, build_record(decision, run or {}))
    return decision
